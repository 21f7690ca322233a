-- opro-sim's OpenAI answers validate against OpenAI's published OpenAPI
-- schema (../shared/specs/openai-openapi.json or $OPRO_SPECS, else the
-- committed subset of it: tests/lib/openai_spec.lua), checked by
-- an independent validator (python3-jsonschema via tests/lib/validate_openapi.py).
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"

local spec = require("openai_spec").path
local have_jsonschema = T.sh("python3 -c 'import jsonschema'") == 0
local skip_reason = not spec and "the OpenAI spec (../shared/specs/openai-openapi.json, $OPRO_SPECS or the committed subset) is absent"
  or not have_jsonschema and "python3-jsonschema is not installed (make test-deps)"

local dir = T.tmpdir()
local nfile = 0
local function save(doc)
  nfile = nfile + 1
  local path = string.format("%s/doc%03d.json", dir, nfile)
  T.write(path, type(doc) == "string" and doc or cjson.encode(doc))
  return path
end

local function validate(schema, files)
  local cmd = string.format("python3 %s/tests/lib/validate_openapi.py %s %s", T.root, T.shquote(spec), schema)
  for _, f in ipairs(files) do cmd = cmd .. " " .. f end
  local rc, out, err = T.sh(cmd)
  T.eq(rc, 0, schema .. ": " .. out .. err)
  local oks = select(2, out:gsub("\nok ", "")) + (out:match("^ok ") and 1 or 0)
  T.eq(oks, #files, "every document validated: " .. out)
end

local function check(name, schema, fn)
  if skip_reason then return T.skip(name, skip_reason) end
  T.test(name, function() validate(schema, fn()) end)
end

local sim = S.start("--seed 5 --quiet")
local faulty = S.start("--seed 5 --quiet --faults 429:1:retry-after=2")
local MSG = { { role = "system", content = "You are terse." }, { role = "user", content = "Name a colour." } }

check("chat completion without n", "CreateChatCompletionResponse", function()
  local resp = sim:post("/v1/chat/completions", { model = "sim-1", messages = MSG })
  return { save(resp.body) }
end)

check("chat completion with n = 3, a stop, max_tokens", "CreateChatCompletionResponse", function()
  local a = sim:post("/v1/chat/completions", { model = "sim-1", messages = MSG, n = 3, temperature = 1 })
  local b = sim:post("/v1/chat/completions", { model = "sim-1", messages = MSG, max_tokens = 2, stop = "x" })
  return { save(a.body), save(b.body) }
end)

check("chat stream chunks (with and without usage)", "CreateChatCompletionStreamResponse", function()
  local files = {}
  for _, body in ipairs {
    { model = "sim-1", messages = MSG, stream = true },
    { model = "sim-1", messages = MSG, stream = true, n = 2, stream_options = { include_usage = true } },
  } do
    local resp = sim:post("/v1/chat/completions", body)
    local events = S.sse(resp.body)
    T.eq(events[#events].data, "[DONE]")
    for i = 1, #events - 1 do files[#files + 1] = save(events[i].data) end
  end
  return files
end)

check("embeddings", "CreateEmbeddingResponse", function()
  local a = sim:post("/v1/embeddings", { model = "sim-embed-1", input = { "a b c", "d e f" } })
  local b = sim:post("/v1/embeddings", { model = "sim-embed-1", input = "x", dimensions = 8 })
  return { save(a.body), save(b.body) }
end)

check("completions", "CreateCompletionResponse", function()
  return { save(sim:post("/v1/completions", { model = "sim-1", prompt = "Say hi", n = 2 }).body) }
end)

check("models", "ListModelsResponse", function()
  return { save(sim:get("/v1/models").body) }
end)

check("errors: 401, 400, 404, a 429 fault", "ErrorResponse", function()
  local files = {}
  local r401 = sim:post("/v1/chat/completions", { model = "sim-1", messages = MSG }, { ["content-type"] = "application/json" })
  local r400 = sim:post("/v1/chat/completions", { model = "sim-1", messages = {} })
  local r404 = sim:post("/v1/unknown", {})
  local r429 = faulty:post("/v1/chat/completions", { model = "sim-1", messages = MSG })
  T.eq({ r401.status, r400.status, r404.status, r429.status }, { 401, 400, 404, 429 })
  T.eq(r429.headers["retry-after"], "2")
  for _, r in ipairs { r401, r400, r404, r429 } do files[#files + 1] = save(r.body) end
  return files
end)

if not skip_reason then
  T.test("the validator rejects a wrong document (it is not vacuous)", function()
    local rc, out = T.sh(string.format("python3 %s/tests/lib/validate_openapi.py %s CreateChatCompletionResponse %s",
      T.root, T.shquote(spec), save { id = "x", object = "chat.completion", model = "m", choices = { { index = "zero" } } }))
    T.eq(rc, 1)
    T.contains(out, "FAIL")
  end)
end

S.shutdown_test()
T.done()
