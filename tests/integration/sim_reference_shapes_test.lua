-- Anthropic and Gemini answers have the shapes of their API references'
-- examples (tests/fixtures/sim/): every field of an example is present with
-- the same JSON type, and streams have the same framing and event order.
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"

local FIX = T.root .. "/tests/fixtures/sim/"
local sim = S.start("--seed 2 --quiet")

local function jtype(v)
  if v == cjson.null then return "null" end
  if type(v) ~= "table" then return type(v) end
  if next(v) == nil then return "empty" end
  return v[1] ~= nil and "array" or "object"
end

-- every field of `example` is in `ours` with the same type (null and empty
-- tables match what they may hold)
local function same_shape(example, ours, path)
  path = path or "$"
  local te, to = jtype(example), jtype(ours)
  if te == "null" or to == "null" and te ~= "object" then return end
  if te == "empty" or to == "empty" then
    T.ok(te == to or (te == "empty" and (to == "array" or to == "object")) or (to == "empty" and te == "array"),
         path .. ": " .. te .. " vs " .. to)
    return
  end
  T.eq(to, te, path .. " type")
  if te == "object" then
    for k, v in pairs(example) do
      T.ok(ours[k] ~= nil, path .. "." .. k .. " is missing")
      same_shape(v, ours[k], path .. "." .. k)
    end
  elseif te == "array" then
    same_shape(example[1], ours[1], path .. "[0]")
  end
end

local function squeeze(names)
  local out = {}
  for _, n in ipairs(names) do if out[#out] ~= n then out[#out + 1] = n end end
  return out
end

local PROMPT = { { role = "user", content = "Write a sentence about rivers and the sea, please." } }

T.test("Anthropic message: the reference example's shape", function()
  local resp, obj = sim:post("/v1/messages", { model = "claude-sim-1", max_tokens = 300, messages = PROMPT }, S.headers.anthropic)
  T.eq(resp.status, 200)
  same_shape(cjson.decode(T.read(FIX .. "anthropic_message.json")), obj)
end)

T.test("Anthropic stream: the reference example's framing, event order and event shapes", function()
  local resp = sim:post("/v1/messages", { model = "claude-sim-1", max_tokens = 300, stream = true, messages = PROMPT }, S.headers.anthropic)
  T.eq(resp.status, 200)
  -- framing: "event: NAME\ndata: JSON\n\n" blocks and nothing else
  T.match(resp.body, "^event: [%w_]+\ndata: {[^\n]*}\n\n")
  T.eq(resp.body:gsub("event: [%w_]+\ndata: {[^\n]*}\n\n", ""), "")
  local ex, ours = S.sse(T.read(FIX .. "anthropic_stream.txt")), S.sse(resp.body)
  local exn, ourn, by_name = {}, {}, {}
  for i, e in ipairs(ex) do exn[i] = e.event; by_name[e.event] = cjson.decode(e.data) end
  for i, e in ipairs(ours) do
    ourn[i] = e.event
    same_shape(by_name[e.event], cjson.decode(e.data), e.event)
  end
  T.eq(squeeze(ourn), squeeze(exn))
end)

T.test("Anthropic error: the reference example's shape", function()
  local resp, obj = sim:post("/v1/nope", {}, S.headers.anthropic)
  T.eq(resp.status, 404)
  same_shape(cjson.decode(T.read(FIX .. "anthropic_error.json")), obj)
  T.eq(obj.error.type, "not_found_error")
end)

local GEM = "/v1beta/models/gemini-sim-1"
local GBODY = { contents = { { role = "user", parts = { { text = "Write a sentence about rivers and the sea, please." } } } } }

T.test("Gemini generateContent: the reference example's shape", function()
  local resp, obj = sim:post(GEM .. ":generateContent", GBODY, S.headers.gemini)
  T.eq(resp.status, 200)
  same_shape(cjson.decode(T.read(FIX .. "gemini_generate.json")), obj)
end)

T.test("Gemini stream (alt=sse): the reference example's framing and chunk shapes", function()
  local resp = sim:post(GEM .. ":streamGenerateContent?alt=sse", GBODY, S.headers.gemini)
  T.eq(resp.status, 200)
  T.eq(resp.body:gsub("data: {[^\r\n]*}\r\n\r\n", ""), "", "every event is data: JSON CRLF CRLF")
  local ex, ours = S.sse(T.read(FIX .. "gemini_stream.txt")), S.sse(resp.body)
  T.ok(#ours >= 2, "several chunks")
  local first, last = cjson.decode(ex[1].data), cjson.decode(ex[#ex].data)
  for i, e in ipairs(ours) do same_shape(i < #ours and first or last, cjson.decode(e.data), "chunk " .. i) end
end)

T.test("Gemini batchEmbedContents and errors: the reference examples' shapes", function()
  local resp, obj = sim:post("/v1beta/models/text-embedding-004:batchEmbedContents", { requests = {
    { model = "models/text-embedding-004", content = { parts = { { text = "a" } } } },
    { model = "models/text-embedding-004", content = { parts = { { text = "b" } } } } } }, S.headers.gemini)
  T.eq(resp.status, 200)
  same_shape(cjson.decode(T.read(FIX .. "gemini_batch_embed.json")), obj)
  resp, obj = sim:post(GEM .. ":generateContent", { contents = "not a list" }, S.headers.gemini)
  T.eq(resp.status, 400)
  same_shape(cjson.decode(T.read(FIX .. "gemini_error.json")), obj)
end)

S.shutdown_test()
T.done()
