-- The run store: committed writes per second (each write its own
-- transaction, as during a run), history queries, export and the HTML report.
local store = require "opro.store"
local report = require "opro.report"

local dir = io.popen("mktemp -d /tmp/opro-bench.XXXXXX"):read("l")

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

local function timeit(reps, fn)
  local times = {}
  for r = 1, reps do
    local t0 = opro.now()
    fn(r)
    times[r] = opro.now() - t0
  end
  return median(times)
end

local rows = {}
local function row(what, value) rows[#rows + 1] = string.format("| %s | %s |", what, value) end

for _, durability in ipairs({ "normal", "full" }) do
  local n = durability == "normal" and 5000 or 500
  local t = timeit(3, function(r)
    local st = assert(store.open(string.format("%s/w-%s-%d.db", dir, durability, r), { durability = durability }))
    local run = st:run{ name = "bench" }
    for i = 1, n do
      run:record_candidate{ step = i // 8, key = "k" .. i, solution = "Let's think step by step, variant " .. i, score = i % 97 / 97 }
    end
    st:close()
  end)
  row(string.format("record_candidate, synchronous=%s (%d commits)", durability:upper(), n), string.format("%.0f writes/s", n / t))
end

do
  local n = 5000
  local t = timeit(3, function(r)
    local st = assert(store.open(string.format("%s/c-%d.db", dir, r)))
    local rec = st:run{ name = "bench" }:call_recorder()
    local cache = st:cache()
    for i = 1, n do
      local key = string.format("%064x", i)
      local req = '{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"Q' .. i .. '"}],"api_key":"sk-xxxxxxxxxxxxxxxxxxxxxxxx"}'
      cache:put(key, "response " .. i)
      rec{ key = key, provider = "openai", model = "m", request = req, response = "response " .. i,
           usage = { input_tokens = 50, output_tokens = 20 }, latency = 0.5, attempts = 1, cost = 1e-4 }
    end
    st:close()
  end)
  row(string.format("a paid call: cache:put + call record, scrubbed (%d calls)", n), string.format("%.0f calls/s", n / t))
end

-- queries and report on a large run
local big = dir .. "/big.db"
local st = assert(store.open(big))
local run = st:run{ name = "big", config = { task = { kind = "instruction" } } }
st.db:transaction(function()
  for i = 1, 20000 do
    run:record_candidate{ step = i // 8, key = "k" .. i, solution = "Instruction number " .. i, score = (i * 7919 % 1000) / 1000 }
  end
end)
local tq = timeit(9, function() assert(#run:candidates{ order = "score", limit = 20 } == 20) end)
row("top-20 by score of 20,000 candidates (SQL, index)", string.format("%.2f ms", tq * 1000))
local ts = timeit(9, function() assert(#run:candidates{ step = 1234 } == 8) end)
row("candidates of one step of 20,000", string.format("%.2f ms", ts * 1000))
local th = timeit(3, function() assert(#run:candidates() == 20000) end)
row("whole history of 20,000 candidates", string.format("%.0f ms", th * 1000))
local te = timeit(3, function()
  local f = assert(io.open(dir .. "/h.csv", "wb"))
  report.export(st, { format = "csv", out = f })
  f:close()
end)
row("CSV export of 20,000 candidates", string.format("%.0f ms", te * 1000))
local size
local tr = timeit(3, function() size = #assert(report.html(st, {})) end)
row(string.format("HTML report of 20,000 candidates (%.1f MB)", size / 1e6), string.format("%.0f ms", tr * 1000))
st:close()
os.execute("rm -rf '" .. dir .. "'")

print("## Run store (opro.store)")
print()
print("Each write is its own committed transaction (WAL), as in a run. Medians of 3 (queries: 9) runs.")
print()
print("| operation | result |")
print("|---|---|")
for _, r in ipairs(rows) do print(r) end
print()
