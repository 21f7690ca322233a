-- A whole run (examples/gsm8k.lua --demo) against opro-sim: the API key
-- never reaches the output, the logs, the run database or the reports; a
-- budget on the run stops new calls before it is exceeded.
local T = require "testlib"
local L = require "llmtest"
local cjson = require "cjson"

if not L.sim_bin() then
  T.skip("runs against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local dir = T.tmpdir()

-- runs the demo example against base with extra flags and environment;
-- returns rc, stdout, stderr
local function demo(base, flags, env)
  return T.sh(string.format("cd %s && env -u OPRO_API_KEY -u OPENAI_API_KEY %s %s %s/examples/gsm8k.lua --demo --base-url %s/v1 --model sim-1 --seed 1 %s",
    dir, env or "", T.shquote(T.bin), T.root, base, flags))
end

local function summary(out)
  local ok, v = pcall(cjson.decode, out:match("([^\n]+)\n*$") or "")
  return ok and v or nil
end

-- every file a run leaves, read whole (the database with its WAL and journal)
local function files_of(prefix)
  local list = {}
  local p = io.popen("ls " .. T.shquote(dir) .. " 2>/dev/null")
  for name in p:lines() do
    if name:sub(1, #prefix) == prefix then list[#list + 1] = dir .. "/" .. name end
  end
  p:close()
  return list
end

T.test("the API key never appears in the output, logs, database, exports or HTML report", function()
  local key = "sk-LEAKCHECK-" .. string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  -- faults make failed attempts, retries and error records too
  local base = L.sim("--seed 2 --faults 500:0.05,429:0.05:retry-after=1,badjson:0.02")
  local rc, out, err = demo(base, "--steps 3 --db leak.db --evaluate-top 2", "OPENAI_API_KEY=" .. key)
  T.eq(rc, 0, err)
  T.contains(out, "best score", "the run printed its result")
  local rc2, out2, err2 = demo(base, "--steps 3 --db leak.db --resume --json", "OPENAI_API_KEY=" .. key)
  T.eq(rc2, 0, err2)
  local st = L.stats(base)
  T.ok((st.faults["500"] or 0) + (st.faults["429"] or 0) > 0, "some attempts failed: " .. T.fmt(st.faults))
  local texts = { stdout = out .. out2, stderr = err .. err2 }
  for _, args in ipairs { "-o leak.html", "--csv --table calls -o calls.csv", "--jsonl --table calls -o calls.jsonl",
                          "--jsonl -o history.jsonl", "--jsonl --table evaluations -o evals.jsonl" } do
    local rc3, o3, e3 = T.sh(string.format("cd %s && %s report leak.db %s", dir, T.shquote(T.bin), args))
    T.eq(rc3, 0, args .. ": " .. e3)
    texts["report " .. args] = o3 .. e3
  end
  local calls = T.read(dir .. "/calls.jsonl")
  T.ok(calls and select(2, calls:gsub("\n", "")) > 50, "the calls table was exported")
  for _, f in ipairs(files_of("leak.")) do texts[f] = T.read(f) end
  for _, f in ipairs { "leak.html", "calls.csv", "calls.jsonl", "history.jsonl", "evals.jsonl" } do
    texts[f] = T.read(dir .. "/" .. f)
  end
  T.ok(texts[dir .. "/leak.db"] and #texts[dir .. "/leak.db"] > 10000, "the database was written")
  -- the scan reads what the run stored: the model's name and a request body are there
  T.contains(texts[dir .. "/leak.db"] .. (texts[dir .. "/leak.db-wal"] or ""), "sim-1")
  T.contains(texts["calls.jsonl"], "\"provider\":\"openai\"", "the calls export has the call records")
  for name, text in pairs(texts) do
    T.ok(text, name .. " exists")
    T.eq(text:find(key, 1, true), nil, "the key in " .. name)
    T.eq(text:find("LEAKCHECK", 1, true), nil, "part of the key in " .. name)
  end
end)

T.test("--budget-calls N: at most N requests reach the server; the run stops with 'budget'", function()
  local base = L.sim("--seed 1")
  local rc, out, err = demo(base, "--steps 5 --budget-calls 50 --json --quiet")
  T.eq(rc, 0, err)
  local s = summary(out)
  T.ok(s, "a JSON summary: " .. out)
  T.eq(s.stop_reason, "budget")
  T.eq(s.reps[1].stop_reason, "budget")
  local st = L.stats(base)
  T.eq(st.requests, 50, "requests the sim received")
  T.eq(s.totals.calls, 50, "calls the meter counted")
  T.eq(s.reps[1].calls, 50, "calls the rep counted (refused calls are not calls)")
  local _, n = err:gsub("budget", "")
  T.ok(n >= 1 and n <= 5, "the budget is reported, not once per refused call:\n" .. err)
end)

T.test("--budget-tokens and --budget-usd stop the run before the budget is exceeded", function()
  local base = L.sim("--seed 1")
  local rc, out, err = demo(base, "--steps 5 --budget-tokens 20000 --json --quiet")
  T.eq(rc, 0, err)
  local s = summary(out)
  T.eq(s.stop_reason, "budget")
  T.ok(s.totals.tokens <= 20000 and s.totals.tokens > 2000, "tokens used: " .. s.totals.tokens)
  local tokens_used = math.tointeger(s.totals.tokens)
  T.eq(L.stats(base).requests, s.totals.calls)
  L.reset(base)
  rc, out, err = demo(base, "--steps 5 --price 100,100 --budget-usd 1 --json --quiet")
  T.eq(rc, 0, err)
  s = summary(out)
  T.eq(s.stop_reason, "budget")
  T.ok(s.totals.cost <= 1 and s.totals.cost > 0.1, "USD spent: " .. s.totals.cost)
  io.write(string.format("# tokens budget 20000: used %d; USD budget 1: spent %.3f\n", tokens_used, s.totals.cost))
  T.eq(L.stats(base).requests, s.totals.calls)
end)

T.done()
