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

--- The canonical text of a chat request, built directly in key order (the
-- same text M.canonical gives for {provider=, model=, messages=,
-- params=, sample=, choice=}, several times faster).
function M.request_text(provider, model, messages, params, sample, choice)
  local out = { "{" }
  if choice ~= nil then out[2] = '"choice":' .. number(choice) .. "," end
  out[#out + 1] = '"messages":['
  for i, m in ipairs(messages) do
    if i > 1 then out[#out + 1] = "," end
    local c, r = m.content, m.role
    local nkeys = 0
    for _ in pairs(m) do nkeys = nkeys + 1 end
    if type(c) == "string" and type(r) == "string" and nkeys == 2 then
      out[#out + 1] = '{"content":' .. quote(c) .. ',"role":' .. quote(r) .. "}"
    else
      encode(m, out)
    end
  end
  out[#out + 1] = '],"model":' .. quote(model) .. ',"params":{'
  local first = true
  for _, k in ipairs(param_order) do
    local v = params[k]
    if v ~= nil then
      if not first then out[#out + 1] = "," end
      first = false
      out[#out + 1] = '"' .. k .. '":'
      encode(v, out)
    end
  end
  out[#out + 1] = '},"provider":' .. quote(provider)
  if sample ~= nil then out[#out + 1] = ',"sample":' .. number(sample) end
  out[#out + 1] = "}"
  return table.concat(out)
end

--- The key of a chat request (see request_text).
function M.of_request(provider, model, messages, params, sample, choice)
  return hash.sha256(M.request_text(provider, model, messages, params, sample, choice))
end

--- The cache key of a normalized request:
-- {provider=, model=, messages=, params=, sample=, choice=}.
function M.of(req)
  return hash.sha256(M.canonical(req))
end

return M
