-- opro-sim's faults, determinism, --max-inflight, latency, concurrency,
-- shutdown and command-line errors.
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"
local http = require "opro.core.http"

local function chat_body(i)
  return cjson.encode { model = "sim-1", messages = { { role = "user", content = "request number " .. i } } }
end

-- One request's outcome: a status, "reset", "timeout" or "badjson".
local function outcome(sim, body, timeout)
  local resp, _, code = http.request { url = sim.base .. "/v1/chat/completions", body = body,
                                        headers = S.headers.openai, timeout = timeout or 10 }
  if not resp then return code end
  if resp.status == 200 and not pcall(cjson.decode, resp.body) then return "badjson" end
  return tostring(resp.status), resp
end

local SPEC = { ["429"] = 0.10, ["500"] = 0.05, ["503"] = 0.02, ["529"] = 0.02, reset = 0.02, badjson = 0.01, hang = 0.01 }

-- under valgrind (OPRO_SIM_WRAP) requests are too slow for the timing-based tests
local function timed_test(name, fn)
  if S.wrap ~= "" then return T.skip(name, "timing test, skipped under OPRO_SIM_WRAP") end
  T.test(name, fn)
end

timed_test("fault rates over 10,000 requests are within 1% of the spec, and /stats agrees", function()
  local sim = S.start("--seed 11 --quiet --faults 429:0.1:retry-after=1,500:0.05,503:0.02,529:0.02,reset:0.02,badjson:0.01,hang:0.01:after=1")
  local N = 10000
  local list = {}
  for i = 1, N do list[i] = i end
  local seen = {}
  local out = opro.map(list, function(i) return (outcome(sim, chat_body(i), 0.5)) end, { concurrency = 100 })
  for _, o in ipairs(out) do seen[o] = (seen[o] or 0) + 1 end
  local got = { ["429"] = seen["429"] or 0, ["500"] = seen["500"] or 0, ["503"] = seen["503"] or 0, ["529"] = seen["529"] or 0,
                reset = seen.reset or 0, badjson = seen.badjson or 0, hang = seen.timeout or 0 }
  for k, rate in pairs(SPEC) do
    T.near(got[k] / N, rate, 0.01, "rate of " .. k)
    T.ok(got[k] > 0, k .. " happened")
  end
  local ok = seen["200"] or 0
  T.near(ok / N, 1 - 0.23, 0.015, "successes")
  local st = sim:stats()
  T.eq(st.requests, N)
  for k in pairs(SPEC) do T.eq(st.faults[k], got[k], "/stats faults." .. k) end
  T.eq(st.status["200"], ok + got.badjson)
end)

T.test("the same seed and requests give the same answers and faults; another seed differs", function()
  local args = "--quiet --faults 429:0.2,reset:0.1,badjson:0.1 --seed "
  local a, b, c = S.start(args .. "7"), S.start(args .. "7"), S.start(args .. "8")
  local list = {}
  for i = 1, 200 do list[i] = i end
  local function run(sim)
    return opro.map(list, function(i)
      local o, resp = outcome(sim, chat_body(i))
      return o .. ":" .. (resp and resp.status == 200 and cjson.decode(resp.body).choices[1].message.content or "")
    end, { concurrency = 20 })
  end
  local ra, rb, rc = run(a), run(b), run(c)
  T.eq(ra, rb)
  T.ne(ra, rc)
end)

T.test("a repeated request draws its fault afresh (a retry can succeed)", function()
  local sim = S.start("--seed 1 --quiet --faults 429:0.5")
  local seen = {}
  for _ = 1, 40 do seen[(outcome(sim, chat_body("same")))] = true end
  T.ok(seen["200"] and seen["429"], T.fmt(seen))
end)

