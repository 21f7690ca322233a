--- opro.optimize: the OPRO loop (Yang et al., ICLR 2024, §2).
--
--   local result = opro.optimize{
--     task = task,                 -- an objective (docs/INTERNALS.md), a list of
--                                  -- tasks (one per rep) or function(rep) -> task
--     optimizer = llm,             -- anything with :chat(prompt, opts)
--     steps = 10, candidates_per_step = 8, reps = 1, seed = 0, temperature = 1.0,
--     template = fn, template_opts = {...}, order = fn, parse = fn,
--     stop = fn(state) -> stop, reason,  -- default: opro.stop.max_steps(steps)
--     run = store_run,             -- opro.store run: steps and candidates are recorded
--     explore = stage | {stages},  -- opro.explore stages: :filter before scoring (reject),
--                                  -- :adjust after (penalty); see explore_filter below
--     hooks = { before_step=, after_propose=, after_score=, after_step= },
--     progress = obj|false, quiet = bool, meter = meter,
--   }
--   -- result = { best={solution=, score=, step=, rep=, key=, text=}, history={...},
--   --            reps={ {rep=, best=, history=, steps=, found=, found_step=, unique=,
--   --                    calls=, tokens=, failures=, stop_reason=}, ... },
--   --            totals={calls=, input_tokens=, output_tokens=, tokens=, cost=, ...},
--   --            wall=, stop_reason= }
--
-- Each step: meta-prompt from the history (template + ordering) -> the
-- optimizer's `candidates_per_step` proposals, concurrently, each call with
-- a deterministic `sample` index derived from (seed, rep, step, i) so a
-- cache answers a replayed run exactly -> parse, validate, dedupe by
-- task:key (a key seen before is never scored again; a key already scored in
-- the stored run reuses its stored score) -> explore:filter -> score the new
-- ones concurrently -> explore:adjust -> record -> hooks -> stopping rules.
-- Reps run as concurrent tasks, each with its own PRNG seeded by (seed, rep).
local options = require "opro.options"
local rngmod = require "opro.random"
local opro = require "opro"

local M = {}

local DEFAULTS = { steps = 10, candidates_per_step = 8, reps = 1, seed = 0, temperature = 1.0 }

