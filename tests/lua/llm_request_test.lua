-- Request building and response parsing of each provider, without a server.
local T = require "testlib"
local cjson = require "cjson"
local openai = require "opro.llm.openai"
local anthropic = require "opro.llm.anthropic"
local gemini = require "opro.llm.gemini"

local msgs = { { role = "system", content = "Be brief." }, { role = "user", content = "Q?" },
               { role = "assistant", content = "A." }, { role = "user", content = "Again?" } }
local p = { temperature = 0.5, max_tokens = 50, top_p = 0.9, stop = { "\n\n" }, seed = 7 }

T.test("openai: URL, body fields, n only when > 1, stream with usage, extra fields, headers", function()
  local url, body = openai.chat_request({ model = "gpt-x", base_url = "http://h/v1" }, msgs, p, 1, false)
  T.eq(url, "http://h/v1/chat/completions")
  T.eq(body, { model = "gpt-x", messages = msgs, temperature = 0.5, max_tokens = 50, top_p = 0.9,
               stop = { "\n\n" }, seed = 7 })
  local _, b2 = openai.chat_request({ model = "m", base_url = "u" }, msgs, { extra = { logprobs = true } }, 4, true)
  T.eq(b2.n, 4)
  T.eq(b2.stream, true)
  T.eq(b2.stream_options, { include_usage = true })
  T.eq(b2.logprobs, true)
  T.eq(b2.temperature, nil)
  T.eq(openai.headers("sk-1", {}).authorization, "Bearer sk-1")
  T.eq(openai.headers(nil, {}).authorization, nil, "local servers: no key, no header")
end)

