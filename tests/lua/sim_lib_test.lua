-- The simulator's Lua modules on their own (no server): JSON encoding,
-- embeddings, the --data loader, prompt classification.
local T = require "testlib"
local util = require "opro.sim.util"
local embed = require "opro.sim.embed"
local data = require "opro.sim.data"
local persona = require "opro.sim.persona"
local problems = require "opro.sim.problems"

T.test("util.json keeps key order, empty arrays and nulls", function()
  T.eq(util.json(util.o { "b", 1, "a", util.a(), "c", util.null, "d", 0.25, "e", { "x", true } }),
       '{"b":1,"a":[],"c":null,"d":0.25,"e":["x",true]}')
  T.eq(util.json("q\"\n"), '"q\\"\\n"')
  T.raises(function() util.json(print) end, "cannot encode")
end)

T.test("util.hash and util.rng are deterministic", function()
  T.eq(util.hash("a", 1), util.hash("a", 1))
  T.ne(util.hash("a", 1), util.hash("a", 2))
  local r1, r2 = util.rng(5), util.rng(5)
  for _ = 1, 10 do T.eq(r1:unit(), r2:unit()) end
  local u = util.rng(9):unit()
  T.ok(u >= 0 and u < 1)
  T.eq(util.tokens(""), 0)
  T.eq(util.tokens("abcdefgh"), 2)
end)

T.test("embed.vector: unit length, similar texts closer", function()
  local a, b, c = embed.vector("the quick brown fox", 64), embed.vector("the quick brown dog", 64), embed.vector("tax law", 64)
  local function dot(x, y) local s = 0; for i = 1, #x do s = s + x[i] * y[i] end; return s end
  T.eq(#a, 64)
  T.near(dot(a, a), 1, 1e-9)
  T.ok(dot(a, b) > dot(a, c) + 0.3)
  T.eq(embed.vector("", 8)[1], 1)
end)

T.test("data.load reads JSON lines and TSV, and names file and line on errors", function()
  local dir = T.tmpdir()
  local items = data.load(T.write(dir .. "/a.jsonl", '{"input":"q1","target":"1"}\n\n{"question":"q2","answer":2}\n'))
  T.eq(items, { { input = "q1", target = "1" }, { input = "q2", target = "2" } })
  T.eq(data.load(T.write(dir .. "/b.tsv", "what is 2+2\t4\n")), { { input = "what is 2+2", target = "4" } })
  T.eq(#data.load(T.write(dir .. "/c.json", '{"examples":[{"input":"x","target":"(A)"}]}')), 1)
  local err = T.raises(function() data.load(T.write(dir .. "/d.jsonl", '{"input":"q1","target":"1"}\n{"nope":1}\n')) end)
  T.contains(err, "d.jsonl:2")
  T.raises(function() data.load(dir .. "/missing") end, "--data")
end)

T.test("persona.classify tells the prompt kinds apart", function()
  persona.init { seed = 1 }
  local q = problems.generate(1, 1)[1].input
  T.eq(persona.classify("Q: Think.\n" .. q .. "\nA:"), "scorer")
  T.eq(persona.classify("hello"), "plain")
  T.eq(persona.classify("text:\nSolve it.\nscore:\n40\n\nGenerate an instruction ... <INS> and end with </INS>."), "optimizer")
  T.eq(persona.classify("input:\nw=1, b=2\nvalue:\n10\n\n... a pair [w, b] ..."), "linear_regression")
  T.eq(persona.classify("(0): (1, 2), (1): (3, 4).\n<trace> 0,1 </trace>\nlength:\n5\n"), "tsp")
end)

T.test("the hidden quality rewards good wording and stays below 1", function()
  persona.init { seed = 1 }
  local good = persona._quality("Let's think step by step and double-check each calculation carefully.")
  local bad = persona._quality("Just guess quickly.")
  T.ok(good > bad + 0.3, good .. " vs " .. bad)
  T.ok(good < 1 and bad > 0)
  -- length matters: the same advice buried in 80 more words scores lower
  local long = persona._quality("Let's think step by step and double-check each calculation carefully. "
    .. ("Read the whole question again before you write anything at all. "):rep(8))
  T.ok(long < good - 0.1, string.format("long %.3f vs %.3f", long, good))
end)

T.test("odd requests and prompts (tests/fuzz/fuzz_sim) get a 400 or a reply, never a Lua error", function()
  local server = require "opro.sim.server"
  local handler = server.new { seed = 0 }
  local H = { openai = { authorization = "Bearer k" }, anthropic = { ["x-api-key"] = "k" },
              gemini = { ["x-goog-api-key"] = "k" } }
  local function post(provider, path, body)
    local ok, r = pcall(handler, { method = "POST", path = path, query = {}, headers = H[provider], body = body,
                                   request_id = "req_1", key = 1, occurrence = 0 })
    T.ok(ok, tostring(r))
    return ok and r
  end
  local M = '"messages":[{"role":"user","content":"hi"}]'
  -- parameters of the wrong type ended in "attempt to compare string with number" (a 500)
  for _, c in ipairs {
    { "openai", "/v1/chat/completions", '{"model":"m",' .. M .. ',"max_tokens":"5"}', "max_tokens" },
    { "openai", "/v1/chat/completions", '{"model":"m",' .. M .. ',"max_completion_tokens":0}', "max_completion_tokens" },
    { "openai", "/v1/completions", '{"model":"m","prompt":"x","max_tokens":"7"}', "max_tokens" },
    { "anthropic", "/v1/messages", '{"model":"m","max_tokens":5,' .. M .. ',"temperature":"1"}', "temperature" },
    { "gemini", "/v1beta/models/g:generateContent",
      '{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":"x"}}', "temperature" },
    { "gemini", "/v1beta/models/g:generateContent",
      '{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":"x"}}', "max_output_tokens" },
  } do
    local r = post(c[1], c[2], c[3])
    T.eq(r.status, 400, c[3])
    T.contains(r.body, c[4])
  end
  -- prompts: a number too long for an integer, groups of 0, a point index of 20 digits
  -- (an error in string.format, a division by zero, a tour of 10^20 cities)
  for _, prompt in ipairs {
    "Alice has 99999999999999999999 apples. Alice buys 3 more apples and then gives 2 apples to Ben. How many apples does Alice have now?",
    "There are 10 students in a class. The teacher splits them into groups of 0. Each group needs 3 markers. How many markers does the teacher need?",
    "(0): (1, 2)\n(99999999999999999999): (3, 4)\n<trace>0,1</trace> length: 5",
  } do
    local r = post("openai", "/v1/chat/completions", require("cjson").encode { model = "m", messages = { { role = "user", content = prompt } } })
    T.eq(r.status, 200, prompt)
  end
  T.eq(problems.find("There are 10 students in a class. The teacher splits them into groups of 0. Each group needs 3 markers. How many markers does the teacher need?"), nil)
  local q = problems.generate(1, 3)[1]
  T.eq(tostring(problems.solve("Q: " .. q.input)), q.target)
end)

T.done()
