-- opro.vec: vectors and matrices against a straightforward Lua
-- implementation (double arithmetic on the same float32 values).
local T = require "testlib"
local V = require "opro.vec"
local cjson = require "cjson"

local DIMS = { 1, 3, 7, 17, 767, 768, 769 }
local REL = 1e-5

math.randomseed(20241)
local function rand_table(d)
  local t = {}
  for i = 1, d do t[i] = math.random() * 2 - 1 end
  return t
end

local function ref_dot(a, b)
  local s = 0
  for i = 1, #a do s = s + a[i] * b[i] end
  return s
end
local function ref_norm(a) return math.sqrt(ref_dot(a, a)) end
local function ref_cos(a, b)
  local na, nb = ref_norm(a), ref_norm(b)
  if na == 0 or nb == 0 then return 0 end
  return ref_dot(a, b) / (na * nb)
end

local function rel_ok(got, want, what)
  local err = math.abs(got - want)
  T.ok(err <= REL * math.abs(want) + 1e-12,
    string.format("%s: got %.17g, want %.17g (relative error %.3g)", what, got, want, err / math.max(math.abs(want), 1e-300)))
end

-- both inner loops: the SIMD one chosen at run time and the portable one
local KERNELS = { "auto", "generic" }
local function each_kernel(fn)
  for _, k in ipairs(KERNELS) do
    V.kernel(k)
    fn(V.kernel())
  end
  V.kernel("auto")
end

