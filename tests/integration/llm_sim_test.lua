-- opro.llm against opro-sim: concurrency, retries, Retry-After, fault codes,
-- timeouts and the cache, as issue 4 asks.
local T = require "testlib"
local L = require "llmtest"
local retry = require "opro.llm.retry"
local keymod = require "opro.llm.key"
local cjson = require "cjson"

if not L.sim_bin() then
  T.skip("opro.llm against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local function sim_llm(base, opts)
  local cfg = { provider = "openai", base_url = base .. "/v1", model = "sim-1", api_key = "sk-sim-SECRET" }
  for k, v in pairs(opts or {}) do cfg[k] = v end
  return opro.llm(cfg)
end

local function range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

-- The backoff schedule is tested in llm_retry_test.lua; a short first delay
-- keeps these tests fast (Retry-After from the server is still honoured).
local function fast_backoff()
  local saved = retry.INITIAL_DELAY
  retry.INITIAL_DELAY = 0.02
  return setmetatable({}, { __close = function() retry.INITIAL_DELAY = saved end })
end

T.test("256 calls at 200 ms latency with concurrency=64 take about 0.8 s, never more than 64 in flight", function()
  local base = L.sim("--seed 1 --latency-ms 200")
  local llm = sim_llm(base, { concurrency = 64 })
  local t0 = opro.now()
  local out = opro.map(range(256), function(i)
    local text, err = llm:chat("Concurrency probe number " .. i)
    return text and "ok" or err
  end)
  local dt = opro.now() - t0
  for i = 1, 256 do T.eq(out[i], "ok", "call " .. i) end
  local st = L.stats(base)
  T.eq(st.requests, 256)
  T.ok(st.inflight_peak <= 64, "the sim saw at most 64 in flight: " .. st.inflight_peak)
  T.ok(st.inflight_peak >= 32, "and many at once: " .. st.inflight_peak)
  -- ideal: 256 / 64 * 0.2 s = 0.8 s; 10x slack
  T.ok(dt < 8.0, string.format("took %.2f s (ideal 0.8 s)", dt))
  T.ok(dt >= 0.8, string.format("took %.2f s: the latency is real", dt))
  T.eq(llm:totals().calls, 256)
end)

T.test("429 with Retry-After: 1 waits at least 1 s and then succeeds", function()
  local base = L.sim("--seed 3 --faults 429:0.5:retry-after=1")
  local llm = sim_llm(base, { max_retries = 8 })
  local infos = opro.map(range(12), function(i)
    local t0 = opro.now()
    local text, info = llm:chat("Rate limited call " .. i)
    T.ok(text, info)
    return { attempts = info.attempts, dt = opro.now() - t0 }
  end)
  local retried = 0
  for _, r in ipairs(infos) do
    if r.attempts > 1 then
      retried = retried + 1
      T.ok(r.dt >= (r.attempts - 1) * 1.0, string.format("%d attempts in %.3f s", r.attempts, r.dt))
    end
  end
  local st = L.stats(base)
  T.ok((st.faults["429"] or 0) > 0, "the sim answered 429: " .. T.fmt(st.faults))
  T.ok(retried > 0, "some calls were retried")
  T.eq(llm:totals().retries, st.faults["429"], "every 429 was retried")
end)

T.test("--max-inflight answers 429 with retry-after; the client waits and succeeds", function()
  local base = L.sim("--seed 4 --latency-ms 100 --max-inflight 2")
  local llm = sim_llm(base, { concurrency = 8, max_retries = 10 })
  local out = opro.map(range(6), function(i) return (llm:chat("Crowded " .. i)) ~= nil end)
  for i = 1, 6 do T.ok(out[i], "call " .. i) end
  local st = L.stats(base)
  T.ok((st.faults["max-inflight"] or 0) > 0, T.fmt(st.faults))
end)

T.test("500/503/529 are retried: with faults on some attempts every call succeeds", function()
  local fast <close> = fast_backoff()
  local base = L.sim("--seed 5 --faults 500:0.15,503:0.1,529:0.1")
  local m = opro.llm.meter()
  local llm = sim_llm(base, { max_retries = 8, meter = m })
  local ok = opro.map(range(40), function(i) return llm:chat("Flaky call " .. i) ~= nil end)
  for i = 1, 40 do T.ok(ok[i], "call " .. i) end
  local st = L.stats(base)
  local faults = (st.faults["500"] or 0) + (st.faults["503"] or 0) + (st.faults["529"] or 0)
  T.ok(faults > 0, T.fmt(st.faults))
  T.eq(m:totals().retries, faults)
  T.eq(m:totals().calls, 40, "retries are not new calls")
end)

T.test("persistent 500, 503, 529, resets and malformed JSON end with a clear code", function()
  local fast <close> = fast_backoff()
  local cases = { { "500:1", "http_500" }, { "503:1", "http_503" }, { "529:1", "http_529" },
                  { "reset:1", "reset" }, { "badjson:1", "bad_response" } }
  for _, c in ipairs(cases) do
    local base = L.sim("--seed 6 --faults " .. c[1])
    local llm = sim_llm(base, { max_retries = 2 })
    local text, msg, code, info = llm:chat("Doomed call")
    T.eq(text, nil, c[1])
    T.eq(code, c[2], c[1])
    T.eq(info.attempts, 3, c[1])
    T.eq(L.stats(base).requests, 3, c[1])
    T.ok(not msg:find("sk-sim-SECRET", 1, true), msg)
    if c[2]:match("^http_") then T.contains(msg, "HTTP " .. c[2]:sub(6)) end
  end
  -- Anthropic's 529 "overloaded"
  local base = L.sim("--seed 6 --faults 529:1")
  local a = opro.llm{ provider = "anthropic", base_url = base, model = "sim-1", api_key = "ak-sim", max_retries = 1 }
  local text, msg, code = a:chat("Overloaded")
  T.eq(text, nil)
  T.eq(code, "http_529")
  T.contains(msg:lower(), "overloaded")
end)

T.test("timeouts fire: a hung server gives code 'timeout' after the retries", function()
  local fast <close> = fast_backoff()
  local base = L.sim("--seed 7 --faults hang:1:after=20")
  local llm = sim_llm(base, { timeout = 0.3, max_retries = 1 })
  local t0 = opro.now()
  local text, _, code, info = llm:chat("Hang forever")
  local dt = opro.now() - t0
  T.eq(text, nil)
  T.eq(code, "timeout")
  T.eq(info.attempts, 2)
  T.ok(dt >= 0.6 and dt < 6, string.format("two 0.3 s timeouts took %.2f s", dt))
end)

T.test("cache hits make no request (the sim's /stats counts requests)", function()
  local base = L.sim("--seed 8")
  for _, p in ipairs({ "openai", "anthropic", "gemini" }) do
    L.reset(base)
    local url = p == "openai" and base .. "/v1" or p == "gemini" and base .. "/v1beta" or base
    local llm = opro.llm{ provider = p, base_url = url, model = "sim-1", api_key = "k", temperature = 0 }
    local a = assert(llm:chat("Cached question for " .. p))
    local b, info = llm:chat("Cached question for " .. p)
    T.eq(b, a)
    T.eq(info.cached, true)
    local texts = assert(llm:chat_n("Sampled for " .. p, 3, { temperature = 1, sample = 1 }))
    local again, info2 = llm:chat_n("Sampled for " .. p, 3, { temperature = 1, sample = 1 })
    T.eq(again, texts)
    T.eq(info2.cached, true)
    local want = p == "openai" and 2 or 4     -- openai: one request with n=3
    T.eq(L.stats(base).requests, want, p)
    T.eq(llm:totals().cache_hits, 4, p)
  end
end)

T.test("every provider, streamed and not, and embeddings against the sim", function()
  local base = L.sim("--seed 9")
  for _, p in ipairs({ "openai", "anthropic", "gemini" }) do
    local url = p == "openai" and base .. "/v1" or p == "gemini" and base .. "/v1beta" or base
    for _, stream in ipairs({ false, true }) do
      local llm = opro.llm{ provider = p, base_url = url, model = "sim-1", api_key = "k", stream = stream }
      local text, info = llm:chat("Hello from " .. p)
      T.ok(text, info)
      T.contains(text, "Hello from " .. p)
      T.ok(info.usage.input_tokens > 0 and info.usage.output_tokens > 0, p)
    end
    if p ~= "anthropic" then
      local v = assert(opro.llm{ provider = p, base_url = url, model = "sim-embed", api_key = "k" }:embed({ "a", "bb", "ccc" }))
      local rows = type(v) == "table" and v or v:totable()
      T.eq(#rows, 3)
      T.ok(#rows[1] > 0)
    end
  end
end)

T.test("the same call sends the same bytes from every process (canonical JSON bodies)", function()
  local base = L.sim("--seed 1")
  local script = T.write(T.tmpdir() .. "/call.lua", [[
    local provider, base_url = arg[1], arg[2]
    local llm = opro.llm{ provider = provider, base_url = base_url, model = "sim-1", api_key = "sk-canonical-test", cache = false,
      temperature = 0.7, max_tokens = 64, top_p = 0.9, stop = { "\n\n", "Q:" }, seed = 3,
      extra = { user = "u1", metadata = { a = 1, b = { true, false } } },
      on_call = function(r) io.write(r.request, "\n") end }
    assert(llm:chat({ { role = "system", content = "Be brief." }, { role = "user", content = "Say hi / \"there\"" } }))
    if provider ~= "anthropic" then assert(llm:embed({ "one", "two" }, { dimensions = 8 })) end
  ]])
  for provider, path in pairs { openai = "/v1", anthropic = "", gemini = "/v1beta" } do
    local first
    for _ = 1, 4 do   -- each process seeds Lua's string hashes afresh
      local rc, out, err = T.run(string.format("%s %s %s", script, provider, base .. path))
      T.eq(rc, 0, err)
      T.eq(select(2, out:gsub("\n", "")), provider == "anthropic" and 1 or 2, out)
      if first == nil then first = out else T.eq(out, first, provider) end
    end
    -- each body is the canonical JSON of itself (keys sorted, no spaces)
    for line in first:gmatch("[^\n]+") do T.eq(line, keymod.canonical(cjson.decode(line))) end
  end
end)

T.done()