local function optional(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if not tostring(mod):find("module '" .. name .. "' not found", 1, true) then error(mod, 0) end
  return nil
end

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return mt ~= nil and type(mt.__call) == "function"
end

--- The sample index of proposal i of a step: a 31-bit integer mixing the
-- run's seed, the rep and the step, so every call of a run is distinct and
-- the same call of a replayed run has the same index (and cache key).
function M.sample_index(seed, rep, step, i)
  return (rngmod.hash("opro.sample", seed or 0, rep, step, i) >> 33) + 1
end

-- Score comparison under the task's direction.
local function better_fn(direction)
  if direction == "lower" then
    return function(a, b) return b == nil or (a ~= nil and a < b) end
  end
  return function(a, b) return b == nil or (a ~= nil and a > b) end
end

local function shallow_copy(t)
  local c = {}
  if t then for k, v in pairs(t) do c[k] = v end end
  return c
end

-- Wraps an llm so the calls made through it are counted in `acc`
-- (calls, input/output tokens, cost); every other field reads through.
local function counting_llm(llm, acc, flight)
  local proxy = {}
  local function count(info, n)
    if flight then
      flight.n = flight.n - 1
      if flight.on_done then flight.on_done() end
    end
    -- as the meter counts: calls sent (answered or failed); cache hits apart
    if type(info) == "table" and info.cached then
      acc.cache_hits = acc.cache_hits + (n or 1)
      return
    end
    acc.calls = acc.calls + (n or 1)
    if type(info) == "table" then
      local u = info.usage or {}
      acc.input_tokens = acc.input_tokens + (u.input_tokens or 0)
      acc.output_tokens = acc.output_tokens + (u.output_tokens or 0)
      acc.cost = acc.cost + (info.cost or 0)
    end
  end
  local function start() if flight then flight.n = flight.n + 1 end end
  -- a call refused by the budget sent nothing: it is not a call
  local function settle(r, info, code)
    if r == nil and code == "budget" then
      if flight then
        flight.n = flight.n - 1
        if flight.on_done then flight.on_done() end
      end
    else
      count(r ~= nil and info or nil)
    end
  end
  function proxy.chat(_, prompt, o)
    start()
    local r, info, code, finfo = llm:chat(prompt, o)
    settle(r, info, code)
    return r, info, code, finfo
  end
  function proxy.chat_n(_, prompt, n, o)
    start()
    local r, info, code, finfo = llm:chat_n(prompt, n, o)
    settle(r, info, code)
    return r, info, code, finfo
  end
  function proxy.embed(_, texts, o)
    start()
    local r, info, code, finfo = llm:embed(texts, o)
    if r ~= nil and type(info) == "table" and info.requests then
      -- one embed() may send several batches and answer other texts from the cache
      if flight then
        flight.n = flight.n - 1
        if flight.on_done then flight.on_done() end
      end
      acc.calls = acc.calls + info.requests
      acc.cache_hits = acc.cache_hits + (info.cache_hits or 0)
      acc.input_tokens = acc.input_tokens + ((info.usage or {}).input_tokens or 0)
      acc.cost = acc.cost + (info.cost or 0)
    else
      settle(r, info, code)
    end
    return r, info, code, finfo
  end
  return setmetatable(proxy, { __index = function(_, k)
    local v = llm[k]
    if type(v) == "function" then
      return function(self, ...)
        if self == proxy then return v(llm, ...) end
        return v(self, ...)
      end
    end
    return v
  end })
end

local function new_acc()
  return { calls = 0, input_tokens = 0, output_tokens = 0, cost = 0, cache_hits = 0 }
end

-- A per-rep view of the task whose scorer (when it is an llm-like table)
-- counts the calls made for this rep.
local function rep_task(task, acc, flight)
  local sc = rawget(task, "scorer") or task.scorer
  if type(sc) ~= "table" or type(sc.chat) ~= "function" then return task end
  local view = setmetatable({ scorer = counting_llm(sc, acc, flight) }, { __index = task })
  return view
end

local function check_task(task, where)
  if type(task) ~= "table" then error(where .. ": task must be a table (an objective), got " .. type(task), 3) end
  if type(task.score) ~= "function" then error(where .. ": task has no score method (task:score(solution, ctx))", 3) end
  if type(task.key) ~= "function" then error(where .. ": task has no key method (task:key(solution))", 3) end
end

-- The options opro.optimize reads (docs/loop.md), and the ones opro.estimate
-- reads from the same table (runner passes one table to both).
local KNOWN = {}
for _, k in ipairs { "task", "optimizer", "steps", "candidates_per_step", "reps", "seed", "temperature",
  "template", "template_opts", "order", "parse", "stop", "stop_when_found", "history", "initial", "run",
  "explore", "diversity", "hooks", "evaluate_top", "meter", "quiet", "progress", "max_tokens", "send_seed",
  "log", "label",
  -- opro.estimate's
  "scorer", "new_ratio", "solution_chars", "optimizer_output_tokens", "scorer_output_tokens",
  "calls_per_score", "optimizer_price", "scorer_price" } do KNOWN[k] = true end
M.options = KNOWN

local function validate_opts(o)
  if type(o) ~= "table" then error("opro.optimize: a table of options expected", 3) end
  options.check(o, KNOWN, "opro.optimize", "docs/loop.md#options", 3)
  if o.task == nil then error("opro.optimize: task is required", 3) end
  if type(o.optimizer) ~= "table" or type(o.optimizer.chat) ~= "function" then
    error("opro.optimize: optimizer must be an llm (a table with :chat), got " .. type(o.optimizer), 3)
  end
  for _, f in ipairs { "steps", "candidates_per_step", "reps", "seed" } do
    local v = o[f]
    if v ~= nil and math.type(v) ~= "integer" then
      error(string.format("opro.optimize: %s must be an integer, got %s", f,
        type(v) == "string" and string.format("the string %q", v) or tostring(v)), 3)
    end
  end
  if o.steps and o.steps < 0 then error("opro.optimize: steps must be >= 0", 3) end
  if o.candidates_per_step and o.candidates_per_step < 1 then error("opro.optimize: candidates_per_step must be >= 1", 3) end
  if o.reps and o.reps < 1 then error("opro.optimize: reps must be >= 1", 3) end
  if o.temperature ~= nil and type(o.temperature) ~= "number" then error("opro.optimize: temperature must be a number", 3) end
  for _, f in ipairs { "template", "order", "parse", "stop" } do
    if o[f] ~= nil and not callable(o[f]) then
      error(string.format("opro.optimize: %s must be a function, got %s", f, type(o[f])), 3)
    end
  end
  if o.hooks ~= nil then
    if type(o.hooks) ~= "table" then error("opro.optimize: hooks must be a table", 3) end
    local known = { before_step = true, meta_prompt = true, after_propose = true, after_score = true,
                    after_step = true }
    for k, v in pairs(o.hooks) do
      if not known[k] then error("opro.optimize: unknown hook '" .. tostring(k) .. "'", 3) end
      if not callable(v) then error("opro.optimize: hook " .. k .. " must be a function", 3) end
    end
  end
  if o.explore ~= nil and type(o.explore) ~= "table" then error("opro.optimize: explore must be an object with :filter/:adjust", 3) end
end

-- Exploration stages (opro.explore, docs/vectors.md). A stage's
-- :filter(candidates, history) returns the kept candidates' indices (as
-- opro.explore.reject does) or the kept candidates themselves; its
-- :adjust(scored, history) returns adjusted scores aligned with `scored`
-- (and similarities, as opro.explore.penalty does) or a new list. An
-- embedding failure (nil, message) leaves the batch unchanged and is logged.
-- the float32 bytes of the vectors a stage computed for these candidates
-- (stored with them: run:record_candidate{embedding=}); the first stage's wins
local function keep_embeddings(stage, cands)
  if type(stage.vector) ~= "function" then return end
  for _, c in ipairs(cands) do
    if type(c) == "table" and c.embedding == nil and type(c.text) == "string" then
      local ok, v = pcall(stage.vector, stage, c.text)
      if ok and v ~= nil and type(v.bytes) == "function" then c.embedding = v:bytes() end
    end
  end
