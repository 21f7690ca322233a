-- The default meta-prompt templates against the reference code's own output:
-- tests/fixtures/template/gen.py ran google-deepmind/opro's gen_meta_prompt
-- functions on the histories and settings in cases.json and wrote the
-- expected meta-prompts to <name>.txt. Any byte difference is a failure.
local T = require "testlib"
local cjson = require "cjson"
local template = require "opro.template"
local cases_lib = require "template_cases"

local dir = T.root .. "/tests/fixtures/template/"
local cases = cjson.decode((assert(T.read(dir .. "cases.json"), "missing cases.json")))

local templates = { instruction = 0, linear_regression = 0, tsp = 0 }
for _, c in ipairs(cases) do
  templates[c.template] = templates[c.template] + 1
  T.test("reference meta-prompt: " .. c.name, function()
    local expected = assert(T.read(dir .. c.name .. ".txt"), "missing " .. c.name .. ".txt")
    local actual = template[c.template](c.history, cases_lib.opts(c))
    T.same_text(actual, expected)
  end)
end

T.test("every template has reference cases", function()
  T.ok(templates.instruction >= 20, "instruction cases: " .. templates.instruction)
  T.ok(templates.linear_regression >= 2)
  T.ok(templates.tsp >= 2)
end)

T.test("the template does not reorder or modify the caller's history", function()
  local c = cases[1]
  local before = cjson.encode(c.history)
  template.instruction(c.history, cases_lib.opts(c))
  T.eq(cjson.encode(c.history), before)
end)

T.test("an ordering can be swapped in: descending shows the best first", function()
  local h = {
    { solution = "a", score = 0.2, step = 0 },
    { solution = "b", score = 0.9, step = 1 },
    { solution = "c", score = 0.5, step = 1 },
  }
  local asc = template.instruction(h, { num_score_buckets = 100 })
  local desc = template.instruction(h, { num_score_buckets = 100, order = "descending" })
  T.ok(asc:find("text:\na\n", 1, true) < asc:find("text:\nb\n", 1, true))
  T.ok(desc:find("text:\nb\n", 1, true) < desc:find("text:\nc\n", 1, true))
  T.ok(desc:find("text:\nc\n", 1, true) < desc:find("text:\na\n", 1, true))
  local custom = template.instruction(h, { order = function(list) return { list[3] } end })
  T.contains(custom, "text:\nc\nscore:\n50\n")
  T.ok(not custom:find("text:\na", 1, true))
end)

T.test("entries without a score are not shown", function()
  local p = template.instruction({ { solution = "kept", score = 0.5 }, { solution = "unscored" } }, {})
  T.contains(p, "kept")
  T.ok(not p:find("unscored", 1, true))
end)

T.test("exemplars may be a function of the history and options", function()
  local h = { { solution = "Go.", score = 0.5, step = 1 } }
  local seen
  local p = template.instruction(h, { step = 4, exemplars = function(hist, o)
    seen = { hist, o.step }
    return { { input = "What is 2 + 2?", target = "4" } }
  end })
  T.ok(seen[1] == h)
  T.eq(seen[2], 4)
  T.contains(p, "Problem:\n<INS>\nWhat is 2 + 2?\n\nGround truth answer:\n4\n")
end)

T.test("a length constraint sentence is appended to the request", function()
  local h = { { solution = "x", score = 0.5 } }
  local p = template.instruction(h, { length_constraint = 30 })
  T.match(p, "all problems above%. The instruction should be at most 30 words long%.$")
  p = template.instruction(h, { optimizer = "text-bison", length_constraint = "Keep it under 20 words." })
  T.match(p, "square brackets%. Keep it under 20 words%.$")
end)

T.test("bad settings raise clear errors", function()
  local h = { { solution = "x", score = 0.5 } }
  T.raises(function() template.instruction(h, { position = "middle" }) end, "opts.position")
  T.raises(function() template.instruction(h, { position = "A_begin", exemplars = { { input = "q", target = "a" } } }) end, "include_qa")
  T.raises(function() template.instruction(h, { num_score_buckets = 0 }) end, "num_score_buckets")
  T.raises(function() template.instruction({ { solution = "x", score = 1.5 } }, {}) end, "between 0 and 1")
  T.raises(function() template.instruction(h, { exemplars = { { input = "q" } } }) end, "exemplars[1]")
  T.raises(function() template.instruction(h, { meta_prompt_type = "instructions_only", position = "before_Q" }) end,
    "instructions_only")
  T.raises(function() template.instruction("nope") end, "history must be a list")
  T.raises(function() template.instruction({ { solution = { "x" }, score = 0.5 } }) end, "instruction string")
  T.raises(function() template.tsp({}, {}) end, "opts.coords")
  T.raises(function() template.linear_regression({ { solution = "15,14", score = 3 } }) end, "history[1].solution")
  T.raises(function() template.tsp({ { solution = { 0, 1.5 }, score = 3 } }, { coords = { { 0, 0 }, { 1, 1 } } }) end,
    "solution[2]")
end)

T.test("Python float formatting (repr) and NumPy rounding", function()
  local num = template.num
  T.eq(num.repr(0.5), "0.5")
  T.eq(num.repr(1), "1.0")
  T.eq(num.repr(1e-5), "1e-05")
  T.eq(num.repr(1.5e16), "1.5e+16")
  T.eq(num.repr(0.1 + 0.2), "0.30000000000000004")
  T.eq(num.repr(-0.0), "-0.0")
  T.eq(num.repr(123456.0), "123456.0")
  T.eq(num.round_int(2.5), 2)
  T.eq(num.round_int(3.5), 4)
  T.eq(num.np_round(2 / 3, 3), 0.667)
  T.eq(num.trunc(-3.7), -3)
  T.eq(num.trunc(1152.99), 1152)
end)

T.done()
