-- opro.llm.sse: the event-stream parser, fed whole and in every split.
local T = require "testlib"
local sse = require "opro.llm.sse"

-- feeds `text` in pieces cut at the given positions; returns events, clean
local function feed_split(text, cuts)
  local p = sse.parser()
  local events = {}
  local last = 1
  for _, c in ipairs(cuts) do
    for _, e in ipairs(p:feed(text:sub(last, c - 1))) do events[#events + 1] = e end
    last = c
  end
  for _, e in ipairs(p:feed(text:sub(last))) do events[#events + 1] = e end
  return events, p:close()
end

local function datas(events)
  local out = {}
  for i, e in ipairs(events) do out[i] = e.event .. "=" .. e.data end
  return out
end

T.test("LF, CR and CRLF line ends; comments; event names; multi-line data", function()
  local text = ": ping\n\ndata: one\n\r\nevent: add\rdata: a\r\ndata:b\r\n\r\ndata\n\n:x\r\ndata:  two spaces\n\n"
  local events, clean = sse.parse(text)
  T.eq(datas(events), { "message=one", "add=a\nb", "message=", "message= two spaces" })
  T.ok(clean)
end)

T.test("every split point (1 and 2 cuts) gives the same events, CRLF split across chunks included", function()
  local text = "event: a\r\ndata: x\r\ndata: y\r\n\r\n: keepalive\r\ndata: {\"k\": 1}\r\rdata: [DONE]\n\n"
  local want = datas((sse.parse(text)))
  T.eq(want, { "a=x\ny", "message={\"k\": 1}", "message=[DONE]" })
  for i = 1, #text + 1 do
    T.eq(datas((feed_split(text, { i }))), want, "cut at " .. i)
    for j = i, #text + 1, 3 do
      T.eq(datas((feed_split(text, { i, j }))), want, "cuts at " .. i .. "," .. j)
    end
  end
  -- byte by byte
  local cuts = {}
  for i = 2, #text do cuts[#cuts + 1] = i end
  T.eq(datas((feed_split(text, cuts))), want, "byte by byte")
end)

T.test("a CR at the end of a chunk followed by LF counts as one line end", function()
  local p = sse.parser()
  T.eq(#p:feed("data: a\r"), 0)
  local ev = p:feed("\n\r\n")
  T.eq(datas(ev), { "message=a" })
end)

T.test("ids persist, NUL ids are ignored, retry takes digits only, unknown fields are ignored", function()
  local events, _, p = sse.parse("id: 7\ndata: a\n\nretry: 150\nfoo: bar\ndata: b\n\nid: x\0y\nretry: 1a\ndata: c\n\n")
  T.eq(events[1].id, "7")
  T.eq(events[2].id, "7")
  T.eq(events[3].id, "7")
  T.eq(p.retry, 150)
end)

T.test("a byte order mark at the start is dropped, also when split", function()
  local events = feed_split("\239\187\191data: a\n\n", { 2, 3 })
  T.eq(datas(events), { "message=a" })
end)

T.test("an unfinished event at the end of the stream is dropped and reported", function()
  local events, clean = sse.parse("data: a\n\ndata: cut")
  T.eq(datas(events), { "message=a" })
  T.eq(clean, false)
  events, clean = sse.parse("data: a\n\ndata: b\n")
  T.eq(datas(events), { "message=a" })
  T.eq(clean, false)
end)

T.test("an error event mid-stream reaches the provider parsers", function()
  local openai = require "opro.llm.openai"
  local anthropic = require "opro.llm.anthropic"
  local ev = sse.parse('data: {"choices":[{"index":0,"delta":{"content":"he"}}]}\n\n' ..
    'data: {"error":{"message":"server overloaded","type":"server_error"}}\n\ndata: [DONE]\n\n')
  local out, msg, _, code = openai.parse_stream(ev)
  T.eq(out, nil)
  T.eq(code, "stream_error")
  T.contains(msg, "server overloaded")
  ev = sse.parse('event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":3}}}\n\n' ..
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
  out, msg, _, code = anthropic.parse_stream(ev)
  T.eq(out, nil)
  T.eq(code, "stream_error")
  T.contains(msg, "Overloaded")
end)

T.test("OpenAI stream: deltas of several choices, usage chunk, pings, [DONE]", function()
  local openai = require "opro.llm.openai"
  local ev = sse.parse(": ping\n\ndata: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}}]}\n\n" ..
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n" ..
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\n" ..
    "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n")
  local out = assert(openai.parse_stream(ev))
  T.eq(out.choices[1].text, "Aa")
  T.eq(out.choices[1].finish_reason, "stop")
  T.eq(out.choices[2].text, "B")
  T.eq(out.usage, { input_tokens = 5, output_tokens = 2 })
  local _, msg = openai.parse_stream(sse.parse("data: {\"choices\":[]}\n\n"))
  T.contains(msg, "[DONE]")
end)

T.test("stream events of odd shapes (found by tests/fuzz/fuzz_llm): a clean failure or a string id", function()
  local openai = require "opro.llm.openai"
  local anthropic = require "opro.llm.anthropic"
  -- a choice that is not an object ended the call with "attempt to index a number value"
  for _, choice in ipairs { "1", "null", "\"x\"", "[]" } do
    local ok, out, msg, retry = pcall(openai.parse_stream,
      sse.parse('data: {"choices":[' .. choice .. ']}\n\ndata: [DONE]\n\n'))
    T.ok(ok, tostring(out))
    if choice == "[]" then
      T.ok(out)                       -- an empty object: a choice with no text yet
    else
      T.eq(out, nil)
      T.contains(msg, "not an object")
      T.eq(retry, true)
    end
  end
  -- message.id that is not a string became the request id (a number, a table)
  local ev = sse.parse('data: {"type":"message_start","message":{"id":{"a":1}}}\n\n' ..
    'data: {"type":"content_block_delta","delta":{"text":"hi"}}\n\ndata: {"type":"message_stop"}\n\n')
  local out = assert(anthropic.parse_stream(ev))
  T.eq(out.id, nil)
  T.eq(out.choices[1].text, "hi")
  ev = sse.parse('data: {"type":"message_start","message":{"id":"msg_1"}}\n\ndata: {"type":"message_stop"}\n\n')
  T.eq(assert(anthropic.parse_stream(ev)).id, "msg_1")
end)

T.done()
