--- Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/:
-- realistic inputs made by the library itself (meta-prompts of the
-- templates, requests as opro.llm builds them, the simulator's replies to
-- them) plus the fixtures of tests/fixtures/. Run from the top directory:
--   bin/opro-lua tests/fuzz/seeds.lua
-- It rewrites the seed-* files only (regress-* files are kept).
local template = require "opro.template"
local server = require "opro.sim.server"
local problems = require "opro.sim.problems"
local llm = require "opro.llm"
local cjson = require "cjson"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local counts = {}
local function seed(target, bytes)
  local dir = "tests/fuzz/corpus/" .. target
  os.execute("mkdir -p " .. dir)
  counts[target] = (counts[target] or 0) + 1
  local f = assert(io.open(string.format("%s/seed-%02d", dir, counts[target]), "wb"))
  f:write(bytes)
  f:close()
  -- fuzz_json (opro.core.json.decode) starts from the same reply bodies,
  -- without fuzz_llm's selector byte
  if target == "fuzz_llm" then seed("fuzz_json", bytes:sub(2)) end
end
os.execute("for t in sse llm json parse dataset sim vec_json; do rm -f tests/fuzz/corpus/fuzz_$t/seed-*; done")

-- meta-prompts -------------------------------------------------------------
local qs = problems.generate(3, 7)
local ins_prompt = template.instruction({
  { solution = "Let's think step by step.", score = 0.61 },
  { solution = "Solve the problem carefully.", score = 0.48 },
}, { exemplars = { { input = qs[1].input, target = qs[1].target } } })
local ins_prompt_a = template.instruction({ { solution = "Take a deep breath.", score = 0.7 } },
  { position = "A_begin" })
local lr_prompt = template.linear_regression({
  { solution = { w = 12, b = 15 }, score = 41234 }, { solution = { w = 14, b = 11 }, score = 20345 },
  { solution = { w = 17, b = 18 }, score = 9876 },
})
local tsp_prompt = template.tsp({ { solution = { 0, 2, 1, 3 }, score = 412 }, { solution = { 0, 1, 2, 3 }, score = 380 } },
  { coords = { { 10, 20 }, { -5, 33 }, { 40, 2 }, { 7, -8 } } })
local scorer_prompt = "Q: " .. qs[2].input .. "\nA: Let's think step by step."

-- the simulator, called in process ----------------------------------------
local handler = server.new { seed = 0 }
local n = 0
local HEADERS = {
  openai = { authorization = "Bearer k" },
  anthropic = { ["x-api-key"] = "k", ["anthropic-version"] = "2023-06-01" },
  gemini = { ["x-goog-api-key"] = "k" },
}
local function sim(provider, path, body, query)
  n = n + 1
  local r = handler { method = body and "POST" or "GET", path = path, query = query or {}, headers = HEADERS[provider],
                      body = body or "", request_id = "req_" .. n, key = n, occurrence = 0 }
  return r.chunks and table.concat(r.chunks) or r.body, r.status
end

local cfgs = {
  openai = { model = "sim-1", base_url = "http://x/v1" },
  anthropic = { model = "sim-1", base_url = "http://x" },
  gemini = { model = "gemini-sim-1", base_url = "http://x/v1beta" },
}
local PATHS = { openai = "/v1/chat/completions", anthropic = "/v1/messages" }
local function chat_body(provider, prompt, nchoices, stream)
  local proto = llm.protocols[provider]
  local _, b = proto.chat_request(cfgs[provider], { { role = "system", content = "Be brief." }, { role = "user", content = prompt } },
    { temperature = 1, max_tokens = 200, seed = provider ~= "anthropic" and 3 or nil }, nchoices, stream)
  return cjson.encode(b)
end
local function chat(provider, prompt, nchoices, stream)
  local body = chat_body(provider, prompt, nchoices, stream)
  local path, query = PATHS[provider], nil
  if provider == "gemini" then
    path = "/v1beta/models/gemini-sim-1:" .. (stream and "streamGenerateContent" or "generateContent")
    query = stream and { alt = "sse" } or nil
  end
  return (sim(provider, path, body, query)), body
end

