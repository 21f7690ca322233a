--- opro.report.data: everything the HTML report shows about one run,
-- gathered from the store (queries in SQL, a little arithmetic here).
local json = require "opro.store.json"

local M = {}

local function percentile(sorted, p)
  if #sorted == 0 then return nil end
  local i = math.max(1, math.min(#sorted, math.ceil(p * #sorted)))
  return sorted[i]
end

-- the kind of task: the config's task.kind, else guessed from solutions
local function task_kind(config, candidates)
  local task = type(config) == "table" and type(config.task) == "table" and config.task or {}
  if type(task.kind) == "string" then return task.kind end
  if type(config) == "table" and type(config.kind) == "string" then return config.kind end
  for _, c in ipairs(candidates) do
    local s = c.solution
    if type(s) == "table" then
      if s.w ~= nil and s.b ~= nil then return "linear_regression" end
      if #s > 0 and math.type(s[1]) == "integer" then return "tsp" end
    elseif type(s) == "string" then
      return "instruction"
    end
  end
  return "instruction"
end

-- node coordinates of a TSP run: config.task.reps[best rep] or config.task
-- .coords|points|nodes ({x,y} pairs or {x=,y=}), .x + .y, or the best
-- candidate's details
local function tsp_coords(config, best)
  local places = {}
  local task = type(config) == "table" and config.task
  -- the best candidate's rep's instance (run:record_task), then rep 1's
  if type(task) == "table" and type(task.reps) == "table" and best then
    local own = task.reps[tostring(best.rep)]
    if type(own) == "table" then places[#places + 1] = own end
  end
  if type(task) == "table" then places[#places + 1] = task end
  if type(config) == "table" then places[#places + 1] = config end
  if best and type(best.details) == "table" then places[#places + 1] = best.details end
  for _, t in ipairs(places) do
    for _, name in ipairs({ "coords", "points", "nodes", "cities" }) do
      local list = t[name]
      if type(list) == "table" and #list > 0 then
        local pts = {}
        for i, p in ipairs(list) do
          if type(p) ~= "table" then break end
          local x, y = p.x or p[1], p.y or p[2]
          if type(x) ~= "number" or type(y) ~= "number" then break end
          pts[i] = { x, y }
        end
        if #pts == #list then return pts end
      end
    end
    if type(t.x) == "table" and type(t.y) == "table" and #t.x == #t.y and #t.x > 0 then
      local pts = {}
      for i = 1, #t.x do
        if type(t.x[i]) ~= "number" or type(t.y[i]) ~= "number" then pts = nil break end
        pts[i] = { t.x[i], t.y[i] }
      end
      if pts then return pts end
    end
  end
  return nil
end

--- Collects a run's report data.
function M.collect(run)
  local st = run.store
  local config = run.config
  local task = type(config) == "table" and type(config.task) == "table" and config.task or {}
  local better = task.better == "lower" and "lower" or "higher"
  local cands = run:candidates{ unscored = true, order = "step" }
  local kind = task_kind(config, cands)
  for _, c in ipairs(cands) do
    if c.text == nil then
      c.text = type(c.solution) == "string" and c.solution or (c.solution ~= nil and json.encode(c.solution) or "")
    end
  end
  -- test accuracy of instructions evaluated on the "test" split
  local test = {}
  for _, a in ipairs(run:accuracy{ split = "test" }) do
    test[a.rep .. "\0" .. a.key] = { accuracy = a.accuracy, n = a.n }
  end
  for _, c in ipairs(cands) do
    local t = test[c.rep .. "\0" .. c.key]
    if t then c.test_accuracy, c.test_n = t.accuracy, t.n end
  end
  -- calls per provider/model
  local by_model = st:_rows([[SELECT provider, model, count(*) AS calls, sum(cached) AS cached,
      sum(CASE WHEN error IS NOT NULL OR code IS NOT NULL THEN 1 ELSE 0 END) AS failed,
      sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retries,
      coalesce(sum(CASE WHEN cached = 0 THEN input_tokens END), 0) AS input_tokens,
      coalesce(sum(CASE WHEN cached = 0 THEN output_tokens END), 0) AS output_tokens,
      coalesce(sum(CASE WHEN cached = 0 THEN cost END), 0.0) AS cost
    FROM calls WHERE run_id = ? GROUP BY provider, model ORDER BY calls DESC]], run.id)
  for _, m in ipairs(by_model) do
    local lat = st:_rows([[SELECT latency FROM calls WHERE run_id = ? AND provider IS ? AND model IS ?
      AND cached = 0 AND latency IS NOT NULL ORDER BY latency]], run.id, m.provider, m.model)
    local sorted = {}
    for i, r in ipairs(lat) do sorted[i] = r.latency end
    m.latency_p50, m.latency_p95 = percentile(sorted, 0.5), percentile(sorted, 0.95)
  end
  local codes = st:_rows([[SELECT code, count(*) AS n FROM calls WHERE run_id = ? AND code IS NOT NULL
    GROUP BY code ORDER BY n DESC]], run.id)
  local summary = run:summary()
  local best = summary.best
  local meta = st:_rows("SELECT versions FROM runs WHERE id = ?", run.id)[1]
  return {
    run = { id = run.id, name = run.name, status = run.status, seed = run.seed, started = run.started,
            finished = run.finished, script = run.script, config = config,
            versions = meta.versions and json.decode(meta.versions) or nil, path = st.path },
    kind = kind, better = better, candidates = cands, summary = summary, by_model = by_model,
    codes = codes, best = best, steps = run:steps(), metrics = run:metrics(),
    tsp_coords = kind == "tsp" and tsp_coords(config, best) or nil,
    lr_true = (task.w_true or task.true_w) and { w = task.w_true or task.true_w, b = task.b_true or task.true_b } or nil,
  }
end

return M
