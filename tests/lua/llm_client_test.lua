-- opro.llm against the scripted fixture server (tests/lib/llm_fixture_server.py):
-- retries, Retry-After, codes, timeouts, cache, budget, secrets, chat_n, embed, streams.
local T = require "testlib"
local L = require "llmtest"
local cjson = require "cjson"

local base = L.fixture()
local seq = 0
-- a scenario header with a fresh id: the first `fails` requests get `fault`
local function scenario(fault, fails)
  seq = seq + 1
  return { ["x-scenario"] = string.format("%s;fails=%d;id=s%d", fault, fails or 1000, seq) }
end
-- The backoff schedule itself is checked in llm_retry_test.lua; here a
-- shorter first delay keeps the file fast (Retry-After is still honoured).
local retry = require "opro.llm.retry"
local function fast_backoff()
  local saved = retry.INITIAL_DELAY
  retry.INITIAL_DELAY = 0.02
  return setmetatable({}, { __close = function() retry.INITIAL_DELAY = saved end })
end

local function range(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

local function client(opts)
  local cfg = { provider = "openai", base_url = base .. "/v1", model = "fx-1", api_key = "sk-TOPSECRET-123" }
  for k, v in pairs(opts or {}) do cfg[k] = v end
  return opro.llm(cfg)
end

T.test("openai: text and info (usage, attempts, finish_reason, request id, cost)", function()
  local llm = client{ price = { input = 1, output = 2 } }
  local text, info = llm:chat("What is 2+2?")
  T.eq(text, "echo: What is 2+2? #0")
  T.eq(info.attempts, 1)
  T.eq(info.cached, false)
  T.eq(info.finish_reason, "stop")
  T.match(info.request_id, "^req_")
  T.eq(info.usage, { input_tokens = 3, output_tokens = 5 })   -- the fixture: ceil(chars / 4)
  T.near(info.cost, (3 * 1 + 5 * 2) / 1e6, 1e-15)
  T.ok(info.latency > 0 and info.latency < 10)
  T.eq(llm:totals().calls, 1)
end)

T.test("anthropic and gemini speak their own protocols", function()
  local a = opro.llm{ provider = "anthropic", base_url = base, model = "claude-fx", api_key = "ak-SECRET" }
  local text, info = a:chat({ { role = "system", content = "sys" }, { role = "user", content = "hello" } })
  T.eq(text, "echo: hello")
  T.eq(info.finish_reason, "end_turn")
  T.eq(info.usage.input_tokens, 2)
  local g = opro.llm{ provider = "gemini", base_url = base .. "/v1beta", model = "gemini-fx", api_key = "g-SECRET" }
  text, info = g:chat("hello")
  T.eq(text, "echo: hello")
  T.eq(info.finish_reason, "STOP")
end)

T.test("500, 503 and 529 are retried and then succeed; a retry is no new call or cost", function()
  local fast <close> = fast_backoff()
  for _, status in ipairs({ "500", "503", "529" }) do
    local m = opro.llm.meter()
    local llm = client{ headers = scenario(status, 2), meter = m, price = { input = 1, output = 1 } }
    local text, info = llm:chat("retry me " .. status)
    T.ok(text, "status " .. status)
    T.eq(info.attempts, 3, status)
    T.eq(m:totals().calls, 1)
    T.eq(m:totals().retries, 2)
    T.near(m:totals().cost, info.cost, 1e-15)
  end
  local a = opro.llm{ provider = "anthropic", base_url = base, model = "c", headers = scenario("529", 1) }
  local text, info = a:chat("overloaded")
  T.ok(text)
  T.eq(info.attempts, 2)
end)

T.test("failures that persist end with nil, message, code after max_retries + 1 attempts", function()
  local fast <close> = fast_backoff()
  local cases = { { "500", "http_500" }, { "503", "http_503" }, { "529", "http_529" }, { "reset", "reset" },
                  { "badjson", "bad_response" } }
  for _, c in ipairs(cases) do
    local llm = client{ headers = scenario(c[1]), max_retries = 1 }
    local text, msg, code, info = llm:chat("always " .. c[1])
    T.eq(text, nil)
    T.eq(code, c[2], c[1])
    T.eq(info.attempts, 2, c[1])
    T.contains(msg, "2 attempts")
    T.eq(llm:totals().failures, 1)
  end
  local llm = client{ headers = scenario("badjson", 1) }
  T.ok(llm:chat("bad json once"), "malformed JSON is retried")
  -- the default: 2 retries, 3 attempts
  local d = client{ headers = scenario("500") }
  local text, _, code, info = d:chat("default retries")
  T.eq({ text, code, info.attempts, d:totals().retries }, { nil, "http_500", 3, 2 })
end)

T.test("4xx other than 408/409/429 are not retried; messages carry the server's message", function()
  local llm = client{ headers = scenario("400") }
  local text, msg, code, info = llm:chat("bad request")
  T.eq(text, nil)
  T.eq(code, "http_400")
  T.eq(info.attempts, 1)
  T.contains(msg, "simulated 400")
  llm = client{ headers = scenario("408", 1) }
  T.ok(llm:chat("408 is retried"))
end)

T.test("429 with Retry-After: 1 waits at least 1 s, then succeeds", function()
  local llm = client{ headers = scenario("429", 1) }
  local t0 = opro.now()
  local text, info = llm:chat("rate limited")
  local dt = opro.now() - t0
  T.ok(text)
  T.eq(info.attempts, 2)
  T.ok(dt >= 1.0, string.format("waited %.3f s", dt))
  T.ok(dt < 10, string.format("waited %.3f s", dt))
end)

T.test("retry-after-ms and HTTP-date Retry-After are honoured; a huge Retry-After ends the call", function()
  local llm = client{ headers = scenario("429ms", 1) }
  local t0 = opro.now()
  T.ok(llm:chat("ms"))
  T.ok(opro.now() - t0 >= 0.3, "retry-after-ms: 300")
  llm = client{ headers = scenario("429date", 1) }
  t0 = opro.now()
  T.ok(llm:chat("date"))
  T.ok(opro.now() - t0 >= 0.9, string.format("date 2 s ahead (1 s resolution): %.2f", opro.now() - t0))
  llm = client{ headers = scenario("429long", 1) }
  t0 = opro.now()
  local text, msg, code = llm:chat("long")
  T.eq(text, nil)
  T.eq(code, "http_429")
  T.contains(msg, "retry after 3600 s")
  T.ok(opro.now() - t0 < 5, "no hour-long sleep")
end)

T.test("timeouts fire and are retried, then reported as 'timeout'", function()
  local fast <close> = fast_backoff()
  local llm = client{ headers = scenario("hang"), timeout = 0.3, max_retries = 1 }
  local t0 = opro.now()
  local text, msg, code, info = llm:chat("hang")
  local dt = opro.now() - t0
  T.eq(text, nil)
  T.eq(code, "timeout")
  T.eq(info.attempts, 2)
  T.ok(dt >= 0.6 and dt < 6, string.format("two 0.3 s timeouts took %.2f s", dt))
  T.contains(msg, "fx-1")
  text = client{ headers = scenario("hang", 1), timeout = 0.3 }:chat("hang once")
  T.ok(text, "succeeds after one timeout")
end)

T.test("cache: temperature 0 hits make no request and cost nothing; sampled calls need a sample index", function()
  L.reset(base)
  local m = opro.llm.meter()
  local llm = client{ temperature = 0, meter = m, price = { input = 1, output = 1 } }
  local a, ia = llm:chat("cache me")
  local b, ib = llm:chat("cache me")
  T.eq(a, b)
  T.eq(ia.cached, false)
  T.eq(ib.cached, true)
  T.eq(ib.cost, 0)
  T.eq(ib.key, ia.key)
  T.eq(L.stats(base).requests, 1)
  T.eq(m:totals().calls, 1)
  T.eq(m:totals().cache_hits, 1)
  -- temperature 1 without a sample index: never cached
  llm:chat("sampled", { temperature = 1 })
  llm:chat("sampled", { temperature = 1 })
  T.eq(L.stats(base).requests, 3)
  -- with a sample index: each index cached on its own
  llm:chat("sampled", { temperature = 1, sample = 1 })
  llm:chat("sampled", { temperature = 1, sample = 2 })
  local _, i1 = llm:chat("sampled", { temperature = 1, sample = 1 })
  T.eq(i1.cached, true)
  T.eq(L.stats(base).requests, 5)
  -- a shared cache object across llm objects (what resume relies on)
  local cache = opro.llm.memory_cache()
  client{ temperature = 0, cache = cache }:chat("shared")
  local _, i2 = client{ temperature = 0, cache = cache }:chat("shared")
  T.eq(i2.cached, true)
  T.eq(cache:size(), 1)
  -- failures are not cached
  local llm2 = client{ temperature = 0, headers = scenario("400"), cache = cache }
  llm2:chat("fails")
  T.eq(cache:size(), 1)
  -- cache = false: off
  local off = client{ temperature = 0, cache = false }
  off:chat("x"); local _, i3 = off:chat("x")
  T.eq(i3.cached, false)
end)

T.test("budget: a call that would exceed it is refused with code 'budget' and no request", function()
  L.reset(base)
  local m = opro.llm.meter{ budget = { calls = 3 } }
  local llm = client{ meter = m }
  local ok = opro.map({ 1, 2, 3, 4, 5 }, function(i)
    local text, _, code = llm:chat("budget " .. i)
    return text and "ok" or code
  end)
  local n_ok, n_budget = 0, 0
  for _, r in ipairs(ok) do
    if r == "ok" then n_ok = n_ok + 1 elseif r == "budget" then n_budget = n_budget + 1 end
  end
  T.eq(n_ok, 3)
  T.eq(n_budget, 2)
  T.eq(L.stats(base).requests, 3, "refused calls send nothing, even when concurrent")
  local m2 = opro.llm.meter{ budget = { usd = 0.001 } }
  local pricey = client{ meter = m2, price = { input = 1000, output = 1000 }, max_tokens = 10 }
  local text, msg, code = pricey:chat("this would cost too much")
  T.eq(text, nil)
  T.eq(code, "budget")
  T.contains(msg, "budget")
end)

T.test("a token budget waits for calls in flight instead of refusing on their estimates", function()
  L.reset(base)
  -- each call reserves about 100 output tokens but uses a handful: eight at
  -- once would reserve more than the budget, yet all eight fit in it
  local m = opro.llm.meter{ budget = { tokens = 500 } }
  local llm = client{ meter = m, max_tokens = 100, concurrency = 8, headers = { ["x-latency-ms"] = "100" } }
  local res = opro.map(range(8), function(i)
    local text, _, code = llm:chat("tokens " .. i)
    return text and "ok" or code
  end)
  for i = 1, 8 do T.eq(res[i], "ok", "call " .. i) end
  T.eq(L.stats(base).requests, 8)
  local t = m:totals()
  T.ok(t.input_tokens + t.output_tokens <= 500, "within the budget: " .. (t.input_tokens + t.output_tokens))
  T.eq(m.r_tokens, 0)
  -- once what is really spent leaves no room, calls are refused, not parked
  local m2 = opro.llm.meter{ budget = { tokens = 120 } }
  local llm2 = client{ meter = m2, max_tokens = 100, concurrency = 8 }
  local res2 = opro.map(range(4), function(i)
    local text, _, code = llm2:chat("again " .. i)
    return text and "ok" or code
  end)
  local n_ok, n_budget = 0, 0
  for _, r in ipairs(res2) do
    if r == "ok" then n_ok = n_ok + 1 elseif r == "budget" then n_budget = n_budget + 1 end
  end
  T.ok(n_ok >= 1 and n_budget >= 1 and n_ok + n_budget == 4, "ok " .. n_ok .. ", budget " .. n_budget)
  T.ok(m2:totals().input_tokens + m2:totals().output_tokens <= 120)
end)

T.test("a call cancelled in flight gives back its budget reservation and its concurrency permit", function()
  local m = opro.llm.meter{ budget = { calls = 2 } }
  local llm = client{ meter = m, concurrency = 1, headers = { ["x-latency-ms"] = "2000" } }
  local t = opro.spawn(function() return llm:chat("slow") end)
  opro.sleep(0.2)
  T.eq(m.r_calls, 1)
  t:cancel()
  T.eq(m.r_calls, 0, "reservation released")
  T.eq(m:totals().failures, 1, "counted as a failed call")
  local fast = client{ meter = m, concurrency = 1 }
  T.ok(fast:chat("after the cancel"))
  -- the cancelled call's permit is back: the same llm object still works
  llm = client{ concurrency = 1, headers = { ["x-latency-ms"] = "1000" } }
  t = opro.spawn(function() return llm:chat("slow again") end)
  opro.sleep(0.1)
  t:cancel()
  local t0 = opro.now()
  T.ok(llm:chat("next"))
  T.ok(opro.now() - t0 < 5)
end)

T.test("the API key never appears in errors or records, even when the server echoes it", function()
  local records = {}
  for _, p in ipairs({ "openai", "anthropic", "gemini" }) do
    local url = p == "openai" and base .. "/v1" or p == "gemini" and base .. "/v1beta" or base
    local llm = opro.llm{ provider = p, base_url = url, model = "m", api_key = "SECRET-KEY-" .. p,
      headers = scenario("echo_key"), on_call = function(r) records[#records + 1] = r end }
    local text, msg, code = llm:chat("who am i")
    T.eq(text, nil)
    T.eq(code, "http_401")
    T.contains(msg, "Incorrect API key provided")
    T.ok(not msg:find("SECRET-KEY", 1, true), msg)
    T.contains(msg, "[redacted]")
  end
  local blob = T.fmt(records)
  T.ok(not blob:find("SECRET-KEY", 1, true), blob)
  T.eq(#records, 3)
  T.eq(records[1].code, "http_401")
end)

T.test("OPENAI_BASE_URL and the providers' key variables are used when no option is given", function()
  -- a child process with only the environment: the fixture echoes the key it
  -- received, and the client redacts exactly its own key
  local script = T.tmpdir() .. "/env.lua"
  T.write(script, [[
    local provider, url = ...
    local llm = opro.llm{ provider = provider, base_url = url ~= "" and url or nil, model = "m",
                          headers = { ["x-scenario"] = "echo_key;id=env-" .. provider } }
    local text, msg, code = llm:chat("who am i")
    print(code, msg)
  ]])
  local cases = {
    { "openai", "", "OPENAI_API_KEY=env-openai-key OPENAI_BASE_URL=" .. base .. "/v1" },
    { "anthropic", base, "ANTHROPIC_API_KEY=env-anthropic-key" },
    { "gemini", base .. "/v1beta", "GEMINI_API_KEY=env-gemini-key" },
  }
  for _, c in ipairs(cases) do
    local rc, out, err = T.sh(string.format("env -u OPENAI_API_KEY -u OPENAI_BASE_URL -u ANTHROPIC_API_KEY -u GEMINI_API_KEY %s %s %s %s %s",
      c[3], T.shquote(T.bin), script, c[1], T.shquote(c[2])))
    T.eq(rc, 0, err)
    T.match(out, "^http_401\t", c[1] .. ": the request reached the fixture: " .. out)
    T.contains(out, "Incorrect API key provided: ", c[1])
    T.contains(out, "[redacted]", c[1] .. ": the key sent was the environment's")
    T.ok(not out:find("env-" .. c[1] .. "-key", 1, true), out)
  end
end)

T.test("on_call records every finished call: requests, cache hits and failures", function()
  local records = {}
  local llm = client{ temperature = 0, on_call = function(r) records[#records + 1] = r end }
  llm:chat("record me")
  llm:chat("record me")
  T.eq(#records, 2)
  local r = records[1]
  T.eq(r.provider, "openai")
  T.eq(r.model, "fx-1")
  T.eq(cjson.decode(r.request).messages[1].content, "record me")
  T.eq(cjson.decode(r.response).choices[1].message.content, "echo: record me #0")
  T.eq(r.status, 200)
  T.eq(r.attempts, 1)
  T.eq(r.cached, false)
  T.eq(#r.key, 64)
  T.eq(records[2].cached, true)
  T.eq(records[2].key, r.key)
  T.eq(records[2].cost, 0)
end)

T.test("chat_n: one request with n; the fallback when the server ignores n", function()
  L.reset(base)
  local llm = client{}
  local texts, info = llm:chat_n("many", 4, { temperature = 1 })
  T.eq(#texts, 4)
  T.eq(texts[4], "echo: many #3")
  T.eq(L.stats(base).requests, 1)
  T.eq(#info.finish_reasons, 4)
  T.eq(llm:totals().calls, 1)
  L.reset(base)
  local ign = client{ headers = scenario("ignore_n") }
  texts = ign:chat_n("ignored", 3, { temperature = 1 })
  T.eq(#texts, 3)
  T.eq(L.stats(base).requests, 3, "one with n=3 (one choice back), then 2 single calls")
  T.eq(ign.native_n, false, "remembered")
  L.reset(base)
  ign:chat_n("ignored", 3, { temperature = 1 })
  T.eq(L.stats(base).requests, 3)
  -- anthropic: n calls, concurrently
  L.reset(base)
  local a = opro.llm{ provider = "anthropic", base_url = base, model = "c" }
  texts, info = a:chat_n("three", 3, { temperature = 1 })
  T.eq(#texts, 3)
  T.eq(L.stats(base).requests, 3)
  T.eq(info.usage.input_tokens, 6)
end)

T.test("chat_n with a sample index caches each choice; a repeat sends nothing", function()
  L.reset(base)
  local llm = client{}
  local a = llm:chat_n("resume", 3, { temperature = 1, sample = 5 })
  local b, info = llm:chat_n("resume", 3, { temperature = 1, sample = 5 })
  T.eq(a, b)
  T.eq(info.cached, true)
  T.eq(L.stats(base).requests, 1)
  llm:chat_n("resume", 3, { temperature = 1, sample = 6 })
  T.eq(L.stats(base).requests, 2)
end)

T.test("embed: OpenAI embeddings and Gemini batchEmbedContents", function()
  local llm = client{ model = "emb-1" }
  local v, info = llm:embed({ "ab", "abcd" })
  T.ok(v, info)
  local rows = type(v) == "table" and v or v:totable()
  T.eq(#rows, 2)
  T.near(rows[2][1], 4, 1e-6)
  T.near(rows[2][2], 1, 1e-6)
  T.eq(info.usage.input_tokens, 7)
  local g = opro.llm{ provider = "gemini", base_url = base .. "/v1beta", model = "text-embedding-004" }
  local gv = g:embed("xyz")
  local grows = type(gv) == "table" and gv or gv:totable()
  T.near(grows[1][1], 3, 1e-6)
end)

T.test("stream=true: SSE answers are assembled (openai with pings, anthropic, gemini)", function()
  local llm = client{ stream = true }
  local text, info = llm:chat("stream it")
  T.eq(text, "echo: stream it #0")
  T.eq(info.usage.input_tokens, 3)
  local texts = llm:chat_n("stream n", 2, { temperature = 1 })
  T.eq(texts[2], "echo: stream n #1")
  local a = opro.llm{ provider = "anthropic", base_url = base, model = "c", stream = true }
  text, info = a:chat("stream anthropic")
  T.eq(text, "echo: stream anthropic")
  T.eq(info.usage.output_tokens, 6)
  local g = opro.llm{ provider = "gemini", base_url = base .. "/v1beta", model = "g", stream = true }
  T.eq(g:chat("stream gemini"), "echo: stream gemini")
  local bad = client{ stream = true, headers = scenario("streamerror") }
  local none, msg, code = bad:chat("x")
  T.eq(none, nil)
  T.eq(code, "stream_error")
  T.contains(msg, "overloaded mid-stream")
end)

T.test("servers without usage: usage is estimated and marked", function()
  local llm = client{ headers = scenario("nousage") }
  local text, info = llm:chat("no usage here")
  T.ok(text)
  T.eq(info.usage_estimated, true)
  T.ok(info.usage.input_tokens > 0 and info.usage.output_tokens > 0)
end)

T.test("concurrency caps requests in flight", function()
  L.reset(base)
  local llm = client{ concurrency = 4, headers = { ["x-latency-ms"] = "100" } }
  local list = {}
  for i = 1, 16 do list[i] = i end
  opro.map(list, function(i) return assert(llm:chat("c" .. i)) end)
  local st = L.stats(base)
  T.eq(st.requests, 16)
  T.ok(st.inflight_peak <= 4, "peak " .. st.inflight_peak)
  T.ok(st.inflight_peak >= 2, "peak " .. st.inflight_peak)
  -- the default: 16
  L.reset(base)
  local d = client{ headers = { ["x-latency-ms"] = "200" } }
  opro.map(range(40), function(i) return assert(d:chat("d" .. i)) end)
  st = L.stats(base)
  T.eq(st.requests, 40)
  T.ok(st.inflight_peak <= 16 and st.inflight_peak >= 8, "default peak " .. st.inflight_peak)
end)

T.test("rpm: a full bucket lets a burst through, then requests are spaced", function()
  local llm = client{ rpm = 60 }   -- a bucket of 60 requests, refilled at 1 a second
  local t0 = opro.now()
  local times = opro.map(range(62), function(i)
    assert(llm:chat("rpm " .. i))
    return opro.now() - t0
  end)
  table.sort(times)
  T.ok(times[60] < 1.0, string.format("the first 60 took %.2f s", times[60]))
  T.ok(times[62] >= 1.9 and times[62] < 20, string.format("62 requests at 60 rpm took %.2f s (2 s of waiting)", times[62]))
end)

T.test("tpm: tokens are estimated before a call, corrected after, and waited for", function()
  local llm = client{ tpm = 6000 }   -- 100 tokens a second
  assert(llm:chat(("x"):rep(24000)))  -- about 6000 tokens: empties the bucket
  local t0 = opro.now()
  assert(llm:chat(("y"):rep(400)))    -- about 104 tokens: must wait about 1 s
  local dt = opro.now() - t0
  T.ok(dt >= 1.0 and dt < 10, string.format("waited %.2f s", dt))
end)

T.done()