T.test("a faulted attempt is no sample: without a seed, retried requests get the fault-free sequence of answers", function()
  -- an optimizer meta-prompt at temperature 1 and no seed: the k-th answer
  -- to the same request is the k-th sample, however many attempts faulted
  local meta = "Your task is to generate the instruction <INS>. Below are some previous instructions with their scores.\n\n" ..
    "text:\nLet's solve the problem.\nscore:\n17\n\ntext:\nThink step by step.\nscore:\n40\n\n" ..
    "Generate an instruction that is different from all the instructions <INS> above, and has a higher score than all " ..
    "the instructions <INS> above. The instruction should begin with <INS> and end with </INS>."
  local body = cjson.encode { model = "sim-1", temperature = 1, messages = { { role = "user", content = meta } } }
  local function answers(sim, n)
    local out, attempts = {}, 0
    while #out < n and attempts < 20 * n do
      attempts = attempts + 1
      local o, resp = outcome(sim, body, 0.5)
      if o == "200" then out[#out + 1] = cjson.decode(resp.body).choices[1].message.content end
    end
    return out, attempts
  end
  local clean = answers(S.start("--seed 4 --quiet"), 12)
  local distinct = {}
  for _, t in ipairs(clean) do distinct[t] = true end
  T.ok(next(distinct, next(distinct)), "the samples differ: " .. T.fmt(clean))
  local faulty = S.start("--seed 4 --quiet --faults 429:0.2,500:0.1,reset:0.1,badjson:0.2,hang:0.1:after=5")
  local got, attempts = answers(faulty, 12)
  T.eq(got, clean)
  local fired = 0
  for _, n in pairs(faulty:stats().faults) do fired = fired + n end
  T.ok(fired > 0 and attempts == 12 + fired, string.format("%d attempts, %d faults", attempts, fired))
end)

T.test("status faults carry the provider's shape and retry-after", function()
  local sim = S.start("--seed 1 --quiet --faults 529:1:retry-after=3")
  local resp, obj = sim:post("/v1/messages", { model = "c", max_tokens = 10, messages = { { role = "user", content = "x" } } },
                             S.headers.anthropic)
  T.eq(resp.status, 529)
  T.eq(resp.headers["retry-after"], "3")
  T.eq(obj.type, "error")
  T.eq(obj.error.type, "overloaded_error")
  resp, obj = sim:post("/v1beta/models/g:generateContent", { contents = { { parts = { { text = "x" } } } } }, S.headers.gemini)
  T.eq(resp.status, 529)
  T.eq(obj.error.code, 529)
  T.eq(obj.error.status, "UNAVAILABLE")
  T.ok(resp.headers["x-request-id"])
end)

T.test("reset closes without an answer; hang answers nothing until the client gives up", function()
  local r = S.start("--quiet --faults reset:1")
  local o = outcome(r, chat_body(1))
  T.eq(o, "reset")
  local h = S.start("--quiet --faults hang:1:after=30")
  local t0 = opro.now()
  T.eq((outcome(h, chat_body(1), 0.3)), "timeout")
  T.ok(opro.now() - t0 < 3)
end)

T.test("badjson answers 200 with a body that is not JSON, also when streaming", function()
  local sim = S.start("--quiet --faults badjson:1")
  T.eq((outcome(sim, chat_body(1))), "badjson")
  local resp = sim:post("/v1/chat/completions", { model = "m", stream = true, messages = { { role = "user", content = "hello there friend" } } })
  T.eq(resp.status, 200)
  local bad = 0
  for _, e in ipairs(S.sse(resp.body)) do
    if e.data ~= "[DONE]" and not pcall(cjson.decode, e.data) then bad = bad + 1 end
  end
  T.ok(bad >= 1)
end)

T.test("--max-inflight answers 429 with retry-after above the cap", function()
  local sim = S.start("--quiet --latency-ms 300 --max-inflight 5")
  local list = {}
  for i = 1, 30 do list[i] = i end
  local res = opro.map(list, function(i)
    local o, resp = outcome(sim, chat_body(i))
    if o == "429" then
      T.eq(resp.headers["retry-after"], "1")
      T.eq(cjson.decode(resp.body).error.type, "requests")
    end
    return o
  end)
  local n200, n429 = 0, 0
  for _, o in ipairs(res) do
    if o == "200" then n200 = n200 + 1 elseif o == "429" then n429 = n429 + 1 end
  end
  T.eq(n200 + n429, 30)
  T.ok(n200 >= 5 and n429 >= 1, n200 .. " x 200, " .. n429 .. " x 429")
  T.eq(sim:stats().faults["max-inflight"], n429)
end)

timed_test("latency is simulated per request without blocking others; 500 connections at once", function()
  -- 1 s of latency per request: long enough that all 500 connections are
  -- open at the same time even on a loaded machine
  local sim = S.start("--quiet --latency-ms 1000")
  local t0 = opro.now()
  T.eq((outcome(sim, chat_body(0))), "200")
  T.ok(opro.now() - t0 >= 0.99, "one request waited " .. (opro.now() - t0))
  local list = {}
  for i = 1, 500 do list[i] = i end
  t0 = opro.now()
  local res = opro.map(list, function(i) return (outcome(sim, chat_body(i), 60)) end)
  local dt = opro.now() - t0
  local bad = {}
  for _, o in ipairs(res) do if o ~= "200" then bad[#bad + 1] = o end end
  T.eq(#bad, 0, "every request answered 200")
  T.ok(dt < 10, string.format("500 x 1 s took %.1f s (ideal 1 s, sequential: 500 s)", dt))
  local st = sim:stats()
  T.eq(st.requests, 501)
  T.eq(st.status["200"], 501, "no error status: " .. T.fmt(st.status))
  T.ok(st.inflight_peak >= 450, "in-flight peak " .. st.inflight_peak .. " of 500")
  io.write("# in-flight peak ", st.inflight_peak, " of 500\n")
end)

T.test("SIGTERM and SIGINT exit 0 promptly, even with a request hanging", function()
  for _, sig in ipairs({ "TERM", "INT" }) do
    local dir = T.tmpdir()
    local rc, out = T.sh(string.format([[
      %s --quiet --faults hang:1:after=60 --port-file %s/port & pid=$!
      i=0; while [ ! -s %s/port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
      curl -s -m 20 -d '{}' -H 'Authorization: Bearer k' http://127.0.0.1:$(cat %s/port)/v1/chat/completions >/dev/null 2>&1 &
      sleep 0.3; start=$(date +%%s); kill -%s $pid; wait $pid; echo "rc=$? secs=$(( $(date +%%s) - start ))"]],
      T.shquote(S.bin), dir, dir, dir, sig))
    T.eq(rc, 0, sig)
    T.match(out, "rc=0 ", sig)
    T.ok(tonumber(out:match("secs=(%d+)")) <= 3, sig .. ": " .. out)
  end
end)

T.test("bad options exit 2 naming the problem", function()
  for args, msg in pairs {
    ["--faults 429:2"] = "rate of '429'", ["--faults teapot:0.1"] = "unknown class 'teapot'",
    ["--faults 429:0.6,500:0.6"] = "add up", ["--port abc"] = "--port", ["--latency-ms -1"] = "--latency-ms",
    ["--persona /nonexistent/p.lua"] = "--persona", ["--data /nonexistent/d.jsonl"] = "--data", ["--bogus 1"] = "unknown option",
  } do
    local rc, _, err = T.sh(T.shquote(S.bin) .. " " .. args)
    T.eq(rc, 2, args)
    T.contains(err, msg, args)
    T.eq(err:find("stack traceback", 1, true), nil, args .. ": a usage error, not a crash: " .. err)
  end
end)

S.shutdown_test()
T.done()
