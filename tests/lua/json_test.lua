-- opro.core.json.decode: the values lua-cjson makes (checked against cjson
-- on random documents), clear errors with a byte position, never a raise
-- on bad input.
local T = require "testlib"
local json = require "opro.core.json"
local cjson = require "cjson"

-- equal values and equal number subtypes (cjson makes every number a float)
local function same(a, b, path)
  path = path or "value"
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false, path .. ": " .. math.type(a) .. " vs " .. math.type(b) end
    if a ~= b and not (a ~= a and b ~= b) then return false, path .. ": " .. a .. " vs " .. b end
    if a == 0 and b == 0 and 1 / a ~= 1 / b then return false, path .. ": signed zero" end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return true
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing" end
  end
  return true
end

local function check_same(text)
  local want = cjson.decode(text)
  local got, err = json.decode(text)
  T.ok(err == nil, "decode failed: " .. tostring(err) .. " for " .. text:sub(1, 200))
  local ok, why = same(got, want)
  T.ok(ok, tostring(why) .. " in " .. text:sub(1, 200))
end

T.test("values: objects, arrays, strings, floats, true/false, null is cjson.null", function()
  local v = assert(json.decode(' { "a" : [1, 2.5, -3e2, {"b": null}], "c": "x", "t": true, "f": false, "e": {}, "z": [] } '))
  T.eq(v.a[1], 1)
  T.eq(math.type(v.a[1]), "float")
  T.eq(v.a[2], 2.5)
  T.eq(v.a[3], -300)
  T.ok(v.a[4].b == cjson.null, "null is cjson.null")
  T.eq(#v.a, 4)
  T.eq(v.c, "x")
  T.eq(v.t, true)
  T.eq(v.f, false)
  T.eq(next(v.e), nil)
  T.eq(next(v.z), nil)
  T.eq(json.decode('"plain"'), "plain")
  T.eq(json.decode("42"), 42.0)
  T.eq(math.type(json.decode("42")), "float")
  T.eq(json.decode("true"), true)
  T.ok(json.decode("null") == cjson.null)
end)

T.test("strings: every escape, \\u to UTF-8, surrogate pairs", function()
  T.eq(json.decode([["\"\\\/\b\f\n\r\t"]]), "\"\\/\b\f\n\r\t")
  T.eq(json.decode([["\u0041\u00e9\u20ac\uFFFF"]]), "Aé€\u{FFFF}")
  T.eq(json.decode([["\ud83d\ude00!"]]), "😀!")
  T.eq(json.decode([["a\u0000b"]]), "a\0b")
  T.eq(json.decode('"raw\ttab and é"'), "raw\ttab and é")   -- as cjson: raw control bytes pass
end)

T.test("a surrogate escape without its pair becomes U+FFFD (cjson fails the whole reply)", function()
  T.eq(json.decode([["\ud800"]]), "\u{FFFD}")
  T.eq(json.decode([["x\udc00y"]]), "x\u{FFFD}y")
  T.eq(json.decode([["\ud800\u0041"]]), "\u{FFFD}A")
end)

T.test("numbers: as cjson reads them, including its leniencies", function()
  T.eq(json.decode("-0"), 0.0)
  T.eq(1 / json.decode("-0"), -math.huge)
  T.eq(json.decode("01"), 1.0)
  T.eq(json.decode("1."), 1.0)
  T.eq(json.decode("-.5"), -0.5)
  T.eq(json.decode("1E+2"), 100.0)
  T.eq(json.decode("0.1"), 0.1)
  T.eq(json.decode("123456789012345678901234567890"), 1.2345678901234568e29)
  T.eq(json.decode("9007199254740993"), 9007199254740992.0)
  T.eq(json.decode("1e400"), math.huge)
  T.eq(json.decode("1" .. string.rep("0", 300) .. ".5"), 1e300)   -- longer than the number buffer
  T.eq(json.decode("[" .. string.rep("2", 200) .. "]")[1], tonumber(string.rep("2", 200)))
  T.eq(json.decode("Infinity"), math.huge)
  T.eq(json.decode("-Infinity"), -math.huge)
  local nan = json.decode("NaN")
  T.ok(nan ~= nan, "NaN")
end)

T.test("a repeated key keeps its last value, also across the gathering chunk", function()
  T.eq(json.decode('{"a":1,"a":2}').a, 2)
  local parts = { '"k":"first"' }
  for i = 1, 5000 do parts[#parts + 1] = string.format('"x%d":%d', i, i) end
  parts[#parts + 1] = '"k":"last"'
  local v = assert(json.decode("{" .. table.concat(parts, ",") .. "}"))
  T.eq(v.k, "last")
  T.eq(v.x4999, 4999)
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  T.eq(n, 5001)
end)

T.test("large arrays (more members than one gathering chunk) keep their order", function()
  for _, n in ipairs({ 2047, 2048, 2049, 4096, 10001 }) do
    local xs = {}
    for i = 1, n do xs[i] = tostring(i) end
    local v = assert(json.decode("[" .. table.concat(xs, ",") .. "]"))
    T.eq(#v, n)
    T.eq(v[1], 1)
    T.eq(v[2048], n >= 2048 and 2048 or nil)
    T.eq(v[n], n)
  end
end)

T.test("deep documents with many members at every level stay far from the Lua stack's limit", function()
  -- 500 levels of 3,000 numbers before the next level: gathered all at
  -- once that is 1.5 million stack slots, over LUAI_MAXSTACK
  local row = "[" .. string.rep("1,", 3000)
  local text = string.rep(row, 500) .. "0" .. string.rep("]", 500)
  local v, err = json.decode(text)
  T.ok(v, err)
  local depth, node = 0, v
  while type(node) == "table" do
    depth = depth + 1
    T.eq(#node, depth < 501 and 3001 or 0, "level " .. depth)
    node = node[#node]
  end
  T.eq(depth, 500)
  T.eq(node, 0)
  -- the same thread can still grow its stack (a thread that hit the limit raises "error in error handling")
  local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
  T.eq(deep(50000), 50000)
  T.ok(debug.traceback("x"):find("x", 1, true))
end)

T.test("errors: nil and a message with the byte position", function()
  local cases = {
    { "[1,]", "expected a value at byte 4, found ']'" },
    { '{"a":1,}', "expected a string key in object at byte 8, found '}'" },
    { '{"a" 1}', "expected ':' after an object key at byte 6, found '1'" },
    { "[1 2]", "expected ',' or ']' in array at byte 4, found '2'" },
    { '{"a":1 "b":2}', "expected ',' or '}' in object at byte 8, found '\"'" },
    { "[1] x", "unexpected data after the JSON value at byte 5, found 'x'" },
    { "", "unexpected end of input at byte 1 (expected a value)" },
    { '"abc', "unexpected end of input at byte 5 (unterminated string)" },
    { '{"a":', "unexpected end of input at byte 6 (expected a value)" },
    { "<html>", "expected a value at byte 1, found '<'" },
    { "\1", "expected a value at byte 1, found byte 0x01" },
    { "nul", "expected a value at byte 1, found 'n'" },
    { '"\\x"', "invalid escape in string at byte 2, found '\\'" },
    { '"\\u12G4"', "invalid \\u escape at byte 2, found '\\'" },
    { "-", "unexpected end of input at byte 2 (invalid number)" },
    { "1e", "unexpected end of input at byte 3 (invalid number exponent)" },
    { "-x", "invalid number at byte 2, found 'x'" },
    { string.rep("[", 1001) .. string.rep("]", 1001), "nested deeper than 1000 levels at byte 1001, found '['" },
  }
  for _, c in ipairs(cases) do
    local v, err = json.decode(c[1])
    T.eq(v, nil, c[1])
    T.eq(err, c[2], c[1])
  end
  T.ok(json.decode(string.rep("[", 1000) .. string.rep("]", 1000)), "1000 levels are allowed")
  T.raises(function() json.decode({}) end, "string expected")
end)

-- random documents: cjson.encode of random values, with random spacing
local seed = 4242
local function rnd(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local alphabet = { "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\1", "\31", "é", "€", "😀", "\u{FFFD}", "\0", "\127" }
local function rstring()
  local t = {}
  for i = 1, rnd(12) - 1 do t[i] = alphabet[rnd(#alphabet)] end
  return table.concat(t)
end
local function rvalue(depth)
  local k = rnd(depth > 3 and 5 or 8)
  if k == 1 then return rstring()
  elseif k == 2 then return (rnd(2000001) - 1000001) * 1.0
  elseif k == 3 then return (rnd(2000001) - 1000001) / (rnd(1000) * 7.0)
  elseif k == 4 then return rnd(2) == 1
  elseif k == 5 then return cjson.null
  elseif k <= 7 then
    local a = {}
    for i = 1, rnd(6) - 1 do a[i] = rvalue(depth + 1) end
    return a
  else
    local o = {}
    for _ = 1, rnd(6) do o[rstring() .. "k"] = rvalue(depth + 1) end
    return o
  end
end
local spaces = { "", "", "", " ", "\n", "\t", "\r\n  " }
local function respace(text)
  -- whitespace after structural characters outside strings
  local out, instr, esc = {}, false, false
  for ch in text:gmatch(".") do
    out[#out + 1] = ch
    if instr then
      if esc then esc = false elseif ch == "\\" then esc = true elseif ch == '"' then instr = false end
    elseif ch == '"' then instr = true
    elseif ch:match("[%[%]{}:,]") then out[#out + 1] = spaces[rnd(#spaces)]
    end
  end
  return table.concat(out)
end

T.test("random documents decode to what cjson makes (3,000 documents)", function()
  for _ = 1, 3000 do
    check_same(respace(cjson.encode(rvalue(0))))
  end
end)

T.test("hand-written documents with \\u escapes decode to what cjson makes", function()
  for _, text in ipairs({
    [["\u00e9\u00C9\u0000\u001f\u007f\u0080\u07ff\u0800\uffff"]],
    [[{"k\u00e9y":["\ud83d\ude00","\uD834\uDD1E"],"\/":"\/"}]],
    '{"usage":{"prompt_tokens":52,"completion_tokens":6},"choices":[{"index":0,"message":{"role":"assistant","content":"The answer is 72.","refusal":null},"logprobs":null,"finish_reason":"stop"}]}',
  }) do
    check_same(text)
  end
end)

T.test("arbitrary bytes never raise: a value or nil and a message", function()
  local bytes = { "{", "}", "[", "]", '"', ":", ",", "\\", "u", "d", "8", "0", "1", "e", "-", ".", "n", "t", " ", "\0", "\255", "I", "N" }
  for _ = 1, 5000 do
    local t = {}
    for i = 1, rnd(20) do t[i] = bytes[rnd(#bytes)] end
    local s = table.concat(t)
    local ok, v, err = pcall(json.decode, s)
    T.ok(ok, "raised on " .. string.format("%q", s))
    T.ok(v ~= nil or type(err) == "string", "no value and no message")
  end
end)


-- the value without the members named in skip, at any depth
local function without(v, skip)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if not (type(k) == "string" and skip[k]) then out[k] = without(x, skip) end
  end
  return out
end

T.test("skip: the named members are left out at any depth, the rest is as without skip", function()
  local skip = { object = true, details = true, logprobs = true }
  local v = json.decode('{"object":"x","a":{"details":{"n":[1,2,{"q":"\\u00e9"}]},"b":1},' ..
    '"list":[{"logprobs":null,"c":true},{"object":[]}],"details":1e400,"d":"ok"}', skip)
  local ok, why = same(v, { a = { b = 1.0 }, list = { { c = true }, {} }, d = "ok" })
  T.ok(ok, why)
  -- an object left empty is an empty table; a repeated skipped key is still left out
  ok, why = same(json.decode('{"object":1,"object":{"x":1}}', skip), {})
  T.ok(ok, why)
  -- names only: a string value equal to a skipped name stays
  T.eq(json.decode('["object"]', skip)[1], "object")
  T.raises(function() json.decode("{}", "object") end, "table expected")
  -- random documents, skipping some of their member names
  for _ = 1, 2000 do
    local text = respace(cjson.encode(rvalue(0)))
    local names = {}
    for name in text:gmatch('"([^"\\]*k)"%s*:') do if rnd(2) == 1 then names[name] = true end end
    local got, err = json.decode(text, names)
    T.ok(err == nil, tostring(err))
    ok, why = same(got, without(json.decode(text), names))
    T.ok(ok, tostring(why) .. " in " .. text:sub(1, 200))
  end
end)

T.test("skip: a skipped member's value is still checked, with the same message", function()
  local skip = { s = true }
  local bad = {
    '{"s":[1,]}', '{"s":{"a":1,}}', '{"s":{"a" 1}}', '{"s":[1 2]}', '{"s":"abc', '{"s":"\\x"}',
    '{"s":"\\u12G4"}', '{"s":-}', '{"s":1e}', '{"s":nul}', '{"s":<html>}', '{"s":',
    '{"s":' .. string.rep("[", 1001) .. string.rep("]", 1001) .. "}",
    '{"s":{"t":[{"u":"' .. string.rep("x", 2000) .. '\\q"}]}}',
    '{"s":1} x', '{"s":1 "t":2}',
  }
  for _, text in ipairs(bad) do
    local v1, e1 = json.decode(text)
    local v2, e2 = json.decode(text, skip)
    T.eq(v1, nil, text:sub(1, 60))
    T.eq(v2, nil, text:sub(1, 60))
    T.eq(e2, e1, text:sub(1, 60))
  end
  -- and what decodes without skip decodes with it
  for _ = 1, 3000 do
    local bytes = { "{", "}", "[", "]", '"', ":", ",", "\\", "u", "s", "0", "1", "e", "-", ".", "n", "t", " ", "\255" }
    local t = { '{"s":' }
    for i = 2, rnd(16) + 1 do t[i] = bytes[rnd(#bytes)] end
    local text = table.concat(t)
    local v1, e1 = json.decode(text)
    local v2, e2 = json.decode(text, skip)
    T.eq(v1 == nil, v2 == nil, text)
    T.eq(e2, e1, text)
  end
end)
T.done()
