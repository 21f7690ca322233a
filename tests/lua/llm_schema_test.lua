-- Every request body opro.llm sends to an OpenAI-protocol server validates
-- against OpenAI's published schemas (CreateChatCompletionRequest,
-- CreateEmbeddingRequest in ../shared/specs/openai-openapi.json, or the
-- committed subset of it when that is absent: tests/lib/openai_spec.lua), checked
-- with python3-jsonschema; $refs are resolved within the spec file.
local T = require "testlib"
local L = require "llmtest"
local cjson = require "cjson"

-- the spec: the full file when it is there, else the committed subset
local SPEC = require "openai_spec"
local spec = SPEC.path
local have_spec = spec ~= nil
local rc_py = T.sh("python3 -c 'import jsonschema, referencing'")

local function validate(schema, docs)
  local dir = T.tmpdir()
  local lines = {}
  for i, d in ipairs(docs) do lines[i] = d end
  T.write(dir .. "/docs.jsonl", table.concat(lines, "\n") .. "\n")
  return T.sh(string.format("python3 %s/tests/lib/openai_schema_check.py %s %s %s/docs.jsonl",
    T.shquote(T.root), T.shquote(spec), schema, dir))
end

if not have_spec then
  T.skip("chat request bodies validate against CreateChatCompletionRequest", "openai-openapi.json is absent ($OPRO_SPECS, ../shared/specs)")
  T.skip("embedding request bodies validate against CreateEmbeddingRequest", "openai-openapi.json is absent")
  T.done()
end
if rc_py ~= 0 then
  T.skip("chat request bodies validate against CreateChatCompletionRequest", "python3-jsonschema is not installed")
  T.skip("embedding request bodies validate against CreateEmbeddingRequest", "python3-jsonschema is not installed")
  T.done()
end

local base = L.fixture()

-- Sends every kind of request the client makes, then reads back the bodies
-- the server received.
local llm = opro.llm{ provider = "openai", base_url = base .. "/v1", model = "gpt-4o-mini", api_key = "sk-x" }
local full = opro.llm{ provider = "openai", base_url = base .. "/v1", model = "gpt-4o-mini", temperature = 0.7,
  max_tokens = 64, top_p = 0.95, stop = { "\n\n", "END" }, seed = 42, stream = false }
local msgs = { { role = "system", content = "You are terse." }, { role = "user", content = "Q: 1+1?" },
               { role = "assistant", content = "2" }, { role = "user", content = "Q: 2+2?" } }
assert(llm:chat("plain prompt"))
assert(llm:chat(msgs, { temperature = 0 }))
assert(full:chat("all sampling parameters"))
assert(full:chat("one stop string", { stop = "\n" }))
assert(full:chat_n("several", 4, { temperature = 1.0, sample = 3 }))
assert(llm:chat("streamed", { stream = true }))
assert(llm:chat_n("streamed n", 2, { stream = true, temperature = 1 }))
assert(opro.llm{ provider = "vllm", base_url = base .. "/v1", model = "m" }:chat("vllm"))
assert(llm:chat({ { role = "user", content = { { type = "text", text = "parts" } } } }))
assert(llm:embed({ "one", "two" }))
assert(llm:embed("single"))

local chat, emb = {}, {}
for _, b in ipairs(L.stats(base, "?bodies=1").bodies) do
  if b.path == "/v1/chat/completions" then chat[#chat + 1] = b.body
  elseif b.path == "/v1/embeddings" then emb[#emb + 1] = b.body end
end

T.test("chat request bodies validate against CreateChatCompletionRequest", function()
  T.eq(#chat, 9)
  local saw_n, saw_stream = false, false
  for _, b in ipairs(chat) do
    local d = cjson.decode(b)
    saw_n = saw_n or d.n == 4
    saw_stream = saw_stream or d.stream == true
  end
  T.ok(saw_n and saw_stream, "bodies with n and stream were sent")
  local rc, out = validate("CreateChatCompletionRequest", chat)
  T.eq(rc, 0, out)
  T.contains(out, "ok 9")
end)

T.test("embedding request bodies validate against CreateEmbeddingRequest", function()
  T.eq(#emb, 2)
  local rc, out = validate("CreateEmbeddingRequest", emb)
  T.eq(rc, 0, out)
end)

T.test("the checker rejects invalid bodies (it is not vacuous)", function()
  local rc, out = validate("CreateChatCompletionRequest", { '{"model":"m","messages":[],"n":0}' })
  T.eq(rc, 1, out)
  T.contains(out, "invalid")
end)

local SUBSET_NAME = "the committed subset of the spec is what scripts/openai-spec-subset makes of the full file"
if not SPEC.full then T.skip(SUBSET_NAME, "the full spec is absent ($OPRO_SPECS, ../shared/specs)") else
T.test(SUBSET_NAME, function()
  local out = T.tmpdir() .. "/subset.json"
  local rc, o, e = T.sh(string.format("python3 %s/scripts/openai-spec-subset %s %s",
    T.shquote(T.root), T.shquote(SPEC.full), T.shquote(out)))
  T.eq(rc, 0, o .. e)
  T.eq(T.read(out), T.read(SPEC.subset), "tests/fixtures/openai/openapi-subset.json is stale: rerun the script")
end)
end

T.done()
