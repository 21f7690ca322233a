--- opro.store.json: the JSON the store writes and reads back.
-- Unlike lua-cjson (which reads every number as a float), it keeps Lua's
-- integer/float distinction across a round trip: integers are written
-- without a fraction ("3"), floats always with one ("3.0", "0.1"), and
-- read back as the same subtype, so a TSP tour stays a list of integers
-- and w=3.0 stays a float. Values that JSON cannot hold (functions,
-- userdata, threads) are written as the string "<function>" etc.; NaN and
-- infinities as null. Keys of objects are sorted, so the text is stable.
local M = {}

local null = setmetatable({}, { __tostring = function() return "null" end })
M.null = null

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function esc_char(c)
  return escapes[c] or string.format("\\u%04x", c:byte())
end
local function quote(s)
  -- "<" ">" "&" are escaped too so the text can sit inside HTML <script>
  return '"' .. s:gsub('[%c"\\]', esc_char):gsub("[<>&]", function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end
M.quote = quote

local function num(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%.1f", v) end
  local s = string.format("%.17g", v)
  -- the shortest form that reads back exactly
  for p = 1, 17 do
    local t = string.format("%." .. p .. "g", v)
    if tonumber(t) == v then s = t break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end
  return s
end

local function encode(v, out, seen)
  local t = type(v)
  if v == nil or v == null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  elseif t == "number" then out[#out + 1] = num(v)
  elseif t == "string" then out[#out + 1] = quote(v)
  elseif t == "table" then
    if seen[v] then out[#out + 1] = '"<cycle>"' return end
    seen[v] = true
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    if count > 0 and count == n then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, seen)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b)
        if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
        return type(a) < type(b)
      end)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(tostring(k))
        out[#out + 1] = ":"
        encode(v[k], out, seen)
      end
      out[#out + 1] = "}"
    end
    seen[v] = nil
  else
    out[#out + 1] = quote("<" .. t .. ">")
  end
end

--- Encodes any Lua value as JSON text (never raises).
function M.encode(v)
  local out = {}
  encode(v, out, {})
  return table.concat(out)
end

-- decoding ---------------------------------------------------------------

local function utf8_of(cp) return utf8.char(cp) end

local decode_value

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function err(s, i, what)
  error(string.format("json: %s at character %d", what, i), 0)
end

local function decode_string(s, i)
  -- s:sub(i, i) == '"'
  local out, j = {}, i + 1
  while true do
    local a, b = s:find('[\\"]', j)
    if not a then err(s, i, "unterminated string") end
    out[#out + 1] = s:sub(j, a - 1)
    if s:sub(a, a) == '"' then return table.concat(out), b + 1 end
    local c = s:sub(a + 1, a + 1)
    local simple = ({ b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" })[c]
    if simple then
      out[#out + 1] = simple
      j = a + 2
    elseif c == "u" then
      local hex = s:match("^%x%x%x%x", a + 2)
      if not hex then err(s, a, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      j = a + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = s:match("^\\u(%x%x%x%x)", j)
        if lo then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (tonumber(lo, 16) - 0xDC00)
          j = j + 6
        end
      end
      out[#out + 1] = utf8_of(cp)
    else
      err(s, a, "bad escape")
    end
  end
end

function decode_value(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return t, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then err(s, i, "object key expected") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then err(s, i, "':' expected") end
      local v
      v, i = decode_value(s, i + 1)
      t[k] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return t, i + 1 end
      if d ~= "," then err(s, i, "',' or '}' expected") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local t, n = {}, 0
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return t, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i)
      n = n + 1
      t[n] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return t, i + 1 end
      if d ~= "," then err(s, i, "',' or ']' expected") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "t" and s:sub(i, i + 3) == "true" then return true, i + 4
  elseif c == "f" and s:sub(i, i + 4) == "false" then return false, i + 5
  elseif c == "n" and s:sub(i, i + 3) == "null" then return nil, i + 4
  else
    local tok = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not tok or tok == "" or tok == "-" then err(s, i, "unexpected character") end
    local v
    if tok:find("[%.eE]") then v = tonumber(tok) + 0.0 else v = math.tointeger(tonumber(tok)) or tonumber(tok) end
    if not v then err(s, i, "bad number") end
    return v, i + #tok
  end
end

--- Decodes JSON text; returns the value, or nil, message on bad text.
-- JSON null becomes nil (inside tables: an absent field).
function M.decode(s)
  if type(s) ~= "string" then return nil, "json: text expected, got " .. type(s) end
  local ok, v, i = pcall(decode_value, s, 1)
  if not ok then return nil, v end
  if skip(s, i) <= #s then return nil, string.format("json: trailing text at character %d", skip(s, i)) end
  return v
end

return M