end

local function explore_filter(stages, cands, history, ctx)
  for _, st in ipairs(stages) do
    if type(st.filter) == "function" and #cands > 0 then
      local kept, rejected = st:filter(cands, history, ctx)
      if kept == nil then
        if ctx.log then ctx.log("exploration filter failed: " .. tostring(rejected)) end
      else
        local out = {}
        for i, k in ipairs(kept) do
          if math.type(k) == "integer" then out[#out + 1] = cands[k] else out[i] = k end
        end
        if type(rejected) == "table" then
          for _, rj in ipairs(rejected) do
            local c = type(rj) == "table" and rj.index and cands[rj.index]
            if c then c.rejected = rj end
          end
        end
        keep_embeddings(st, cands)
        for _, c in ipairs(cands) do
          if type(c) == "table" and c.rejected and ctx.on_rejected then ctx.on_rejected(c) end
        end
        ctx.state.rejected = (ctx.state.rejected or 0) + (#cands - #out)
        cands = out
      end
    end
  end
  return cands
end

local function explore_adjust(stages, scored, history, ctx)
  for _, st in ipairs(stages) do
    if type(st.adjust) == "function" and #scored > 0 then
      local adj, sims = st:adjust(scored, history, ctx)
      if adj == nil then
        if ctx.log then ctx.log("exploration adjust failed: " .. tostring(sims)) end
      elseif type(adj[1]) == "table" or (#adj == 0 and #scored == 0) then
        scored = adj
      else
        keep_embeddings(st, scored)
        for i, c in ipairs(scored) do
          if adj[i] ~= nil then
            if c.raw_score == nil then c.raw_score = c.score end
            c.score = adj[i]
          end
          if type(sims) == "table" and sims[i] ~= nil then c.similarity = sims[i] end
        end
      end
    end
  end
  return scored
end

-- Diversity per step (docs/vectors.md): mean and max cosine between the
-- hashed embeddings (opro.embed.hashed, cheap and deterministic) of a
-- step's new texts, and between the texts of the 20 best history entries
-- (what the default meta-prompt shows). Instruction-like (string)
-- solutions only. Returns measure(fresh, history, better) -> metrics | nil.
local TOP_SHOWN = 20
local function diversity_meter()
  local embed, vec = optional("opro.embed"), optional("opro.vec")
  if not (embed and vec and embed.hasher) then return nil end
  local hasher, cache = embed.hasher(), {}
  local function pairwise(texts)
    if #texts < 2 then return 0, 0, 0 end
    local miss, seen = {}, {}
    for _, t in ipairs(texts) do
      if cache[t] == nil and not seen[t] then seen[t] = true; miss[#miss + 1] = t end
    end
    if #miss > 0 then
      local m = hasher(miss)
      for i, t in ipairs(miss) do cache[t] = m:row(i) end
    end
    local m = vec.matrix({}, cache[texts[1]]:dim())
    for _, t in ipairs(texts) do m:append(cache[t]) end
    return m:pairwise_cosine()
  end
  return function(fresh, history, better)
    local texts = {}
    for _, c in ipairs(fresh) do
      if type(c.solution) ~= "string" or type(c.text) ~= "string" then return nil end
      texts[#texts + 1] = c.text
    end
    local shown = {}
    for _, e in ipairs(history) do
      if type(e.solution) ~= "string" or type(e.text) ~= "string" then return nil end
      if e.score ~= nil then shown[#shown + 1] = e end
    end
    table.sort(shown, function(a, b)
      if a.score ~= b.score then return better(a.score, b.score) end
      return a.key < b.key
    end)
    local top = {}
    for i = 1, math.min(TOP_SHOWN, #shown) do top[i] = shown[i].text end
    -- no pairs, no value (rather than a 0 that reads as "all different")
    local mean, max, pairs_ = pairwise(texts)
    local tmean, tmax, tpairs = pairwise(top)
    local some, tsome = pairs_ > 0, tpairs > 0
    return { n = #texts, pairs = pairs_, mean_pairwise_cos = some and mean or nil, max_pairwise_cos = some and max or nil,
             top20_n = #top, top20_mean_pairwise_cos = tsome and tmean or nil,
             top20_max_pairwise_cos = tsome and tmax or nil }
  end
end

-- Progress: opro.progress (one redrawn line on a terminal, plain lines
-- otherwise) when present, else plain lines on stderr. The loop talks to
-- an object with :step(info), :calls(totals), :log(msg), :finish(result).
local function make_progress(o, reps, steps, better)
  if o.progress == false or o.quiet then return nil end
  if type(o.progress) == "table" then return o.progress end
  local P = optional("opro.progress")
  if P and type(P.new) == "function" then
    local ok, p = pcall(P.new, { total_steps = steps, reps = reps, stream = o.log or io.stderr })
    if ok and p then
      local best
      -- reps run concurrently: the line counts the steps and candidates of
      -- all of them (the ETA comes from the steps done over all reps)
      local rep_steps, rep_cands = {}, {}
      return {
        step = function(_, s)
          if s.best ~= nil and (best == nil or better(s.best, best)) then best = s.best end
          rep_steps[s.rep], rep_cands[s.rep] = s.step, s.candidates or 0
          local done, cands = 0, 0
          for r, n in pairs(rep_steps) do done = done + n; cands = cands + rep_cands[r] end
          p:update{ rep = s.rep, step = s.step, candidates = cands, tokens = s.totals.tokens,
                    cost = s.totals.cost or 0, best = best, inflight = s.inflight, done = done }
        end,
        calls = function(_, t) p:update{ tokens = t.tokens, cost = t.cost or 0, inflight = t.inflight } end,
        log = function(_, msg) p:log(msg) end,
        finish = function() p:finish() end,
      }
    end
  end
  local out = o.log or io.stderr
  return {
    step = function(_, s)
      out:write(string.format("[opro] %srep %d step %d/%s: %d proposed, %d new, step best %s, best %s (%d calls, %d tokens)\n",
        o.label and (o.label .. " ") or "", s.rep, s.step, tostring(steps), s.proposed, s.new,
        s.step_best ~= nil and string.format("%.4g", s.step_best) or "-",
        s.best ~= nil and string.format("%.4g", s.best) or "-", s.calls, s.tokens))
      if out.flush then out:flush() end
    end,
    log = function(_, msg) out:write("[opro] ", msg, "\n") end,
  }
end

local function progress_call(p, method, ...)
  if p and type(p[method]) == "function" then pcall(p[method], p, ...) end
end

local function format_solution(task, sol)
  if type(task.format) == "function" then return task:format(sol) end
  if type(sol) == "string" then return sol end
  return tostring(sol)
end

--- Runs OPRO. See the top of this file and docs/loop.md.
function M.optimize(o)
  validate_opts(o)
  local steps = o.steps
  if steps == nil and o.stop == nil then steps = DEFAULTS.steps end
  local k = o.candidates_per_step or DEFAULTS.candidates_per_step
  local nreps = o.reps or DEFAULTS.reps
  local seed = o.seed or DEFAULTS.seed
  local temperature = o.temperature or DEFAULTS.temperature
  local hooks = o.hooks or {}
  local run = o.run
  local explore = o.explore
  if explore ~= nil and (explore.filter or explore.adjust) then explore = { explore } end
  local stop_when_found = o.stop_when_found ~= false
  local log = o.log or io.stderr

  local stopmod = optional("opro.stop")
  local stop = o.stop
  local max_steps = steps
  if stop == nil and steps ~= nil and stopmod and stopmod.max_steps then
    stop = stopmod.max_steps(steps)
  end

  -- per-rep tasks
  local tasks = {}
  for r = 1, nreps do
    local t = o.task
    if type(t) == "function" then t = t(r, seed)
    elseif type(t) == "table" and t.score == nil and t[1] ~= nil then t = t[r] end
    check_task(t, string.format("opro.optimize (rep %d)", r))
    tasks[r] = t
  end
  -- what each rep's task is, in the run's config (config.task): its kind,
  -- its direction and what task:describe() adds (TSP nodes, the true line),
  -- so the report of a stored run knows which score is best and what to draw
  if run and type(run.record_task) == "function" then
    for r = 1, nreps do
      local t = tasks[r]
      local d = { rep = r, kind = t.kind, better = t.better or "higher" }
      if type(t.describe) == "function" then
        for key, v in pairs(t:describe() or {}) do if d[key] == nil then d[key] = v end end
      end
      run:record_task(d)
    end
  end

  local started = opro.now()
  local progress = make_progress(o, nreps, steps, better_fn(tasks[1].better))
  local meter = o.meter or rawget(o.optimizer, "meter")
  if type(meter) ~= "table" or type(meter.totals) ~= "function" then meter = nil end
  local reps_state = {}
  -- LLM calls in flight (for the progress line)
  local flight = { n = 0 }
  local last_calls_update = 0

  local function totals()
    if meter then
      local t = shallow_copy(meter:totals())
      t.tokens = (t.input_tokens or 0) + (t.output_tokens or 0)
      return t
    end
    local t = new_acc()
    for _, R in ipairs(reps_state) do
      for f, v in pairs(R.acc) do t[f] = t[f] + v end
    end
    t.tokens = t.input_tokens + t.output_tokens
    return t
  end

  if progress and progress.calls then
    flight.on_done = function()
      local now = opro.now()
      if now - last_calls_update < 0.1 then return end
      last_calls_update = now
      local t = totals()
      t.inflight = flight.n
      progress_call(progress, "calls", t)
    end
  end

  local function say(msg)
    if progress and progress.log then progress_call(progress, "log", msg)
    else log:write("[opro] ", msg, "\n") end
  end

  local function run_rep(r)
    local acc = new_acc()
    local base_task = tasks[r]
    local task = rep_task(base_task, acc, flight)
    local optimizer = counting_llm(o.optimizer, acc, flight)
    local better = better_fn(base_task.better)
    local R = {
      rep = r, history = {}, seen = {}, steps = 0, unique = 0, failures = 0,
      parse_errors = 0, invalid = 0, duplicates = 0, reused = 0,
      found = false, acc = acc, rng = rngmod.new("opro.rep", seed or 0, r),
    }
    reps_state[r] = R
    R.metrics = {}
    local diversity = o.diversity ~= false and diversity_meter() or nil
    local template = o.template or base_task.template
    local parse = o.parse or base_task.parse
    if not callable(template) then error(string.format("opro.optimize: no template (task.template or opts.template) for rep %d", r), 0) end
    if not callable(parse) then error(string.format("opro.optimize: no parser (task.parse or opts.parse) for rep %d", r), 0) end

    -- scores already stored for this run (resume; never re-scored)
    local stored = {}
    if run and type(run.candidates) == "function" then
      for _, e in ipairs(run:candidates{ rep = r, order = "step" } or {}) do
        if e.key ~= nil and e.score ~= nil then stored[e.key] = e end
      end
    end

    -- a candidate an exploration filter rejected is recorded unscored,
    -- with the reason (it cost no scorer call)
    local function on_rejected(c)
      if not (run and run.record_candidate) then return end
      local rj = c.rejected
      local sim = type(rj) == "table" and tonumber(rj.similarity)
      run:record_candidate{ rep = r, step = c.step, key = c.key, solution = c.solution, text = c.text,
        embedding = c.embedding,
        parse_error = sim and string.format("rejected before scoring: cosine %.3f to %s", sim,
          rj.source == "batch" and "another proposal of this step" or "a text already scored")
          or "rejected before scoring by an exploration filter",
        details = type(rj) == "table" and { rejected = { similarity = sim or nil, source = rj.source,
          nearest = type(rj.nearest) == "string" and rj.nearest or nil } } or nil }
    end

    local function ctx_for(step)
      return { rep = r, step = step, run = run, seed = seed, rng = R.rng, task = task,
               history = R.history, optimizer = optimizer, state = R, log = say, on_rejected = on_rejected }
    end

    -- the best by the objective's own score (raw_score when an exploration
    -- stage adjusted what the meta-prompt shows)
    local function note_best(e)
      local s = e.raw_score or e.score
      if s ~= nil and better(s, R.best and (R.best.raw_score or R.best.score)) then R.best = e end
    end

    local function record_candidate(c, extra)
      if not (run and run.record_candidate) then return end
      local rec = { rep = r, step = c.step, key = c.key, solution = c.solution, text = c.text,
                    score = c.score, details = c.details, embedding = c.embedding }
      for f, v in pairs(extra or {}) do rec[f] = v end
      run:record_candidate(rec)
      if c.embedding ~= nil then c.embedding_recorded = true end
    end

    -- scores a list of candidates concurrently; returns the scored ones, in list order
    local function score_all(cands, step)
      local results = opro.map(cands, function(c)
        local prev = stored[c.key]
        if prev then
          c.score, c.details, c.reused = prev.score, prev.details, true
          return c
        end
        local ctx = ctx_for(step)
        ctx.key = c.key
        local score, details, code = task:score(c.solution, ctx)
        if score == nil then
          c.error, c.code = details, code
          return c
        end
        if type(score) ~= "number" then
          error(string.format("opro.optimize: task:score returned a %s for %s (a number expected)",
                type(score), c.key), 0)
        end
        c.score, c.details = score, details
        record_candidate(c)
        return c
      end)
      local scored, budget = {}, nil
      for _, c in ipairs(results) do
        if c.score ~= nil then
          scored[#scored + 1] = c
          if c.reused then R.reused = R.reused + 1 end
        else
          R.failures = R.failures + 1
          -- once the budget is spent every later candidate fails alike: say it once
          local repeat_budget = c.code == "budget" and budget ~= nil
          if c.code == "budget" then budget = c.error end
          if not repeat_budget then
            progress_call(progress, "log", string.format("rep %d step %d: scoring %s failed: %s (%s)",
              r, step, c.key, tostring(c.error), tostring(c.code)))
            if not progress then log:write(string.format("[opro] rep %d step %d: scoring failed: %s\n", r, step, tostring(c.error))) end
          end
        end
      end
      return scored, budget
    end

    local function make_candidate(sol, step, extra)
      local c = { solution = sol, step = step, key = task:key(sol), text = format_solution(task, sol) }
      if type(c.key) ~= "string" then
        error(string.format("opro.optimize: task:key returned a %s (a string expected)", type(c.key)), 0)
      end
      for f, v in pairs(extra or {}) do c[f] = v end
      return c
    end

    local function add_history(c)
      local e = { solution = c.solution, score = c.score, step = c.step, key = c.key, text = c.text,
                  details = c.details, rep = r, raw_score = c.raw_score, similarity = c.similarity }
      R.history[#R.history + 1] = e
      R.unique = R.unique + ((c.step or 0) >= 0 and 1 or 0)
      note_best(e)
      if not R.found and type(base_task.found) == "function" and task:found(c.solution, c.score) then
        R.found, R.found_step = true, c.step
      end
      return e
    end

    local function finish_scored(scored, step)
      local ctx = ctx_for(step)
      if explore then scored = explore_adjust(explore, scored, R.history, ctx) end
      if hooks.after_score then
        local repl = hooks.after_score(scored, ctx)
        if repl ~= nil then scored = repl end
      end
      for _, c in ipairs(scored) do
        if c.score ~= nil then
          if (c.raw_score ~= nil and c.raw_score ~= c.score) or (c.embedding ~= nil and not c.embedding_recorded) then
            record_candidate(c, { details = c.details })
          end
          add_history(c)
        end
      end
      return scored
    end

    -- the step's metrics: diversity of its new texts and of the best shown,
    -- candidates scored and rejected; recorded with the run
    local rejected_before = 0
    local function step_metrics(step, fresh, scored)
      local m = diversity and diversity(fresh, R.history, better) or nil
      if m == nil then return end
      m.scored = #scored
      if explore then
        m.rejected = (R.rejected or 0) - rejected_before
        rejected_before = R.rejected or 0
      end
      local entry = shallow_copy(m)
      entry.step = step
      R.metrics[#R.metrics + 1] = entry
      if run and run.record_metrics then run:record_metrics{ rep = r, step = step, metrics = m } end
    end

    -- user-given history (step -1, as in the reference), not scored again;
    -- recorded with the run so that its store and report hold the whole
    -- history the optimizer saw (e.g. continuous mode's feedback log)
    for _, h in ipairs(o.history or base_task.history or {}) do
      local c = make_candidate(h.solution, -1, { score = h.score })
      if not R.seen[c.key] and c.score ~= nil then
        R.seen[c.key] = true
        local details = type(h.details) == "table" and shallow_copy(h.details) or {}
        details.given = true
        record_candidate(c, { details = details })
        add_history(c)
      end
    end

    -- step 0: the initial solutions
    local init = {}
    for _, sol in ipairs(o.initial or base_task.initial or {}) do
      local c = make_candidate(sol, 0)
      if not R.seen[c.key] then
        R.seen[c.key] = true
        init[#init + 1] = c
      end
    end
    local scored0, budget0 = score_all(init, 0)
    finish_scored(scored0, 0)
    step_metrics(0, init, scored0)
    if budget0 then R.stop_reason = "budget" end
    -- the curve, the progress line and the stopping rules see the objective's
    -- own scores (raw_score), not the ones an explore stage adjusted
    local function best_score() return R.best and (R.best.raw_score or R.best.score) end
    local step0_best
    for _, c in ipairs(scored0) do
      local v = c.raw_score or c.score
      if v ~= nil and better(v, step0_best) then step0_best = v end
    end
    R.curve = { { step = 0, step_best = step0_best, best = best_score() } }

    local step = 0
    while not R.stop_reason do
      if stop_when_found and R.found then R.stop_reason = "found"; break end
      if stop then
        local state = { step = step, best = R.best and { solution = R.best.solution, score = best_score() },
                        history = R.history, started = started, totals = totals(),
                        better = base_task.better or "higher", rep = r }
        local s, reason = stop(state)
        if s then R.stop_reason = reason or "stop"; break end
      end
      if max_steps and step >= max_steps then R.stop_reason = "max_steps"; break end
      step = step + 1
      local ctx = ctx_for(step)
      if hooks.before_step then
        local s, reason = hooks.before_step(ctx)
        if s == "stop" or s == true then R.stop_reason = reason or "hook"; break end
      end

      -- the meta-prompt
      local topts = shallow_copy(o.template_opts)
      topts.order = topts.order or o.order
      -- rng: function(n) -> 1..n as opro.order expects; prng: the rep's generator
      topts.rng = function(n) return R.rng:random(n) end
      topts.prng, topts.step, topts.rep, topts.task = R.rng, step, r, task
      if topts.seed == nil then topts.seed = seed end
      local meta = template(R.history, topts)
      if type(meta) ~= "string" then
        error(string.format("opro.optimize: the template returned a %s (a string expected)", type(meta)), 0)
      end
      if hooks.meta_prompt then
        -- sees (and may replace) the meta-prompt before the optimizer is asked
        local repl = hooks.meta_prompt(meta, ctx)
        if repl ~= nil then
          if type(repl) ~= "string" then
            error(string.format("opro.optimize: the meta_prompt hook returned a %s (a string or nil expected)", type(repl)), 0)
          end
          meta = repl
        end
      end
      R.last_meta_prompt = meta

      -- k proposals, concurrently, each with its own sample index
      local idx = {}
      for i = 1, k do idx[i] = i end
      local outs = opro.map(idx, function(i)
        -- the sample index is also sent as the request's seed (OpenAI, Gemini):
        -- the k requests of a step differ, and a replay asks the same thing
        local sample = M.sample_index(seed, r, step, i)
        local text, info, code = optimizer:chat(meta, { temperature = temperature, sample = sample,
          seed = o.send_seed ~= false and sample or nil, max_tokens = o.max_tokens })
        if text == nil then return { error = info, code = code } end
        return { text = text }
      end)
      local outputs, nfail, budget, lastmsg = {}, 0, nil, nil
      for i, out in ipairs(outs) do
        if out.text then outputs[i] = out.text
        else
          nfail = nfail + 1
          outputs[i] = false
          lastmsg = string.format("%s (%s)", tostring(out.error), tostring(out.code))
          if out.code == "budget" then budget = out.error end
        end
      end
      R.failures = R.failures + nfail
      if nfail > 0 then
        local msg = string.format("rep %d step %d: %d of %d optimizer calls failed; last: %s", r, step, nfail, k, lastmsg)
        if progress and progress.log then progress_call(progress, "log", msg) else log:write("[opro] ", msg, "\n") end
      end
      if budget then R.stop_reason = "budget"; R.steps = step - 1; break end
      if nfail == k then
        error(string.format("opro.optimize: all %d optimizer calls of rep %d step %d failed; last: %s", k, r, step, lastmsg), 0)
      end
      if run and run.record_step then
        local texts = {}
        for i = 1, k do if outputs[i] then texts[#texts + 1] = outputs[i] end end
        run:record_step{ rep = r, step = step, meta_prompt = meta, outputs = texts }
      end

      -- parse, validate, dedupe (in proposal order: deterministic)
      local cands, proposed = {}, 0
      for i = 1, k do
        local text = outputs[i]
        if text then
          -- a parser that raises on odd output must not end an hours-long run
          local okp, sols, perr = pcall(parse, text, topts)
          if not okp then sols, perr = nil, "the parser raised: " .. tostring(sols) end
          if type(sols) ~= "table" then
            if sols ~= nil and perr == nil then perr = "the parser returned a " .. type(sols) .. ", not a list" end
            sols = nil
          end
          if sols == nil then
            if R.parse_errors == 0 and not okp then say(string.format("rep %d step %d: %s", r, step, perr)) end
            R.parse_errors = R.parse_errors + 1
            if run and run.record_candidate then
              run:record_candidate{ rep = r, step = step, key = string.format("!parse:%d:%d", step, i),
                                    text = text, parse_error = tostring(perr or "parse error") }
            end
          else
            for _, sol in ipairs(sols) do
              proposed = proposed + 1
              local c = make_candidate(sol, step, { sample = i, raw = text })
              local valid, verr = true, nil
              if type(base_task.validate) == "function" then valid, verr = task:validate(sol) end
              if not valid then
                R.invalid = R.invalid + 1
                if run and run.record_candidate then
                  run:record_candidate{ rep = r, step = step, key = c.key, solution = sol, text = c.text,
                                        parse_error = tostring(verr or "invalid") }
                end
              elseif R.seen[c.key] then
                R.duplicates = R.duplicates + 1
              else
                R.seen[c.key] = true
                cands[#cands + 1] = c
              end
            end
          end
        end
      end
      if hooks.after_propose then
        local repl = hooks.after_propose(cands, ctx)
        if repl ~= nil then cands = repl end
      end
      local fresh = cands
      if explore then cands = explore_filter(explore, cands, R.history, ctx) end

      local scored, budget2 = score_all(cands, step)
      scored = finish_scored(scored, step)
      step_metrics(step, fresh, scored)
      R.steps = step
      local step_best
      for _, c in ipairs(scored) do
        local v = c.raw_score or c.score
        if v ~= nil and better(v, step_best) then step_best = v end
      end
      R.curve[#R.curve + 1] = { step = step, step_best = step_best, best = best_score() }
      progress_call(progress, "step", { rep = r, step = step, steps = max_steps, proposed = proposed,
        new = #scored, step_best = step_best, best = best_score(), candidates = R.unique,
        inflight = flight.n,
        calls = acc.calls, tokens = acc.input_tokens + acc.output_tokens, totals = totals() })
      if budget2 then R.stop_reason = "budget"; break end
      if hooks.after_step then
        local s, reason = hooks.after_step(ctx)
        if s == "stop" or s == true then R.stop_reason = reason or "hook"; break end
      end
    end
    return R
  end

  -- a run left by an error or Ctrl-C (cancellation) is marked interrupted
  local finished = false
  local guard <close> = setmetatable({}, { __close = function(_, err)
    if not finished and run and type(run.finish) == "function" then
      -- err is nil when the task was cancelled (Ctrl-C cancels every task)
      pcall(run.finish, run, { status = "interrupted",
                               summary = { reason = err ~= nil and tostring(err) or "cancelled (interrupted)" } })
    end
  end })

  local idx = {}
  for r = 1, nreps do idx[r] = r end
  local states = opro.map(idx, run_rep)

  -- the result
  local result = { reps = {}, history = {}, wall = opro.now() - started }
  local overall_better
  for r, R in ipairs(states) do
    local b = better_fn(tasks[r].better)
    overall_better = overall_better or b
    local rec = {
      rep = r, best = R.best, history = R.history, steps = R.steps, found = R.found,
      found_step = R.found_step, unique = R.unique, failures = R.failures,
      parse_errors = R.parse_errors, invalid = R.invalid, duplicates = R.duplicates,
      reused = R.reused, stop_reason = R.stop_reason, curve = R.curve or {},
      calls = R.acc.calls, input_tokens = R.acc.input_tokens, output_tokens = R.acc.output_tokens,
      tokens = R.acc.input_tokens + R.acc.output_tokens, cost = R.acc.cost,
      last_meta_prompt = R.last_meta_prompt, rejected = R.rejected, metrics = R.metrics,
    }
    result.reps[r] = rec
    for _, e in ipairs(R.history) do result.history[#result.history + 1] = e end
    if R.best and b(R.best.score, result.best and result.best.score) then result.best = R.best end
  end
  result.totals = totals()
  result.stop_reason = result.reps[1] and result.reps[1].stop_reason
  if result.best then
    result.best = { solution = result.best.solution, score = result.best.raw_score or result.best.score,
                    shown_score = result.best.raw_score and result.best.score or nil, step = result.best.step,
                    rep = result.best.rep, key = result.best.key, text = result.best.text }
  end

  -- held-out evaluation of the top solutions (opts.evaluate_top = n)
  local ntop = o.evaluate_top or 0
  if ntop > 0 then
    local all = {}
    for _, e in ipairs(result.history) do all[#all + 1] = e end
    local b = overall_better or better_fn("higher")
    table.sort(all, function(x, y)
      if x.score ~= y.score then return b(x.score, y.score) end
      return x.key < y.key
    end)
    local top, seen = {}, {}
    for _, e in ipairs(all) do
      if #top >= ntop then break end
      if not seen[e.key] then seen[e.key] = true; top[#top + 1] = e end
    end
    result.evaluations = opro.map(top, function(e)
      local t = tasks[e.rep]
      if type(t.evaluate) ~= "function" then return { key = e.key, solution = e.solution, train = e.score } end
      local s, details = t:evaluate(e.solution, { rep = e.rep, run = run, seed = seed, key = e.key, split = "test" })
      return { key = e.key, solution = e.solution, text = e.text, train = e.score, test = s, details = details }
    end)
  end

  result.totals = totals()               -- including the evaluation's calls
  result.wall = opro.now() - started
  progress_call(progress, "finish", result)
  finished = true
  if run and type(run.finish) == "function" then
    run:finish{ status = "done", summary = M.summary(result) }
  end
  return result
end

--- A JSON-friendly summary of a result (what `--json` prints): per rep
-- steps, found, best, unique candidates, calls, tokens; totals; wall time.
function M.summary(result, extra)
  local s = { reps = {}, totals = result.totals, wall = result.wall, stop_reason = result.stop_reason }
  if result.best then s.best = { solution = result.best.solution, score = result.best.score,
                                 step = result.best.step, rep = result.best.rep, text = result.best.text } end
  for i, r in ipairs(result.reps) do
    s.reps[i] = { rep = r.rep, steps = r.steps, found = r.found, found_step = r.found_step,
                  best = r.best and { solution = r.best.solution, score = r.best.score, step = r.best.step } or nil,
                  unique = r.unique, calls = r.calls, tokens = r.tokens, stop_reason = r.stop_reason,
                  curve = {} }
    for j, c in ipairs(r.curve or {}) do s.reps[i].curve[j] = c.best end   -- best-so-far at steps 0, 1, ...
  end
  if result.evaluations then
    s.evaluations = {}
    for i, e in ipairs(result.evaluations) do
      s.evaluations[i] = { solution = e.solution, train = e.train, test = e.test }
    end
  end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

return setmetatable(M, { __call = function(_, o) return M.optimize(o) end })
