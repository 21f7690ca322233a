--- opro.sim.protocol_openai: OpenAI's wire shapes. POST /v1/chat/completions
-- (n, seed, stop, max_tokens / max_completion_tokens, stream with
-- stream_options.include_usage), POST /v1/completions, POST /v1/embeddings
-- (dimensions, encoding_format), GET /v1/models[/ID]. Errors:
-- {"error":{"message","type","param","code"}}.
local util = require "opro.sim.util"
local gen = require "opro.sim.generate"

local o, a, null = util.o, util.a, util.null
local M = {}

local MODELS = { "sim-1", "sim-1-mini", "sim-embed-1", "gpt-4o-mini", "gpt-3.5-turbo", "gpt-4", "text-embedding-3-small" }
local CREATED = 1700000000

local ERRORS = {
  [400] = { "invalid_request_error", nil },
  [401] = { "invalid_request_error", "invalid_api_key" },
  [403] = { "invalid_request_error", "unsupported_country_region_territory" },
  [404] = { "invalid_request_error", "unknown_url" },
  [413] = { "invalid_request_error", nil },
  [429] = { "requests", "rate_limit_exceeded" },
  [500] = { "server_error", nil },
  [502] = { "server_error", nil },
  [503] = { "server_error", "service_unavailable" },
  [529] = { "server_error", "overloaded" },
}

function M.error(status, message, kind, extra)
  local e = ERRORS[status] or { status >= 500 and "server_error" or "invalid_request_error", nil }
  if kind == "auth" then
    message = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    e = { "invalid_request_error", null }
  end
  local param = extra and extra.param or null
  local code = extra and extra.code or e[2] or null
  if status == 429 and kind == "fault" then
    message = message .. " Rate limit reached for requests."
  end
  local headers = { ["content-type"] = "application/json" }
  if status == 429 then
    headers["x-ratelimit-limit-requests"] = "10000"
    headers["x-ratelimit-remaining-requests"] = "0"
    headers["x-ratelimit-reset-requests"] = "1s"
  end
  return {
    status = status, headers = headers,
    body = util.json(o { "error", o { "message", message or "Error", "type", e[1], "param", param, "code", code } }),
  }
end

local function stop_list(s)
  if type(s) == "string" then return { s } end
  if type(s) == "table" then return s end
  return nil
end

local function check_common(ctx, b)
  if type(b.model) ~= "string" or b.model == "" then
    return ctx.err(400, "you must provide a model parameter", "param", { param = "model", code = null })
  end
  if b.n ~= nil and (math.type(b.n) ~= "integer" or b.n < 1 or b.n > 128) then
    return ctx.err(400, "Invalid 'n': integer between 1 and 128 expected.", "param", { param = "n", code = "invalid_value" })
  end
  if b.temperature ~= nil and (type(b.temperature) ~= "number" or b.temperature < 0 or b.temperature > 2) then
    return ctx.err(400, "Invalid 'temperature': number between 0 and 2 expected.", "param", { param = "temperature", code = "invalid_value" })
  end
  for _, k in ipairs { "max_tokens", "max_completion_tokens" } do
    if b[k] ~= nil and (math.type(b[k]) ~= "integer" or b[k] < 1) then
      return ctx.err(400, string.format("Invalid '%s': integer >= 1 expected.", k), "param", { param = k, code = "invalid_value" })
    end
  end
  return nil
end

local function usage(pt, ct)
  return o { "prompt_tokens", pt, "completion_tokens", ct, "total_tokens", pt + ct,
             "prompt_tokens_details", o { "cached_tokens", 0, "audio_tokens", 0 },
             "completion_tokens_details", o { "reasoning_tokens", 0, "audio_tokens", 0,
                                               "accepted_prediction_tokens", 0, "rejected_prediction_tokens", 0 } }
end

local function finish_of(f) return (f == "stop_sequence") and "stop" or f end

local function sse(event_json) return "data: " .. event_json .. "\n\n" end

