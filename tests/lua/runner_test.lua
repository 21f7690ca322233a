-- opro.runner: the examples' shared setup (no LLM is called here).
local T = require "testlib"
local runner = require "opro.runner"
local cli = require "opro.cli"

T.test("options() keeps the common flags, changes defaults, adds budget flags", function()
  local list = runner.options({ { "extra", "integer", "an extra flag", default = 3 } }, { steps = 500, reps = 5 })
  local spec = { name = "x.lua", options = list, raise = true }
  local o = assert(cli.parse({}, spec))
  T.eq(o.steps, 500)
  T.eq(o.reps, 5)
  T.eq(o.candidates, 8)
  T.eq(o.extra, 3)
  local o2 = assert(cli.parse({ "--steps", "7", "--budget-calls", "100" }, spec))
  T.eq(o2.steps, 7)
  T.eq(o2.budget_calls, 100)
  local o3 = assert(cli.parse({ "--budget-tokens", "5000", "--budget-usd", "0.5" }, spec))
  T.eq({ o3.budget_tokens, o3.budget_usd }, { 5000, 0.5 })
  T.contains(cli.usage(spec), "(default 500)")
  -- the shared list itself is unchanged
  T.eq(assert(cli.parse({}, { options = cli.common(), raise = true })).steps, 10)
end)

T.test("plain() keeps JSON values only", function()
  local t = { a = 1, f = print, list = { 1, 2, { x = "y" } }, inf = math.huge }
  t.self = t
  local p = runner.plain(t)
  T.eq(p.a, 1)
  T.eq(p.f, nil)
  T.eq(p.self, nil)
  T.eq(p.inf, "inf")
  T.eq(p.list, { 1, 2, { x = "y" } })
  T.match(runner.json_encode(t), '"a":1')
end)

T.test("demo_items are dataset items with index and kind", function()
  local items = runner.demo_items(5, 1)
  T.eq(#items, 5)
  for i, it in ipairs(items) do
    T.eq(it.index, i - 1)
    T.eq(it.kind, "number")
    T.ok(type(it.input) == "string" and tostring(it.target):match("^%-?%d+$"), it.input)
  end
  T.eq(runner.demo_items(5, 1), items, "deterministic under a seed")
end)

T.test("setup builds both llms; --estimate needs no API key; loopback gets a placeholder key", function()
  local env = runner.setup({ provider = "openai", estimate = true, steps = 1, candidates = 1, reps = 1, seed = 0 },
                           { name = "t" })
  T.ok(env.optimizer and env.scorer and env.meter)
  T.eq(env.store, nil)
  local env2 = runner.setup({ provider = "openai", base_url = "http://127.0.0.1:9/v1", model = "sim-1" }, { scorer = false })
  T.ok(env2.optimizer)
  T.eq(env2.scorer, nil)
end)

T.test("--max-retries and --timeout reach both llms; their defaults are opro.llm's", function()
  local spec = { name = "x.lua", options = runner.options(), raise = true }
  local d = assert(cli.parse({}, spec))
  T.eq(d.max_retries, opro.llm.DEFAULT_MAX_RETRIES)
  T.eq(d.timeout, opro.llm.DEFAULT_TIMEOUT)
  local o = assert(cli.parse({ "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--max-retries", "7",
                               "--timeout", "2.5" }, spec))
  local env = runner.setup(o, { name = "r" })
  T.eq({ env.optimizer.max_retries, env.optimizer.timeout }, { 7, 2.5 })
  T.eq({ env.scorer.max_retries, env.scorer.timeout }, { 7, 2.5 })
  local _, err = cli.parse({ "--max-retries", "-1" }, spec)
  T.contains(err, "--max-retries must be >= 0")
end)

T.test("setup with --db opens the store, records the config without secrets, resumes by name", function()
  local dir = T.tmpdir()
  local opts = { provider = "openai", base_url = "http://127.0.0.1:9/v1", db = dir .. "/r.db", seed = 3 }
  local env = runner.setup(opts, { name = "same", config = { api_key = "sk-secret", n = 1 } })
  T.ok(env.run)
  local id = env.run.id
  env.store:close()
  opts.resume = true
  local env2 = runner.setup(opts, { name = "same" })
  T.eq(env2.run.id, id, "the unfinished run is continued")
  T.eq(env2.run.resumed, true)
  local raw = T.read(dir .. "/r.db") or ""
  T.ok(not raw:find("sk-secret", 1, true), "no secret in the database")
  env2.store:close()
end)

T.test("--price INPUT,OUTPUT reaches both llms; --scorer-price overrides; bad prices are named", function()
  T.eq(runner.parse_price("0.5,1.5", "price"), { input = 0.5, output = 1.5 })
  T.eq(runner.parse_price(" 3 , 15 ", "price"), { input = 3, output = 15 })
  for _, bad in ipairs { "0.5", "a,b", "-1,2", "1,2,3", "" } do
    local p, err = runner.parse_price(bad, "scorer-price")
    T.eq(p, nil, bad)
    T.contains(err, "--scorer-price expects INPUT,OUTPUT", bad)
  end
  local env = runner.setup({ provider = "openai", estimate = true, price = "1,2", scorer_price = "0.1,0.2" }, { name = "p" })
  T.eq(env.optimizer.price, { input = 1, output = 2 })
  T.eq(env.scorer.price, { input = 0.1, output = 0.2 })
end)

T.done()
