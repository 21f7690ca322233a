-- opro.random: seeded generators with their own state.
local T = require "testlib"
local random = require "opro.random"

T.test("the same seed (one part or several) gives the same stream; another seed another", function()
  local a, b = random(42), random.new(42)
  for _ = 1, 100 do T.eq(a:next(), b:next()) end
  local c, d = random("opro.rep", 0, 3), random("opro.rep", 0, 3)
  local e = random("opro.rep", 0, 4)
  local same, differ = true, false
  for _ = 1, 20 do
    local x, y, z = c:next(), d:next(), e:next()
    same = same and x == y
    differ = differ or x ~= z
  end
  T.ok(same, "same parts, same stream")
  T.ok(differ, "another rep, another stream")
end)

T.test("random() follows math.random's forms and bounds", function()
  local r = random(7)
  local seen = {}
  for _ = 1, 2000 do
    local f = r:random()
    T.ok(f >= 0 and f < 1)
    local i = r:random(6)
    T.ok(math.type(i) == "integer" and i >= 1 and i <= 6)
    seen[i] = true
    local j = r:random(-3, 3)
    T.ok(j >= -3 and j <= 3)
  end
  for k = 1, 6 do T.ok(seen[k], "value " .. k .. " drawn") end
  T.raises(function() r:random(3, 1) end, "empty")
  T.raises(function() r:random(1.5) end, "integer")
end)

T.test("hash mixes parts in order and is stable", function()
  T.eq(random.hash("a", 1), random.hash("a", 1))
  T.ne(random.hash("a", 1), random.hash(1, "a"))
  T.ne(random.hash(1), random.hash(1.0))
  T.raises(function() random.hash({}) end, "integers, numbers and strings")
end)

T.test("sample takes k distinct items; fork is independent of the parent's draws", function()
  local r = random(1)
  local list = {}
  for i = 1, 50 do list[i] = i end
  local s = r:sample(list, 10)
  T.eq(#s, 10)
  local seen = {}
  for _, v in ipairs(s) do T.ok(not seen[v], "distinct"); seen[v] = true end
  T.eq(#list, 50, "the list is not changed")
  local f1 = random(9):fork("x")
  local p = random(9)
  for _ = 1, 5 do p:next() end
  local f2 = p:fork("x")
  T.eq(f1:next(), f2:next(), "a fork depends on the seed, not on draws so far")
end)

T.test("normal(mean, sd) has about that mean and spread", function()
  local r = random(3)
  local n, sum, sq = 20000, 0, 0
  for _ = 1, n do
    local v = r:normal(10, 2)
    sum, sq = sum + v, sq + v * v
  end
  local mean = sum / n
  T.near(mean, 10, 0.1)
  T.near(math.sqrt(sq / n - mean * mean), 2, 0.1)
end)

T.done()
