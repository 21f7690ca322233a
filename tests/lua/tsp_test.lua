-- opro.tsp: Held–Karp against brute force, baselines, validity, instances.
local T = require "testlib"
local tsp = require "opro.tsp"

local function dist(c, a, b)
  local dx, dy = c[a + 1][1] - c[b + 1][1], c[a + 1][2] - c[b + 1][2]
  return math.sqrt(dx * dx + dy * dy)
end
local function ref_length(c, tour)
  local s = 0
  for i = 1, #tour - 1 do s = s + dist(c, tour[i], tour[i + 1]) end
  return s + dist(c, tour[#tour], tour[1])
end

-- all tours starting at 0: the minimum length by enumeration
local function brute_force(c)
  local n = #c
  if n == 1 then return 0 end
  local rest, best = {}, math.huge
  for i = 1, n - 1 do rest[i] = i end
  local function perm(k)
    if k > #rest then
      local t = { 0 }
      for i = 1, #rest do t[i + 1] = rest[i] end
      best = math.min(best, ref_length(c, t))
      return
    end
    for i = k, #rest do
      rest[k], rest[i] = rest[i], rest[k]
      perm(k + 1)
      rest[k], rest[i] = rest[i], rest[k]
    end
  end
  perm(1)
  return best
end

T.test("random_instance: deterministic integer points in [-100, 100], x then y", function()
  local a, b, c = tsp.random_instance(30, 7), tsp.random_instance(30, 7), tsp.random_instance(30, 8)
  T.eq(a, b)
  T.ne(a, c)
  T.eq(#a, 30)
  for _, p in ipairs(a) do
    T.eq(math.type(p[1]), "integer")
    T.eq(math.type(p[2]), "integer")
    T.ok(p[1] > -100 and p[1] < 100 and p[2] > -100 and p[2] < 100)
  end
  -- the x values come first from the stream: the first x of a 30-point and a
  -- 5-point instance of one seed are the same draw
  T.eq(tsp.random_instance(5, 7)[1][1], a[1][1])
  local s = tsp.random_instance(50, 1, { scale = 10 })
  for _, p in ipairs(s) do T.ok(math.abs(p[1]) < 10 and math.abs(p[2]) < 10) end
  local d = tsp.random_instance(20, 3, { decimals = 2 })
  local fractional = false
  for _, p in ipairs(d) do
    T.eq(math.type(p[1]), "float")
    T.near(p[1] * 100, math.floor(p[1] * 100 + 0.5), 1e-6, "two decimals")
    if p[1] ~= math.floor(p[1]) then fractional = true end
  end
  T.ok(fractional)
  T.eq(tsp.random_instance(0, 1), {})
  T.raises(function() tsp.random_instance(3, 1, { scale = 0 }) end, "scale must be a number in (0, 1e15]")
  T.raises(function() tsp.random_instance(3, 1, { scale = 1e300 }) end, "scale must be a number in (0, 1e15]")
end)

T.test("length: closed Euclidean tours; reference rounding", function()
  local sq = { { 0, 0 }, { 0, 1 }, { 1, 1 }, { 1, 0 } }
  T.eq(tsp.length(sq, { 0, 1, 2, 3 }), 4)
  T.near(tsp.length(sq, { 0, 2, 1, 3 }), 2 + 2 * math.sqrt(2), 1e-12)
  T.eq(tsp.length(sq, { 0, 2, 1, 3 }, { decimals = 0 }), 4, "int() truncates")
  T.eq(tsp.length(sq, { 0, 2, 1, 3 }, { decimals = 1 }), 4.8)
  T.eq(tsp.length({ { x = 0, y = 0 }, { x = 3, y = 4 } }, { 0, 1 }), 10, "{x=, y=} points")
  T.eq(tsp.length(sq, {}), 0)
  T.eq(tsp.round(2.5, 0), 2)
  T.eq(tsp.round(-2.7, 0), -2)
  T.eq(tsp.round(0.125, 2), 0.12, "half to even")
  T.raises(function() tsp.length(sq, { 0, 4 }) end, "tour position 2: node 4 out of range 0..3")
  T.raises(function() tsp.length(sq, { 0, 1.5 }) end, "tour position 2 is not an integer node")
  T.raises(function() tsp.length({ { 0, 0 }, { 1 } }, { 0, 1 }) end, "coords[2] has no number y")
  T.raises(function() tsp.length({ 5 }, { 0 }) end, "coords[1] is a number, not a pair")
end)

T.test("valid: permutations of 0..n-1 only, with reasons", function()
  T.eq(tsp.valid({ 2, 0, 1 }, 3), true)
  local function reason(t, n, o) local ok, why = tsp.valid(t, n, o); T.eq(ok, false); return why end
  T.eq(reason({ 0, 1 }, 3), "the tour has 2 nodes, expected 3")
  T.eq(reason({ 0, 1, 1 }, 3), "node 1 appears twice (positions 2 and 3)")
  T.eq(reason({ 0, 1, 3 }, 3), "node 3 at position 3 is out of range 0..2")
  T.eq(reason({ 0, -1, 2 }, 3), "node -1 at position 2 is out of range 0..2")
  T.eq(reason({ 0, "1", 2 }, 3), "position 2 is not an integer")
  T.eq(reason({ 0, 1.5, 2 }, 3), "position 2 is not an integer")
  T.eq(reason({ 1, 0, 2 }, 3, { start = 0 }), "the tour starts at node 1, not 0")
  T.eq(tsp.valid({ 0, 2, 1 }, 3, { start = 0 }), true)
  T.eq(tsp.valid({}, 0), true)
end)

T.test("Held–Karp equals brute force for n <= 8 on random instances", function()
  for n = 1, 8 do
    for seed = 1, 6 do
      local c = tsp.random_instance(n, 1000 * n + seed)
      local len, tour = tsp.optimal(c)
      T.ok(tsp.valid(tour, n, { start = 0 }), "n=" .. n)
      T.near(len, brute_force(c), 1e-9, string.format("n=%d seed=%d", n, seed))
      T.near(tsp.length(c, tour), len, 1e-9, "the returned tour has the returned length")
    end
  end
end)

T.test("baselines are valid tours no shorter than the optimum", function()
  for n = 2, 14 do
    local c = tsp.random_instance(n, 77 + n)
    local opt = tsp.optimal(c)
    for name, fn in pairs{ nearest_neighbour = tsp.nearest_neighbour, farthest_insertion = tsp.farthest_insertion } do
      local len, tour = fn(c)
      T.ok(tsp.valid(tour, n, { start = 0 }), name .. " n=" .. n)
      T.near(tsp.length(c, tour), len, 1e-9)
      T.ok(len >= opt - 1e-9, string.format("%s n=%d: %.6f < optimum %.6f", name, n, len, opt))
    end
    T.ok(tsp.gap(tsp.nearest_neighbour(c), opt) >= 0)
  end
  local len, tour = tsp.nearest_neighbour(tsp.random_instance(9, 5), 4)
  T.eq(tour[1], 4, "start node")
  T.ok(len > 0)
end)

-- the reference's algorithms, transcribed from their rules (optimize_tsp.py)
local function ref_nearest(c)
  local tour, remaining = { 0 }, {}
  for i = 1, #c - 1 do remaining[#remaining + 1] = i end
  while #remaining > 0 do
    local bi, bd
    for k, p in ipairs(remaining) do
      local d = dist(c, tour[#tour], p)
      if not bd or d < bd then bi, bd = k, d end
    end
    tour[#tour + 1] = table.remove(remaining, bi)
  end
  return tour
end
local function ref_farthest(c)
  local function ev(t) local d = ref_length(c, t); return d >= 0 and math.floor(d) or math.ceil(d) end
  local tour, remaining = { 0 }, {}
  for i = 1, #c - 1 do remaining[#remaining + 1] = i end
  while #remaining > 0 do
    local maxp, maxd, maxidx = -1, -1, -1
    for k, p in ipairs(remaining) do
      local mind, minidx = -1, -1
      for index = 1, #tour do
        local t = {}
        for i = 1, index do t[#t + 1] = tour[i] end
        t[#t + 1] = p
        for i = index + 1, #tour do t[#t + 1] = tour[i] end
        local d = ev(t)
        if mind == -1 or d < mind then mind, minidx = d, index end
      end
      if maxd == -1 or mind > maxd then maxp, maxd, maxidx = k, mind, minidx end
    end
    table.insert(tour, maxidx + 1, remaining[maxp])
    table.remove(remaining, maxp)
  end
  return tour, ev(tour)
end

T.test("nearest neighbour and farthest insertion {decimals=0} reproduce the reference's tours", function()
  for seed = 1, 8 do
    local n = 5 + seed * 3
    local c = tsp.random_instance(n, seed)
    local _, nn = tsp.nearest_neighbour(c)
    T.eq(nn, ref_nearest(c), "nearest neighbour seed " .. seed)
    local want, wlen = ref_farthest(c)
    local len, fi = tsp.farthest_insertion(c, { decimals = 0 })
    T.eq(fi, want, "farthest insertion seed " .. seed)
    T.eq(len, wlen)
  end
end)

T.test("limits: Held–Karp up to 20 points, clear errors beyond and for no points", function()
  T.eq(tsp.HELD_KARP_MAX, 20)
  local len, tour = tsp.optimal(tsp.random_instance(13, 2))
  T.eq(#tour, 13)
  T.ok(len > 0)
  T.raises(function() tsp.optimal(tsp.random_instance(21, 1)) end, "21 points is too many for Held-Karp (at most 20")
  T.raises(function() tsp.optimal({}) end, "no points")
  T.raises(function() tsp.farthest_insertion({}) end, "no points")
  T.raises(function() tsp.nearest_neighbour({ { 0, 0 } }, 1) end, "start 1 out of range 0..0")
  T.eq({ tsp.optimal{ { 5, 5 } } }, { 0, { 0 } })
end)

T.test("random tours start at 0, are permutations, deterministic; random_tours are distinct", function()
  local a = tsp.random_tour(12, 99)
  T.eq(a, tsp.random_tour(12, 99))
  T.ok(tsp.valid(a, 12, { start = 0 }))
  local ts = tsp.random_tours(10, 5, 1, { a })
  T.eq(#ts, 5)
  local seen = { [table.concat(a, ",")] = true }
  for _, t in ipairs(ts) do
    T.ok(tsp.valid(t, 10, { start = 0 }))
    T.ok(not seen[table.concat(t, ",")], "distinct")
    seen[table.concat(t, ",")] = true
  end
  T.eq(#tsp.random_tours(3, 5, 1), 2, "only 2 tours of 3 nodes start at 0")
  T.eq(tsp.gap(110, 100), 10)
end)

T.done()
