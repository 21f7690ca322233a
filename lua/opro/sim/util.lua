--- opro.sim.util: deterministic hashing, a small PRNG, token counts and an
-- order-preserving JSON encoder for the simulator (opro-sim).
local cjson = require "cjson"

local M = {}

local FNV_OFFSET = 0xcbf29ce484222325
local FNV_PRIME = 0x100000001b3

--- splitmix64 finaliser of a 64-bit integer.
function M.mix(x)
  x = x + 0x9e3779b97f4a7c15        -- hex literals wrap to 64-bit integers
  x = (x ~ (x >> 30)) * 0xbf58476d1ce4e5b9
  x = (x ~ (x >> 27)) * 0x94d049bb133111eb
  return x ~ (x >> 31)
end

--- A 64-bit hash of any number of values (strings, numbers, booleans).
function M.hash(...)
  local h = FNV_OFFSET
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local s = type(v) == "string" and v or tostring(v)
    for j = 1, #s do
      h = (h ~ s:byte(j)) * FNV_PRIME
    end
    h = M.mix(h ~ #s)
  end
  return h
end

--- A number in [0, 1) from a hash.
function M.unit(h)
  return (M.mix(h) >> 11) * (1.0 / 9007199254740992.0)
end

--- A deterministic pseudo-random generator seeded by a hash.
--   local r = util.rng(h); r:unit(); r:int(1, 6); r:pick(list); r:normal()
function M.rng(seed)
  local r = { s = seed }
  function r:next()
    self.s = self.s + 0x9e3779b97f4a7c15
    return M.mix(self.s)
  end
  function r:unit() return (self:next() >> 11) * (1.0 / 9007199254740992.0) end
  function r:int(lo, hi) return lo + math.floor(self:unit() * (hi - lo + 1)) end
  function r:pick(list) return list[self:int(1, #list)] end
  function r:normal()
    local u1, u2 = self:unit(), self:unit()
    return math.sqrt(-2 * math.log(1 - u1)) * math.cos(2 * math.pi * u2)
  end
  function r:shuffle(list)
    for i = #list, 2, -1 do
      local j = self:int(1, i)
      list[i], list[j] = list[j], list[i]
    end
    return list
  end
  return r
end

--- Tokens in a text, about 4 characters a token as real tokenizers average.
function M.tokens(s)
  if not s or s == "" then return 0 end
  return math.max(1, (#s + 3) // 4)
end

--- Splits a text into stream pieces (a word and the spaces after it).
function M.pieces(text)
  local out = {}
  for piece in text:gmatch("%S+%s*") do out[#out + 1] = piece end
  local lead = text:match("^%s+")
  if lead and out[1] then out[1] = lead .. out[1] end
  if #out == 0 then out[1] = text end
  return out
end

---------------------------------------------------------------------------
-- JSON with key order and empty arrays (cjson has neither).
local OBJ, ARR = { __name = "json object" }, { __name = "json array" }
M.null = cjson.null

--- An ordered object: json.o{"id", id, "object", "list"}.
function M.o(t) return setmetatable(t, OBJ) end
--- An array, possibly empty: json.a{...}.
function M.a(t) return setmetatable(t or {}, ARR) end

local encode

local function encode_number(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
  return string.format("%.10g", v)
end

encode = function(v, out)
  local t = type(v)
  if t == "string" then out[#out + 1] = cjson.encode(v)
  elseif t == "number" then out[#out + 1] = encode_number(v)
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == cjson.null then out[#out + 1] = "null"
  elseif t == "table" then
    local mt = getmetatable(v)
    if mt == OBJ then
      out[#out + 1] = "{"
      for i = 1, #v, 2 do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = cjson.encode(v[i])
        out[#out + 1] = ":"
        encode(v[i + 1], out)
      end
      out[#out + 1] = "}"
    elseif mt == ARR or v[1] ~= nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = cjson.encode(k)
        out[#out + 1] = ":"
        encode(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. t .. " as JSON")
  end
end

--- Encodes a value; tables made with util.o / util.a keep order / stay arrays.
function M.json(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

--- Normalises whitespace (for matching question texts).
function M.squash(s)
  return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

return M
