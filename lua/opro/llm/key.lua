--- opro.llm.key: cache keys. A key is the SHA-256 (hex) of a canonical JSON
-- text of the normalized request: object keys sorted, no spaces, numbers in
-- the shortest form that reads back equal (1.0 and 1 are the same number),
-- strings with the minimal escapes (independent of the JSON library, so
-- keys stay the same across versions of it).
local hash = require "opro.core.hash"

local M = {}

local quote = hash.json_quote   -- minimal escapes, in C

local function number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then error("cache key: numbers must be finite", 0) end
  if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", math.tointeger(v)) end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

local function encode(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "number" then
    out[#out + 1] = number(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "table" then   -- read raw, as the C version does
    local n = rawlen(v)
    local count = 0
    for _ in next, v do count = count + 1 end
    if n > 0 and count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in next, v do
        if type(k) ~= "string" then error("cache key: object keys must be strings", 0) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        encode(k, out)
        out[#out + 1] = ":"
        encode(rawget(v, k), out)
      end
      out[#out + 1] = "}"
    end
  elseif v == nil then
    out[#out + 1] = "null"
  else
    error("cache key: cannot encode a " .. t, 0)
  end
end

--- The canonical JSON text of a Lua value (nil fields are left out), in
-- Lua: the definition that hash.canonical_json (C, 8x faster: every
-- request body goes through it) must equal byte for byte.
function M.canonical_lua(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

--- The canonical JSON text of a Lua value (nil fields are left out).
M.canonical = hash.canonical_json or M.canonical_lua

local param_order = { "extra", "max_tokens", "seed", "stop", "temperature", "top_p" }

-- the normalized request: the sampling parameters only (p may hold others)
local function request_of(provider, model, messages, p, sample, choice)
  local params = {}
  for i = 1, #param_order do
    local k = param_order[i]
    params[k] = p[k]
  end
  return { provider = provider, model = model, messages = messages, params = params,
           sample = sample, choice = choice }
end

--- The canonical text of a chat request: M.canonical of {provider=,
-- model=, messages=, params=, sample=, choice=}, params holding only the
-- sampling parameters of `p`.
function M.request_text(provider, model, messages, p, sample, choice)
  return M.canonical(request_of(provider, model, messages, p, sample, choice))
end

local canonical_sha256 = hash.canonical_sha256

--- The key of a chat request (the SHA-256 of request_text).
function M.of_request(provider, model, messages, p, sample, choice)
  return canonical_sha256(request_of(provider, model, messages, p, sample, choice))
end

--- The cache key of a normalized request:
-- {provider=, model=, messages=, params=, sample=, choice=}.
function M.of(req)
  return hash.sha256(M.canonical(req))
end

return M
