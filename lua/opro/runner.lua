--- opro.runner: what every example does around opro.optimize — the LLM
-- clients from the common flags (opro.cli), the run database and resume,
-- --estimate, --json and the final report.
--
--   local cli, runner = require "opro.cli", require "opro.runner"
--   local opts = cli.parse(arg, { name = "my.lua", options = cli.common() })
--   local env = runner.setup(opts, { name = "my-run", config = { ... } })
--   local task = opro.task.instruction{ scorer = env.scorer, ... }
--   runner.optimize(env, { task = task })       -- honours --estimate/--json/--db/--resume
local M = {}

M.default_optimizer_model = "gpt-4"            -- the paper's optimizers: gpt-4, gpt-3.5-turbo, text-bison
M.default_scorer_model = "gpt-3.5-turbo"

local function json()
  local cjson = require "cjson"
  if cjson.encode_sparse_array then cjson.encode_sparse_array(true) end
  return cjson
end

-- Only JSON-friendly values (drops functions, userdata, cycles).
local function plain(v, seen)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
    return v
  end
  if t == "string" or t == "boolean" then return v end
  if t ~= "table" then return nil end
  seen = seen or {}
  if seen[v] then return nil end
  seen[v] = true
  local out, n = {}, #v
  if n > 0 then
    for i = 1, n do out[i] = plain(v[i], seen) end
  else
    for k, x in pairs(v) do
      if type(k) == "string" or math.type(k) == "integer" then out[tostring(k)] = plain(x, seen) end
    end
  end
  seen[v] = nil
  return out
end
M.plain = plain

function M.json_encode(v)
  return json().encode(plain(v))
end

--- n arithmetic word problems from opro-sim's generator
-- (lua/opro/sim/problems.lua), as dataset items: {input=, target=,
-- kind="number", index=(0-based), dataset="sim"}.
function M.demo_items(n, seed)
  local items = require("opro.sim.problems").generate(n, seed)
  for _, it in ipairs(items) do it.dataset = "sim" end
  return items
end

