--- opro.llm.openai: the OpenAI chat completions and embeddings protocol,
-- also spoken by vLLM, llama.cpp's server, Ollama and LM Studio. Their
-- differences are tolerated: `error` as a string or with an integer
-- `code`, no `usage`, `n` ignored (fewer choices than asked), SSE pings.
local cjson = require "cjson"
local decode = require("opro.core.json").decode

local null = cjson.null

local M = {
  name = "openai",
  default_base_url = "https://api.openai.com/v1",
  env_key = "OPENAI_API_KEY",
  env_base_url = "OPENAI_BASE_URL",
  native_n = true,
  embed_field = "embedding",
  embed_batch = 2048,   -- inputs per embeddings request (the API's limit)
}

function M.headers(key, cfg)
  local h = { ["content-type"] = "application/json", accept = "application/json" }
  if key and key ~= "" then h.authorization = "Bearer " .. key end
  return h
end

--- URL and body (a Lua table) of a chat request. `p` holds the sampling
-- parameters (temperature, max_tokens, top_p, stop, seed, extra), `n` the
-- number of choices (nil for 1), `stream` whether to ask for SSE.
function M.chat_request(cfg, messages, p, n, stream)
  local body = { model = cfg.model, messages = messages }
  if p.temperature ~= nil then body.temperature = p.temperature end
  if p.max_tokens ~= nil then body.max_tokens = p.max_tokens end
  if p.top_p ~= nil then body.top_p = p.top_p end
  if p.stop ~= nil then body.stop = p.stop end
  if p.seed ~= nil then body.seed = p.seed end
  if n and n > 1 then body.n = n end
  if stream then
    body.stream = true
    body.stream_options = { include_usage = true }
  end
  if p.extra then for k, v in pairs(p.extra) do body[k] = v end end
  return cfg.base_url .. "/chat/completions", body
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local i, o = u.prompt_tokens, u.completion_tokens
  return { input_tokens = type(i) == "number" and (math.tointeger(i) or i) or 0,
           output_tokens = type(o) == "number" and (math.tointeger(o) or o) or 0 }
end

local function text_of(content)
  if type(content) == "string" then return content end
  if type(content) == "table" then      -- content parts
    local parts = {}
    for _, part in ipairs(content) do
      if type(part) == "table" and type(part.text) == "string" then parts[#parts + 1] = part.text end
    end
    return table.concat(parts)
  end
  return ""
end

-- finish reasons that explain an empty answer: it is no answer (a
-- content filter, tool calls), not an empty one
local no_text_reasons = { content_filter = true, tool_calls = true, function_call = true }

--- The result of a list of choices of which some may have no text
-- ({ text = "", no_text = why }): the choices (positions kept) when at
-- least one has text, else nil, a message naming each choice and why,
-- false (a refusal is not retried: a retry pays again for the same
-- answer), "no_text". Shared by the three protocols.
function M.with_text(choices)
  local whys = {}
  for i, c in ipairs(choices) do
    if not c.no_text then return choices end
    whys[i] = c.no_text
  end
  if #whys == 1 then return nil, "choice 1 has no text (" .. whys[1] .. ")", false, "no_text" end
  local parts = {}
  for i, w in ipairs(whys) do parts[i] = "choice " .. i .. " (" .. w .. ")" end
  return nil, string.format("none of the %d choices has text: %s", #whys, table.concat(parts, "; ")),
    false, "no_text"
end

-- why a choice with text `text` has no text, or nil when it has (an empty
-- text with an ordinary finish reason is an empty answer). `null_content`:
-- the message's content was null; `refusal` a string or nil; `tools`
-- whether it called tools.
local function no_text_why(text, null_content, refusal, tools, finish, empty_what)
  if text ~= "" then return nil end
  if not (null_content or refusal or tools or no_text_reasons[finish]) then return nil end
  local why = { null_content and "message.content is null" or empty_what }
  if refusal then why[#why + 1] = "refusal: " .. refusal:sub(1, 200) end
  if tools then why[#why + 1] = "tool calls instead of text" end
  if finish then why[#why + 1] = "finish_reason " .. finish end
  return table.concat(why, "; ")
end

--- Members of a chat reply that parse_chat never reads, at any depth: the
-- decoder leaves them out (opro.core.json.decode's skip) and makes no Lua
-- value for them. The raw reply, which on_call records, keeps them.
M.reply_skip = { object = true, created = true, model = true, system_fingerprint = true, service_tier = true,
  logprobs = true, annotations = true, audio = true, total_tokens = true,
  prompt_tokens_details = true, completion_tokens_details = true }

--- Parsed response: {choices={{text=, finish_reason=[, no_text=]}...}, usage=, id=}
-- or nil, message, retryable[, code]. A choice without text (content
-- null; or empty with a refusal, tool calls or finish_reason
-- content_filter) is { text = "", no_text = why }; when no choice has
-- text the response fails (see M.with_text).
function M.parse_chat(obj)
  if type(obj) ~= "table" then return nil, "the response is not a JSON object", true end
  if obj.error ~= nil and obj.error ~= null then return nil, M.error_message(obj), false end
  local choices = obj.choices
  if type(choices) ~= "table" or #choices == 0 then return nil, "the response has no choices", true end
  local out = {}
  for i, c in ipairs(choices) do
    if type(c) ~= "table" then return nil, "choice " .. i .. " is not an object", true end
    local msg = c.message
    local finish = type(c.finish_reason) == "string" and c.finish_reason or nil
    local text, why
    if type(msg) == "table" then
      local null_content = msg.content == nil or msg.content == null
      text = null_content and "" or text_of(msg.content)
      local refusal = msg.refusal
      why = no_text_why(text, null_content, type(refusal) == "string" and refusal ~= "" and refusal or nil,
        type(msg.tool_calls) == "table" and next(msg.tool_calls) ~= nil, finish, "empty content")
    elseif type(c.text) == "string" then   -- a completions-style server
      text = c.text
      why = no_text_why(text, false, nil, false, finish, "empty text")
    else
      return nil, "choice " .. i .. " has no message", true
    end
    local idx = math.tointeger(c.index)
    local slot = (idx and idx >= 0 and idx < #choices and out[idx + 1] == nil) and idx + 1 or i
    out[slot] = { text = text, finish_reason = finish, no_text = why }
  end
  for i = 1, #choices do
    if out[i] == nil then return nil, "the response repeats a choice index", true end
  end
  local ok, msg, retryable, code = M.with_text(out)
  if not ok then return nil, msg, retryable, code end
  return { choices = out, usage = usage_of(obj.usage), id = type(obj.id) == "string" and obj.id or nil }
end

--- A chat response assembled from SSE events. A choice whose stream
-- carried no content but a refusal, tool calls or finish_reason
-- content_filter has no text, as in parse_chat; an empty stream ending
-- with "stop" is an empty answer.
function M.parse_stream(events)
  local texts, finish, refusals, tools, usage, id = {}, {}, {}, {}, nil, nil
  local done = false
  for _, ev in ipairs(events) do
    if ev.data == "[DONE]" then done = true; break end
    local obj = decode(ev.data)
    if type(obj) ~= "table" then
      return nil, "a stream event is not valid JSON: " .. (tostring(ev.data):sub(1, 80):gsub("%s+", " ")), true
    end
    if ev.event == "error" or (obj.error ~= nil and obj.error ~= null) then
      return nil, "error event in the stream: " .. M.error_message(obj), false, "stream_error"
    end
    if type(obj.id) == "string" then id = obj.id end
    if type(obj.usage) == "table" then usage = usage_of(obj.usage) end
    if type(obj.choices) == "table" then
      for _, c in ipairs(obj.choices) do
        if type(c) ~= "table" then return nil, "a stream event has a choice that is not an object", true end
        local i = (math.tointeger(c.index) or 0) + 1
        local t = texts[i]
        if not t then t = {}; texts[i] = t end
        local d = c.delta
        if type(d) == "table" then
          if type(d.content) == "string" then t[#t + 1] = d.content end
          if type(d.refusal) == "string" and d.refusal ~= "" then refusals[i] = (refusals[i] or "") .. d.refusal end
          if type(d.tool_calls) == "table" and next(d.tool_calls) ~= nil then tools[i] = true end
        end
        if type(c.finish_reason) == "string" then finish[i] = c.finish_reason end
      end
    end
  end
  if not done then return nil, "the stream ended without [DONE]", true end
  local choices = {}
  for i = 1, #texts do
    local text = table.concat(texts[i] or {})
    choices[i] = { text = text, finish_reason = finish[i],
                   no_text = no_text_why(text, false, refusals[i], tools[i], finish[i], "no content in the stream") }
  end
  if #choices == 0 then return nil, "the stream had no choices", true end
  local ok, msg, retryable, code = M.with_text(choices)
  if not ok then return nil, msg, retryable, code end
  return { choices = choices, usage = usage, id = id }
end

--- The message for an `error` value of an unexpected shape (no message
-- string): its JSON, shortened.
function M.unexpected_error(e)
  local ok, text = pcall(cjson.encode, e)
  text = ok and text or tostring(e)
  if #text > 200 then text = text:sub(1, 197) .. "..." end
  return "an error of unexpected shape: " .. text
end

--- The error message of an error response body (decoded JSON or nil).
function M.error_message(obj, raw)
  if type(obj) == "table" then
    local e = obj.error
    if type(e) == "string" and e ~= "" then return e end   -- Ollama, some proxies
    if type(e) == "table" and type(e.message) ~= "string" then
      return M.unexpected_error(e)
    end
    if type(e) == "table" then
      local msg = e.message ~= "" and e.message or "error"
      local extra = {}
      if type(e.type) == "string" then extra[#extra + 1] = e.type end
      if e.code ~= nil and e.code ~= null then extra[#extra + 1] = tostring(math.tointeger(e.code) or e.code) end
      if #extra > 0 then msg = msg .. " (" .. table.concat(extra, ", ") .. ")" end
      return msg
    end
    if type(obj.message) == "string" and obj.message ~= "" then return obj.message end
    if type(obj.detail) == "string" and obj.detail ~= "" then return obj.detail end  -- FastAPI-style servers
    if e ~= nil and e ~= null and e ~= "" then return M.unexpected_error(e) end
  end
  if raw and raw ~= "" then return (raw:sub(1, 200):gsub("%s+", " ")) end
  return "no error message"
end

--- URL and body of an embeddings request; o.dimensions (optional) asks
-- for shorter vectors (text-embedding-3 models).
function M.embed_request(cfg, texts, o)
  return cfg.base_url .. "/embeddings", { model = cfg.model, input = texts, dimensions = o and o.dimensions or nil }
end

--- List of vectors (in input order), usage; or nil, message, retryable.
function M.parse_embed(obj, count)
  if type(obj) ~= "table" or type(obj.data) ~= "table" then return nil, "the response has no data", true end
  local out = {}
  for i, d in ipairs(obj.data) do
    if type(d) ~= "table" or type(d.embedding) ~= "table" then return nil, "item " .. i .. " has no embedding", true end
    local idx = math.tointeger(d.index)
    out[(idx and idx + 1) or i] = d.embedding
  end
  if #out ~= count then return nil, string.format("%d embeddings for %d inputs", #out, count), true end
  local u = usage_of(obj.usage)
  if u and obj.usage.prompt_tokens == nil and type(obj.usage.total_tokens) == "number" then
    u.input_tokens = obj.usage.total_tokens
  end
  return out, u
end

return M
