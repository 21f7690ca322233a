-- opro.order: which earlier solutions a meta-prompt shows, in what order.
local T = require "testlib"
local order = require "opro.order"

local function names(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = e.solution end
  return out
end

-- history in insertion order; b and d tie, as do e and f
local H = {
  { solution = "a", score = 0.50, step = 0 },
  { solution = "b", score = 0.70, step = 1 },
  { solution = "c", score = 0.10, step = 1 },
  { solution = "d", score = 0.70, step = 2 },
  { solution = "e", score = 0.90, step = 2 },
  { solution = "unscored", step = 3 },
  { solution = "f", score = 0.30, step = 3 },
}

T.test("ascending: worst first, best last; ties keep history order (a stable sort)", function()
  T.eq(names(order.ascending(H)), { "c", "f", "a", "b", "d", "e" })
end)

T.test("ascending with a limit keeps the best ones, like sorted(...)[-limit:]", function()
  T.eq(names(order.ascending(H, { limit = 3 })), { "b", "d", "e" })
  T.eq(names(order.ascending(H, { limit = 0 })), {})
  T.eq(#order.ascending(H, { limit = 100 }), 6)
end)

T.test("better = lower sorts the other way (largest loss first)", function()
  T.eq(names(order.ascending(H, { better = "lower" })), { "e", "b", "d", "a", "f", "c" })
  T.eq(names(order.ascending(H, { better = "lower", limit = 2 })), { "f", "c" })
end)

T.test("descending: the same entries, best first", function()
  T.eq(names(order.descending(H)), { "e", "d", "b", "a", "f", "c" })
  T.eq(names(order.descending(H, { limit = 2 })), { "e", "d" })
end)

T.test("random: the same entries, shuffled reproducibly by seed or rng", function()
  local a = names(order.random(H, { seed = 42 }))
  local b = names(order.random(H, { seed = 42 }))
  T.eq(a, b, "same seed, same order")
  local sorted = {}
  for i, v in ipairs(a) do sorted[i] = v end
  table.sort(sorted)
  T.eq(sorted, { "a", "b", "c", "d", "e", "f" }, "a permutation of the scored entries")
  local differs = false
  for s = 1, 20 do
    if table.concat(names(order.random(H, { seed = s }))) ~= table.concat(a) then differs = true end
  end
  T.ok(differs, "other seeds give other orders")
  -- an rng that always picks the last position leaves ascending order
  T.eq(names(order.random(H, { rng = function(n) return n end })), names(order.ascending(H)))
  T.eq(#order.random(H, { seed = 1, limit = 2 }), 2)
end)

T.test("random does not touch math.random's global state", function()
  math.randomseed(7)
  local x = math.random(1000000)
  math.randomseed(7)
  order.random(H, { seed = 3 })
  T.eq(math.random(1000000), x)
end)

T.test("top_k_recent: the k best plus the k most recent, no duplicates, best last", function()
  -- best 2: d, e (of the tie b/d, the later entry sorts higher, as in Python)
  -- most recent 2: f (step 3), e (step 2, later in the history than d)
  local got = names(order.top_k_recent(H, { k = 2 }))
  T.eq(got, { "f", "d", "e" })
  got = names(order.top_k_recent(H, { k = 1 }))
  T.eq(got, { "f", "e" })
  T.eq(#order.top_k_recent(H, { k = 10 }), 6)
end)

T.test("the input is not modified and the entries are the caller's tables", function()
  local copy = {}
  for i, e in ipairs(H) do copy[i] = e end
  local out = order.ascending(H)
  for i, e in ipairs(H) do T.ok(copy[i] == e) end
  T.ok(out[#out] == H[5])
end)

T.test("resolve: by name or function; bad values raise", function()
  T.ok(order.resolve(nil) == order.ascending)
  T.ok(order.resolve("descending") == order.descending)
  local f = function() return {} end
  T.ok(order.resolve(f) == f)
  T.raises(function() order.resolve("sideways") end, "order must be")
  T.raises(function() order.ascending(H, { better = "more" }) end, "better")
  T.raises(function() order.ascending(H, { limit = -1 }) end, "limit")
  T.raises(function() order.ascending("x") end, "history must be a list")
end)

T.done()