--- cli.common(extra) with some defaults changed (shown in --help):
--   runner.options({ {"instance", "string", "..."} }, { steps = 500, reps = 5 })
-- omit (a list of flag names) leaves out flags a script does not use: a
-- script that only scores, runs no optimization, has no --steps.
function M.options(extra, defaults, omit)
  local cli, llm = require "opro.cli", require "opro.llm"
  local list = {}
  for _, o in ipairs(cli.common(extra)) do
    local key = o[1]:gsub("%-", "_")
    if defaults and defaults[key] ~= nil then
      local c = {}
      for k, v in pairs(o) do c[k] = v end
      c.default = defaults[key]
      o = c
    end
    list[#list + 1] = o
  end
  -- shared by the examples: prices (what a run costs) and a spending cap
  list[#list + 1] = { "price", "string", "USD per million tokens, INPUT,OUTPUT, for both models (e.g. 0.5,1.5)" }
  list[#list + 1] = { "optimizer-price", "string", "INPUT,OUTPUT USD per million tokens of the optimizer (default: --price)" }
  list[#list + 1] = { "scorer-price", "string", "INPUT,OUTPUT USD per million tokens of the scorer (default: --price)" }
  list[#list + 1] = { "budget-usd", "number", "stop cleanly once this many USD are spent" }
  list[#list + 1] = { "budget-calls", "integer", "stop cleanly after this many LLM calls" }
  -- the LLM clients' retry policy (docs/llm.md: max_retries, timeout)
  list[#list + 1] = { "max-retries", "integer", "retries of a failed LLM call (429, 5xx, reset, timeout, bad JSON)",
    default = llm.DEFAULT_MAX_RETRIES, min = 0 }
  list[#list + 1] = { "timeout", "number", "seconds per LLM call attempt", default = llm.DEFAULT_TIMEOUT,
    above = 0 }
  list[#list + 1] = { "budget-tokens", "integer", "stop cleanly once this many tokens (input + output) are used" }
  -- exploration (docs/vectors.md)
  list[#list + 1] = { "reject-similar", "number",
    "skip, before scoring, proposals whose cosine to a text already tried is above this (e.g. 0.9)" }
  list[#list + 1] = { "explore-penalty", "number",
    "show the optimizer score - LAMBDA x max cosine to the texts already tried (e.g. 0.1)" }
  list[#list + 1] = { "embed", "string", "embeddings for --reject-similar / --explore-penalty", default = "hashed",
    choices = { "hashed", "llm" } }
  list[#list + 1] = { "embed-model", "string", "the embedding model for --embed llm", default = "text-embedding-3-small" }
  if omit then
    local drop = {}
    for _, name in ipairs(omit) do drop[name] = true end
    local kept = {}
    for _, o in ipairs(list) do
      if not drop[o[1]] then kept[#kept + 1] = o end
    end
    list = kept
  end
  return list
end

--- The instances of an --instance FILE (a JSON array, one object per rep),
-- each checked by check(inst) (which raises on a bad one) before anything is
-- called; a bad file or instance exits 2 naming the file and the instance.
--   local insts = runner.load_instances(opts.instance, "tsp.lua", function(inst) opro.task.tsp{...} end)
function M.load_instances(path, script, check)
  local function die(msg)
    io.stderr:write(script, ": ", path, ": ", msg, "\n")
    os.exit(2)
  end
  local f, ferr = io.open(path, "rb")
  if not f then die((tostring(ferr):gsub("^[^:]*: ", ""))) end
  local ok, v = pcall(json().decode, f:read("a"))
  f:close()
  if not ok then die("not JSON: " .. tostring(v):gsub("^[^:]*:%d+: ", "")) end
  if type(v) ~= "table" or #v == 0 then die("a JSON array of instances expected") end
  for i, inst in ipairs(v) do
    if type(inst) ~= "table" then die(string.format("instance %d: an object expected", i)) end
    local okt, err = pcall(check, inst)
    if not okt then die(string.format("instance %d: %s", i, tostring(err):gsub("^[^:]*:%d+: ", ""))) end
  end
  return v
end

--- opro.dataset.load(name, load_opts), or exit 1 with the loader's message
-- (which names the file and line) under the script's name; a missing file
-- adds `hint` (where to get the data, or a --demo to try instead).
function M.load_dataset(script, name, load_opts, hint)
  local ok, items = pcall(require("opro.dataset").load, name, load_opts)
  if ok then return items end
  io.stderr:write(script, ": ", tostring(items), "\n")
  if hint and tostring(items):find("not found", 1, true) then io.stderr:write("  (", hint, ")\n") end
  os.exit(1)
end

--- "0.5,1.5" -> {input=0.5, output=1.5} (USD per million tokens), or nil,
-- message naming the flag.
function M.parse_price(text, flag)
  if text == nil then return nil end
  local a, b = tostring(text):match("^%s*([^,%s]+)%s*,%s*([^,%s]+)%s*$")
  local i, o = tonumber(a), tonumber(b)
  if not i or not o or i < 0 or o < 0 then
    return nil, string.format("--%s expects INPUT,OUTPUT (USD per million tokens, numbers >= 0), got %q", flag, text)
  end
  return { input = i, output = o }
end

local function fail(msg)
  io.stderr:write("opro-lua: ", msg, "\n")
  os.exit(2)
end

-- checks the exploration flags (before anything is opened or called)
local function check_explore_flags(opts)
  local th, lambda = opts.reject_similar, opts.explore_penalty
  if th ~= nil and (th ~= th or th < -1 or th > 1) then
    fail(string.format("--reject-similar must be a cosine in [-1, 1], got %s", tostring(th)))
  end
  if lambda ~= nil and (lambda ~= lambda or lambda < 0) then
    fail(string.format("--explore-penalty must be >= 0, got %s", tostring(lambda)))
  end
end

--- The opro.explore stages the flags ask for (nil when none):
-- --reject-similar T -> opro.explore.reject{threshold=T} (before scoring),
-- --explore-penalty L -> opro.explore.penalty{lambda=L} (after), both
-- embedding with env.embedder (--embed llm: an opro.llm on --embed-model)
-- or, by default, opro.embed.hashed. `better` is the task's direction.
function M.explore_stages(env, better)
  local opts = env.opts
  if opts.reject_similar == nil and opts.explore_penalty == nil then return nil end
  local explore = require "opro.explore"
  local stages = {}
  if opts.reject_similar ~= nil then
    stages[#stages + 1] = explore.reject{ threshold = opts.reject_similar, embed = env.embedder }
  end
  if opts.explore_penalty ~= nil then
    -- better unknown (a task per rep): the stage takes the loop's task's
    stages[#stages + 1] = explore.penalty{ lambda = opts.explore_penalty, embed = env.embedder,
                                           better = (better == "lower" or better == "higher") and better or nil }
  end
  return stages
end

--- The configuration recorded with a run: the parsed flags (no secrets).
local function config_of(opts, extra)
  local c = {}
  for k, v in pairs(opts) do
    if k ~= "_" and not tostring(k):find("key") then c[k] = v end
  end
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

--- Builds the run's environment from the parsed common flags:
-- env = { opts=, optimizer=, scorer=, meter=, store=, run=, name= }.
-- info.name: the run's name (resume continues the last unfinished run of it).
-- info.config: extra configuration to store; info.optimizer / info.scorer:
-- extra opro.llm fields (e.g. max_tokens).
function M.setup(opts, info)
  info = info or {}
  check_explore_flags(opts)
  local env = { opts = opts, name = info.name or "run" }
  local llm = require "opro.llm"
  local budget
  if opts.budget_usd or opts.budget_calls or opts.budget_tokens then
    budget = { usd = opts.budget_usd, calls = opts.budget_calls, tokens = opts.budget_tokens }
  end
  env.meter = llm.meter and llm.meter{ budget = budget } or nil
  local cache, on_call
  -- the key: $OPRO_API_KEY, else the provider's variable; a server on
  -- loopback (opro-sim, a local vLLM) gets a placeholder when none is set
  local env_var = ({ openai = "OPENAI_API_KEY", anthropic = "ANTHROPIC_API_KEY", gemini = "GEMINI_API_KEY" })[opts.provider or "openai"]
  local api_key = os.getenv("OPRO_API_KEY") or (env_var and os.getenv(env_var))
  if (api_key == nil or api_key == "") and opts.base_url and
     (opts.base_url:match("^https?://127%.") or opts.base_url:match("^https?://localhost[:/]") or opts.base_url:match("^https?://%[::1%]")) then
    api_key = "local"
  end
  if api_key == "" then api_key = nil end
  if api_key == nil and opts.estimate then api_key = "estimate-only" end   -- nothing is called
  local function price(flag, fallback)
    local p, err = M.parse_price(opts[flag:gsub("%-", "_")], flag)
    if err then fail(err) end
    return p or fallback
  end
  local both = price("price")
  local prices = { optimizer = price("optimizer-price", both), scorer = price("scorer-price", both) }
  local function spec_of(model, temperature, extra, role)
    local spec = { provider = opts.provider, base_url = opts.base_url, model = model, api_key = api_key,
                   temperature = temperature, concurrency = opts.concurrency, meter = env.meter,
                   cache = cache, on_call = on_call, max_retries = opts.max_retries, timeout = opts.timeout,
                   price = prices[role] }
    for k, v in pairs(extra or {}) do spec[k] = v end
    return spec
  end
  local wanted = {
    { "optimizer", opts.optimizer_model or opts.model or M.default_optimizer_model, 1.0, info.optimizer, "optimizer" },
  }
  if info.scorer ~= false then
    wanted[#wanted + 1] = { "scorer", opts.scorer_model or opts.model or M.default_scorer_model, 0, info.scorer, "scorer" }
  end
  if opts.embed == "llm" and (opts.reject_similar ~= nil or opts.explore_penalty ~= nil) then
    if opts.provider == "anthropic" then
      fail("--embed llm: provider 'anthropic' has no embeddings API (use --embed hashed)")
    end
    wanted[#wanted + 1] = { "embedder", opts.embed_model or "text-embedding-3-small", nil, nil }
  end
  -- the clients' settings (provider, URL, key, prices) are checked before the
  -- run database is touched: a bad flag is a usage error (exit 2) and leaves
  -- no empty "running" run behind for a later --resume to pick up
  for _, w in ipairs(wanted) do
    local ok, err = pcall(llm, spec_of(w[2], w[3], w[4], w[5]))
    if not ok then fail((tostring(err):gsub("^[^:]+:%d+: ", ""))) end
  end
  if opts.db and not opts.estimate then
    local store = require "opro.store"
    local st, err = store.open(opts.db)
    if not st then
      io.stderr:write("opro-lua: cannot open the run database ", opts.db, ": ", tostring(err), "\n")
      os.exit(1)
    end
    env.store = st
    local run, rerr = st:run{ name = env.name, config = config_of(opts, info.config), script = info.script or arg and arg[0],
                              seed = opts.seed, resume = opts.resume }
    if not run then
      io.stderr:write("opro-lua: ", tostring(rerr), "\n")
      os.exit(1)
    end
    env.run = run
    cache = st:cache()
    on_call = run:call_recorder()
  end
  for _, w in ipairs(wanted) do
    local ok, client = pcall(llm, spec_of(w[2], w[3], w[4], w[5]))
    if not ok then
      io.stderr:write("opro-lua: ", tostring(client):gsub("^[^:]+:%d+: ", ""), "\n")
      os.exit(1)
    end
    env[w[1]] = client
  end
  return env
end

local function fmt_score(s)
  if s == nil then return "-" end
  if math.type(s) == "integer" then return tostring(s) end
  return string.format("%.4g", s)
end
M.fmt_score = fmt_score

local function short(text, n)
  text = tostring(text):gsub("%s+", " ")
  if #text > n then return text:sub(1, n - 3) .. "..." end
  return text
end

--- A human report of a result: the best solution, the score curve per
-- step, calls/tokens/cost.
function M.report(result, out, extra)
  out = out or io.stdout
  local b = result.best
  out:write("\n== Result ==\n")
  if b then
    out:write(string.format("best score %s (rep %s, step %s):\n  %s\n", fmt_score(b.score), tostring(b.rep),
      tostring(b.step), short(b.text or tostring(b.solution), 400)))
  else
    out:write("no solution was scored\n")
  end
  for _, r in ipairs(result.reps) do
    local curve = {}
    for _, c in ipairs(r.curve or {}) do curve[#curve + 1] = fmt_score(c.best) end
    out:write(string.format("rep %d: %d step(s), %d unique, stop: %s%s\n  best-so-far per step (0..%d): %s\n",
      r.rep, r.steps or 0, r.unique or 0, tostring(r.stop_reason),
      r.found and string.format(", found at step %d", r.found_step or -1) or "",
      #curve - 1, table.concat(curve, " ")))
  end
  if result.evaluations and #result.evaluations > 0 then
    out:write("held-out evaluation of the top solutions:\n")
    for _, e in ipairs(result.evaluations) do
      out:write(string.format("  train %s  test %s  %s\n", fmt_score(e.train), fmt_score(e.test),
        short(e.text or tostring(e.solution), 100)))
    end
  end
  local t = result.totals or {}
  out:write(string.format("calls %d (%d cached), tokens %d in + %d out, cost $%.4f, wall %.1f s\n",
    t.calls or 0, t.cache_hits or 0, t.input_tokens or 0, t.output_tokens or 0, t.cost or 0, result.wall or 0))
  for _, line in ipairs(extra or {}) do out:write(line, "\n") end
end

--- Runs opro.optimize with the flags' settings (steps, candidates, reps,
-- seed, db, quiet), or prints the estimate and exits for --estimate.
-- Prints the report (or, with --json, one JSON summary on stdout).
-- o: opro.optimize's options (task=, ...), plus o.summary_extra(result) ->
-- table merged into the JSON summary and o.report_extra(result) -> lines.
function M.optimize(env, o)
  local opts = env.opts
  local oo = {}
  for k, v in pairs(o) do oo[k] = v end
  oo.summary_extra, oo.report_extra = nil, nil
  oo.optimizer = oo.optimizer or env.optimizer
  oo.steps = oo.steps or opts.steps
  oo.candidates_per_step = oo.candidates_per_step or opts.candidates
  oo.reps = oo.reps or opts.reps
  oo.seed = oo.seed or opts.seed
  oo.run = env.run
  oo.meter = env.meter
  if oo.explore == nil then
    local t = type(oo.task) == "table" and oo.task or nil
    oo.explore = M.explore_stages(env, t and t.better)
  end
  if oo.quiet == nil then oo.quiet = opts.quiet end
  if opts.estimate then
    local est = require("opro.estimate")(oo)
    if opts.json then
      io.stdout:write(M.json_encode{ estimate = { optimizer = est.optimizer, scorer = est.scorer, total = est.total,
                                                   assumptions = est.assumptions } }, "\n")
    else
      io.stdout:write(require("opro.estimate").format(est))
    end
    return nil, est
  end
  local result = require("opro.optimize")(oo)
  local extra = o.summary_extra and o.summary_extra(result) or nil
  if opts.json then
    local s = require("opro.optimize").summary(result, extra)
    io.stdout:write(M.json_encode(s), "\n")
  else
    M.report(result, io.stdout, o.report_extra and o.report_extra(result) or nil)
  end
  io.stdout:flush()
  if env.store then env.store:close() end
  return result
end

return M
