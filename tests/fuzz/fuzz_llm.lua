--- Fuzz target: how a provider's reply body becomes a result in opro.llm.
-- The first input byte picks what runs on the rest (the body):
--   0-5  opro.llm.chat_parser(protocol, stream) for openai, anthropic,
--        gemini (plain JSON, then SSE): what a 2xx chat reply goes through;
--   6    the embeddings path: opro.vec.from_json (C) and the protocol's
--        parse_embed + opro.vec.matrix (what opro.llm falls back to), for
--        openai and gemini and 1-4 expected vectors (the second byte);
--   7    error_message(decoded body, body) of each protocol (an HTTP error).
-- The contract (docs/llm.md, lua/opro/llm.lua): a parser returns a result
-- or nil, message, retryable [, code]; it never raises. A result has a
-- non-empty list of choices with string texts, usage nil or
-- {input_tokens=, output_tokens=} numbers, id nil or a string.
local llm = require "opro.llm"
local vec = require "opro.vec"
local cjson_safe = require "cjson.safe"

local protos = llm.protocols
local order = { "openai", "anthropic", "gemini" }
local parsers = {}
for i, name in ipairs(order) do
  parsers[i] = llm.chat_parser(protos[name], false)
  parsers[i + 3] = llm.chat_parser(protos[name], true)
end

local harness = require "tests.fuzz.harness"
local fail, call = harness.fail, harness.call

local function check_usage(u, what)
  if u == nil then return end
  if type(u) ~= "table" or type(u.input_tokens) ~= "number" or type(u.output_tokens) ~= "number" then
    fail("%s: usage must be nil or {input_tokens=<number>, output_tokens=<number>}", what)
  end
end

local function check_failure(what, msg, retry, code)
  if type(msg) ~= "string" or msg == "" then fail("%s: failure without a message (%s)", what, type(msg)) end
  if type(retry) ~= "boolean" then fail("%s: retryable flag is a %s", what, type(retry)) end
  if code ~= nil and type(code) ~= "string" then fail("%s: code is a %s", what, type(code)) end
end

local function check_chat(what, out, msg, retry, code)
  if out == nil then return check_failure(what, msg, retry, code) end
  if type(out) ~= "table" or type(out.choices) ~= "table" or #out.choices < 1 then
    fail("%s: a result without choices", what)
  end
  for i = 1, #out.choices do
    local c = out.choices[i]
    if type(c) ~= "table" or type(c.text) ~= "string" then fail("%s: choice %d has no text", what, i) end
    if c.finish_reason ~= nil and type(c.finish_reason) ~= "string" then
      fail("%s: choice %d: finish_reason is a %s", what, i, type(c.finish_reason))
    end
  end
  check_usage(out.usage, what)
  if out.id ~= nil and type(out.id) ~= "string" then fail("%s: id is a %s", what, type(out.id)) end
end

-- the rows of a matrix as float32 bytes
local function rows_of(m)
  local t = {}
  for i = 1, m:rows() do t[i] = m:row(i):bytes() end
  return t
end

local function embeddings(body, name, count)
  local proto = protos[name]
  local field = proto.embed_field
  local m, err, code = call("opro.vec.from_json", vec.from_json, body, field)
  if m == nil then
    if type(err) ~= "string" or not err:find("^opro%.vec%.from_json: ") or code ~= "parse" then
      fail("from_json: bad failure %s, %s", tostring(err), tostring(code))
    end
  elseif not vec.is_matrix(m) or (m:rows() > 0 and m:dim() < 1) then
    fail("from_json returned no matrix")
  end
  local obj = cjson_safe.decode(body)
  if obj == nil then
    -- cjson is the laxer of the two, except for \u escapes of lone
    -- surrogates (valid JSON grammar, which cjson refuses)
    if m and not body:find("\\u") then fail("from_json accepted a text cjson rejects") end
    return
  end
  local v, u = call(name .. ".parse_embed", proto.parse_embed, obj, count)
  if v == nil then
    if type(u) ~= "string" then fail("%s.parse_embed: failure without a message", name) end
    return
  end
  if type(v) ~= "table" or #v ~= count then fail("%s.parse_embed: %d vectors for %d", name, #v, count) end
  check_usage(u, name .. ".parse_embed")
  local ok, mv = pcall(vec.matrix, v)     -- opro.llm pcalls it: bad vectors raise (C errors)
  if not ok then
    if type(mv) ~= "string" then fail("opro.vec.matrix raised a %s", type(mv)) end
    return
  end
  if mv:rows() ~= count then fail("opro.vec.matrix: %d rows for %d vectors", mv:rows(), count) end
  -- both paths accepted the body: when the vectors are listed in order under
  -- the one obvious member, they must agree bit for bit
  if m and m:rows() == count then
    local list = name == "openai" and obj.data or obj.embeddings
    local _, occurrences = body:gsub('"' .. field .. '"', "")
    local in_order = occurrences == count
    for i, d in ipairs(list) do
      local idx = type(d) == "table" and d.index
      if idx ~= nil and idx ~= i - 1 then in_order = false end
    end
    if in_order then
      local a, b = rows_of(m), rows_of(mv)
      for i = 1, count do
        if a[i] ~= b[i] then fail("row %d: from_json and cjson + parse_embed differ", i) end
      end
    end
  end
end

return function(data)
  if #data < 1 then return end
  local mode = data:byte(1) % 8
  if mode <= 5 then
    local body = data:sub(2)
    check_chat(order[mode % 3 + 1] .. (mode >= 3 and " stream" or ""), call("chat_parser", parsers[mode + 1], body))
  elseif mode == 6 then
    local sel = data:byte(2) or 0
    embeddings(data:sub(3), sel & 1 == 0 and "openai" or "gemini", (sel >> 1) % 4 + 1)
  else
    local body = data:sub(2)
    local obj = cjson_safe.decode(body)
    for _, name in ipairs(order) do
      local msg = call(name .. ".error_message", protos[name].error_message, obj, body)
      if type(msg) ~= "string" or msg == "" then fail("%s.error_message returned %s", name, tostring(msg)) end
    end
  end
end
