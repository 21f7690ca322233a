-- opro.template.exemplars: few-shot exemplar selection. The expected choices
-- in tests/fixtures/template/exemplar_cases.json come from NumPy itself, run
-- the way the reference's main() and run_evolution() call it (see gen.py).
local T = require "testlib"
local cjson = require "cjson"
local ex = require "opro.template.exemplars"
local template = require "opro.template"

local fx = cjson.decode((assert(T.read(T.root .. "/tests/fixtures/template/exemplar_cases.json"))))
local function ints(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = math.tointeger(v) end
  return out
end
local train = ints(fx.train)

T.test("MT19937 seeded like np.random.seed matches the reference generator's first outputs", function()
  -- 5489 is MT19937's default seed; its first outputs (std::mt19937) are well known
  local rng = ex.numpy_rng(5489)
  T.eq(rng.uint32(), 3499211612)
  T.eq(rng.uint32(), 581869302)
end)

T.test("the paper's GSM8K train split: seed 0, choice(7473, 261, replace=False), sorted", function()
  local pos = ex.numpy_choice(math.tointeger(fx.n), #train, 0)
  local vals = {}
  for i, p in ipairs(pos) do vals[i] = p - 1 end
  table.sort(vals)
  T.eq(vals, train)
end)

T.test("random: the reference's exemplars at each step", function()
  for _, c in ipairs(fx.random) do
    T.eq(ex.random(train, { seed = math.tointeger(c.seed) }), ints(c.expected), "seed " .. c.seed)
    -- opro-lua step n is the reference's i_step n - 1
    T.eq(ex.random(train, { step = math.tointeger(c.seed) + 1 }), ints(c.expected))
  end
  T.eq(ex.constant(train), ex.random(train, { seed = 0 }))
  T.eq(#ex.random({ "a", "b" }, { seed = 1 }), 2, "k is capped by the train size")
end)

T.test("most_wrong (accumulative): the items wrong most often; a seeded draw when more than k", function()
  local items = {}
  for i = 1, 300 do items[i] = { input = "q" .. i, target = tostring(i) } end
  local h = {
    { solution = "a", score = 0.5, step = 0, wrong = { 5, 9 } },
    { solution = "b", score = 0.4, step = 1, details = { wrong = { 9, 12 } } },
    { solution = "c", score = 0.6, step = 1, wrong = { 9, 12, 5, 7 } },
    { solution = "unscored", wrong = { 100 } },
  }
  -- counts: 9 -> 3, 5 -> 2, 12 -> 2, 7 -> 1: four items, k = 3 -> seeded draw among them
  local got = ex.most_wrong(h, items, { step = 1 })
  T.eq(#got, 3)
  for _, it in ipairs(got) do T.ne(it.target, "100") end
  -- with at most k wrong items, all of them, most frequent first
  local small = ex.most_wrong({ h[1], h[2] }, items, { step = 1 })
  T.eq({ small[1].target, small[2].target, small[3].target }, { "9", "5", "12" })
  -- the draw is NumPy's: the reference's list and seed give the reference's choice
  local list = ints(fx.wrong_list)
  local chosen = {}
  for i, q in ipairs(ex.numpy_choice(list, 3, math.tointeger(fx.wrong_seed))) do chosen[i] = list[q] end
  table.sort(chosen)
  T.eq(chosen, ints(fx.wrong_expected))
end)

T.test("most_wrong (current): only the instructions the meta-prompt shows count", function()
  local items = {}
  for i = 1, 20 do items[i] = { input = "q" .. i, target = tostring(i) } end
  local h = {
    { solution = "low", score = 0.1, step = 0, wrong = { 1, 2, 3 } },
    { solution = "x", score = 0.7, step = 1, wrong = { 4, 6 } },
    { solution = "y", score = 0.8, step = 1, wrong = { 4, 5 } },
  }
  local got = ex.most_wrong(h, items, { step = 2, current = true, score_threshold = 0.5 })
  T.eq({ got[1].target, got[2].target, got[3].target }, { "4", "6", "5" })
end)

T.test("selected exemplars feed the instruction template", function()
  local items = {}
  for i = 1, 10 do items[i] = { input = "Question " .. i .. "?", target = tostring(i) } end
  local p = template.instruction({ { solution = "Go.", score = 0.5 } },
    { exemplars = ex.random(items, { step = 1 }) })
  local n = 0
  for _ in p:gmatch("Ground truth answer:") do n = n + 1 end
  T.eq(n, 3)
end)

T.test("bad arguments raise", function()
  T.raises(function() ex.numpy_rng(-1) end, "seed")
  T.raises(function() ex.numpy_choice({ 1, 2 }, 3, 0) end, "cannot choose 3 of 2")
  T.raises(function() ex.random("x") end, "train")
end)

T.done()