-- fuzz_sse: event streams -----------------------------------------------------
for _, p in ipairs { "openai", "anthropic", "gemini" } do seed("fuzz_sse", (chat(p, scorer_prompt, 1, true))) end
seed("fuzz_sse", slurp("tests/fixtures/sim/anthropic_stream.txt"))
seed("fuzz_sse", slurp("tests/fixtures/sim/gemini_stream.txt"))
seed("fuzz_sse", "\239\187\191: ping\r\n\r\nid: 7\r\nevent: add\rdata: a\r\ndata:b\r\n\r\nretry: 150\ndata\n\n:x\r\ndata:  two\n\n")

-- fuzz_llm: reply bodies ------------------------------------------------------
local modes = { openai = 0, anthropic = 1, gemini = 2 }
for p, m in pairs(modes) do
  seed("fuzz_llm", string.char(m) .. chat(p, ins_prompt, p == "openai" and 2 or 1, false))
  seed("fuzz_llm", string.char(m + 3) .. chat(p, scorer_prompt, 1, true))
end
seed("fuzz_llm", string.char(1) .. slurp("tests/fixtures/sim/anthropic_message.json"))
seed("fuzz_llm", string.char(4) .. slurp("tests/fixtures/sim/anthropic_stream.txt"))
seed("fuzz_llm", string.char(5) .. slurp("tests/fixtures/sim/gemini_stream.txt"))
seed("fuzz_llm", string.char(2) .. slurp("tests/fixtures/sim/gemini_generate.json"))
local emb_openai = sim("openai", "/v1/embeddings", cjson.encode { model = "sim-embed-1", input = { "a b", "c" }, dimensions = 4 })
local emb_b64 = sim("openai", "/v1/embeddings", cjson.encode { model = "sim-embed-1", input = { "x" }, dimensions = 3, encoding_format = "base64" })
local emb_gemini = sim("gemini", "/v1beta/models/text-embedding-004:batchEmbedContents",
  cjson.encode { requests = { { content = { parts = { { text = "a" } } }, outputDimensionality = 3 },
                              { content = { parts = { { text = "b" } } }, outputDimensionality = 3 } } })
seed("fuzz_llm", "\6\2" .. emb_openai)      -- openai, 2 vectors
seed("fuzz_llm", "\6\0" .. emb_b64)         -- openai, 1 vector
seed("fuzz_llm", "\6\3" .. emb_gemini)      -- gemini, 2 vectors
seed("fuzz_llm", "\6\1" .. slurp("tests/fixtures/sim/gemini_batch_embed.json"))
seed("fuzz_llm", "\7" .. (sim("openai", "/v1/chat/completions", "{}")))
seed("fuzz_llm", "\7" .. slurp("tests/fixtures/sim/anthropic_error.json"))
seed("fuzz_llm", "\7" .. slurp("tests/fixtures/sim/gemini_error.json"))
seed("fuzz_llm", '\7{"error":"model not found"}')

-- fuzz_vec_json: embedding bodies (a key byte, then the text) ----------------
seed("fuzz_vec_json", "\0" .. emb_openai)
seed("fuzz_vec_json", "\0" .. emb_b64)
seed("fuzz_vec_json", "\1" .. emb_gemini)
seed("fuzz_vec_json", "\0" .. '{"embedding":"AACAPwAAAEAAAEBA"}')
seed("fuzz_vec_json", "\0" .. '[{"embedding":[1e-3,-2.5E+2,0]},{"x":{"embedding":[1,2,3]},"s":"\\u00e9\\ud83d\\ude00"}]')

-- fuzz_parse: optimizer outputs (flags, parameter, text) ----------------------
for _, prompt in ipairs { ins_prompt, ins_prompt_a } do
  seed("fuzz_parse", "\0\0" .. cjson.decode((chat("openai", prompt, 1, false))).choices[1].message.content)
