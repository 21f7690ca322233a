--- opro.sim.protocol_gemini: the Gemini API. POST /v1beta/models/MODEL:generateContent,
-- :streamGenerateContent (?alt=sse: "data: {...}\r\n\r\n" events; otherwise
-- a JSON array), :embedContent, :batchEmbedContents, :countTokens;
-- GET /v1beta/models. Errors: {"error":{"code","message","status"}}.
local util = require "opro.sim.util"
local gen = require "opro.sim.generate"

local o, a = util.o, util.a
local M = {}

local STATUS = {
  [400] = "INVALID_ARGUMENT", [401] = "UNAUTHENTICATED", [403] = "PERMISSION_DENIED", [404] = "NOT_FOUND",
  [409] = "ABORTED", [413] = "INVALID_ARGUMENT", [429] = "RESOURCE_EXHAUSTED", [499] = "CANCELLED",
  [500] = "INTERNAL", [503] = "UNAVAILABLE", [504] = "DEADLINE_EXCEEDED", [529] = "UNAVAILABLE",
}

function M.error(status, message, kind)
  if kind == "auth" then
    message = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."
  elseif status == 429 and kind == "fault" then
    message = "Resource has been exhausted (e.g. check quota). " .. message
  elseif (status == 503 or status == 529) and kind == "fault" then
    message = "The model is overloaded. Please try again later."
  end
  return {
    status = status, headers = { ["content-type"] = "application/json; charset=UTF-8" },
    body = util.json(o { "error", o { "code", status, "message", message or "Error",
                                      "status", STATUS[status] or (status >= 500 and "INTERNAL" or "INVALID_ARGUMENT") } }),
  }
end

local FINISH = { stop = "STOP", stop_sequence = "STOP", length = "MAX_TOKENS" }

