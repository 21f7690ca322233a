-- opro.regex: PCRE2 patterns (UTF-8, JIT, limits) and their Lua methods.
local T = require "testlib"

T.test("match returns the captures, or the whole match without groups", function()
  local re = opro.regex("(\\d+)-(\\d+)")
  T.eq({ re:match("call 555-1234 now") }, { "555", "1234" })
  T.eq(opro.regex("\\d+"):match("abc 42 7"), "42")
  T.eq(re:match("no digits"), nil)
end)

T.test("match with init, negative init and init past the end", function()
  local re = opro.regex("\\d")
  T.eq(re:match("1a2b3", 2), "2")
  T.eq(re:match("1a2b3", -1), "3")
  T.eq(re:match("1a2b3", -100), "1")
  T.eq(re:match("123", 4), nil)
  T.eq(re:match("123", 10), nil)
end)

T.test("named groups in a table when requested; unset groups are false", function()
  local re = opro.regex("(?<num>\\d+)\\s*(?<unit>kg|lb)?")
  local t = re:match("weight: 72 kg", 1, true)
  T.eq(t, { [0] = "72 kg", "72", "kg", num = "72", unit = "kg" })
  t = re:match("weight: 72", 1, true)
  T.eq(t.num, "72")
  T.eq(t.unit, false)
  T.eq(t[2], false)
  T.eq(re:info().names, { num = 1, unit = 2 })
  T.eq(re:info().captures, 2)
end)

T.test("find returns 1-based byte positions and captures", function()
  local re = opro.regex("b(c)")
  T.eq({ re:find("abcabc") }, { 2, 3, "c" })
  T.eq({ re:find("abcabc", 3) }, { 5, 6, "c" })
  T.eq({ opro.regex("x*"):find("abc") }, { 1, 0 }) -- empty match, as string.find
  T.eq(re:find("xyz"), nil)
  -- positions count bytes of UTF-8 text
  T.eq({ opro.regex("é+"):find("caféé!") }, { 4, 7 })
end)