end
seed("fuzz_parse", "\0\0" .. "Here is a new one:\n<INS>Let's work **carefully** through it.</INS>")
seed("fuzz_parse", "\136\0" .. "<Start>Take a deep breath.</Start> and <Start>Think.</Start>")
seed("fuzz_parse", "\132\0" .. "[Solve it step by step.] or [Check twice.]")
seed("fuzz_parse", "\176\40" .. "<TEXT>Count again.</TEXT><TEXT>Read slowly.</TEXT>")
seed("fuzz_parse", "\2\0" .. cjson.decode((chat("openai", lr_prompt, 1, false))).choices[1].message.content)
seed("fuzz_parse", "\2\2" .. "I propose [w=3.25, b=-1e2] rather than [w, b].")
seed("fuzz_parse", "\3\3" .. cjson.decode((chat("openai", tsp_prompt, 1, false))).choices[1].message.content)
seed("fuzz_parse", "\3\0" .. "<trace> 0, 3, 2 ,1, x </trace>")

-- fuzz_dataset: files (selector, option, content) -----------------------------
local function head(path, lines)
  local out, k = {}, 0
  for line in (slurp(path) .. "\n"):gmatch("([^\n]*)\n") do
    k = k + 1
    if k > lines then break end
    out[#out + 1] = line
  end
  return table.concat(out, "\n") .. "\n"
end
local D = "tests/fixtures/datasets/"
seed("fuzz_dataset", "\0\0" .. head(D .. "ref/gsm_data/gsm_train.tsv", 3))
seed("fuzz_dataset", "\1\0" .. slurp(D .. "ref/BIG-Bench-Hard-data/object_counting.json"):sub(1, 1500))
seed("fuzz_dataset", "\1\2" .. slurp(D .. "ref/BIG-Bench-Hard-data/date_understanding.json"):sub(1, 1500))
seed("fuzz_dataset", "\2\0" .. head(D .. "ref/MMLU-data/test/crlf_test.csv", 3))
seed("fuzz_dataset", "\2\1" .. head(D .. "ref/MMLU-data/test/tiny_test.csv", 3))
seed("fuzz_dataset", "\3\0" .. slurp(D .. "ref/MultiArith-data/MultiArith.json"):sub(1, 1200))
seed("fuzz_dataset", "\4\0" .. head(D .. "ref/AQuA-data/AQuA.json", 2))
seed("fuzz_dataset", "\5\0" .. head(D .. "generic/qa.jsonl", 3))
seed("fuzz_dataset", "\5\1" .. '{"question":"2+2?","answer":4,"id":"a"}\n\n{"question":"x","answer":"y","id":7}\n')
seed("fuzz_dataset", "\5\2" .. '{"q":{"text":"Pick"},"a":["x","B"],"options":["A","B"]}\n')
seed("fuzz_dataset", "\6\0" .. 'q,a\n"say ""hi""",1\r\n"two\nlines",2\n')
seed("fuzz_dataset", "\7\2" .. "1+1\t2\nwhat\tnothing\n")
seed("fuzz_dataset", "\8\0" .. head(D .. "generic/qa.csv", 4))

-- fuzz_sim: requests ----------------------------------------------------------
seed("fuzz_sim", "\0" .. chat_body("openai", scorer_prompt, 2, false))
seed("fuzz_sim", "\0" .. chat_body("openai", ins_prompt, 1, true))
seed("fuzz_sim", "\1" .. cjson.encode { model = "sim-1", prompt = { "Q: 2+3?", lr_prompt }, max_tokens = 30, n = 2, echo = true })
seed("fuzz_sim", "\2" .. cjson.encode { model = "sim-embed-1", input = { "a b", "c" }, dimensions = 8, encoding_format = "base64" })
seed("fuzz_sim", "\3" .. chat_body("anthropic", tsp_prompt, 1, false))
seed("fuzz_sim", "\3" .. chat_body("anthropic", scorer_prompt, 1, true))
seed("fuzz_sim", "\4" .. chat_body("gemini", lr_prompt, 1, false))
seed("fuzz_sim", "\5" .. chat_body("gemini", ins_prompt_a, 1, true))
seed("fuzz_sim", "\6" .. cjson.encode { requests = { { content = { parts = { { text = "a" } } }, outputDimensionality = 5 } } })
seed("fuzz_sim", "\7\1" .. ins_prompt)
seed("fuzz_sim", "\8\2" .. lr_prompt)
seed("fuzz_sim", "\9\8" .. tsp_prompt)
seed("fuzz_sim", "\7\0" .. scorer_prompt)
seed("fuzz_sim", "\10/v1/models/sim-1")

for t, c in pairs(counts) do print(t, c) end
