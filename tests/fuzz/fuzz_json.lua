--- Fuzz target: opro.core.json.decode (src/ljson.c), which decodes every
-- LLM reply and cache entry. On any bytes it returns a value, or nil and
-- a message; it never raises. Where lua-cjson decodes the input too, the
-- two values are the same, numbers' subtype (float) included. Where only
-- one of them decodes it, the difference is one the decoder documents:
-- it turns a surrogate escape without its pair into U+FFFD (cjson fails),
-- it reads a NUL byte as any other byte (cjson ends the text there, so
-- it may accept or reject what follows unread),
-- and it reads numbers by JSON's grammar (cjson hands them to strtod,
-- which also takes hex, "inf", "nan" in any case, and a leading '+').
-- With a skip set it decodes the same inputs, to the same value less the
-- skipped members, or fails with the same message.
local json = require "opro.core.json"
local cjson_safe = require "cjson.safe"
local harness = require "tests.fuzz.harness"
local fail, call = harness.fail, harness.call

local function same(a, b, path)
  if type(a) ~= type(b) then fail("%s: %s vs cjson's %s", path, type(a), type(b)) end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then fail("%s: %s vs cjson's %s", path, math.type(a), math.type(b)) end
    if a ~= b and not (a ~= a and b ~= b) then fail("%s: %.17g vs cjson's %.17g", path, a, b) end
  elseif type(a) == "table" then
    for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
    for k in pairs(b) do if a[k] == nil then fail("%s.%s: missing (cjson has it)", path, tostring(k)) end end
  elseif a ~= b then
    fail("%s: %q vs cjson's %q", path, tostring(a), tostring(b))
  end
end

-- the text outside JSON strings
local function outside_strings(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == '"' then
      i = i + 1
      while i <= n and s:sub(i, i) ~= '"' do i = i + (s:sub(i, i) == "\\" and 2 or 1) end
    else
      out[#out + 1] = c
    end
    i = i + 1
  end
  return table.concat(out)
end

-- names a reply's skip set might hold, and names the dictionary makes
local skip = { object = true, model = true, a = true, k = true, [""] = true, logprobs = true, usage = true }

-- the value without the members named in skip, at any depth
local function without(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if not (type(k) == "string" and skip[k]) then out[k] = without(x) end
  end
  return out
end

return function(data)
  local v, err = call("json.decode", json.decode, data)
  local sv, serr = call("json.decode with skip", json.decode, data, skip)
  if (v == nil) ~= (sv == nil) or serr ~= err then
    fail("with skip: %s / %s, without: %s / %s", tostring(sv), tostring(serr), tostring(v), tostring(err))
  end
  if v ~= nil then same(sv, without(v), "skipped value") end
  if v == nil and type(err) ~= "string" then fail("nil without a message") end
  local cv = cjson_safe.decode(data)
  if v ~= nil and cv ~= nil then
    same(v, cv, "value")
  elseif cv ~= nil then
    -- cjson's strtod numbers: hex, inf/nan spellings, a '+' sign
    if not (outside_strings(data):find("[xXpPiInN+]") or data:find("\0", 1, true)) then
      fail("cjson decodes it, opro.core.json says: %s", err)
    end
  elseif v ~= nil then
    if not (data:find("\\[uU][dD][89a-fA-F]") or data:find("\0", 1, true)) then
      fail("decoded what cjson rejects")
    end
  end
end
