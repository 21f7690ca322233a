--- opro.llm.anthropic: the Anthropic Messages API (POST /v1/messages with
-- x-api-key and anthropic-version; system text at the top level; the answer
-- in content blocks; 529 "overloaded" is retried like any status >= 500).
local cjson = require "cjson"
local decode = require("opro.core.json").decode
local openai = require "opro.llm.openai"

local null = cjson.null

local M = {
  name = "anthropic",
  default_base_url = "https://api.anthropic.com",
  env_key = "ANTHROPIC_API_KEY",
  env_base_url = "ANTHROPIC_BASE_URL",
  native_n = false,
  default_max_tokens = 1024,   -- the API requires max_tokens
  version = "2023-06-01",
}

function M.headers(key, cfg)
  local h = { ["content-type"] = "application/json", accept = "application/json",
              ["anthropic-version"] = cfg.anthropic_version or M.version }
  if key and key ~= "" then h["x-api-key"] = key end
  return h
end

local function text_of(content)
  if type(content) == "string" then return content end
  local parts = {}
  if type(content) == "table" then
    for _, part in ipairs(content) do
      if type(part) == "table" and type(part.text) == "string" then parts[#parts + 1] = part.text end
    end
  end
  return table.concat(parts)
end

function M.chat_request(cfg, messages, p, n, stream)
  local system, msgs = {}, {}
  for _, m in ipairs(messages) do
    if m.role == "system" then
      system[#system + 1] = text_of(m.content)
    else
      msgs[#msgs + 1] = { role = m.role, content = m.content }
    end
  end
  local body = { model = cfg.model, messages = msgs, max_tokens = p.max_tokens or M.default_max_tokens }
  if #system > 0 then body.system = table.concat(system, "\n\n") end
  if p.temperature ~= nil then body.temperature = p.temperature end
  if p.top_p ~= nil then body.top_p = p.top_p end
  if p.stop ~= nil then body.stop_sequences = type(p.stop) == "string" and { p.stop } or p.stop end
  if stream then body.stream = true end
  if p.extra then for k, v in pairs(p.extra) do body[k] = v end end
  return cfg.base_url .. "/v1/messages", body
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local i, o = u.input_tokens, u.output_tokens
  return { input_tokens = type(i) == "number" and (math.tointeger(i) or i) or 0,
           output_tokens = type(o) == "number" and (math.tointeger(o) or o) or 0 }
end

-- stop reasons that explain an empty answer: no answer (a refusal, tool
-- use, a paused server-tool turn), not an empty one
local no_text_reasons = { refusal = true, tool_use = true, pause_turn = true }

-- why a message with text `text` has no text, or nil (an empty text with
-- end_turn, stop_sequence, max_tokens or no stop_reason is an empty answer)
local function no_text_why(text, has_text_block, tools, stop, what)
  if text ~= "" or not (tools or no_text_reasons[stop]) then return nil end
  local why = { has_text_block and "empty text" or what }
  if tools then why[#why + 1] = "tool_use instead of text" end
  if stop then why[#why + 1] = "stop_reason " .. stop end
  return table.concat(why, "; ")
end

--- Parsed response: one choice {text=, finish_reason=}; a message without
-- text (a refusal, tool_use blocks only) fails with nil, message, false,
-- "no_text" (openai.with_text).
--- Members of a reply that parse_chat never reads, at any depth (see
-- openai.reply_skip).
M.reply_skip = { model = true, role = true, stop_sequence = true, citations = true, service_tier = true,
  cache_creation = true, cache_creation_input_tokens = true, cache_read_input_tokens = true }

function M.parse_chat(obj)
  if type(obj) ~= "table" then return nil, "the response is not a JSON object", true end
  if obj.type == "error" then return nil, M.error_message(obj), false end
  if type(obj.content) ~= "table" then return nil, "the response has no content blocks", true end
  local parts, tools, has_text = {}, false, false
  for _, block in ipairs(obj.content) do
    if type(block) == "table" then
      if block.type == "text" and type(block.text) == "string" then
        parts[#parts + 1] = block.text
        has_text = true
      elseif block.type == "tool_use" or block.type == "server_tool_use" then
        tools = true
      end
    end
  end
  local text, stop = table.concat(parts), type(obj.stop_reason) == "string" and obj.stop_reason or nil
  local choices = { { text = text, finish_reason = stop,
                      no_text = no_text_why(text, has_text, tools, stop, "no text block") } }
  local ok, msg, retryable, code = openai.with_text(choices)
  if not ok then return nil, msg, retryable, code end
  return { choices = choices, usage = usage_of(obj.usage), id = type(obj.id) == "string" and obj.id or nil }
end

--- Assembles message_start / content_block_delta / message_delta events;
-- an `error` event mid-stream ends the call with its message. No text with
-- stop_reason refusal (or tool_use blocks) fails as in parse_chat.
function M.parse_stream(events)
  local parts, usage, id, stop = {}, { input_tokens = 0, output_tokens = 0 }, nil, nil
  local done, tools = false, false
  for _, ev in ipairs(events) do
    local obj = decode(ev.data)
    if type(obj) ~= "table" then
      return nil, "a stream event is not valid JSON: " .. (tostring(ev.data):sub(1, 80):gsub("%s+", " ")), true
    end
    local t = obj.type or ev.event
    if t == "error" then
      local e = type(obj.error) == "table" and obj.error or {}
      local retry = e.type == "overloaded_error" or e.type == "api_error" or e.type == "rate_limit_error"
      return nil, "error event in the stream: " .. M.error_message(obj), retry, "stream_error"
    elseif t == "message_start" and type(obj.message) == "table" then
      if type(obj.message.id) == "string" then id = obj.message.id end
      local u = usage_of(obj.message.usage)
      if u then usage.input_tokens = u.input_tokens; usage.output_tokens = u.output_tokens end
    elseif t == "content_block_start" and type(obj.content_block) == "table" then
      local bt = obj.content_block.type
      if bt == "tool_use" or bt == "server_tool_use" then tools = true end
    elseif t == "content_block_delta" and type(obj.delta) == "table" and type(obj.delta.text) == "string" then
      parts[#parts + 1] = obj.delta.text
    elseif t == "message_delta" then
      if type(obj.delta) == "table" and type(obj.delta.stop_reason) == "string" then stop = obj.delta.stop_reason end
      if type(obj.usage) == "table" and type(obj.usage.output_tokens) == "number" then
        usage.output_tokens = obj.usage.output_tokens
      end
    elseif t == "message_stop" then
      done = true
    end
  end
  if not done then return nil, "the stream ended without message_stop", true end
  local text = table.concat(parts)
  local choices = { { text = text, finish_reason = stop,
                      no_text = no_text_why(text, false, tools, stop, "no text in the stream") } }
  local ok, msg, retryable, code = openai.with_text(choices)
  if not ok then return nil, msg, retryable, code end
  return { choices = choices, usage = usage, id = id }
end

function M.error_message(obj, raw)
  if type(obj) == "table" then
    local e = obj.error
    if type(e) == "table" and type(e.message) ~= "string" then
      return require("opro.llm.openai").unexpected_error(e)
    end
    if type(e) == "table" then
      local msg = e.message ~= "" and e.message or "error"
      if type(e.type) == "string" then msg = msg .. " (" .. e.type .. ")" end
      return msg
    end
    if type(e) == "string" and e ~= "" then return e end
    if type(obj.message) == "string" and obj.message ~= "" then return obj.message end
  end
  if raw and raw ~= "" then return (raw:sub(1, 200):gsub("%s+", " ")) end
  return "no error message"
end

M.null = null
return M
