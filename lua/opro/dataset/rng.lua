--- opro.dataset.rng: small deterministic random number generators that do
-- not touch math.random's state.
--
--   local r = rng.new(seed)        -- xoshiro256** seeded through splitmix64
--   r:next()          -- a 64-bit integer (any bit pattern)
--   r:int(n)          -- uniform integer in [1, n] (unbiased)
--   r:float()         -- uniform float in [0, 1) with 53 random bits
--   r:normal()        -- standard normal (polar method)
--   r:shuffle(list)   -- in place (Fisher–Yates), returns list
--
--   local np = rng.numpy(seed)     -- numpy's legacy RandomState (MT19937):
--   np:random_sample(), np:uniform(lo, hi), np:randn(), np:permutation(n),
--   np:choice(n, size)  -- what np.random.seed(seed); np.random.X(...) gives,
--   so the reference code's splits and instances can be reproduced exactly.
local M = {}

-- ---------------------------------------------------------------- xoshiro
local function rotl(x, k) return (x << k) | (x >> (64 - k)) end

local Xo = {}
Xo.__index = Xo

local function splitmix(state)
  state = state + 0x9E3779B97F4A7C15
  local z = state
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return state, z ~ (z >> 31)
end

local function seed_integer(seed, what)
  if seed == nil then return 0 end
  if math.type(seed) == "integer" then return seed end
  if type(seed) == "number" and seed == math.floor(seed) then return math.tointeger(seed) end
  if type(seed) == "string" then   -- FNV-1a of the text
    local h = 0xcbf29ce484222325
    for i = 1, #seed do h = (h ~ seed:byte(i)) * 0x100000001b3 end
    return h
  end
  error(string.format("%s: seed must be an integer or a string, got %s", what or "rng", tostring(seed)), 3)
end
M.seed_integer = seed_integer

--- A new xoshiro256** generator. seed: integer or string (default 0).
function M.new(seed)
  local st = seed_integer(seed, "rng.new")
  local s = {}
  for i = 1, 4 do st, s[i] = splitmix(st) end
  return setmetatable({ s = s }, Xo)
end

function Xo:next()
  local s = self.s
  local result = rotl(s[2] * 5, 7) * 9
  local t = s[2] << 17
  s[3] = s[3] ~ s[1]
  s[4] = s[4] ~ s[2]
  s[2] = s[2] ~ s[3]
  s[1] = s[1] ~ s[4]
  s[3] = s[3] ~ t
  s[4] = rotl(s[4], 45)
  return result
end

function Xo:float()
  return (self:next() >> 11) * (1.0 / 9007199254740992.0)
end

function Xo:int(n)
  if math.type(n) ~= "integer" or n < 1 then error("rng:int: n must be an integer >= 1", 2) end
  if n == 1 then return 1 end
  -- rejection sampling on the top bits: unbiased
  local bound = n - 1
  local mask = bound
  mask = mask | (mask >> 1) | (mask >> 2) | (mask >> 4) | (mask >> 8) | (mask >> 16) | (mask >> 32)
  while true do
    local v = (self:next() >> 1) & mask
    if v <= bound then return v + 1 end
  end
end

function Xo:normal()
  if self.spare then
    local v = self.spare
    self.spare = nil
    return v
  end
  while true do
    local x1 = 2 * self:float() - 1
    local x2 = 2 * self:float() - 1
    local r2 = x1 * x1 + x2 * x2
    if r2 < 1 and r2 > 0 then
      local f = math.sqrt(-2 * math.log(r2) / r2)
      self.spare = f * x1
      return f * x2
    end
  end
end

function Xo:shuffle(list)
  for i = #list, 2, -1 do
    local j = self:int(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

-- ---------------------------------------------------------------- MT19937
local N, MM = 624, 397
local MATRIX_A, UPPER, LOWER = 0x9908b0df, 0x80000000, 0x7fffffff

local Np = {}
Np.__index = Np

--- numpy's legacy RandomState seeded with np.random.seed(seed) (0 <= seed < 2^32).
function M.numpy(seed)
  seed = seed_integer(seed or 0, "rng.numpy")
  if seed < 0 or seed > 0xffffffff then error("rng.numpy: seed must be between 0 and 2^32 - 1", 2) end
  local key = {}
  for pos = 0, N - 1 do
    key[pos] = seed
    seed = (1812433253 * (seed ~ (seed >> 30)) + pos + 1) & 0xffffffff
  end
  return setmetatable({ key = key, pos = N }, Np)
end

local function mt_gen(self)
  local key = self.key
  for i = 0, N - 1 do
    local y = (key[i] & UPPER) | (key[(i + 1) % N] & LOWER)
    local v = key[(i + MM) % N] ~ (y >> 1)
    if y & 1 == 1 then v = v ~ MATRIX_A end
    key[i] = v
  end
  self.pos = 0
end

--- The next 32-bit output (as a non-negative integer).
function Np:next32()
  if self.pos >= N then mt_gen(self) end
  local y = self.key[self.pos]
  self.pos = self.pos + 1
  y = y ~ (y >> 11)
  y = y ~ ((y << 7) & 0x9d2c5680)
  y = y ~ ((y << 15) & 0xefc60000)
  y = y ~ (y >> 18)
  return y & 0xffffffff
end

function Np:random_sample()
  local a, b = self:next32() >> 5, self:next32() >> 6
  return (a * 67108864.0 + b) / 9007199254740992.0
end

function Np:uniform(lo, hi)
  return lo + (hi - lo) * self:random_sample()
end

function Np:randn()
  if self.has_gauss then
    self.has_gauss = false
    return self.gauss
  end
  while true do
    local x1 = 2.0 * self:random_sample() - 1.0
    local x2 = 2.0 * self:random_sample() - 1.0
    local r2 = x1 * x1 + x2 * x2
    if r2 < 1.0 and r2 ~= 0.0 then
      local f = math.sqrt(-2.0 * math.log(r2) / r2)
      self.gauss, self.has_gauss = f * x1, true
      return f * x2
    end
  end
end

-- a uniform integer in [0, max] (numpy's random_interval)
function Np:interval(max)
  if max == 0 then return 0 end
  local mask = max
  mask = mask | (mask >> 1); mask = mask | (mask >> 2); mask = mask | (mask >> 4)
  mask = mask | (mask >> 8); mask = mask | (mask >> 16)
  if max > 0xffffffff then error("rng.numpy: interval too large", 2) end
  while true do
    local v = self:next32() & mask
    if v <= max then return v end
  end
end

--- np.random.permutation(n): a list of 0..n-1.
function Np:permutation(n)
  local a = {}
  for i = 0, n - 1 do a[i + 1] = i end
  for i = n - 1, 1, -1 do
    local j = self:interval(i)
    a[i + 1], a[j + 1] = a[j + 1], a[i + 1]
  end
  return a
end

--- np.random.choice(n, size, replace=False): a list of `size` 0-based indices.
function Np:choice(n, size)
  if size > n then error("rng.numpy: cannot take a larger sample than the population", 2) end
  local p = self:permutation(n)
  local out = {}
  for i = 1, size do out[i] = p[i] end
  return out
end

return M
