--- Fuzz target: opro-sim's request handler (opro.sim.server and the
-- protocol modules) and its persona's prompt recognisers (opro.sim.persona,
-- opro.sim.problems) on arbitrary requests. The first input byte picks:
--   0-6  a POST with the rest as its body: 0 /v1/chat/completions,
--        1 /v1/completions, 2 /v1/embeddings, 3 /v1/messages, 4 Gemini
--        :generateContent, 5 :streamGenerateContent?alt=sse, 6 :batchEmbedContents
--   7-9  the rest as a prompt (a user message; the second byte sets
--        stream, n, temperature): 7 OpenAI, 8 Anthropic, 9 Gemini
--   10   a GET of the rest as the path
-- The contract (lua/opro/sim/server.lua): the handler returns {status=,
-- headers=, body=} or {status=, headers=, chunks=, chunk_tokens=} and never
-- raises (an error there is a 500 for a request the simulator should have
-- answered or refused with a 4xx). Besides: every JSON body decodes, an
-- error body gives the client a message, and a 200 chat reply is accepted
-- by the client's own parser (opro.llm.chat_parser).
local server = require "opro.sim.server"
local llm = require "opro.llm"
local cjson = require "cjson"
local cjson_safe = require "cjson.safe"

local handler = server.new { seed = 0 }
local protos = llm.protocols

local fail = require("tests.fuzz.harness").fail

local GEMINI = "/v1beta/models/gemini-sim-1"
local ROUTES = {
  [0] = { "openai", "/v1/chat/completions" }, { "openai", "/v1/completions" }, { "openai", "/v1/embeddings" },
  { "anthropic", "/v1/messages" }, { "gemini", GEMINI .. ":generateContent" },
  { "gemini", GEMINI .. ":streamGenerateContent", { alt = "sse" } }, { "gemini", GEMINI .. ":batchEmbedContents" },
}
local HEADERS = {
  openai = { authorization = "Bearer k", ["content-type"] = "application/json" },
  anthropic = { ["x-api-key"] = "k", ["anthropic-version"] = "2023-06-01", ["content-type"] = "application/json" },
  gemini = { ["x-goog-api-key"] = "k", ["content-type"] = "application/json" },
}

local occurrence = 0
local function request(method, path, query, headers, body)
  occurrence = occurrence + 1
  local req = { method = method, path = path, query = query or {}, headers = headers, body = body or "",
                request_id = "req_" .. string.format("%08x", occurrence), key = occurrence, occurrence = occurrence % 3 }
  local ok, reply = xpcall(handler, debug.traceback, req)
  if not ok then fail("the handler raised: %s", tostring(reply)) end
  if type(reply) ~= "table" then fail("the handler returned a %s", type(reply)) end
  local st = reply.status
  if math.type(st) ~= "integer" or st < 100 or st > 599 then fail("status %s", tostring(st)) end
  if type(reply.headers) ~= "table" then fail("no headers") end
  for k, v in pairs(reply.headers) do
    if type(k) ~= "string" or type(v) ~= "string" then fail("header %s: %s", tostring(k), tostring(v)) end
  end
  local text
  if reply.chunks ~= nil then
    if type(reply.chunks) ~= "table" or #reply.chunks < 1 then fail("empty chunks") end
    if type(reply.chunk_tokens) ~= "table" or #reply.chunk_tokens ~= #reply.chunks then fail("chunk_tokens do not match chunks") end
    for i, c in ipairs(reply.chunks) do
      if type(c) ~= "string" then fail("chunk %d is a %s", i, type(c)) end
      if type(reply.chunk_tokens[i]) ~= "number" then fail("chunk_tokens[%d] is a %s", i, type(reply.chunk_tokens[i])) end
    end
    text = table.concat(reply.chunks)
  else
    if type(reply.body) ~= "string" then fail("body is a %s", type(reply.body)) end
    text = reply.body
  end
  return reply, text
end

-- a 4xx/5xx body: JSON the client can take a message from
local function check_error(provider, text)
  local obj = cjson_safe.decode(text)
  if type(obj) ~= "table" then fail("an error body is not JSON: %q", text:sub(1, 200)) end
  local msg = protos[provider].error_message(obj, text)
  if type(msg) ~= "string" or msg == "no error message" then fail("no message in the error body %q", text:sub(1, 200)) end
end

local function check_reply(provider, path, reply, text, stream)
  if reply.status ~= 200 then return check_error(provider, text) end
  local embeddings = path:find("mbed", 1, true)
  if not stream then
    if cjson_safe.decode(text) == nil then fail("a 200 body is not JSON: %q", text:sub(1, 200)) end
  end
  if embeddings then return end
  local out, msg = llm.chat_parser(protos[provider], stream)(text)
  if not out then fail("the client rejects a 200 reply of %s (%s): %q", path, tostring(msg), text:sub(1, 300)) end
end

-- n (up to 128) and the prompts of a completion multiply the persona's work
-- on the same code: bodies asking for more than 4 answers are skipped
local function costly(obj)
  if type(obj) ~= "table" then return false end
  local cfg = type(obj.generationConfig) == "table" and obj.generationConfig or {}
  for _, n in ipairs { obj.n, cfg.candidateCount } do
    if type(n) == "number" and n > 4 then return true end
  end
  return type(obj.prompt) == "table" and #obj.prompt > 4
end

local function post(sel, body)
  local r = ROUTES[sel]
  local provider, path, query = r[1], r[2], r[3]
  local obj = cjson_safe.decode(body)
  if costly(obj) then return end
  local reply, text = request("POST", path, query, HEADERS[provider], body)
  local stream = (type(obj) == "table" and obj.stream == true) or sel == 5
  check_reply(provider, path, reply, text, stream)
end

local function prompt(sel, opt, text)
  local stream = opt & 1 ~= 0
  local n = (opt >> 1) % 3 + 1
  local temperature = (opt >> 3) % 3 * 0.5
  local provider, path, query, body
  if sel == 7 then
    provider, path = "openai", "/v1/chat/completions"
    body = { model = "sim-1", messages = { { role = "user", content = text } }, n = n, temperature = temperature,
             stream = stream }
  elseif sel == 8 then
    provider, path = "anthropic", "/v1/messages"
    body = { model = "sim-1", max_tokens = 64 * n, messages = { { role = "user", content = text } },
             temperature = temperature, stream = stream }
  else
    provider = "gemini"
    path = GEMINI .. (stream and ":streamGenerateContent" or ":generateContent")
    query = stream and { alt = "sse" } or nil
    body = { contents = { { role = "user", parts = { { text = text } } } },
             generationConfig = { temperature = temperature, candidateCount = n } }
  end
  local reply, out = request("POST", path, query, HEADERS[provider], cjson.encode(body))
  check_reply(provider, path, reply, out, stream)
  if reply.status ~= 200 then fail("a valid request for a prompt got status %d: %q", reply.status, out:sub(1, 200)) end
end

return function(data)
  if #data < 1 then return end
  local sel = data:byte(1) % 11
  if sel <= 6 then
    post(sel, data:sub(2))
  elseif sel <= 9 then
    prompt(sel, data:byte(2) or 0, data:sub(3))
  else
    local path = data:sub(2)
    local reply, text = request("GET", path, {}, HEADERS.openai, "")
    if reply.status ~= 200 then check_error("openai", text) end
  end
end
