--- opro.llm.openai: the OpenAI chat completions and embeddings protocol,
-- also spoken by vLLM, llama.cpp's server, Ollama and LM Studio. Their
-- differences are tolerated: `error` as a string or with an integer
-- `code`, no `usage`, `n` ignored (fewer choices than asked), SSE pings.
local cjson = require "cjson"

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

--- Parsed response: {choices={{text=, finish_reason=}...}, usage=, id=}
-- or nil, message, retryable.
function M.parse_chat(obj)
  if type(obj) ~= "table" then return nil, "the response is not a JSON object", true end
  if obj.error ~= nil and obj.error ~= null then return nil, M.error_message(obj), false end
  local choices = obj.choices
  if type(choices) ~= "table" or #choices == 0 then return nil, "the response has no choices", true end
  local out = {}
  for i, c in ipairs(choices) do
    if type(c) ~= "table" then return nil, "choice " .. i .. " is not an object", true end
    local msg = c.message
    local text
    if type(msg) == "table" then
      if msg.content == nil or msg.content == null then
        -- a refusal, a content filter or tool calls: no text to use (an
        -- empty answer would be scored as if the model had answered "")
        local why = {}
        if type(msg.refusal) == "string" then why[#why + 1] = "refusal: " .. msg.refusal:sub(1, 200) end
        if type(msg.tool_calls) == "table" then why[#why + 1] = "tool calls instead of text" end
        if type(c.finish_reason) == "string" then why[#why + 1] = "finish_reason " .. c.finish_reason end
        return nil, string.format("choice %d has no text (message.content is null%s)", i,
          #why > 0 and ("; " .. table.concat(why, "; ")) or ""), false
      end
      text = text_of(msg.content)
    elseif type(c.text) == "string" then   -- a completions-style server
      text = c.text
    else
      return nil, "choice " .. i .. " has no message", true
    end
    local idx = math.tointeger(c.index)
    local slot = (idx and idx >= 0 and idx < #choices and out[idx + 1] == nil) and idx + 1 or i
    out[slot] = { text = text, finish_reason = type(c.finish_reason) == "string" and c.finish_reason or nil }
  end
  for i = 1, #choices do
    if out[i] == nil then return nil, "the response repeats a choice index", true end
  end
  return { choices = out, usage = usage_of(obj.usage), id = type(obj.id) == "string" and obj.id or nil }
end

--- A chat response assembled from SSE events.
function M.parse_stream(events)
  local texts, finish, usage, id = {}, {}, nil, nil
  local done = false
  for _, ev in ipairs(events) do
    if ev.data == "[DONE]" then done = true; break end
    local ok, obj = pcall(cjson.decode, ev.data)
    if not ok or type(obj) ~= "table" then
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
        if type(c.delta) == "table" and type(c.delta.content) == "string" then t[#t + 1] = c.delta.content end
        if type(c.finish_reason) == "string" then finish[i] = c.finish_reason end
      end
    end
  end
  if not done then return nil, "the stream ended without [DONE]", true end
  local choices = {}
  for i = 1, #texts do
    choices[i] = { text = table.concat(texts[i] or {}), finish_reason = finish[i] }
  end
  if #choices == 0 then return nil, "the stream had no choices", true end
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
