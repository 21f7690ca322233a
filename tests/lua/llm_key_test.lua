-- Cache keys: SHA-256 of a canonical JSON of the normalized request.
local T = require "testlib"
local hash = require "opro.core.hash"
local key = require "opro.llm.key"

T.test("opro.core.hash.sha256 gives the known digests", function()
  T.eq(hash.sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  T.eq(hash.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  T.eq(hash.sha256(("a"):rep(1000000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  T.eq(hash.sha256("a\0b"), -- (python3 hashlib)
    "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138")
  T.raises(function() hash.sha256({}) end, "string expected")
end)

T.test("opro.core.hash.json_quote escapes what JSON requires and nothing else", function()
  local cjson = require "cjson"
  T.eq(hash.json_quote(""), '""')
  T.eq(hash.json_quote('a"b\\c'), '"a\\"b\\\\c"')
  T.eq(hash.json_quote("\n\r\t\b\f\0\31 /é"), '"\\n\\r\\t\\b\\f\\u0000\\u001f /é"')
  for _, s in ipairs({ "plain", "tab\tnew\nline", 'q"uo\\te', "\1\2\127", ("x"):rep(1000) .. "\n" }) do
    T.eq(cjson.decode(hash.json_quote(s)), s, "round trip")
  end
end)

T.test("canonical JSON: sorted keys, no spaces, minimal escapes, 1.0 == 1", function()
  T.eq(key.canonical({ b = 1, a = { 3, 2.5, "x" }, c = { z = true, y = false } }),
    '{"a":[3,2.5,"x"],"b":1,"c":{"y":false,"z":true}}')
  T.eq(key.canonical("q\"\\\n\t\1/é"), '"q\\"\\\\\\n\\t\\u0001/é"')
  T.eq(key.canonical(1.0), "1")
  T.eq(key.canonical(0.1), "0.1")
  T.eq(key.canonical(0.7), "0.7")
  T.eq(key.canonical(1 / 3), "0.3333333333333333")
  T.eq(key.canonical({}), "{}")
  T.raises(function() key.canonical(0 / 0) end, "finite")
  T.raises(function() key.canonical(print) end, "cannot encode")
end)

local base = { provider = "openai", model = "m", messages = { { role = "user", content = "hi" } },
               params = { temperature = 0, max_tokens = 10 } }
local function with(changes)
  local t = {}
  for k, v in pairs(base) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end

T.test("the key is 64 hex digits, stable, and the SHA-256 of the canonical text", function()
  local k = key.of(base)
  T.match(k, "^%x+$")
  T.eq(#k, 64)
  T.eq(k, key.of(with({})))
  T.eq(k, hash.sha256(key.canonical(base)))
  T.eq(k, key.of(with({ params = { max_tokens = 10, temperature = 0.0 } })), "0.0 and 0, key order")
end)

T.test("every part of the request changes the key", function()
  local k = key.of(base)
  T.ne(key.of(with({ provider = "anthropic" })), k)
  T.ne(key.of(with({ model = "m2" })), k)
  T.ne(key.of(with({ messages = { { role = "user", content = "hi!" } } })), k)
  T.ne(key.of(with({ messages = { { role = "system", content = "hi" } } })), k)
  T.ne(key.of(with({ params = { temperature = 0.5, max_tokens = 10 } })), k)
  T.ne(key.of(with({ params = { temperature = 0, max_tokens = 11 } })), k)
  T.ne(key.of(with({ params = { temperature = 0, max_tokens = 10, stop = { "\n" } } })), k)
  T.ne(key.of(with({ sample = 1 })), k)
  T.ne(key.of(with({ sample = 1 })), key.of(with({ sample = 2 })))
  T.ne(key.of(with({ sample = 1, choice = 2 })), key.of(with({ sample = 1, choice = 3 })))
end)

T.test("request_text is the canonical text of the request with only its sampling parameters", function()
  local msgs = { { role = "system", content = "Be \"brief\".\n" }, { role = "user", content = "Q/A" },
                 { role = "user", content = { { type = "text", text = "parts" } } },
                 { role = "assistant", content = "x", name = "bot" } }
  for _, c in ipairs({
    { params = {}, sample = nil, choice = nil },
    { params = { temperature = 0 }, sample = 3, choice = nil },
    { params = { temperature = 0.7, max_tokens = 10, top_p = 0.9, stop = { "a", "b" }, seed = 1,
                 extra = { logprobs = true, z = { 1, 2 } } }, sample = 0, choice = 2 },
    { params = { stop = "\n" }, sample = nil, choice = 1 },
  }) do
    local want = key.canonical_lua{ provider = "openai", model = "m/1", messages = msgs, params = c.params,
                                    sample = c.sample, choice = c.choice }
    T.eq(key.request_text("openai", "m/1", msgs, c.params, c.sample, c.choice), want)
    T.eq(key.of_request("openai", "m/1", msgs, c.params, c.sample, c.choice), hash.sha256(want))
    -- what is not a sampling parameter (cache, stream, timeout, sample) is not in the key
    local p = { cache = true, stream = false, timeout = 5, sample = 9 }
    for k, v in pairs(c.params) do p[k] = v end
    T.eq(key.of_request("openai", "m/1", msgs, p, c.sample, c.choice), hash.sha256(want))
  end
end)

T.test("canonical_sha256 is the digest of canonical_json; the shared buffer survives errors and large texts", function()
  local v = { b = { 1, 2.5, "x\"y" }, a = "z" }
  T.eq(hash.canonical_sha256(v), hash.sha256(hash.canonical_json(v)))
  T.eq(hash.canonical_sha256("s"), hash.sha256('"s"'))
  -- an error part-way leaves nothing behind for the next call
  T.raises(function() hash.canonical_json({ a = ("q"):rep(5000), b = print }) end, "cannot encode")
  T.raises(function() hash.canonical_sha256({ 1, 0 / 0 }) end, "finite")
  T.eq(hash.canonical_json({ a = 1 }), '{"a":1}')
  T.eq(hash.json_quote("a\n"), '"a\\n"')
  -- a text larger than the kept buffer (1 MiB), then small ones again
  local big = ("ab\"c"):rep(400000)
  T.eq(#hash.json_quote(big), #big + 400000 + 2)
  T.eq(hash.canonical_json({ big }), "[" .. key.canonical_lua(big) .. "]")
  T.eq(hash.canonical_sha256({ big }), hash.sha256("[" .. key.canonical_lua(big) .. "]"))
  T.eq(hash.canonical_json({ x = { y = true } }), '{"x":{"y":true}}')
  -- one call's result is its own string: later calls do not change it
  local first = hash.canonical_json({ k = "first" })
  hash.canonical_json({ k = "second, longer than the first" })
  T.eq(first, '{"k":"first"}')
end)

T.test("canonical JSON in C equals the Lua definition: escapes at every offset, objects of 0-40 keys", function()
  -- the quoting scans 8 bytes at a time: a byte that needs an escape at
  -- each offset of a chunk, and at the ends
  for _, special in ipairs({ '"', "\\", "\n", "\0", "\31", "\127", "\128", "é" }) do
    for len = 0, 20 do
      for pos = 1, len do
        local s = ("a"):rep(pos - 1) .. special .. ("b"):rep(len - pos)
        T.eq(hash.canonical_json(s), key.canonical_lua(s), string.format("%q", s))
      end
    end
  end
  -- objects up to 32 keys are sorted on the stack, larger ones apart
  for n = 0, 40 do
    local t = {}
    for i = 1, n do t[string.format("k%03d", (i * 7919) % 1000)] = i % 3 == 0 and { x = i } or i end
    T.eq(hash.canonical_json(t), key.canonical_lua(t), n .. " keys")
    T.eq(hash.canonical_json({ inner = t, list = { t, t } }), key.canonical_lua({ inner = t, list = { t, t } }), n .. " keys nested")
  end
end)

T.test("canonical JSON in C equals the Lua definition byte for byte (random values)", function()
  T.eq(key.canonical, hash.canonical_json, "the C version is the one in use")
  local seed = 12345
  local function rand(n)   -- a small LCG: the test needs no library
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  local floats = { 0.1, 0.7, 1 / 3, -0.0, 0.0, 1e300, -1e-300, 2.0^53, 2.0^53 + 2, 2.0^63, -2.0^60, 123456789.125,
                   5e-324, 1.7976931348623157e308, 3.0, -7.5 }
  local ints = { 0, -1, 1, math.maxinteger, math.mininteger, 2^53 | 0, 42 }
  local strs = { "", "a", "é", "\0\1\31", 'q"\\', "\n\r\t\b\f", ("x"):rep(300), "\255\254", "k" }
  local function value(depth)
    local r = rand(depth > 3 and 4 or 7)
    if r == 1 then return floats[rand(#floats)]
    elseif r == 2 then return ints[rand(#ints)]
    elseif r == 3 then return strs[rand(#strs)]
    elseif r == 4 then return rand(2) == 1
    elseif r == 5 then
      local t = {}
      for i = 1, rand(4) - 1 do t[i] = value(depth + 1) end
      return t
    else
      local t = {}
      for _ = 1, rand(5) - 1 do t[strs[rand(#strs)] .. rand(3)] = value(depth + 1) end
      return t
    end
  end
  for i = 1, 3000 do
    local v = value(0)
    T.eq(hash.canonical_json(v), key.canonical_lua(v), "value " .. i)
  end
  -- what neither can encode: the same error
  local bad = { 0 / 0, math.huge, -math.huge, print, { 1, nil, 3 }, { [1] = 1, [3] = 3 }, { a = 1, [2] = 2 },
                { x = { y = { print } } }, { [true] = 1 }, { 1, 2, x = 3 } }
  for i, v in ipairs(bad) do
    local ok1, e1 = pcall(hash.canonical_json, v)
    local ok2, e2 = pcall(key.canonical_lua, v)
    T.eq({ ok1, e1 }, { ok2, e2 }, "bad value " .. i)
  end
  T.eq(hash.canonical_json(nil), "null")
  T.eq(hash.canonical_json({ 1, { a = { "b" } } }), '[1,{"a":["b"]}]')
  -- keys sort bytewise, a prefix first (Lua's order in the C locale)
  T.eq(hash.canonical_json({ ["b"] = 1, ["a\0b"] = 2, ["a"] = 3, ["\255"] = 4, ["B"] = 5 }),
    key.canonical_lua({ ["b"] = 1, ["a\0b"] = 2, ["a"] = 3, ["\255"] = 4, ["B"] = 5 }))
  -- a table nested past 1000 levels (or a cycle) is an error, not a crash
  local deep = {}
  local cur = deep
  for _ = 1, 1100 do cur.x = {}; cur = cur.x end
  T.raises(function() hash.canonical_json(deep) end, "nesting deeper than 1000")
  local cyc = {}
  cyc.self = cyc
  T.raises(function() hash.canonical_json(cyc) end, "nesting deeper than 1000")
  -- metatables are not consulted (tables are read raw)
  local mt = setmetatable({ a = 1 }, { __index = function() return 9 end, __len = function() return 5 end })
  T.eq(hash.canonical_json(mt), '{"a":1}')
end)

T.done()