T.test("openai: parsing choices, usage, ids; compatible servers' differences", function()
  local out = assert(openai.parse_chat(cjson.decode([[{"id":"c1","choices":[
    {"index":1,"message":{"role":"assistant","content":"two"},"finish_reason":"length"},
    {"index":0,"message":{"role":"assistant","content":"one"},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}}]])))
  T.eq(out.choices[1], { text = "one", finish_reason = "stop" })
  T.eq(out.choices[2], { text = "two", finish_reason = "length" })
  T.eq(out.usage, { input_tokens = 11, output_tokens = 3 })
  T.eq(out.id, "c1")
  out = assert(openai.parse_chat(cjson.decode('{"choices":[{"message":{"content":""},"finish_reason":null}]}')))
  T.eq(out.choices[1].text, "", "empty content")
  T.eq(out.usage, nil, "no usage (llama.cpp, some Ollama versions)")
  -- null content (a refusal, a content filter, tool calls) is no answer, not an empty one
  local none, why, again = openai.parse_chat(cjson.decode(
    '{"choices":[{"message":{"content":null,"refusal":"I cannot."},"finish_reason":"stop"}]}'))
  T.eq(none, nil)
  T.eq(why, "choice 1 has no text (message.content is null; refusal: I cannot.; finish_reason stop)")
  T.eq(again, false, "a refusal is not retried")
  local _, msg, retryable = openai.parse_chat(cjson.decode('{"object":"x"}'))
  T.contains(msg, "no choices")
  T.ok(retryable)
  T.eq(openai.error_message(cjson.decode('{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":400}}')),
    "bad (invalid_request_error, 400)", "integer error.code (vLLM)")
  T.eq(openai.error_message(cjson.decode('{"error":"model not found"}')), "model not found", "Ollama's string error")
  T.eq(openai.error_message(cjson.decode('{"error":{"detail":{"why":"quota"}}}')),
    'an error of unexpected shape: {"detail":{"why":"quota"}}', "no message: the error's JSON")
  T.eq(openai.error_message(nil, "<html>Bad Gateway</html>"), "<html>Bad Gateway</html>")
  -- an empty message gave an empty one (found by tests/fuzz/fuzz_llm): the body instead
  for _, p in ipairs { openai, anthropic, gemini } do
    T.eq(p.error_message(cjson.decode('{"error":""}'), '{"error":""}'), '{"error":""}', p.name)
    T.eq(p.error_message(cjson.decode('{"message":""}'), ""), "no error message", p.name)
    T.ok(p.error_message(cjson.decode('{"error":{"message":""}}')):find("^error"), p.name)
  end
end)

T.test("openai: embeddings request and parse (ordered by index)", function()
  local url, body = openai.embed_request({ model = "e", base_url = "http://h/v1" }, { "a", "b" })
  T.eq(url, "http://h/v1/embeddings")
  T.eq(body, { model = "e", input = { "a", "b" } })
  local v, u = openai.parse_embed(cjson.decode([[{"data":[{"index":1,"embedding":[2]},{"index":0,"embedding":[1]}],
    "usage":{"prompt_tokens":4,"total_tokens":4}}]]), 2)
  T.eq(v, { { 1 }, { 2 } })
  T.eq(u.input_tokens, 4)
  local none, msg = openai.parse_embed(cjson.decode('{"data":[{"index":0,"embedding":[1]}]}'), 2)
  T.eq(none, nil)
  T.contains(msg, "1 embeddings for 2 inputs")
end)

T.test("anthropic: system at the top level, max_tokens always, stop_sequences, headers", function()
  local url, body = anthropic.chat_request({ model = "claude-x", base_url = "http://h" }, msgs, p, 1, false)
  T.eq(url, "http://h/v1/messages")
  T.eq(body.system, "Be brief.")
  T.eq(#body.messages, 3)
  T.eq(body.messages[1], { role = "user", content = "Q?" })
  T.eq(body.max_tokens, 50)
  T.eq(body.stop_sequences, { "\n\n" })
  T.eq(body.seed, nil, "no seed in the Messages API")
  local _, b2 = anthropic.chat_request({ model = "c", base_url = "h" }, { { role = "user", content = "x" } }, {}, 1, false)
  T.eq(b2.max_tokens, 1024, "the API requires max_tokens")
  T.eq(b2.system, nil)
  local h = anthropic.headers("ak-1", {})
  T.eq(h["x-api-key"], "ak-1")
  T.eq(h["anthropic-version"], "2023-06-01")
  T.eq(h.authorization, nil)
end)

T.test("anthropic: content blocks, usage, errors", function()
  local out = assert(anthropic.parse_chat(cjson.decode([[{"id":"msg_1","type":"message","content":[
    {"type":"text","text":"Hel"},{"type":"tool_use","id":"t"},{"type":"text","text":"lo"}],
    "stop_reason":"end_turn","usage":{"input_tokens":9,"output_tokens":2}}]])))
  T.eq(out.choices[1], { text = "Hello", finish_reason = "end_turn" })
  T.eq(out.usage, { input_tokens = 9, output_tokens = 2 })
  T.eq(anthropic.error_message(cjson.decode('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')),
    "Overloaded (overloaded_error)")
end)

T.test("gemini: contents with roles, systemInstruction, generationConfig, key in a header", function()
  local url, body = gemini.chat_request({ model = "gemini-x", base_url = "http://h/v1beta" }, msgs, p, 1, false)
  T.eq(url, "http://h/v1beta/models/gemini-x:generateContent")
  T.eq(body.systemInstruction, { parts = { { text = "Be brief." } } })
  T.eq(body.contents[2], { role = "model", parts = { { text = "A." } } })
  T.eq(body.generationConfig, { temperature = 0.5, maxOutputTokens = 50, topP = 0.9, stopSequences = { "\n\n" }, seed = 7 })
  local surl = gemini.chat_request({ model = "gemini-x", base_url = "http://h/v1beta" }, msgs, {}, 1, true)
  T.eq(surl, "http://h/v1beta/models/gemini-x:streamGenerateContent?alt=sse")
  T.eq(gemini.headers("g-1", {})["x-goog-api-key"], "g-1")
  T.ok(not url:find("key=", 1, true), "no key in the URL")
end)

T.test("gemini: candidates, usageMetadata, blocked prompts, embeddings", function()
  local out = assert(gemini.parse_chat(cjson.decode([[{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b"}]},
    "finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1},"responseId":"r"}]])))
  T.eq(out.choices[1], { text = "ab", finish_reason = "STOP" })
  T.eq(out.usage, { input_tokens = 5, output_tokens = 1 })
  local none, msg, retryable = gemini.parse_chat(cjson.decode('{"promptFeedback":{"blockReason":"SAFETY"}}'))
  T.eq(none, nil)
  T.contains(msg, "SAFETY")
  T.eq(retryable, false)
  local url, body = gemini.embed_request({ model = "text-embedding-004", base_url = "http://h/v1beta" }, { "x" })
  T.eq(url, "http://h/v1beta/models/text-embedding-004:batchEmbedContents")
  T.eq(body.requests[1], { model = "models/text-embedding-004", content = { parts = { { text = "x" } } } })
  T.eq(gemini.parse_embed(cjson.decode('{"embeddings":[{"values":[1,2]}]}'), 1), { { 1, 2 } })
end)

T.test("opro.llm{...}: bad options raise clear errors", function()
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", temprature = 0 } end, "unknown option 'temprature'")
  T.raises(function() opro.llm{ provider = "nope", model = "m" } end, "unknown provider 'nope'")
  T.raises(function() opro.llm{ base_url = "http://x" } end, "'model' is required")
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", concurrency = 0 } end, "'concurrency' must be at least 1")
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", max_tokens = 1.5 } end, "'max_tokens' must be an integer")
  T.raises(function() opro.llm{ model = "m", base_url = "ftp://x" } end, "http:// or https://")
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", price = { input = "1" } } end, "price")
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", cache = {} } end, "get and put")
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", meter = {} } end, "opro.llm.meter")
  local llm = opro.llm{ model = "m", base_url = "http://x" }
  T.raises(function() llm:chat(42) end, "prompt string")
  T.raises(function() llm:chat({ { role = "robot", content = "x" } }) end, "message 1")
  T.raises(function() llm:chat("x", { temperatur = 1 }) end, "unknown option 'temperatur'")
  T.raises(function() llm:chat_n("x", 0) end, "n must be")
  T.raises(function() llm:embed({ 1 }) end, "item 1")
  T.raises(function() opro.llm{ provider = "anthropic", model = "c", base_url = "http://x" }:embed({ "a" }) end,
    "no embeddings API")
  -- errors point at the caller's line
  T.raises(function() opro.llm{ model = "m", base_url = "http://x", temprature = 0 } end, "llm_request_test.lua:")
  T.raises(function() llm:chat("x", { temperature = "hot" }) end, "llm_request_test.lua:")
  T.raises(function() llm:chat_n("x", 2, { sample = 1.5 }) end, "llm_request_test.lua:")
end)

T.test("keys come from the environment; the official endpoint needs one", function()
  local had = os.getenv("OPENAI_API_KEY")
  if had then
    T.ok(opro.llm{ model = "m" })
  else
    T.raises(function() opro.llm{ model = "m" } end, "OPENAI_API_KEY")
    T.raises(function() opro.llm{ provider = "anthropic", model = "m" } end, "ANTHROPIC_API_KEY")
    T.raises(function() opro.llm{ provider = "gemini", model = "m" } end, "GEMINI_API_KEY")
  end
  local o = opro.llm{ provider = "ollama", model = "llama3" }
  T.eq(o.base_url, "http://localhost:11434/v1")
  T.eq(o.protocol, "openai")
  T.eq(opro.llm{ provider = "vllm", model = "x" }.base_url, "http://localhost:8000/v1")
  T.eq(opro.llm{ provider = "llamacpp", model = "x" }.base_url, "http://localhost:8080/v1")
end)

T.test("the API key is not reachable from the object or its string", function()
  local llm = opro.llm{ model = "m", api_key = "sk-VERYSECRET", base_url = "http://x/v1/" }
  T.eq(llm.base_url, "http://x/v1", "trailing slash dropped")
  T.ok(not tostring(llm):find("VERYSECRET", 1, true))
  T.ok(not T.fmt(llm):find("VERYSECRET", 1, true), T.fmt(llm))
  for k, v in pairs(llm) do
    T.ok(not tostring(v):find("VERYSECRET", 1, true), k)
  end
end)

T.done()
