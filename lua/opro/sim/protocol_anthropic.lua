--- opro.sim.protocol_anthropic: Anthropic's Messages API. POST /v1/messages
-- (system, stop_sequences, max_tokens, stream as the event sequence
-- message_start, content_block_start, ping, content_block_delta...,
-- content_block_stop, message_delta, message_stop), GET /v1/models.
-- Errors: {"type":"error","error":{"type","message"}} (529 overloaded_error).
local util = require "opro.sim.util"
local gen = require "opro.sim.generate"

local o, a, null = util.o, util.a, util.null
local M = {}

local ERROR_TYPES = {
  [400] = "invalid_request_error", [401] = "authentication_error", [403] = "permission_error",
  [404] = "not_found_error", [413] = "request_too_large", [429] = "rate_limit_error",
  [500] = "api_error", [503] = "api_error", [529] = "overloaded_error",
}

function M.error(status, message, kind, extra)
  local t = ERROR_TYPES[status] or (status >= 500 and "api_error" or "invalid_request_error")
  if kind == "auth" then message = "x-api-key header is required" end
  if status == 529 and kind == "fault" then message = "Overloaded" end
  return {
    status = status, headers = { ["content-type"] = "application/json" },
    body = util.json(o { "type", "error", "error", o { "type", t, "message", message or "Error" } }),
  }
end

local STOP = { stop = "end_turn", length = "max_tokens", stop_sequence = "stop_sequence" }

local function event(name, obj)
  return "event: " .. name .. "\ndata: " .. util.json(obj) .. "\n\n"
end

local function messages(ctx)
  local b, req = ctx.body, ctx.req
  if type(b.model) ~= "string" or b.model == "" then
    return ctx.err(400, "model: Field required")
  end
  if math.type(b.max_tokens) ~= "integer" or b.max_tokens < 1 then
    return ctx.err(400, "max_tokens: Field required (a positive integer)")
  end
  if b.temperature ~= nil and (type(b.temperature) ~= "number" or b.temperature < 0) then
    return ctx.err(400, "temperature: Input should be a number >= 0")
  end
  if type(b.messages) ~= "table" or #b.messages == 0 then
    return ctx.err(400, "messages: at least one message is required")
  end
  local msgs = {}
  for i, m in ipairs(b.messages) do
    if type(m) ~= "table" or (m.role ~= "user" and m.role ~= "assistant") then
      return ctx.err(400, string.format("messages.%d.role: Input should be 'user' or 'assistant'", i - 1))
    end
    msgs[#msgs + 1] = { role = m.role, content = gen.content_text(m.content) }
  end
  local system = b.system and gen.content_text(b.system) or nil
  local stops = type(b.stop_sequences) == "table" and b.stop_sequences or nil
  local r = gen.replies(ctx, { messages = msgs, system = system, model = b.model, temperature = b.temperature,
                               max_tokens = b.max_tokens, stop = stops, n = 1, provider = "anthropic" })[1]
  local prompt = gen.prompt_of(system, msgs)
  local it = gen.prompt_tokens(prompt, #msgs)
  local id = "msg_01" .. gen.id_suffix(req, 22)
  local stop_reason = STOP[r.finish] or "end_turn"
  local stop_seq = r.stop_sequence or null
  local headers = { ["content-type"] = "application/json", ["request-id"] = req.request_id,
                    ["anthropic-organization-id"] = "00000000-0000-0000-0000-000000000000" }
  if b.stream == true then
    local chunks, toks = {}, {}
    local function add(name, obj, tokens) chunks[#chunks + 1] = event(name, obj); toks[#toks + 1] = tokens or 0 end
    add("message_start", o { "type", "message_start", "message", o {
      "id", id, "type", "message", "role", "assistant", "model", b.model, "content", a(),
      "stop_reason", null, "stop_sequence", null,
      "usage", o { "input_tokens", it, "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0, "output_tokens", 1 } } })
    add("content_block_start", o { "type", "content_block_start", "index", 0, "content_block", o { "type", "text", "text", "" } })
    add("ping", o { "type", "ping" })
    if r.text ~= "" then
      for _, piece in ipairs(util.pieces(r.text)) do
        add("content_block_delta", o { "type", "content_block_delta", "index", 0, "delta", o { "type", "text_delta", "text", piece } },
            util.tokens(piece))
      end
    end
    add("content_block_stop", o { "type", "content_block_stop", "index", 0 })
    add("message_delta", o { "type", "message_delta", "delta", o { "stop_reason", stop_reason, "stop_sequence", stop_seq },
                             "usage", o { "output_tokens", r.tokens } })
    add("message_stop", o { "type", "message_stop" })
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    return { status = 200, headers = headers, chunks = chunks, chunk_tokens = toks, model = b.model, output_tokens = r.tokens }
  end
  local body = o { "id", id, "type", "message", "role", "assistant", "model", b.model,
                   "content", a { o { "type", "text", "text", r.text } },
                   "stop_reason", stop_reason, "stop_sequence", stop_seq,
                   "usage", o { "input_tokens", it, "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0,
                                "output_tokens", r.tokens } }
  return { status = 200, headers = headers, body = util.json(body), model = b.model, output_tokens = r.tokens }
end

local MODELS = { "claude-sim-1", "claude-3-5-haiku-latest", "claude-sonnet-4-5" }

local function models()
  local list = {}
  for i, m in ipairs(MODELS) do
    list[i] = o { "type", "model", "id", m, "display_name", m, "created_at", "2025-01-01T00:00:00Z" }
  end
  return { status = 200, headers = { ["content-type"] = "application/json" },
           body = util.json(o { "data", a(list), "has_more", false, "first_id", MODELS[1], "last_id", MODELS[#MODELS] }) }
end

function M.route(ctx)
  local m, p = ctx.req.method, ctx.req.path
  if m == "POST" and p == "/v1/messages" then return messages(ctx) end
  if m == "GET" and p == "/v1/models" then return models() end
  return nil
end

return M
