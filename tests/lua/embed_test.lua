-- opro.embed.hashed: the offline hashed n-gram embedder.
local T = require "testlib"
local embed = require "opro.embed"
local V = require "opro.vec"

T.test("a matrix of unit rows, one per text; dim option", function()
  local m = embed.hashed{ "Let's think step by step.", "Be concise." }
  T.ok(V.is_matrix(m))
  T.eq(m:rows(), 2)
  T.eq(m:dim(), 512, "default dim")
  for i = 1, 2 do T.near(m:row(i):norm(), 1, 1e-6) end
  local s = embed.hashed({ "x y z" }, { dim = 64 })
  T.eq(s:dim(), 64)
  T.eq(embed.hashed("one string"):rows(), 1)
  T.eq(embed.hashed({}):rows(), 0)
  T.raises(function() embed.hashed({ "a" }, { dim = 0 }) end, "dim must be an integer >= 1")
  T.raises(function() embed.hashed({ "a", 5 }) end, "text 2 is a number, not a string")
  T.raises(function() embed.hashed(42) end, "list of strings expected")
end)

T.test("deterministic: same text, same bytes, in this process and another", function()
  local a = embed.hashed{ "Take a deep breath and work on this problem step-by-step." }
  local b = embed.hashed{ "Take a deep breath and work on this problem step-by-step." }
  T.eq(a:bytes(), b:bytes())
  -- a second process computes the same vector
  local dir = T.tmpdir()
  T.write(dir .. "/e.lua", [[io.write(opro.embed.hashed{"Take a deep breath and work on this problem step-by-step."}:bytes())]])
  local rc, out = T.run(T.shquote(dir .. "/e.lua"))
  T.eq(rc, 0)
  T.ok(out == a:bytes(), "another process gave different bytes")
end)

T.test("case, punctuation and spacing do not matter; word order does", function()
  local m = embed.hashed{ "Let's think, step by step!", "  LET'S   think step BY step", "step by step, let's think" }
  T.eq(m:row(1):bytes(), m:row(2):bytes())
  local c = m:row(1):cosine(m:row(3))
  T.ok(c < 0.99 and c > 0.5, "reordered words: cosine " .. c)
end)

T.test("texts without words embed to zero vectors (cosine 0 with anything)", function()
  local m = embed.hashed{ "", "  ...!?  ", "hello" }
  T.eq(m:row(1):norm(), 0)
  T.eq(m:row(2):norm(), 0)
  T.eq(m:row(1):cosine(m:row(3)), 0)
end)

T.test("near-duplicate instructions score clearly above unrelated ones", function()
  local pairs = {
    { "Let's think step by step.", "Let us think step by step." },
    { "Take a deep breath and work on this problem.", "Take a deep breath, then work on this problem." },
    { "Solve the math problem and give the final answer as a number.",
      "Solve the math problem, then give the final answer as a single number." },
    { "Read the question carefully before answering.", "Read each question carefully before you answer." },
    { "Break the problem into smaller parts.", "Break this problem into smaller parts first." },
  }
  local texts = {}
  for _, p in ipairs(pairs) do texts[#texts + 1] = p[1]; texts[#texts + 1] = p[2] end
  local m = embed.hashed(texts)
  local min_near, max_far = math.huge, -math.huge
  for i = 1, #texts do
    for j = i + 1, #texts do
      local c = m:row(i):cosine(m:row(j))
      local same = (i + 1) // 2 == (j + 1) // 2
      if same then min_near = math.min(min_near, c) else max_far = math.max(max_far, c) end
    end
  end
  T.ok(min_near >= 0.6, "weakest near-duplicate pair: " .. min_near)
  T.ok(max_far <= 0.4, "closest unrelated pair: " .. max_far)
  T.ok(min_near - max_far >= 0.25, string.format("margin %.3f", min_near - max_far))
end)

T.test("unicode: Latin-1 and Cyrillic letters are lower-cased; other scripts kept whole", function()
  local m = embed.hashed{ "ÇA COÛTE CHER", "ça coûte cher", "ПРИВЕТ МИР", "привет мир", "日本語の文章です", "日本語の文章でした" }
  T.eq(m:row(1):bytes(), m:row(2):bytes())
  T.eq(m:row(3):bytes(), m:row(4):bytes())
  local c = m:row(5):cosine(m:row(6))
  T.ok(c > 0.3 and c < 1, "CJK near-duplicates: " .. c)
  T.ok(math.abs(m:row(1):cosine(m:row(5))) < 0.3)
  -- invalid UTF-8 is hashed as bytes without reading past the end
  local bad = embed.hashed{ "abc\xff\xfe", "\xe6\x97", "abc\xe6" }
  T.eq(bad:rows(), 3)
  T.near(bad:row(1):norm(), 1, 1e-6)
end)

T.test("pairs through the matrix API: top-1 of a near-duplicate is its twin", function()
  local base = { "Let's think step by step.", "Answer with a single number.", "Explain your reasoning briefly.",
    "Check your work twice before answering.", "Use the formula for the area of a circle." }
  local m = embed.hashed(base)
  local q = embed.hashed{ "Please check your work twice before you answer." }
  local idx, sc = m:topk(q:row(1), 2)
  T.eq(idx[1], 4)
  T.ok(sc[1] - sc[2] > 0.2, string.format("gap %.3f", sc[1] - sc[2]))
end)

T.done()