local function parts_text(content)
  if type(content) ~= "table" or type(content.parts) ~= "table" then return "" end
  local out = {}
  for _, p in ipairs(content.parts) do
    if type(p) == "table" and type(p.text) == "string" then out[#out + 1] = p.text end
  end
  return table.concat(out, "\n")
end

local function response(cands, usage, model, id)
  return o { "candidates", a(cands), "usageMetadata", usage, "modelVersion", model, "responseId", id }
end

local function usage(pt, ct)
  return o { "promptTokenCount", pt, "candidatesTokenCount", ct, "totalTokenCount", pt + ct,
             "promptTokensDetails", a { o { "modality", "TEXT", "tokenCount", pt } } }
end

local function generate(ctx, model, stream)
  local b = ctx.body
  if type(b.contents) ~= "table" or #b.contents == 0 then
    return ctx.err(400, "* GenerateContentRequest.contents: contents is not specified")
  end
  local msgs = {}
  for i, c in ipairs(b.contents) do
    if type(c) ~= "table" or type(c.parts) ~= "table" then
      return ctx.err(400, string.format("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.", i - 1))
    end
    msgs[#msgs + 1] = { role = c.role or "user", content = parts_text(c) }
  end
  local system = b.systemInstruction and parts_text(b.systemInstruction) or nil
  local cfg = type(b.generationConfig) == "table" and b.generationConfig or {}
  local n = cfg.candidateCount or 1
  if math.type(n) ~= "integer" or n < 1 or n > 8 then
    return ctx.err(400, "* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8")
  end
  if cfg.temperature ~= nil and (type(cfg.temperature) ~= "number" or cfg.temperature < 0) then
    return ctx.err(400, "* GenerateContentRequest.generation_config.temperature: must be a number >= 0")
  end
  if cfg.maxOutputTokens ~= nil and (math.type(cfg.maxOutputTokens) ~= "integer" or cfg.maxOutputTokens < 1) then
    return ctx.err(400, "* GenerateContentRequest.generation_config.max_output_tokens: must be a positive integer")
  end
  local replies, prompt = gen.replies(ctx, { messages = msgs, system = system, model = model, temperature = cfg.temperature,
    max_tokens = cfg.maxOutputTokens, stop = cfg.stopSequences, n = n, seed = cfg.seed, provider = "gemini" })
  local pt = gen.prompt_tokens(prompt, #msgs)
  local ct = 0
  for _, r in ipairs(replies) do ct = ct + r.tokens end
  local id = gen.id_suffix(ctx.req, 24)
  if stream then
    local events, toks = {}, {}
    local sofar = 0
    for i, r in ipairs(replies) do
      local pieces = util.pieces(r.text)
      -- a few pieces per event, as the real stream sends text in runs
      local k = 1
      while k <= #pieces do
        local run = table.concat(pieces, "", k, math.min(#pieces, k + 3))
        local last = k + 4 > #pieces
        sofar = sofar + util.tokens(run)
        local cand = { "content", o { "parts", a { o { "text", run } }, "role", "model" } }
        if last then cand[#cand + 1] = "finishReason"; cand[#cand + 1] = FINISH[r.finish] or "STOP" end
        cand[#cand + 1] = "index"; cand[#cand + 1] = i - 1
        events[#events + 1] = response({ o(cand) }, usage(pt, sofar), model, id)
        toks[#toks + 1] = util.tokens(run)
        k = k + 4
      end
    end
    local chunks = {}
    if ctx.req.query.alt == "sse" then
      for i, e in ipairs(events) do chunks[i] = "data: " .. util.json(e) .. "\r\n\r\n" end
      return { status = 200, headers = { ["content-type"] = "text/event-stream" }, chunks = chunks, chunk_tokens = toks,
               model = model, output_tokens = ct }
    end
    for i, e in ipairs(events) do chunks[i] = (i == 1 and "[" or ",\r\n") .. util.json(e) end
    chunks[#chunks + 1] = "]"
    toks[#toks + 1] = 0
    return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" }, chunks = chunks,
             chunk_tokens = toks, model = model, output_tokens = ct }
  end
  local cands = {}
  for i, r in ipairs(replies) do
    cands[i] = o { "content", o { "parts", a { o { "text", r.text } }, "role", "model" },
                   "finishReason", FINISH[r.finish] or "STOP", "avgLogprobs", -0.1, "index", i - 1 }
  end
  return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" },
           body = util.json(response(cands, usage(pt, ct), model, id)), model = model, output_tokens = ct }
end

local function embed_one(ctx, r, model, i)
  if type(r) ~= "table" or type(r.content) ~= "table" then
    return nil, ctx.err(400, string.format("* BatchEmbedContentsRequest.requests[%d].content: content is not specified", i - 1))
  end
  local text = parts_text(r.content)
  if text == "" then
    return nil, ctx.err(400, string.format("* BatchEmbedContentsRequest.requests[%d].content: text must not be empty", i - 1))
  end
  local dims = r.outputDimensionality or 256
  if math.type(dims) ~= "integer" or dims < 1 or dims > 4096 then
    return nil, ctx.err(400, "* outputDimensionality: must be between 1 and 4096")
  end
  return ctx.env.persona.embed { text = text, dimensions = dims, model = model, seed = ctx.env.seed }
end

local function batch_embed(ctx, model)
  local b = ctx.body
  if type(b.requests) ~= "table" or #b.requests == 0 then
    return ctx.err(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
  end
  local out = {}
  for i, r in ipairs(b.requests) do
    local v, bad = embed_one(ctx, r, model, i)
    if not v then return bad end
    out[i] = o { "values", a(v) }
  end
  return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" },
           body = util.json(o { "embeddings", a(out) }), model = model }
end

local function embed_content(ctx, model)
  local v, bad = embed_one(ctx, ctx.body, model, 1)
  if not v then return bad end
  return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" },
           body = util.json(o { "embedding", o { "values", a(v) } }), model = model }
end

local function count_tokens(ctx)
  local b = ctx.body
  local texts = {}
  for _, c in ipairs(type(b.contents) == "table" and b.contents or {}) do texts[#texts + 1] = parts_text(c) end
  local n = util.tokens(table.concat(texts, "\n"))
  return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" },
           body = util.json(o { "totalTokens", n }) }
end

local MODELS = { "gemini-sim-1", "gemini-2.0-flash", "gemini-1.5-pro", "text-embedding-004" }

local function models()
  local list = {}
  for i, m in ipairs(MODELS) do
    local embedding = m:find("embedding", 1, true)
    list[i] = o { "name", "models/" .. m, "version", "001", "displayName", m, "inputTokenLimit", 32768,
                  "outputTokenLimit", embedding and 1 or 8192,
                  "supportedGenerationMethods", a(embedding and { "embedContent", "batchEmbedContents" }
                                                   or { "generateContent", "streamGenerateContent", "countTokens" }) }
  end
  return { status = 200, headers = { ["content-type"] = "application/json; charset=UTF-8" },
           body = util.json(o { "models", a(list) }) }
end

function M.route(ctx)
  local m, p = ctx.req.method, ctx.req.path
  if m == "GET" and (p == "/v1beta/models" or p == "/v1/models") then return models() end
  local model, method = p:match("^/v1[a-z0-9]*/models/([^/:]+):(%a+)$")
  if not model or m ~= "POST" then return nil end
  if method == "generateContent" then return generate(ctx, model, false) end
  if method == "streamGenerateContent" then return generate(ctx, model, true) end
  if method == "batchEmbedContents" then return batch_embed(ctx, model) end
  if method == "embedContent" then return embed_content(ctx, model) end
  if method == "countTokens" then return count_tokens(ctx) end
  return nil
end

return M
