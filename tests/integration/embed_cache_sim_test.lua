-- llm:embed against opro-sim: per-text cache keys, only the misses sent,
-- in batches, results in input order; a repeat sends no request.
local T = require "testlib"
local S = require "simlib"

if not io.open(S.bin, "r") then
  T.skip("llm:embed against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local sim = S.start("--quiet")
local base = sim.base .. "/v1"

local function embeddings_sent()
  local st = sim:stats()
  return (st.paths or {})["/v1/embeddings"] or 0
end

local function client(extra)
  local o = { provider = "openai", base_url = base, model = "sim-embed-1", api_key = "sim" }
  for k, v in pairs(extra or {}) do o[k] = v end
  return opro.llm(o)
end

local function same_rows(a, b, what)
  T.eq(a:dim(), b:dim(), what .. ": dimension")
  local x, y = a:totable(), b:totable()
  for i = 1, #x do T.eq(x[i], y[i], what .. ": element " .. i) end
end

T.test("a repeat sends no request; cached texts count as cache hits", function()
  local llm = client()
  local n0 = embeddings_sent()
  local m, info = llm:embed({ "think step by step", "answer in French", "think step by step" })
  T.ok(m, info)
  T.eq(m:rows(), 3)
  T.eq(embeddings_sent() - n0, 1, "one request for the two distinct texts")
  T.eq(info.requests, 1)
  T.eq(info.cached, false)
  same_rows(m:row(1), m:row(3), "a repeated text gets the same vector")
  local hits0 = llm:totals().cache_hits
  local calls0 = llm:totals().calls
  local m2, info2 = llm:embed({ "answer in French", "think step by step" })
  T.ok(m2, info2)
  T.eq(embeddings_sent() - n0, 1, "the repeat sent nothing")
  T.eq(info2.cached, true)
  T.eq(info2.cost, 0)
  T.eq(llm:totals().cache_hits - hits0, 2, "two cache hits")
  T.eq(llm:totals().calls, calls0, "no call counted")
  same_rows(m2:row(1), m:row(2), "input order (row 1)")
  same_rows(m2:row(2), m:row(1), "input order (row 2)")
end)

T.test("only the misses are sent, in input order, matching an uncached client", function()
  local llm = client()
  assert(llm:embed({ "alpha beta", "gamma delta" }))
  local n0 = embeddings_sent()
  local texts = { "gamma delta", "epsilon zeta", "alpha beta", "eta theta" }
  local m, info = llm:embed(texts)
  T.ok(m, info)
  T.eq(embeddings_sent() - n0, 1)
  T.eq(info.cache_hits, 2)
  T.eq(info.usage.input_tokens > 0, true)
  local plain = assert(client{ cache = false }:embed(texts))
  T.eq(embeddings_sent() - n0, 2, "cache = false sends every text")
  for i = 1, #texts do same_rows(m:row(i), plain:row(i), "row " .. i) end
end)

T.test("misses go out in batches of opts.batch texts", function()
  local llm = client()
  local n0 = embeddings_sent()
  local texts = {}
  for i = 1, 5 do texts[i] = "batch text number " .. i end
  local m, info = llm:embed(texts, { batch = 2 })
  T.ok(m, info)
  T.eq(m:rows(), 5)
  T.eq(info.requests, 3)
  T.eq(embeddings_sent() - n0, 3)
  T.eq(llm:totals().calls, 3)
end)

T.test("dimensions are part of the key and reach the server", function()
  local llm = client()
  local a = assert(llm:embed({ "short vectors" }))
  local n0 = embeddings_sent()
  local b = assert(llm:embed({ "short vectors" }, { dimensions = 64 }))
  T.eq(a:dim(), 256)
  T.eq(b:dim(), 64)
  T.eq(embeddings_sent() - n0, 1, "another dimension is another request")
  assert(llm:embed({ "short vectors" }, { dimensions = 64 }))
  T.eq(embeddings_sent() - n0, 1, "and is cached under its own key")
end)

T.test("gemini batchEmbedContents, cached per text", function()
  local g = opro.llm{ provider = "gemini", base_url = sim.base .. "/v1beta", model = "text-embedding-004", api_key = "AIza-sim" }
  local r0 = sim:stats().requests
  local m = assert(g:embed({ "one text", "two texts" }))
  T.eq(m:rows(), 2)
  local m2, info = assert(g:embed({ "two texts", "one text" }))
  T.eq(sim:stats().requests - r0, 1)
  T.eq(info.cached, true)
  same_rows(m2:row(1), m:row(2), "gemini: input order")
end)

T.test("the run store's cache keeps embeddings across clients, with call records", function()
  local dir = T.tmpdir()
  local st = assert(opro.store.open(dir .. "/run.db"))
  local run = st:run{ name = "embed" }
  local a = client{ cache = st:cache(), on_call = run:call_recorder() }
  local m = assert(a:embed({ "stored text", "another stored text" }))
  local n0 = embeddings_sent()
  local b = client{ cache = st:cache(), on_call = run:call_recorder() }
  local m2, info = b:embed({ "another stored text", "stored text" })
  T.ok(m2, info)
  T.eq(embeddings_sent(), n0, "a new client with the same store sends nothing")
  same_rows(m2:row(2), m:row(1), "the stored vector is the same float32")
  local paid, cached = 0, 0
  for _, c in ipairs(run:calls()) do
    if c.cached then cached = cached + 1 else paid = paid + 1 end
  end
  T.eq(paid, 1)
  T.eq(cached, 2)
  st:close()
end)

T.test("bad options raise", function()
  local llm = client()
  T.raises(function() llm:embed({ "x" }, { dims = 3 }) end, "unknown option 'dims'")
  T.raises(function() llm:embed({ "x" }, { batch = 0 }) end, "batch must be >= 1")
end)

S.shutdown_test()
T.done()
