--- opro.rng: a small deterministic PRNG (splitmix64) with its own state.
--   local rng = opro.rng(42)          -- or opro.rng.new(42)
--   rng:random()        -- float in [0, 1)
--   rng:random(6)       -- integer in [1, 6]
--   rng:random(3, 9)    -- integer in [3, 9]
--   rng:shuffle(list)   -- in place (Fisher-Yates), returns list
--   rng:sample(list, k) -- k distinct items, in random order (a new list)
--   rng:fork(tag)       -- an independent generator derived from this one's seed
-- Unlike math.random it shares no global state, so concurrent tasks (the
-- reps of a run) each draw the same numbers on every run with the same seed.
local M = {}

local Rng = {}
Rng.__index = Rng

-- splitmix64 finalizer: a 64-bit integer mix (Lua integers wrap mod 2^64)
local function mix64(z)
  z = (z ~ (z >> 30)) * -4658895280553007687   -- 0xbf58476d1ce4e5b9
  z = (z ~ (z >> 27)) * -7723592293110705685   -- 0x94d049bb133111eb
  return z ~ (z >> 31)
end

local GOLDEN = -7046029254386353131               -- 0x9e3779b97f4a7c15

--- Mixes integers and strings into one 64-bit integer (stable across runs).
function M.hash(...)
  local h = 0x6a09e667f3bcc908
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" then
      for j = 1, #v do h = mix64(h ~ v:byte(j)) + GOLDEN end
    elseif math.type(v) == "integer" then
      h = mix64(h ~ v) + GOLDEN
    elseif type(v) == "number" then
      h = mix64(h ~ string.unpack("<i8", string.pack("<d", v))) + GOLDEN
    elseif v == nil then
      h = mix64(h) + GOLDEN
    else
      error("opro.rng.hash: integers, numbers and strings only, got " .. type(v), 2)
    end
  end
  return mix64(h)
end

--- A new generator seeded with an integer (or anything M.hash accepts).
function M.new(seed, ...)
  local s
  if math.type(seed) == "integer" and select("#", ...) == 0 then s = seed
  else s = M.hash(seed, ...) end
  return setmetatable({ state = s, seed = s }, Rng)
end

function Rng:next64()
  self.state = self.state + GOLDEN
  return mix64(self.state)
end

function Rng:random(m, n)
  local x = self:next64()
  if m == nil then
    return ((x >> 11) & 0x1fffffffffffff) / 9007199254740992.0
  end
  if n == nil then m, n = 1, m end
  if math.type(m) ~= "integer" or math.type(n) ~= "integer" then
    error("rng:random: integer bounds expected", 2)
  end
  if m > n then error("rng:random: interval is empty", 2) end
  local range = n - m + 1
  -- (x >> 1) is a 63-bit non-negative integer: the modulo bias is negligible
  return m + ((x >> 1) % range)
end

--- A float from a normal distribution (Box-Muller).
function Rng:normal(mean, sd)
  local u1 = self:random()
  if u1 < 1e-300 then u1 = 1e-300 end
  local u2 = self:random()
  return (mean or 0) + (sd or 1) * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

function Rng:shuffle(list)
  for i = #list, 2, -1 do
    local j = self:random(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

function Rng:sample(list, k)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  self:shuffle(copy)
  local out = {}
  for i = 1, math.min(k, #copy) do out[i] = copy[i] end
  return out
end

function Rng:fork(...)
  return M.new(self.seed, ...)
end

function Rng:__tostring()
  return string.format("opro.rng(%d)", self.seed)
end

return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
