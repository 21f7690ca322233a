-- opro.stop: stopping rules, each function(state) -> stop, reason.
local T = require "testlib"
local stop = require "opro.stop"

local function hist(scores)
  -- scores[i] is the score of the one solution found at step i - 1
  local h = {}
  for i, s in ipairs(scores) do h[i] = { solution = "s" .. i, score = s, step = i - 1 } end
  return h
end

T.test("max_steps", function()
  local r = stop.max_steps(3)
  T.eq(r({ step = 2 }), false)
  local s, why = r({ step = 3 })
  T.eq(s, true)
  T.contains(why, "3 steps")
  T.raises(function() stop.max_steps(0) end, "max_steps")
  T.raises(function() stop.max_steps(1.5) end, "max_steps")
end)

T.test("patience: no improvement in the last p steps", function()
  local r = stop.patience{ steps = 2 }
  local h = hist{ 0.1, 0.3, 0.5, 0.5, 0.5 }
  T.eq(r({ step = 1, history = h }), false, "fewer steps than the patience")
  T.eq(r({ step = 3, history = h }), false, "0.3 at step 1 -> 0.5 now")
  local s, why = r({ step = 4, history = h })
  T.eq(s, true, "best 0.5 already at step 2")
  T.contains(why, "last 2 steps")
end)

T.test("patience: delta is the smallest improvement that counts", function()
  local r = stop.patience{ steps = 1, delta = 0.05 }
  local h = hist{ 0.50, 0.52 }
  T.eq((r({ step = 1, history = h })), true, "+0.02 < 0.05")
  h = hist{ 0.50, 0.60 }
  T.eq((r({ step = 1, history = h })), false)
end)

T.test("patience respects better = lower", function()
  local r = stop.patience{ steps = 1 }
  T.eq((r({ step = 1, history = hist{ 100, 90 }, better = "lower" })), false)
  T.eq((r({ step = 1, history = hist{ 100, 110 }, better = "lower" })), true)
  T.eq((r({ step = 1, history = hist{ 100, 110 } })), false, "higher is better by default")
end)

T.test("target: reached when best >= score (or <= for better = lower)", function()
  local r = stop.target(0.8)
  T.eq(r({ best = { score = 0.79 } }), false)
  local s, why = r({ best = { score = 0.8 } })
  T.eq(s, true)
  T.contains(why, "target score 0.8")
  local lo = stop.target(10)
  T.eq(lo({ best = { score = 12 }, better = "lower" }), false)
  T.eq((lo({ best = { score = 9.5 }, better = "lower" })), true)
  T.eq((r({ history = hist{ 0.2, 0.9 } })), true, "best taken from the history when state.best is absent")
  T.eq(r({ history = {} }), false)
end)

T.test("budget: calls, tokens, dollars", function()
  local r = stop.budget{ calls = 10, tokens = 1000, usd = 0.5 }
  T.eq(r({ totals = { calls = 9, input_tokens = 500, output_tokens = 400, cost = 0.1 } }), false)
  local s, why = r({ totals = { calls = 10, input_tokens = 0, output_tokens = 0, cost = 0 } })
  T.eq(s, true); T.contains(why, "10 of the 10 calls")
  s, why = r({ totals = { calls = 1, input_tokens = 600, output_tokens = 400, cost = 0 } })
  T.eq(s, true); T.contains(why, "1000 of the 1000 tokens")
  s, why = r({ totals = { calls = 1, cost = 0.51 } })
  T.eq(s, true); T.contains(why, "$0.5100")
  T.eq(r({}), false, "no totals yet")
  T.raises(function() stop.budget{} end, "usd=")
  T.raises(function() stop.budget{ calls = -1 } end, "calls")
end)

T.test("wall_time: against state.now or the clock", function()
  local r = stop.wall_time(60)
  T.eq(r({ started = 100, now = 159 }), false)
  local s, why = r({ started = 100, now = 160.5 })
  T.eq(s, true); T.contains(why, "60.5 s")
  T.eq(r({ started = opro.now() }), false, "the real clock: just started")
  T.eq((stop.wall_time(0.001)({ started = opro.now() - 1 })), true)
  T.eq(r({}), false, "no start time")
end)

T.test("any and all compose rules", function()
  local rule = stop.any{ stop.max_steps(10), stop.target(0.9) }
  T.eq(rule({ step = 3, best = { score = 0.5 } }), false)
  local s, why = rule({ step = 3, best = { score = 0.95 } })
  T.eq(s, true); T.contains(why, "target")
  s, why = rule({ step = 10, best = { score = 0.95 } })
  T.contains(why, "10 steps", "the first rule's reason")
  local both = stop.all{ stop.max_steps(2), stop.target(0.9) }
  T.eq(both({ step = 3, best = { score = 0.5 } }), false)
  s, why = both({ step = 3, best = { score = 0.95 } })
  T.eq(s, true); T.contains(why, " and ")
  T.raises(function() stop.any{} end, "non-empty")
  T.raises(function() stop.all{ 1 } end, "rule 1")
end)

T.done()