T.test("new, dim, get, totable, # and float32 rounding", function()
  local v = V.new{ 1, 2.5, -3, 0.1 }
  T.eq(v:dim(), 4)
  T.eq(#v, 4)
  T.eq(v:get(2), 2.5)
  T.eq(v:get(4), string.unpack("<f", string.pack("<f", 0.1)), "stored as float32")
  T.eq(v:totable(), { 1, 2.5, -3, (string.unpack("<f", string.pack("<f", 0.1))) })
  T.ok(V.is_vec(v) and not V.is_matrix(v))
  T.match(tostring(v), "^opro%.vec%(4: ")
  T.eq(getmetatable(v), debug.getregistry()["opro.vec"])
  T.eq(V.zeros(5):totable(), { 0, 0, 0, 0, 0 })
  T.eq(V.new{}:dim(), 0)
  T.eq(V.new(v):totable(), v:totable(), "copy of a vector")
end)

T.test("bad input raises clear errors", function()
  T.raises(function() V.new{ 1, 0 / 0, 3 } end, "element 2 is NaN")
  T.raises(function() V.new{ 1, math.huge } end, "element 2")
  T.raises(function() V.new{ 1e39 } end, "out of float32 range")
  T.raises(function() V.new{ 1, "x" } end, "element 2 is a string")
  T.raises(function() V.new("x") end, "table expected")
  T.raises(function() V.zeros(-1) end, "dimension must be >= 0")
  local v = V.new{ 1, 2, 3 }
  T.raises(function() v:get(0) end, "index 0 out of range 1..3")
  T.raises(function() v:get(4) end, "index 4 out of range 1..3")
  T.raises(function() v:dot{ 1, 2 } end, "dimension mismatch (3 vs 2)")
  T.raises(function() v:cosine(V.new{ 1 }) end, "dimension mismatch")
  T.raises(function() v:dot("x") end, "opro.vec or table of numbers")
end)

T.test("dot, norm, cosine match the reference for dims " .. table.concat(DIMS, ","), function()
  each_kernel(function(kname)
    for _, d in ipairs(DIMS) do
      for _ = 1, 5 do
        local a, b = V.new(rand_table(d)), V.new(rand_table(d))
        local ta, tb = a:totable(), b:totable()
        rel_ok(a:dot(b), ref_dot(ta, tb), kname .. " dot d=" .. d)
        rel_ok(a:norm(), ref_norm(ta), kname .. " norm d=" .. d)
        rel_ok(a:cosine(b), ref_cos(ta, tb), kname .. " cosine d=" .. d)
        rel_ok(a:dot(tb), ref_dot(ta, tb), kname .. " dot with a table d=" .. d)
      end
    end
  end)
end)

T.test("normalize returns a new unit vector; zero vectors stay zero and have cosine 0", function()
  for _, d in ipairs(DIMS) do
    local a = V.new(rand_table(d))
    local n = a:normalize()
    T.near(n:norm(), 1, 1e-6, "d=" .. d)
    T.near(n:cosine(a), 1, 1e-6)
    T.ne(a:norm(), n:norm(), "the original is unchanged")
  end
  local z = V.zeros(4)
  T.eq(z:normalize():totable(), { 0, 0, 0, 0 })
  T.eq(z:cosine{ 1, 2, 3, 4 }, 0)
  T.eq(V.new{ 3, 4 }:cosine{ -6, -8 }, -1)
end)

T.test("matrix: build, rows, dim, row, append (vector, table, matrix)", function()
  local m = V.matrix{ { 1, 2 }, V.new{ 3, 4 } }
  T.eq(m:rows(), 2)
  T.eq(#m, 2)
  T.eq(m:dim(), 2)
  T.eq(m:row(2):totable(), { 3, 4 })
  T.eq(m:append{ 5, 6 }, 3)
  T.eq(m:append(V.new{ 7, 8 }), 4)
  T.eq(m:append(V.matrix{ { 9, 10 }, { 11, 12 } }), 6)
  T.eq(m:append(m), 12, "appending a matrix to itself doubles it")
  T.eq(m:totable()[12], { 11, 12 })
  T.match(tostring(m), "opro%.matrix%(12 x 2%)")
  local e = V.matrix()
  T.eq(e:rows(), 0)
  T.eq(e:dim(), 0)
  e:append{ 1, 2, 3 }
  T.eq(e:dim(), 3, "an empty matrix takes the dimension of its first row")
  T.raises(function() m:append{ 1, 2, 3 } end, "dimension mismatch (2 vs 3)")
  T.raises(function() V.matrix{ { 1, 2 }, { 1 } } end, "row 2 has 1 elements, expected 2")
  T.raises(function() V.matrix{ { 1, 2 }, "x" } end, "row 2 is a string")
  T.raises(function() V.matrix{ { 1, 0 / 0 } } end, "NaN")
  T.raises(function() m:row(13) end, "index 13 out of range 1..12")
  T.raises(function() m:row(0) end, "out of range")
  T.raises(function() V.matrix({}, 4):append{ 1 } end, "dimension mismatch (4 vs 1)")
end)

local function ref_scores(rows, q, metric)
  local s = {}
  for i, r in ipairs(rows) do s[i] = metric == "dot" and ref_dot(r, q) or ref_cos(r, q) end
  return s
end

T.test("topk and max_cosine match a full sort on random data", function()
  each_kernel(function(kname)
    for _, d in ipairs(DIMS) do
      local rows = {}
      for i = 1, 40 do rows[i] = rand_table(d) end
      local m = V.matrix(rows)
      rows = m:totable()   -- the float32 values
      local q = V.new(rand_table(d))
      local tq = q:totable()
      for _, metric in ipairs{ "cosine", "dot" } do
        local s = ref_scores(rows, tq, metric)
        local order = {}
        for i = 1, #rows do order[i] = i end
        table.sort(order, function(a, b) return s[a] > s[b] or (s[a] == s[b] and a < b) end)
        for _, k in ipairs{ 0, 1, 5, 40, 100 } do
          local idx, sc = m:topk(q, k, metric)
          T.eq(#idx, math.min(k, 40), "k=" .. k)
          T.eq(#sc, #idx)
          for j = 1, #idx do
            T.eq(idx[j], order[j], string.format("%s %s d=%d k=%d rank %d", kname, metric, d, k, j))
            rel_ok(sc[j], s[order[j]], kname .. " topk score")
          end
        end
      end
      local s = ref_scores(rows, tq, "cosine")
      local best, where = m:max_cosine(q)
      local rb, rw = -math.huge, nil
      for i, v in ipairs(s) do if v > rb then rb, rw = v, i end end
      T.eq(where, rw)
      rel_ok(best, rb, kname .. " max_cosine d=" .. d)
    end
  end)
end)

T.test("topk: ties go to the lower row; zero rows score 0", function()
  local m = V.matrix{ { 1, 0 }, { 0, 0 }, { 2, 0 }, { 1, 0 } }
  local idx, sc = m:topk({ 1, 0 }, 4)
  T.eq(idx, { 1, 3, 4, 2 })
  T.eq(sc, { 1, 1, 1, 0 })
  local i2, s2 = m:topk({ 1, 0 }, 2, "dot")
  T.eq(i2, { 3, 1 })
  T.eq(s2, { 2, 1 })
end)

T.test("empty inputs: 0 rows, k = 0, k > rows", function()
  local e = V.matrix()
  local idx, sc = e:topk({ 1, 2, 3 }, 5)
  T.eq(idx, {})
  T.eq(sc, {})
  T.eq(e:max_cosine{ 1, 2 }, nil)
  T.eq({ e:pairwise_cosine() }, { 0, 0, 0 })
  local m = V.matrix{ { 1, 2 } }
  idx = m:topk({ 1, 2 }, 0)
  T.eq(idx, {})
  idx, sc = m:topk({ 1, 2 }, 10)
  T.eq(idx, { 1 })
  T.near(sc[1], 1, 1e-12)
  T.eq({ m:pairwise_cosine() }, { 0, 0, 0 }, "one row has no pairs")
  T.raises(function() m:topk({ 1, 2 }, -1) end, "k must be >= 0")
  T.raises(function() m:topk({ 1, 2, 3 }, 1) end, "dimension mismatch (2 vs 3)")
  T.raises(function() m:max_cosine{ 1 } end, "dimension mismatch")
  T.raises(function() m:topk({ 1, 2 }, 1, "l2") end, "invalid option 'l2'")
  T.eq(V.from_json('{"data":[]}', "embedding"):rows(), 0)
end)

T.test("pairwise_cosine matches the reference", function()
  local rows = {}
  for i = 1, 9 do rows[i] = rand_table(17) end
  local m = V.matrix(rows)
  rows = m:totable()
  local sum, max, n = 0, -math.huge, 0
  for i = 1, #rows do
    for j = i + 1, #rows do
      local c = ref_cos(rows[i], rows[j])
      sum, n = sum + c, n + 1
      if c > max then max = c end
    end
  end
  local mean, mx, pairs = m:pairwise_cosine()
  T.eq(pairs, 36)
  rel_ok(mean, sum / n, "mean")
  rel_ok(mx, max, "max")
end)

T.test("bytes are little-endian float32 and round-trip", function()
  local v = V.new{ 1, -2, 0.5 }
  T.eq(v:bytes(), string.pack("<fff", 1, -2, 0.5))
  T.eq(V.from_bytes(v:bytes()):totable(), { 1, -2, 0.5 })
  T.eq(V.from_bytes(v:bytes(), 3):dim(), 3)
  T.raises(function() V.from_bytes(v:bytes(), 4) end, "12 bytes hold 3 floats, expected 4")
  T.raises(function() V.from_bytes("abcde") end, "5 bytes is not a whole number of float32")
  T.raises(function() V.from_bytes(string.pack("<f", 0 / 0)) end, "element 1 is not a finite number")
  local m = V.matrix{ rand_table(7), rand_table(7), rand_table(7) }
  local m2 = V.matrix_from_bytes(m:bytes(), 7)
  T.eq(m2:rows(), 3)
  T.eq(m2:totable(), m:totable())
  T.eq(m2:topk(m:row(2), 1)[1], 2)
  T.raises(function() V.matrix_from_bytes(m:bytes(), 5) end, "not a whole number of rows of 5")
  T.eq(V.matrix_from_bytes("", 3):rows(), 0)
end)

T.test("close and __close free the data; closing twice is safe", function()
  local v = V.new{ 1, 2 }
  v:close()
  v:close()
  T.raises(function() v:dim() end, "closed vector")
  T.match(tostring(v), "closed")
  local m = V.matrix{ { 1 } }
  do local m2 <close> = m end
  T.raises(function() m:rows() end, "closed matrix")
  m:close()
end)

-- ---------------------------------------------------------------- from_json

local function fixture(name) return assert(T.read(T.root .. "/tests/fixtures/vec/" .. name)) end

local function same_as_decoded(m, lists, what)
  T.eq(m:rows(), #lists, what .. " rows")
  for i, l in ipairs(lists) do
    T.eq(m:dim(), #l, what .. " dim")
    local row = m:row(i):totable()
    for j = 1, #l do
      local want = string.unpack("<f", string.pack("<f", l[j]))
      if row[j] ~= want then T.eq(row[j], want, string.format("%s row %d element %d", what, i, j)) end
    end
  end
end

T.test("from_json: an OpenAI embeddings response", function()
  local body = fixture("openai_embeddings.json")
  local m = assert(V.from_json(body, "embedding"))
  local lists = {}
  for i, d in ipairs(cjson.decode(body).data) do lists[i] = d.embedding end
  same_as_decoded(m, lists, "openai")
  T.eq(m:dim(), 256)
end)

T.test("from_json: Gemini batch and single responses (key \"values\")", function()
  local body = fixture("gemini_batch.json")
  local lists = {}
  for i, e in ipairs(cjson.decode(body).embeddings) do lists[i] = e.values end
  same_as_decoded(assert(V.from_json(body, "values")), lists, "gemini batch")
  body = fixture("gemini_single.json")
  same_as_decoded(assert(V.from_json(body, "values")), { cjson.decode(body).embedding.values }, "gemini single")
  local m, msg, code = V.from_json(body, "embedding")
  T.eq(m, nil)
  T.eq(code, "parse")
  T.contains(msg, 'value of "embedding" is not an array of numbers')
end)

local function b64(s)
  local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return (s:gsub("..?.?", function(c)
    local a, b, d = c:byte(1, 3)
    local n = a * 65536 + (b or 0) * 256 + (d or 0)
    local out = {}
    for k = 1, 4 do out[k] = abc:sub((n >> (6 * (4 - k)) & 63) + 1, (n >> (6 * (4 - k)) & 63) + 1) end
    local keep = #c + 1
    return table.concat(out):sub(1, keep) .. string.rep("=", 4 - keep)
  end))
end

T.test("from_json: OpenAI base64 embeddings, escaped keys, keys inside strings", function()
  local raw1, raw2 = string.pack("<fff", 0.25, -1.5, 3), string.pack("<fff", 1, 2, 4)
  local body = string.format('{"data":[{"embedding":"%s","index":0},{"embedding":"%s","index":1}]}', b64(raw1), b64(raw2))
  local m = assert(V.from_json(body, "embedding"))
  T.eq(m:totable(), { { 0.25, -1.5, 3 }, { 1, 2, 4 } })
  m = assert(V.from_json('{"\\u0065mbedding":[1,2],"note":"\\"embedding\\": [9,9,9]","x":{"embedding":[3,4]}}', "embedding"))
  T.eq(m:totable(), { { 1, 2 }, { 3, 4 } })
  m = assert(V.from_json('{"error":{"message":"bad key","code":401}}', "embedding"))
  T.eq(m:rows(), 0, "no match: an empty matrix")
  m = assert(V.from_json(' [ {"e" : [ -0 , 1E2 , 2.5e-1 ] } ] ', "e"))
  T.eq(m:totable(), { { 0, 100, 0.25 } })
end)

T.test("from_json: malformed texts return nil, message, 'parse'", function()
  local cases = {
    { '{"data":[{"embedding":[0.1,0.2]', "unexpected end" },
    { '{"embedding":[1,2,]}', "element 3 of \"embedding\" is not a number" },
    { '{"embedding":[1,"2"]}', "element 2 of \"embedding\" is not a number" },
    { '{"embedding":[[1,2]]}', "element 1 of \"embedding\" is not a number" },
    { '{"embedding":[]}', "vector 1 is empty" },
    { '{"a":{"embedding":[1,2]},"b":{"embedding":[1,2,3]}}', "vector 2 has more than 2 numbers" },
    { '{"a":{"embedding":[1,2,3]},"b":{"embedding":[1,2]}}', "vector 2 has 2 numbers, the first had 3" },
    { '{"embedding":[NaN]}', "not a number" },
    { '{"embedding":[1e39]}', "out of float32 range" },
    { '{"embedding":[01]}', "invalid number" },
    { '{"embedding":[1.]}', "invalid number" },
    { '{"embedding":null}', "not an array of numbers" },
    { '{"embedding":"AAA"}', "not a whole number of float32" },
    { '{"embedding":"AA*A"}', "bad base64 character" },
    { '{"a":1,}', "expected a member name" },
    { '{"a" 1}', "expected ':'" },
    { '{"a":tru}', "unexpected character" },
    { '{"a":"\\x"}', "bad escape" },
    { '{"a":"\1"}', "control character" },
    { '{"a":1} x', "unexpected text after the JSON value" },
    { '', "unexpected end of text" },
    { string.rep("[", 300) .. string.rep("]", 300), "nesting deeper than 256" },
  }
  for _, c in ipairs(cases) do
    local m, msg, code = V.from_json(c[1], "embedding")
    T.eq(m, nil, c[1])
    T.eq(code, "parse", c[1])
    T.contains(msg, c[2], c[1])
    T.contains(msg, "at byte ", c[1])
  end
  T.raises(function() V.from_json(nil, "embedding") end, "string expected")
end)

T.done()
