--- opro.llm.gemini: Google's Gemini API (generateContent, batchEmbedContents;
-- the key goes in the x-goog-api-key header, never in the URL).
local cjson = require "cjson"
local decode = require("opro.core.json").decode
local openai = require "opro.llm.openai"

local null = cjson.null

local M = {
  name = "gemini",
  default_base_url = "https://generativelanguage.googleapis.com/v1beta",
  env_key = "GEMINI_API_KEY",
  env_base_url = "GEMINI_BASE_URL",
  native_n = false,
  embed_field = "values",
  embed_batch = 100,    -- requests per batchEmbedContents (the API's limit)
}

function M.headers(key, cfg)
  local h = { ["content-type"] = "application/json", accept = "application/json" }
  if key and key ~= "" then h["x-goog-api-key"] = key end
  return h
end

local function parts_of(content)
  if type(content) == "string" then return { { text = content } } end
  local parts = {}
  for _, part in ipairs(content) do
    if type(part) == "table" and type(part.text) == "string" then parts[#parts + 1] = { text = part.text } end
  end
  return parts
end

local function model_path(model)
  return model:find("/", 1, true) and model or "models/" .. model
end

function M.chat_request(cfg, messages, p, n, stream)
  local system, contents = {}, {}
  for _, m in ipairs(messages) do
    if m.role == "system" then
      for _, part in ipairs(parts_of(m.content)) do system[#system + 1] = part end
    else
      contents[#contents + 1] = { role = m.role == "assistant" and "model" or "user", parts = parts_of(m.content) }
    end
  end
  local body = { contents = contents }
  if #system > 0 then body.systemInstruction = { parts = system } end
  local gc = {}
  if p.temperature ~= nil then gc.temperature = p.temperature end
  if p.max_tokens ~= nil then gc.maxOutputTokens = p.max_tokens end
  if p.top_p ~= nil then gc.topP = p.top_p end
  if p.stop ~= nil then gc.stopSequences = type(p.stop) == "string" and { p.stop } or p.stop end
  if p.seed ~= nil then gc.seed = p.seed end
  if next(gc) then body.generationConfig = gc end
  if p.extra then for k, v in pairs(p.extra) do body[k] = v end end
  local url = cfg.base_url .. "/" .. model_path(cfg.model) ..
    (stream and ":streamGenerateContent?alt=sse" or ":generateContent")
  return url, body
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local i, o = u.promptTokenCount, u.candidatesTokenCount
  return { input_tokens = type(i) == "number" and (math.tointeger(i) or i) or 0,
           output_tokens = type(o) == "number" and (math.tointeger(o) or o) or 0 }
end

-- the text of a candidate (thought parts left out), and whether it has
-- text parts and function calls
local function candidate_text(c)
  local parts, has_text, calls = {}, false, false
  if type(c.content) == "table" and type(c.content.parts) == "table" then
    for _, part in ipairs(c.content.parts) do
      if type(part) == "table" then
        if type(part.text) == "string" and not part.thought then
          parts[#parts + 1] = part.text
          has_text = true
        elseif part.functionCall ~= nil then
          calls = true
        end
      end
    end
  end
  return table.concat(parts), has_text, calls
end

-- finish reasons of an ordinary end: an empty text with one of them (or
-- none yet) is an empty answer; with any other (SAFETY, RECITATION,
-- BLOCKLIST, PROHIBITED_CONTENT, SPII, OTHER, ...) it is no answer
local ordinary = { STOP = true, MAX_TOKENS = true }

-- the categories a candidate's safetyRatings mark as blocked
local function blocked_categories(c)
  local cats = {}
  if type(c.safetyRatings) == "table" then
    for _, r in ipairs(c.safetyRatings) do
      if type(r) == "table" and r.blocked == true and type(r.category) == "string" then cats[#cats + 1] = r.category end
    end
  end
  return cats
end

-- why a candidate with text `text` has no text, or nil
local function no_text_why(text, has_text, calls, finish, cats, what)
  if text ~= "" or not (calls or (finish and not ordinary[finish])) then return nil end
  local why = { has_text and "empty text" or what }
  if calls then why[#why + 1] = "a function call instead of text" end
  if finish then why[#why + 1] = "finishReason " .. finish end
  if cats and #cats > 0 then why[#why + 1] = "blocked: " .. table.concat(cats, ", ") end
  return table.concat(why, "; ")
end

-- the message of a blocked prompt (promptFeedback.blockReason, no candidates)
local function blocked_prompt(fb)
  if type(fb) ~= "table" or type(fb.blockReason) ~= "string" then return nil end
  local msg = "the prompt was blocked (promptFeedback.blockReason " .. fb.blockReason
  if type(fb.blockReasonMessage) == "string" and fb.blockReasonMessage ~= "" then
    msg = msg .. ": " .. fb.blockReasonMessage:sub(1, 200)
  end
  return msg .. "; no candidates)"
end

--- Parsed response: {choices=, usage=, id=}. A candidate without text
-- (finishReason SAFETY, RECITATION, ...; function calls) is
-- { text = "", no_text = why }; when none has text, or the prompt was
-- blocked, the response fails with nil, message, false, "no_text".
--- Members of a reply that parse_chat never reads, at any depth (see
-- openai.reply_skip).
M.reply_skip = { modelVersion = true, avgLogprobs = true, logprobsResult = true, citationMetadata = true,
  promptTokensDetails = true, candidatesTokensDetails = true, cacheTokensDetails = true }

function M.parse_chat(obj)
  if type(obj) ~= "table" then return nil, "the response is not a JSON object", true end
  if obj.error ~= nil and obj.error ~= null then return nil, M.error_message(obj), false end
  local cands = obj.candidates
  if type(cands) ~= "table" or #cands == 0 then
    local blocked = blocked_prompt(obj.promptFeedback)
    if blocked then return nil, blocked, false, "no_text" end
    return nil, "the response has no candidates", true
  end
  local choices = {}
  for i, c in ipairs(cands) do
    if type(c) ~= "table" then return nil, "candidate " .. i .. " is not an object", true end
    local finish = type(c.finishReason) == "string" and c.finishReason or nil
    local text, has_text, calls = candidate_text(c)
    choices[i] = { text = text, finish_reason = finish,
                   no_text = no_text_why(text, has_text, calls, finish, blocked_categories(c), "no text parts") }
  end
  local ok, msg, retryable, code = openai.with_text(choices)
  if not ok then return nil, msg, retryable, code end
  return { choices = choices, usage = usage_of(obj.usageMetadata),
           id = type(obj.responseId) == "string" and obj.responseId or nil }
end

--- The first candidate assembled from SSE chunks; no text with a finish
-- reason other than STOP or MAX_TOKENS, or a blocked prompt, fails as in
-- parse_chat.
function M.parse_stream(events)
  local parts, finish, usage, id, blocked = {}, nil, nil, nil, nil
  local calls, cats = false, {}
  for _, ev in ipairs(events) do
    local obj = decode(ev.data)
    if type(obj) ~= "table" then
      return nil, "a stream event is not valid JSON: " .. (tostring(ev.data):sub(1, 80):gsub("%s+", " ")), true
    end
    if obj.error ~= nil and obj.error ~= null then
      return nil, "error event in the stream: " .. M.error_message(obj), false, "stream_error"
    end
    if type(obj.responseId) == "string" then id = obj.responseId end
    if type(obj.usageMetadata) == "table" then usage = usage_of(obj.usageMetadata) end
    blocked = blocked_prompt(obj.promptFeedback) or blocked
    local c = type(obj.candidates) == "table" and obj.candidates[1]
    if type(c) == "table" then
      local t, _, fc = candidate_text(c)
      parts[#parts + 1] = t
      calls = calls or fc
      for _, cat in ipairs(blocked_categories(c)) do cats[#cats + 1] = cat end
      if type(c.finishReason) == "string" then finish = c.finishReason end
    end
  end
  if not finish then
    if blocked then return nil, blocked, false, "no_text" end
    return nil, "the stream ended without a finishReason", true
  end
  local text = table.concat(parts)
  local choices = { { text = text, finish_reason = finish,
                      no_text = no_text_why(text, false, calls, finish, cats, "no text in the stream") } }
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
      if type(e.status) == "string" then msg = msg .. " (" .. e.status .. ")" end
      return msg
    end
    if type(e) == "string" and e ~= "" then return e end
  end
  if raw and raw ~= "" then return (raw:sub(1, 200):gsub("%s+", " ")) end
  return "no error message"
end

function M.embed_request(cfg, texts, o)
  local mp = model_path(cfg.model)
  local reqs = {}
  local dims = o and o.dimensions or nil
  for i, t in ipairs(texts) do
    reqs[i] = { model = mp, content = { parts = { { text = t } } }, outputDimensionality = dims }
  end
  return cfg.base_url .. "/" .. mp .. ":batchEmbedContents", { requests = reqs }
end

function M.parse_embed(obj, count)
  if type(obj) ~= "table" or type(obj.embeddings) ~= "table" then return nil, "the response has no embeddings", true end
  local out = {}
  for i, e in ipairs(obj.embeddings) do
    if type(e) ~= "table" or type(e.values) ~= "table" then return nil, "embedding " .. i .. " has no values", true end
    out[i] = e.values
  end
  if #out ~= count then return nil, string.format("%d embeddings for %d inputs", #out, count), true end
  return out, nil
end

return M