local function chat(ctx)
  local b = ctx.body
  local bad = check_common(ctx, b)
  if bad then return bad end
  if type(b.messages) ~= "table" or #b.messages == 0 then
    return ctx.err(400, "Invalid 'messages': a non-empty array of messages is required.", "param", { param = "messages", code = "invalid_value" })
  end
  local msgs, system = {}, nil
  for i, m in ipairs(b.messages) do
    if type(m) ~= "table" or type(m.role) ~= "string" then
      return ctx.err(400, string.format("Invalid 'messages[%d]': an object with a role is required.", i - 1), "param",
                     { param = string.format("messages[%d]", i - 1), code = "invalid_value" })
    end
    msgs[#msgs + 1] = { role = m.role, content = gen.content_text(m.content) }
  end
  local replies, prompt = gen.replies(ctx, {
    messages = msgs, system = system, model = b.model, temperature = b.temperature, n = b.n or 1,
    max_tokens = b.max_completion_tokens or b.max_tokens, stop = stop_list(b.stop), seed = b.seed, provider = "openai",
  })
  local pt = gen.prompt_tokens(prompt, #msgs)
  local ct = 0
  for _, r in ipairs(replies) do ct = ct + r.tokens end
  local id = "chatcmpl-" .. gen.id_suffix(ctx.req, 29)
  local created = os.time()
  local fp = "fp_opro_sim"
  if b.stream == true then
    local include_usage = type(b.stream_options) == "table" and b.stream_options.include_usage == true
    local chunks, toks = {}, {}
    local function chunk(choices, usage_v, tokens)
      local fields = { "id", id, "object", "chat.completion.chunk", "created", created, "model", b.model,
                       "system_fingerprint", fp, "choices", a(choices) }
      if include_usage then fields[#fields + 1] = "usage"; fields[#fields + 1] = usage_v or null end
      chunks[#chunks + 1] = sse(util.json(o(fields)))
      toks[#toks + 1] = tokens or 0
    end
    for i, r in ipairs(replies) do
      chunk({ o { "index", i - 1, "delta", o { "role", "assistant", "content", "", "refusal", null }, "logprobs", null, "finish_reason", null } })
      for _, piece in ipairs(util.pieces(r.text)) do
        if r.text ~= "" then
          chunk({ o { "index", i - 1, "delta", o { "content", piece }, "logprobs", null, "finish_reason", null } }, nil, util.tokens(piece))
        end
      end
      chunk({ o { "index", i - 1, "delta", o {}, "logprobs", null, "finish_reason", finish_of(r.finish) } })
    end
    if include_usage then chunk({}, usage(pt, ct)) end
    chunks[#chunks + 1] = "data: [DONE]\n\n"
    toks[#toks + 1] = 0
    return { status = 200, headers = { ["content-type"] = "text/event-stream; charset=utf-8", ["cache-control"] = "no-cache" },
             chunks = chunks, chunk_tokens = toks, model = b.model, output_tokens = ct }
  end
  local choices = {}
  for i, r in ipairs(replies) do
    choices[i] = o { "index", i - 1,
                     "message", o { "role", "assistant", "content", r.text, "refusal", null, "annotations", a() },
                     "logprobs", null, "finish_reason", finish_of(r.finish) }
  end
  local body = o { "id", id, "object", "chat.completion", "created", created, "model", b.model, "choices", a(choices),
                   "usage", usage(pt, ct), "service_tier", "default", "system_fingerprint", fp }
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = util.json(body),
           model = b.model, output_tokens = ct }
end

local function completions(ctx)
  local b = ctx.body
  local bad = check_common(ctx, b)
  if bad then return bad end
  local prompts = b.prompt
  if type(prompts) == "string" then prompts = { prompts } end
  if type(prompts) ~= "table" or #prompts == 0 then
    return ctx.err(400, "Invalid 'prompt': a string or an array of strings is required.", "param", { param = "prompt", code = "invalid_value" })
  end
  local n = b.n or 1
  local choices, pt, ct = {}, 0, 0
  local all = {}
  for pi, p in ipairs(prompts) do
    if type(p) ~= "string" then
      return ctx.err(400, "Invalid 'prompt': only strings are supported by opro-sim.", "param", { param = "prompt", code = "invalid_value" })
    end
    local replies = gen.replies(ctx, { prompt = p, model = b.model, temperature = b.temperature, n = n,
                                       max_tokens = b.max_tokens or 16 * 64, stop = stop_list(b.stop), seed = b.seed, provider = "openai" })
    pt = pt + util.tokens(p)
    for i, r in ipairs(replies) do
      local idx = (pi - 1) * n + i - 1
      local text = (b.echo == true and p or "") .. r.text
      choices[#choices + 1] = o { "text", text, "index", idx, "logprobs", null, "finish_reason", finish_of(r.finish) }
      all[#all + 1] = { idx = idx, text = text, finish = finish_of(r.finish) }
      ct = ct + r.tokens
    end
  end
  local id = "cmpl-" .. gen.id_suffix(ctx.req, 29)
  local created = os.time()
  if b.stream == true then
    local chunks, toks = {}, {}
    for _, c in ipairs(all) do
      for _, piece in ipairs(util.pieces(c.text)) do
        chunks[#chunks + 1] = sse(util.json(o { "id", id, "object", "text_completion", "created", created, "model", b.model,
          "choices", a { o { "text", piece, "index", c.idx, "logprobs", null, "finish_reason", null } } }))
        toks[#toks + 1] = util.tokens(piece)
      end
      chunks[#chunks + 1] = sse(util.json(o { "id", id, "object", "text_completion", "created", created, "model", b.model,
        "choices", a { o { "text", "", "index", c.idx, "logprobs", null, "finish_reason", c.finish } } }))
      toks[#toks + 1] = 0
    end
    chunks[#chunks + 1] = "data: [DONE]\n\n"
    toks[#toks + 1] = 0
    return { status = 200, headers = { ["content-type"] = "text/event-stream; charset=utf-8" },
             chunks = chunks, chunk_tokens = toks, model = b.model, output_tokens = ct }
  end
  local body = o { "id", id, "object", "text_completion", "created", created, "model", b.model, "choices", a(choices),
                   "usage", o { "prompt_tokens", pt, "completion_tokens", ct, "total_tokens", pt + ct } }
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = util.json(body), model = b.model, output_tokens = ct }
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local b1, b2, b3 = s:byte(i, i + 2)
    local n = (b1 << 16) | ((b2 or 0) << 8) | (b3 or 0)
    out[#out + 1] = B64:sub((n >> 18) + 1, (n >> 18) + 1) .. B64:sub(((n >> 12) & 63) + 1, ((n >> 12) & 63) + 1)
                    .. (b2 and B64:sub(((n >> 6) & 63) + 1, ((n >> 6) & 63) + 1) or "=")
                    .. (b3 and B64:sub((n & 63) + 1, (n & 63) + 1) or "=")
  end
  return table.concat(out)
end

local function embeddings(ctx)
  local b = ctx.body
  if type(b.model) ~= "string" or b.model == "" then
    return ctx.err(400, "you must provide a model parameter", "param", { param = "model" })
  end
  local inputs = b.input
  if type(inputs) == "string" then inputs = { inputs } end
  if type(inputs) ~= "table" or #inputs == 0 then
    return ctx.err(400, "Invalid 'input': a string or a non-empty array of strings is required.", "param", { param = "input", code = "invalid_value" })
  end
  local dims = b.dimensions or 256
  if math.type(dims) ~= "integer" or dims < 1 or dims > 4096 then
    return ctx.err(400, "Invalid 'dimensions': an integer between 1 and 4096 expected.", "param", { param = "dimensions", code = "invalid_value" })
  end
  local persona = ctx.env.persona
  local items, pt = {}, 0
  for i, text in ipairs(inputs) do
    if type(text) ~= "string" then
      return ctx.err(400, string.format("Invalid 'input[%d]': a string is required.", i - 1), "param", { param = "input", code = "invalid_value" })
    end
    if text == "" then
      return ctx.err(400, string.format("'$.input[%d]' is invalid: an empty string cannot be embedded.", i - 1), "param", { param = "input" })
    end
    local v = persona.embed { text = text, dimensions = dims, model = b.model, seed = ctx.env.seed }
    local emb
    if b.encoding_format == "base64" then
      local packed = {}
      for k, x in ipairs(v) do packed[k] = string.pack("<f", x) end
      emb = base64(table.concat(packed))
    else
      emb = a(v)
    end
    items[i] = o { "object", "embedding", "index", i - 1, "embedding", emb }
    pt = pt + util.tokens(text)
  end
  local body = o { "object", "list", "data", a(items), "model", b.model, "usage", o { "prompt_tokens", pt, "total_tokens", pt } }
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = util.json(body), model = b.model }
end

local function model_obj(id) return o { "id", id, "object", "model", "created", CREATED, "owned_by", "opro-sim" } end

local function models(ctx)
  local list = {}
  for i, m in ipairs(MODELS) do list[i] = model_obj(m) end
  return { status = 200, headers = { ["content-type"] = "application/json" }, body = util.json(o { "object", "list", "data", a(list) }) }
end

function M.route(ctx)
  local req = ctx.req
  local m, p = req.method, req.path
  if m == "POST" and p == "/v1/chat/completions" then return chat(ctx) end
  if m == "POST" and p == "/v1/completions" then return completions(ctx) end
  if m == "POST" and p == "/v1/embeddings" then return embeddings(ctx) end
  if m == "GET" and p == "/v1/models" then return models(ctx) end
  local id = p:match("^/v1/models/(.+)$")
  if m == "GET" and id then
    return { status = 200, headers = { ["content-type"] = "application/json" }, body = util.json(model_obj(id)) }
  end
  return nil
end

return M
