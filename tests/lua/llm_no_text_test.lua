-- Choices without text (a refusal, a content filter, a safety block, tool
-- calls) in the three protocols, plain and streamed: one such choice is
-- kept in its place as { text = "", no_text = why }; a response where no
-- choice has text fails, not retried; an empty answer with an ordinary
-- finish reason stays "". Then what opro.llm (chat, chat_n, the cache) and
-- the instruction task's scorer make of them.
local T = require "testlib"
local cjson = require "cjson"
local llm_mod = require "opro.llm"

local P = llm_mod.protocols

-- SSE text of a list of data payloads (tables are JSON-encoded)
local function sse(list)
  local out = {}
  for _, d in ipairs(list) do
    out[#out + 1] = "data: " .. (type(d) == "string" and d or cjson.encode(d)) .. "\n\n"
  end
  return table.concat(out)
end

-- OpenAI stream chunks: one choice delta per entry {index, content|refusal|tool_calls, finish}
local function oa_stream(deltas)
  local ev = {}
  for _, d in ipairs(deltas) do
    local delta = {}
    if d.content then delta.content = d.content end
    if d.refusal then delta.refusal = d.refusal end
    if d.tool then delta.tool_calls = { { index = 0, id = "call_1", type = "function" } } end
    ev[#ev + 1] = { id = "c9", choices = { { index = d.index or 0, delta = delta, finish_reason = d.finish or cjson.null } } }
  end
  ev[#ev + 1] = "[DONE]"
  return sse(ev)
end

-- Anthropic stream: text deltas, optional tool_use block, stop reason
local function an_stream(texts, stop, tool)
  local ev = { { type = "message_start", message = { id = "msg_9", usage = { input_tokens = 3, output_tokens = 0 } } } }
  if tool then ev[#ev + 1] = { type = "content_block_start", index = 0, content_block = { type = "tool_use", id = "t1", name = "f" } } end
  for _, t in ipairs(texts) do
    ev[#ev + 1] = { type = "content_block_delta", index = 0, delta = { type = "text_delta", text = t } }
  end
  ev[#ev + 1] = { type = "message_delta", delta = { stop_reason = stop }, usage = { output_tokens = 0 } }
  ev[#ev + 1] = { type = "message_stop" }
  return sse(ev)
end

-- Each case: provider, stream, body; then either
--   err = exact message, or pieces = { ... } it must contain (retryable false, code "no_text"),
--   or choices = the exact list of choices returned.
local cases = {
  -- OpenAI, plain
  { "openai: refusal (content null), n = 1", "openai", false,
    '{"choices":[{"message":{"content":null,"refusal":"I cannot."},"finish_reason":"stop"}]}',
    err = "choice 1 has no text (message.content is null; refusal: I cannot.; finish_reason stop)" },
  { "openai: tool calls instead of text", "openai", false,
    '{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","type":"function"}]},"finish_reason":"tool_calls"}]}',
    err = "choice 1 has no text (message.content is null; tool calls instead of text; finish_reason tool_calls)" },
  { "openai: empty content with finish_reason content_filter", "openai", false,
    '{"choices":[{"message":{"content":""},"finish_reason":"content_filter"}]}',
    err = "choice 1 has no text (empty content; finish_reason content_filter)" },
  { "openai: empty content with finish_reason stop is an empty answer", "openai", false,
    '{"choices":[{"message":{"content":""},"finish_reason":"stop"}]}',
    choices = { { text = "", finish_reason = "stop" } } },
  { "openai: empty content, refusal \"\" (not a refusal)", "openai", false,
    '{"choices":[{"message":{"content":"","refusal":""},"finish_reason":"length"}]}',
    choices = { { text = "", finish_reason = "length" } } },
  { "openai: n = 3, the second refused: all kept in place", "openai", false,
    [[{"choices":[{"index":0,"message":{"content":"one"},"finish_reason":"stop"},
      {"index":2,"message":{"content":"three"},"finish_reason":"stop"},
      {"index":1,"message":{"content":null,"refusal":"No."},"finish_reason":"stop"}]}]],
    choices = { { text = "one", finish_reason = "stop" },
                { text = "", finish_reason = "stop", no_text = "message.content is null; refusal: No.; finish_reason stop" },
                { text = "three", finish_reason = "stop" } } },
  { "openai: n = 2, none with text", "openai", false,
    [[{"choices":[{"message":{"content":null,"refusal":"No."},"finish_reason":"stop"},
      {"message":{"content":null},"finish_reason":"content_filter"}]}]],
    err = "none of the 2 choices has text: choice 1 (message.content is null; refusal: No.; finish_reason stop); "
      .. "choice 2 (message.content is null; finish_reason content_filter)" },
  { "openai: completions-style empty text with content_filter", "openai", false,
    '{"choices":[{"text":"","finish_reason":"content_filter"}]}',
    err = "choice 1 has no text (empty text; finish_reason content_filter)" },
  -- OpenAI, streamed
  { "openai stream: refusal deltas, no content", "openai", true,
    oa_stream{ { refusal = "I can" }, { refusal = "not." }, { finish = "stop" } },
    err = "choice 1 has no text (no content in the stream; refusal: I cannot.; finish_reason stop)" },
  { "openai stream: content_filter with no content", "openai", true,
    oa_stream{ { content = "" }, { finish = "content_filter" } },
    err = "choice 1 has no text (no content in the stream; finish_reason content_filter)" },
  { "openai stream: tool calls", "openai", true,
    oa_stream{ { tool = true }, { finish = "tool_calls" } },
    err = "choice 1 has no text (no content in the stream; tool calls instead of text; finish_reason tool_calls)" },
  { "openai stream: nothing, finish_reason stop: an empty answer", "openai", true,
    oa_stream{ { content = "" }, { finish = "stop" } },
    choices = { { text = "", finish_reason = "stop" } } },
  { "openai stream: n = 2, the first filtered", "openai", true,
    oa_stream{ { index = 1, content = "ok" }, { index = 0, finish = "content_filter" }, { index = 1, finish = "stop" } },
    choices = { { text = "", finish_reason = "content_filter",
                  no_text = "no content in the stream; finish_reason content_filter" },
                { text = "ok", finish_reason = "stop" } } },
  -- Anthropic, plain
  { "anthropic: empty content, stop_reason refusal", "anthropic", false,
    '{"type":"message","content":[],"stop_reason":"refusal","usage":{"input_tokens":1,"output_tokens":0}}',
    err = "choice 1 has no text (no text block; stop_reason refusal)" },
  { "anthropic: tool_use only", "anthropic", false,
    '{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"}',
    err = "choice 1 has no text (no text block; tool_use instead of text; stop_reason tool_use)" },
  { "anthropic: an empty text block with stop_reason refusal", "anthropic", false,
    '{"type":"message","content":[{"type":"text","text":""}],"stop_reason":"refusal"}',
    err = "choice 1 has no text (empty text; stop_reason refusal)" },
  { "anthropic: empty content, end_turn: an empty answer", "anthropic", false,
    '{"type":"message","content":[],"stop_reason":"end_turn"}',
    choices = { { text = "", finish_reason = "end_turn" } } },
  { "anthropic: text and tool_use: the text", "anthropic", false,
    '{"type":"message","content":[{"type":"text","text":"Hi"},{"type":"tool_use","id":"t"}],"stop_reason":"tool_use"}',
    choices = { { text = "Hi", finish_reason = "tool_use" } } },
  -- Anthropic, streamed
  { "anthropic stream: refusal with no text", "anthropic", true, an_stream({}, "refusal"),
    err = "choice 1 has no text (no text in the stream; stop_reason refusal)" },
  { "anthropic stream: tool_use block", "anthropic", true, an_stream({}, "tool_use", true),
    err = "choice 1 has no text (no text in the stream; tool_use instead of text; stop_reason tool_use)" },
  { "anthropic stream: nothing, end_turn: an empty answer", "anthropic", true, an_stream({}, "end_turn"),
    choices = { { text = "", finish_reason = "end_turn" } } },
  -- Gemini, plain
  { "gemini: candidate without content, finishReason SAFETY", "gemini", false,
    [[{"candidates":[{"finishReason":"SAFETY","safetyRatings":[
      {"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true},
      {"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"}]}]}]],
    err = "choice 1 has no text (no text parts; finishReason SAFETY; blocked: HARM_CATEGORY_HARASSMENT)" },
  { "gemini: RECITATION", "gemini", false,
    '{"candidates":[{"content":{"parts":[]},"finishReason":"RECITATION"}]}',
    err = "choice 1 has no text (no text parts; finishReason RECITATION)" },
  { "gemini: a function call", "gemini", false,
    '{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"STOP"}]}',
    err = "choice 1 has no text (no text parts; a function call instead of text; finishReason STOP)" },
  { "gemini: blocked prompt, no candidates", "gemini", false,
    '{"promptFeedback":{"blockReason":"SAFETY","blockReasonMessage":"unsafe"}}',
    err = "the prompt was blocked (promptFeedback.blockReason SAFETY: unsafe; no candidates)" },
  { "gemini: no parts, finishReason MAX_TOKENS (all spent thinking): an empty answer", "gemini", false,
    '{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]},"finishReason":"MAX_TOKENS"}]}',
    choices = { { text = "", finish_reason = "MAX_TOKENS" } } },
  { "gemini: two candidates, the first blocked", "gemini", false,
    [[{"candidates":[{"index":0,"finishReason":"SAFETY"},
      {"index":1,"content":{"parts":[{"text":"fine"}]},"finishReason":"STOP"}]}]],
    choices = { { text = "", finish_reason = "SAFETY", no_text = "no text parts; finishReason SAFETY" },
                { text = "fine", finish_reason = "STOP" } } },
  { "gemini: two candidates, both blocked", "gemini", false,
    '{"candidates":[{"finishReason":"SAFETY"},{"finishReason":"OTHER"}]}',
    err = "none of the 2 choices has text: choice 1 (no text parts; finishReason SAFETY); "
      .. "choice 2 (no text parts; finishReason OTHER)" },
  -- Gemini, streamed
  { "gemini stream: some text then SAFETY keeps the text", "gemini", true,
    sse{ { candidates = { { content = { parts = { { text = "par" } } } } } },
         { candidates = { { finishReason = "SAFETY" } } } },
    choices = { { text = "par", finish_reason = "SAFETY" } } },
  { "gemini stream: no text, SAFETY", "gemini", true,
    sse{ { candidates = { { finishReason = "SAFETY",
           safetyRatings = { { category = "HARM_CATEGORY_DANGEROUS_CONTENT", blocked = true } } } } } },
    err = "choice 1 has no text (no text in the stream; finishReason SAFETY; blocked: HARM_CATEGORY_DANGEROUS_CONTENT)" },
  { "gemini stream: blocked prompt", "gemini", true,
    sse{ { promptFeedback = { blockReason = "PROHIBITED_CONTENT" }, usageMetadata = { promptTokenCount = 4 } } },
    err = "the prompt was blocked (promptFeedback.blockReason PROHIBITED_CONTENT; no candidates)" },
  { "gemini stream: nothing, STOP: an empty answer", "gemini", true,
    sse{ { candidates = { { content = { parts = { { text = "" } } }, finishReason = "STOP" } } } },
    choices = { { text = "", finish_reason = "STOP" } } },
}

for _, c in ipairs(cases) do
  T.test(c[1], function()
    local parse = llm_mod.chat_parser(P[c[2]], c[3])
    local out, msg, retryable, code = parse(c[4])
    if c.err then
      T.eq(out, nil, "fails")
      T.eq(msg, c.err)
      T.eq(retryable, false, "not retried: a retry pays again for the same refusal")
      T.eq(code, "no_text")
    else
      T.ok(out, "a result: " .. tostring(msg))
      T.eq(out.choices, c.choices)
    end
  end)
end

---------------------------------------------------------------------------
-- opro.llm with a fake HTTP layer: a fresh copy of opro.llm whose requests
-- are answered by `reply(url, body)` (a status-200 body).

local function fake_llm_module(reply)
  local real_http = require "opro.core.http"
  local saved_http, saved_llm = package.loaded["opro.core.http"], package.loaded["opro.llm"]
  local sent = {}
  package.loaded["opro.core.http"] = setmetatable({
    request = function(req)
      sent[#sent + 1] = req.body
      return { status = 200, body = reply(req.url, cjson.decode(req.body)), headers = {}, time = 0 }
    end }, { __index = real_http })
  package.loaded["opro.llm"] = nil
  local ok, mod = pcall(require, "opro.llm")
  package.loaded["opro.core.http"], package.loaded["opro.llm"] = saved_http, saved_llm
  assert(ok, mod)
  return mod, sent
end

local function oa_body(contents)
  local ch = {}
  for i, c in ipairs(contents) do
    ch[i] = c == false
      and { index = i - 1, message = { role = "assistant", content = cjson.null, refusal = "No." }, finish_reason = "stop" }
      or { index = i - 1, message = { role = "assistant", content = c }, finish_reason = "stop" }
  end
  return cjson.encode{ id = "r1", choices = ch, usage = { prompt_tokens = 5, completion_tokens = 2 } }
end

T.test("chat_n (n = 3, one request): a refused choice is left out and named in info.errors; not cached", function()
  local M, sent = fake_llm_module(function(_, body)
    if (body.n or 1) == 3 then return oa_body{ "a", false, "c" } end
    return oa_body{ "b" }
  end)
  local llm = M{ model = "m", base_url = "http://fake/v1", api_key = "k" }
  local texts, info = llm:chat_n("Q", 3, { temperature = 1, sample = 1 })
  T.eq(texts, { "a", "c" }, "the paid-for choices kept, the refused one not an empty proposal")
  T.eq(#info.errors, 1)
  T.eq(info.errors[1].index, 2)
  T.eq(info.errors[1].code, "bad_response")
  T.eq(info.errors[1].no_text, true)
  T.contains(info.errors[1].message, "choice 2 has no text (message.content is null; refusal: No.; finish_reason stop)")
  T.eq(info.finish_reasons, { "stop", "stop" })
  T.eq(#sent, 1)
  -- the same call again: a and c come from the cache, the refused choice is asked again
  texts, info = llm:chat_n("Q", 3, { temperature = 1, sample = 1 })
  T.eq(#sent, 2, "one request for the one choice not cached")
  T.eq(cjson.decode(sent[2]).n, nil, "one choice: no n")
  T.eq(texts, { "a", "b", "c" })
  T.eq(info.errors, nil)
end)

T.test("chat: no text fails with code bad_response and info.no_text, is counted as a failure, is not cached", function()
  local M, sent = fake_llm_module(function() return oa_body{ false } end)
  local llm = M{ model = "m", base_url = "http://fake/v1", api_key = "k", max_retries = 2 }
  local text, msg, code, info = llm:chat("Q", { temperature = 0 })
  T.eq(text, nil)
  T.eq(code, "bad_response")
  T.eq(info.no_text, true)
  T.eq(msg, "opro.llm openai m: choice 1 has no text (message.content is null; refusal: No.; finish_reason stop) (1 attempt)")
  T.eq(#sent, 1, "not retried")
  T.eq(llm:totals().failures, 1)
  llm:chat("Q", { temperature = 0 })
  T.eq(#sent, 2, "nothing was cached")
end)

T.test("chat_n without native n (anthropic, gemini): a blocked request is left out", function()
  local calls = 0
  local M = fake_llm_module(function(url)
    calls = calls + 1
    T.contains(url, ":generateContent")
    if calls == 2 then return '{"candidates":[{"finishReason":"SAFETY"}]}' end
    return '{"candidates":[{"content":{"parts":[{"text":"ok' .. calls .. '"}]},"finishReason":"STOP"}]}'
  end)
  local g = M{ provider = "gemini", model = "g", base_url = "http://fake/v1beta", api_key = "k", concurrency = 1 }
  local texts, info = g:chat_n("Q", 3, { temperature = 1 })
  T.eq(texts, { "ok1", "ok3" })
  T.eq(info.errors[1].index, 2)
  T.eq(info.errors[1].no_text, true)
  T.contains(info.errors[1].message, "choice 1 has no text (no text parts; finishReason SAFETY)")
end)

T.test("instruction task: a scorer answer without text is a wrong answer, recorded with response \"\"", function()
  local scorer = {}
  function scorer:chat(prompt)
    if prompt:find("Q2", 1, true) then
      return nil, "opro.llm anthropic c: choice 1 has no text (no text block; stop_reason refusal) (1 attempt)",
        "bad_response", { no_text = true }
    end
    if prompt:find("Q3", 1, true) then return nil, "HTTP 500", "http_500", {} end
    return "the answer is 4", {}
  end
  local items = {}
  for i = 1, 2 do items[i] = { input = "Q" .. i .. ": 2 + 2?", target = "4", kind = "number", index = i - 1 } end
  local task = opro.task.instruction{ scorer = scorer, train = items }
  local evals = {}
  local run = { record_evaluation = function(_, e) evals[#evals + 1] = e end }
  local score, details = task:score("Solve.", { rep = 1, run = run, key = "k" })
  T.near(score, 0.5, 1e-12)
  T.eq(details.wrong, { 1 })
  T.eq(#evals, 2)
  table.sort(evals, function(a, b) return a.index < b.index end)
  T.eq(evals[2].response, "")
  T.eq(evals[2].correct, false)
  T.eq(evals[2].prediction, nil)
  -- any other failure still fails the score
  items[3] = { input = "Q3: 2 + 2?", target = "4", kind = "number", index = 2 }
  local none, msg, code = opro.task.instruction{ scorer = scorer, train = items }:score("Solve.")
  T.eq(none, nil)
  T.contains(msg, "HTTP 500")
  T.eq(code, "http_500")
end)

T.done()
