-- opro-sim's wire shapes: OpenAI, Anthropic and Gemini endpoints, SSE
-- framing, errors, auth, /stats.
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"
local http = require "opro.core.http"

local sim = S.start("--seed 3 --quiet")
local H = S.headers
local PROMPT = "Write one sentence about the sea."

T.test("the first stdout line names the port", function()
  local out = T.read(sim.dir .. "/out")
  T.match(out, "^opro%-sim listening on 127%.0%.0%.1:" .. sim.port .. "\n")
end)

T.test("OpenAI chat: one choice, usage, ids", function()
  local resp, obj = sim:post("/v1/chat/completions", { model = "sim-1", messages = { { role = "user", content = PROMPT } } })
  T.eq(resp.status, 200)
  T.contains(resp.headers["content-type"], "application/json")
  T.match(resp.headers["x-request-id"], "^req_%x+$")
  T.eq(obj.object, "chat.completion")
  T.match(obj.id, "^chatcmpl%-")
  T.eq(obj.model, "sim-1")
  T.eq(#obj.choices, 1)
  local c = obj.choices[1]
  T.eq(c.index, 0)
  T.eq(c.message.role, "assistant")
  T.ok(#c.message.content > 0)
  T.eq(c.finish_reason, "stop")
  local u = obj.usage
  T.eq(u.total_tokens, u.prompt_tokens + u.completion_tokens)
  -- about 4 characters a token
  T.ok(math.abs(u.completion_tokens - #c.message.content / 4) <= 2, cjson.encode(u))
  T.ok(u.prompt_tokens >= #PROMPT / 4 and u.prompt_tokens <= #PROMPT / 4 + 12, cjson.encode(u))
end)

T.test("OpenAI chat with n: n choices, indexed, sampled apart at temperature 1", function()
  local _, obj = sim:post("/v1/chat/completions", { model = "sim-1", n = 4, temperature = 1,
    messages = { { role = "system", content = "You are terse." }, { role = "user", content = PROMPT } } })
  T.eq(#obj.choices, 4)
  for i, c in ipairs(obj.choices) do T.eq(c.index, i - 1) end
  local distinct = {}
  for _, c in ipairs(obj.choices) do distinct[c.message.content] = true end
  local n = 0
  for _ in pairs(distinct) do n = n + 1 end
  T.ok(n >= 2, "4 samples gave " .. n .. " distinct texts")
end)

T.test("OpenAI chat: max_tokens truncates with finish_reason length; stop cuts", function()
  local _, obj = sim:post("/v1/chat/completions", { model = "sim-1", max_tokens = 3, messages = { { role = "user", content = PROMPT } } })
  T.eq(obj.choices[1].finish_reason, "length")
  T.ok(obj.usage.completion_tokens <= 3)
  local _, full = sim:post("/v1/chat/completions", { model = "sim-1", temperature = 0, messages = { { role = "user", content = PROMPT } } })
  local text = full.choices[1].message.content
  local word = text:match("%s(%a%a%a+)%s")
  local _, cut = sim:post("/v1/chat/completions", { model = "sim-1", temperature = 0, stop = { word }, messages = { { role = "user", content = PROMPT } } })
  T.eq(cut.choices[1].message.content, text:sub(1, text:find(word, 1, true) - 1))
end)

T.test("OpenAI chat stream: chunks, finish, usage chunk, [DONE]", function()
  local resp = sim:post("/v1/chat/completions", { model = "sim-1", stream = true, stream_options = { include_usage = true },
    temperature = 0, messages = { { role = "user", content = PROMPT } } })
  T.eq(resp.status, 200)
  T.contains(resp.headers["content-type"], "text/event-stream")
  local events = S.sse(resp.body)
  T.eq(events[#events].data, "[DONE]")
  local text, finish, usage = {}, nil, nil
  for i = 1, #events - 1 do
    local ch = cjson.decode(events[i].data)
    T.eq(ch.object, "chat.completion.chunk")
    if #ch.choices > 0 then
      local d = ch.choices[1].delta
      if d.content then text[#text + 1] = d.content end
      if ch.choices[1].finish_reason ~= cjson.null then finish = ch.choices[1].finish_reason end
    end
    if ch.usage ~= cjson.null then usage = ch.usage end
  end
  T.eq(cjson.decode(events[1].data).choices[1].delta.role, "assistant")
  T.eq(finish, "stop")
  T.ok(usage and usage.completion_tokens > 0)
  local _, whole = sim:post("/v1/chat/completions", { model = "sim-1", temperature = 0, messages = { { role = "user", content = PROMPT } } })
  T.eq(table.concat(text), whole.choices[1].message.content, "the stream carries the same text")
end)

T.test("OpenAI completions and models", function()
  local resp, obj = sim:post("/v1/completions", { model = "sim-1", prompt = { "Say a", "Say b" }, n = 2 })
  T.eq(resp.status, 200)
  T.eq(obj.object, "text_completion")
  T.eq(#obj.choices, 4)
  T.eq(obj.choices[4].index, 3)
  T.ok(obj.usage.completion_tokens > 0)
  local r2, m = sim:get("/v1/models")
  T.eq(r2.status, 200)
  T.eq(m.object, "list")
  T.ok(#m.data >= 1 and m.data[1].object == "model")
end)

T.test("OpenAI embeddings: unit vectors, dimensions, similar texts closer", function()
  local resp, obj = sim:post("/v1/embeddings", { model = "sim-embed-1",
    input = { "the cat sat on the mat", "the cat sat on a mat", "quarterly tax filing deadline" } })
  T.eq(resp.status, 200)
  T.eq(obj.object, "list")
  T.eq(#obj.data, 3)
  local v = {}
  for i, d in ipairs(obj.data) do
    T.eq(d.object, "embedding")
    T.eq(d.index, i - 1)
    T.eq(#d.embedding, 256)
    local norm = 0
    for _, x in ipairs(d.embedding) do norm = norm + x * x end
    T.near(norm, 1, 1e-6)
    v[i] = d.embedding
  end
  local function dot(a, b) local s = 0; for i = 1, #a do s = s + a[i] * b[i] end; return s end
  T.ok(dot(v[1], v[2]) > 0.7, "similar: " .. dot(v[1], v[2]))
  T.ok(dot(v[1], v[3]) < dot(v[1], v[2]) - 0.4, "unrelated: " .. dot(v[1], v[3]))
  T.ok(obj.usage.prompt_tokens > 0)
  local _, small = sim:post("/v1/embeddings", { model = "m", input = "x y z", dimensions = 16 })
  T.eq(#small.data[1].embedding, 16)
  local _, b64 = sim:post("/v1/embeddings", { model = "m", input = "x y z", dimensions = 16, encoding_format = "base64" })
  T.eq(type(b64.data[1].embedding), "string")
  T.eq(#b64.data[1].embedding, 88)   -- 64 bytes of float32, base64
end)

T.test("OpenAI errors: 401 without a key, 400 on bad JSON / missing model, 404 route", function()
  local resp, obj = sim:post("/v1/chat/completions", { model = "sim-1", messages = { { role = "user", content = "x" } } },
    { ["content-type"] = "application/json" })
  T.eq(resp.status, 401)
  T.eq(obj.error.type, "invalid_request_error")
  T.ok(obj.error.param == cjson.null and obj.error.code == cjson.null)
  T.ok(resp.headers["x-request-id"])
  resp, obj = sim:post("/v1/chat/completions", "{not json")
  T.eq(resp.status, 400)
  T.eq(obj.error.type, "invalid_request_error")
  resp, obj = sim:post("/v1/chat/completions", { messages = { { role = "user", content = "x" } } })
  T.eq(resp.status, 400)
  T.eq(obj.error.param, "model")
  resp, obj = sim:post("/v1/nothing/here", {})
  T.eq(resp.status, 404)
  T.ok(obj.error.message:find("/v1/nothing/here", 1, true))
end)

T.test("Anthropic messages: content blocks, stop_reason, usage, request-id", function()
  local resp, obj = sim:post("/v1/messages", { model = "claude-sim-1", max_tokens = 200, system = "Be brief.",
    messages = { { role = "user", content = { { type = "text", text = PROMPT } } } } }, H.anthropic)
  T.eq(resp.status, 200)
  T.ok(resp.headers["x-request-id"] and resp.headers["request-id"])
  T.eq(obj.type, "message")
  T.eq(obj.role, "assistant")
  T.match(obj.id, "^msg_")
  T.eq(obj.content[1].type, "text")
  T.ok(#obj.content[1].text > 0)
  T.eq(obj.stop_reason, "end_turn")
  T.eq(obj.stop_sequence, cjson.null)
  T.ok(obj.usage.input_tokens > 0 and obj.usage.output_tokens > 0)
  local _, short = sim:post("/v1/messages", { model = "c", max_tokens = 2, messages = { { role = "user", content = PROMPT } } }, H.anthropic)
  T.eq(short.stop_reason, "max_tokens")
end)

T.test("Anthropic stream: the documented event sequence", function()
  local resp = sim:post("/v1/messages", { model = "claude-sim-1", max_tokens = 200, stream = true,
    messages = { { role = "user", content = PROMPT } } }, H.anthropic)
  T.eq(resp.status, 200)
  T.contains(resp.headers["content-type"], "text/event-stream")
  local events = S.sse(resp.body)
  local names = {}
  for i, e in ipairs(events) do
    names[i] = e.event
    T.eq(cjson.decode(e.data).type, e.event, "event name and data type agree")
  end
  T.eq(names[1], "message_start")
  T.eq(names[2], "content_block_start")
  T.eq(names[3], "ping")
  T.eq(names[#names - 2], "content_block_stop")
  T.eq(names[#names - 1], "message_delta")
  T.eq(names[#names], "message_stop")
  local text = {}
  for i = 4, #names - 3 do
    T.eq(names[i], "content_block_delta")
    local d = cjson.decode(events[i].data)
    T.eq(d.delta.type, "text_delta")
    text[#text + 1] = d.delta.text
  end
  local md = cjson.decode(events[#events - 1].data)
  T.eq(md.delta.stop_reason, "end_turn")
  T.ok(md.usage.output_tokens > 0)
  local ms = cjson.decode(events[1].data).message
  T.eq(#ms.content, 0)
  T.ok(ms.usage.input_tokens > 0)
  T.ok(#table.concat(text) > 0)
end)

T.test("Anthropic errors: 401 and 400 in its shape", function()
  local resp, obj = sim:post("/v1/messages", { model = "c", max_tokens = 10, messages = { { role = "user", content = "x" } } },
    { ["content-type"] = "application/json" })
  T.eq(resp.status, 401)
  T.eq(obj.type, "error")
  T.eq(obj.error.type, "authentication_error")
  resp, obj = sim:post("/v1/messages", { model = "c", messages = { { role = "user", content = "x" } } }, H.anthropic)
  T.eq(resp.status, 400)
  T.eq(obj.error.type, "invalid_request_error")
  T.contains(obj.error.message, "max_tokens")
end)

local GEM = "/v1beta/models/gemini-sim-1"
local function gem_body(extra)
  local b = { contents = { { role = "user", parts = { { text = PROMPT } } } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

T.test("Gemini generateContent: candidates, finishReason, usageMetadata; ?key= auth", function()
  local resp, obj = sim:post(GEM .. ":generateContent", gem_body { generationConfig = { candidateCount = 2, temperature = 1 } }, H.gemini)
  T.eq(resp.status, 200)
  T.eq(#obj.candidates, 2)
  local c = obj.candidates[1]
  T.eq(c.content.role, "model")
  T.ok(#c.content.parts[1].text > 0)
  T.eq(c.finishReason, "STOP")
  T.eq(obj.candidates[2].index, 1)
  local u = obj.usageMetadata
  T.eq(u.totalTokenCount, u.promptTokenCount + u.candidatesTokenCount)
  T.eq(obj.modelVersion, "gemini-sim-1")
  local r2 = sim:post(GEM .. ":generateContent?key=AIza-test", gem_body(), { ["content-type"] = "application/json" })
  T.eq(r2.status, 200)
end)

T.test("Gemini streamGenerateContent: SSE with alt=sse, a JSON array without", function()
  local resp = sim:post(GEM .. ":streamGenerateContent?alt=sse", gem_body(), H.gemini)
  T.eq(resp.status, 200)
  T.contains(resp.headers["content-type"], "text/event-stream")
  local events = S.sse(resp.body)
  T.ok(#events >= 1)
  local text = {}
  for i, e in ipairs(events) do
    local ch = cjson.decode(e.data)
    text[#text + 1] = ch.candidates[1].content.parts[1].text
    if i == #events then T.eq(ch.candidates[1].finishReason, "STOP") else T.eq(ch.candidates[1].finishReason, nil) end
  end
  local _, whole = sim:post(GEM .. ":generateContent", gem_body { generationConfig = { temperature = 0 } }, H.gemini)
  local _, arr = sim:post(GEM .. ":streamGenerateContent", gem_body { generationConfig = { temperature = 0 } }, H.gemini)
  T.eq(type(arr), "table")
  local joined = {}
  for _, ch in ipairs(arr) do joined[#joined + 1] = ch.candidates[1].content.parts[1].text end
  T.eq(table.concat(joined), whole.candidates[1].content.parts[1].text)
end)

T.test("Gemini batchEmbedContents and errors", function()
  local resp, obj = sim:post("/v1beta/models/text-embedding-004:batchEmbedContents", { requests = {
    { model = "models/text-embedding-004", content = { parts = { { text = "hello world" } } } },
    { model = "models/text-embedding-004", content = { parts = { { text = "hello there" } } }, outputDimensionality = 32 } } }, H.gemini)
  T.eq(resp.status, 200)
  T.eq(#obj.embeddings, 2)
  T.eq(#obj.embeddings[1].values, 256)
  T.eq(#obj.embeddings[2].values, 32)
  resp, obj = sim:post(GEM .. ":generateContent", gem_body(), { ["content-type"] = "application/json" })
  T.eq(resp.status, 401)
  T.eq(obj.error.code, 401)
  T.eq(obj.error.status, "UNAUTHENTICATED")
  resp, obj = sim:post(GEM .. ":generateContent", { contents = {} }, H.gemini)
  T.eq(resp.status, 400)
  T.eq(obj.error.status, "INVALID_ARGUMENT")
end)

T.test("/stats counts requests, statuses, models, paths; /stats/reset clears", function()
  T.eq(sim:post("/stats/reset", "").status, 200)
  local st = sim:stats()
  T.eq(st.requests, 0)
  for _ = 1, 3 do sim:chat("hello", { model = "model-a" }) end
  sim:post("/v1/chat/completions", { model = "x" }, { ["content-type"] = "application/json" })
  st = sim:stats()
  T.eq(st.requests, 4)
  T.eq(st.status["200"], 3)
  T.eq(st.status["401"], 1)
  T.eq(st.models["model-a"], 3)
  T.eq(st.paths["/v1/chat/completions"], 4)
  T.eq(st.inflight, 0)
  T.ok(st.inflight_peak >= 1)
  T.eq(type(st.faults), "table")
end)

T.test("x-request-id on every response, distinct per request", function()
  local seen = {}
  for _ = 1, 5 do
    local resp = http.request { url = sim.base .. "/v1/models", headers = H.openai }
    T.ok(resp.headers["x-request-id"])
    seen[resp.headers["x-request-id"]] = true
  end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  T.eq(n, 5)
end)

S.shutdown_test()
T.done()