T.test("gmatch iterates over all matches", function()
  local got = {}
  for k, v in opro.regex("(\\w+)=(\\w+)"):gmatch("a=1, b=2, c=3") do got[#got + 1] = k .. v end
  T.eq(got, { "a1", "b2", "c3" })
  got = {}
  for w in opro.regex("\\d+"):gmatch("10 20 30", 2) do got[#got + 1] = w end
  T.eq(got, { "0", "20", "30" })
end)

T.test("empty matches advance like Lua's string.gsub", function()
  T.eq({ opro.regex("x*"):gsub("abc", "-") }, { "-a-b-c-", 4 })
  T.eq({ opro.regex("b*"):gsub("abc", "-") }, { ("abc"):gsub("b*", "-") })
  local got, want = {}, {}
  for m in opro.regex("a*"):gmatch("baaac") do got[#got + 1] = m end
  for m in ("baaac"):gmatch("a*") do want[#want + 1] = m end
  T.eq(got, want)
  T.eq(got, { "", "aaa", "" })
end)

T.test("gsub with $n, ${name}, $$ and $0", function()
  T.eq({ opro.regex("(\\w+)@(\\w+)"):gsub("joe@example bob@test", "$2:$1") }, { "example:joe test:bob", 2 })
  T.eq(opro.regex("(?<w>\\w+)"):gsub("hi there", "<${w}>"), "<hi> <there>")
  T.eq(opro.regex("\\d+"):gsub("cost 5", "$$$0"), "cost $5")
  T.eq(opro.regex("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)"):gsub("abcdefghijk", "${11}$10"), "kj")
  T.raises(function() opro.regex("(a)"):gsub("a", "$2") end, "invalid capture index $2")
  T.raises(function() opro.regex("(a)"):gsub("a", "${nope}") end, "unknown group")
  T.raises(function() opro.regex("(a)"):gsub("a", "$x") end, "use $$ for a literal $")
end)

T.test("gsub with a table, a function and a maximum count", function()
  T.eq({ opro.regex("\\$(\\w+)"):gsub("$name is $age", { name = "Ada", age = 36 }) }, { "Ada is 36", 2 })
  T.eq(opro.regex("\\w+"):gsub("keep me", { keep = false }), "keep me")
  T.eq(opro.regex("(\\d+)"):gsub("1 2 3", function(d) return tostring(d * 2) end), "2 4 6")
  T.eq(opro.regex("(\\d+)"):gsub("1 2 3", function(d) if d == "2" then return nil end return "x" end), "x 2 x")
  T.eq({ opro.regex("\\d"):gsub("1 2 3", "n", 2) }, { "n n 3", 2 })
  T.raises(function() opro.regex("\\d"):gsub("1", function() return {} end) end, "invalid replacement value")
  T.raises(function() opro.regex("\\d"):gsub("1", true) end, "string/function/table expected")
end)

T.test("flags: caseless, multiline, dotall, extended, ungreedy, Unicode classes", function()
  T.eq(opro.regex("ANSWER", "i"):match("the answer"), "answer")
  T.eq(opro.regex("É", "i"):match("café"), "é") -- UTF-8 aware case folding
  T.eq(opro.regex("^b$", "m"):match("a\nb\nc"), "b")
  T.eq(opro.regex("^b$"):match("a\nb\nc"), nil)
  T.eq(opro.regex("a.c", "s"):match("a\nc"), "a\nc")
  T.eq(opro.regex("a.c"):match("a\nc"), nil)
  T.eq(opro.regex(" a \\d  # a digit", "x"):match("xa7"), "a7")
  T.eq(opro.regex("<.+>", "U"):match("<a><b>"), "<a>")
  T.eq(opro.regex("\\d+"):match("\u{661}\u{662}3"), "3") -- ASCII \d by default
  T.eq(opro.regex("\\d+", "u"):match("\u{661}\u{662}3"), "\u{661}\u{662}3") -- as Python's \d
  T.eq(opro.regex("b", "A"):match("ab"), nil)
  T.raises(function() opro.regex("a", "q") end, "unknown regex flag 'q'")
end)

T.test("compile errors name the pattern and the offset", function()
  local err = T.raises(function() opro.regex("answer is (\\d+") end)
  T.contains(err, "bad pattern 'answer is (\\d+'")
  T.contains(err, "offset 14")
  err = T.raises(function() opro.regex("a{2,1}") end)
  T.contains(err, "a{2,1}")
  T.contains(err, "offset")
  T.raises(function() opro.regex(nil) end, "string expected")
end)

T.test("a catastrophic pattern hits the match limit instead of hanging", function()
  local re = opro.regex("(a+)+$")
  local subject = string.rep("a", 40) .. "b"
  local t0 = opro.now()
  local v, err, code = re:match(subject)
  T.eq(v, nil)
  T.eq(code, "regex_limit")
  T.contains(err, "(a+)+$")
  T.ok(opro.now() - t0 < 10, "returns within seconds")
  local a, b, c = re:find(subject)
  T.eq({ a, c }, { nil, "regex_limit" })
  T.contains(b, "limit")
  local s, e2, c2 = re:gsub(subject, "x")
  T.eq({ s, c2 }, { nil, "regex_limit" })
  T.contains(e2, "limit")
  T.raises(function() for _ in re:gmatch(subject) do end end, "limit")
end)

T.test("a recursion that outgrows the JIT stack is finished by the interpreter", function()
  -- found by tests/fuzz/fuzz_regex: `|(?0)` asked for a non-empty match at
  -- the start recursed on a 4 MiB JIT stack for about 27 s per match (JIT
  -- code keeps no depth limit); the stack is now small and the interpreter,
  -- which keeps every limit, takes over. The answers are the interpreter's.
  local t0 = opro.now()
  local re = opro.regex("|(?0)")
  local got = {}
  for m in re:gmatch("ab") do got[#got + 1] = m end
  T.eq(got, { "", "", "" })
  T.eq({ re:find("ab") }, { 1, 0 })
  T.eq(opro.regex("(|(?1))(?1)(?1)x"):find("aaaa"), nil)
  -- a recursion the interpreter sees looping is the pattern's error: it raises
  T.raises(function() opro.regex("(?:|(?0))+y"):match("xxy") end, "nested recursion at the same subject position")
  -- 300 bytes of empty alternatives around it: 25 s per input even on a
  -- 256 KiB JIT stack, so patterns that recurse or call groups never JIT
  local many = opro.regex(string.rep("|", 40) .. string.rep("Y", 40) .. string.rep("|", 60) .. "(?0)")
  got = {}
  for m in many:gmatch("ab") do got[#got + 1] = m end
  T.eq(got, { "", "", "" })
  T.ok(opro.now() - t0 < 20, "returns within seconds (well under 1 s here; minutes before)")
  for _, p in ipairs { "(?R)", "a(?1)(b)", "(?+1)(x)", "(x)(?-1)", "(?<n>x)(?&n)", "(?P<n>x)(?P>n)",
                       "(x)\\g<1>", "(x)\\g'1'" } do
    T.eq(opro.regex(p):info().jit, false, p .. " runs in the interpreter")
  end
  for _, p in ipairs { "(?-i)a", "(?i)a", "(x)\\g{1}", "(x)\\g1", "\\(?1", "(?:a)" } do
    T.eq(opro.regex(p):info().jit, os.getenv("OPRO_REGEX_JIT") ~= "0" and opro.regex("a"):info().jit, p .. " keeps the JIT")
  end
end)

T.test("a lower match limit is honoured", function()
  local re = opro.regex("(x+x+)+$", "", { match_limit = 50 })
  T.eq(select(3, re:match(string.rep("x", 30) .. "!")), "regex_limit")
  -- a subject it can match needs no backtracking and stays under the limit
  T.eq(re:match(string.rep("x", 30)), string.rep("x", 30))
  T.raises(function() opro.regex("a", "", { match_limit = 0 }) end, "'match_limit' must be a positive integer")
end)

T.test("subjects with invalid UTF-8 are searched, never rejected", function()
  T.eq(opro.regex("\\d+"):match("\xff\xfe 42 \x80"), "42")
  T.eq(opro.regex("."):match("\xffa"), "a")
  T.eq({ opro.regex("\\s"):gsub("a\xff b", "_") }, { "a\xff_b", 1 })
end)

T.test("metatable: __tostring, __close, __gc, closed objects", function()
  local re = opro.regex("a(b)")
  T.eq(getmetatable(re).__name, "opro.regex")
  T.eq(tostring(re), "opro.regex(a(b))")
  T.eq(type(re:info().jit), "boolean")
  do
    local r <close> = opro.regex("x")
    T.eq(r:match("x"), "x")
  end
  re:close()
  re:close() -- closing twice is safe
  T.eq(tostring(re), "opro.regex (closed)")
  T.raises(function() re:match("ab") end, "closed regex")
  for _ = 1, 2000 do opro.regex("(\\w+)\\s(\\d+)"):match("abc 12") end
  collectgarbage()
end)

T.test("escape makes any text literal", function()
  local s = "a.b*c (x) [y] {z} $1 ^ | \\ ? + - # \n\t"
  T.eq(opro.regex(opro.regex.escape(s)):match("pre " .. s .. " post"), s)
  T.eq(opro.regex(opro.regex.escape("1+1=2"), "x"):match("1+1=2"), "1+1=2")
end)

T.test("cached returns one compiled object per pattern and flags", function()
  local a = opro.regex.cached("\\d+")
  T.eq(opro.regex.cached("\\d+"), a)
  T.ne(opro.regex.cached("\\d+", "i"), a)
  T.raises(function() opro.regex.cached("(") end, "bad pattern '('")
end)

T.done()
