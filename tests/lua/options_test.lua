-- opro.options: a misspelt option of opro.optimize, opro.estimate, opro.llm
-- and every opro.task constructor is an error at the caller's line naming
-- the closest known option.
local T = require "testlib"
local options = require "opro.options"

T.test("distance and the closest name", function()
  T.eq(options.distance("", ""), 0)
  T.eq(options.distance("seed", "sed"), 1)
  T.eq(options.distance("kitten", "sitting"), 3)
  T.eq(options.unknown("f", "sed", options.set { "seed", "steps" }), "f: unknown option 'sed' (did you mean 'seed'?)")
  T.eq(options.unknown("f", "zzzzzz", options.set { "seed" }, "docs/x.md"), "f: unknown option 'zzzzzz' (see docs/x.md)")
  T.eq(options.unknown("f", 1, options.set { "seed" }), "f: unknown option '1'")
end)

T.test("check passes known keys and returns the table", function()
  local o = { a = 1, b = 2 }
  T.eq(options.check(o, { "a", "b", "c" }, "f"), o)
end)

-- each call runs in a chunk named "=case" so the error must point at its line 1
local cases = {
  { "opro.task.tsp{ n = 5, sed = 1 }", "opro.task.tsp: unknown option 'sed' (did you mean 'seed'?)" },
  { "opro.task.linear_regression{ w_tru = 3 }", "opro.task.linear_regression: unknown option 'w_tru' (did you mean 'w_true'?)" },
  { "opro.task.shell{ command = 'true {file}', timout = 3 }", "opro.task.shell: unknown option 'timout' (did you mean 'timeout'?)" },
  { "opro.task.continuous{ log = 'x.jsonl', agregate = 'max' }", "opro.task.continuous: unknown option 'agregate' (did you mean 'aggregate'?)" },
  { "opro.task.instruction{ train = {{ input = 'q', target = '1' }}, check = function() end, positon = 'Q_end' }",
    "opro.task.instruction: unknown option 'positon' (did you mean 'position'?)" },
  { "opro.estimate{ task = opro.task.tsp{ n = 5 }, step = 3 }", "opro.estimate: unknown option 'step' (did you mean 'steps'?)" },
  { "opro.optimize{ task = opro.task.tsp{ n = 5 }, optimizer = { chat = function() end }, step = 3 }",
    "opro.optimize: unknown option 'step' (did you mean 'steps'?)" },
  { "opro.llm{ model = 'm', base_url = 'http://x', temprature = 0 }", "opro.llm: unknown option 'temprature' (did you mean 'temperature'?)" },
  { "opro.task.tsp{ n = 1 }", "opro.task.tsp: n must be an integer >= 2" },
}
for _, c in ipairs(cases) do
  T.test("bad option: " .. c[1], function()
    local f = assert(load(c[1], "=case"))
    local ok, err = pcall(f)
    T.eq(ok, false)
    T.eq(err, "case:1: " .. c[2])
  end)
end

T.test("the documented options of each constructor are accepted", function()
  T.ok(opro.task.tsp { n = 5, seed = 1, decimals = 0, num_starting_points = 3, max_exact = 8, generator = "numpy" })
  T.ok(opro.task.linear_regression { seed = 2, n_points = 10, w_true = 3, b_true = 4, noise = 1, num_starting_points = 3, decimals = 0 })
  T.ok(opro.task.shell { command = "true {file}", timeout = 1, initial = "x", better = "lower", concurrency = 1,
                         keep_files = false, suffix = ".txt" })
end)

T.done()
