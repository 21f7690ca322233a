-- Datasets and subprocesses: CSV/TSV parsing throughput, the numpy-exact
-- split, and how many child processes per second opro.core.proc runs
-- concurrently (the shell objective's cost per candidate).
local proc = require "opro.core.proc"

local function median(fn, runs)
  local t = {}
  for i = 1, runs do
    local t0 = opro.now()
    fn()
    t[i] = opro.now() - t0
  end
  table.sort(t)
  return t[(runs + 1) // 2]
end

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/gsm_data " .. dir .. "/MMLU-data/test")

-- a GSM8K-sized TSV (7,473 rows, ~4 MB) and an MMLU-like CSV with quoted fields
local rows = {}
for i = 1, 7473 do
  rows[i] = string.format("Question %d: a farmer has %d sheep and buys %d more, \"twice\". How many now?\t%d\tb'%s #### %d'",
    i, i, i * 3, i * 4, string.rep("step ", 80), i * 4)
end
local tsv = table.concat(rows, "\n") .. "\n"
local f = assert(io.open(dir .. "/gsm_data/gsm_train.tsv", "w")); f:write(tsv); f:close()
local crow = {}
for i = 1, 20000 do
  crow[i] = string.format('"Which statement, of %d, is ""true""?\nPick one.",opt a %d,"opt, b",opt c,opt d,%s', i, i,
    ({ "A", "B", "C", "D" })[i % 4 + 1])
end
local csvtext = table.concat(crow, "\n") .. "\n"
f = assert(io.open(dir .. "/MMLU-data/test/bench_test.csv", "w")); f:write(csvtext); f:close()

local t_gsm = median(function() opro.dataset.load("gsm8k", { data_dir = dir }) end, 5)
local t_csv = median(function() opro.dataset.load("mmlu:bench", { data_dir = dir }) end, 5)
local items = {}
for i = 1, 100000 do items[i] = i end
local t_split = median(function() opro.dataset.split(items, { ratio = 0.035, seed = 0 }) end, 5)
local t_sample = median(function() opro.dataset.sample(items, 0.2, 1) end, 5)

-- subprocesses: 200 runs of `true`, all at once, and one at a time
local list = {}
for i = 1, 200 do list[i] = i end
local t_par = median(function()
  opro.map(list, function() return assert(proc.run{ argv = { "true" } }).status end)
end, 3)
local t_seq = median(function()
  for _ = 1, 50 do assert(proc.run{ argv = { "true" } }) end
end, 3)
os.execute("rm -rf " .. dir)

print("## Datasets and subprocesses (opro.dataset, opro.core.proc)")
print()
print("| what | median time | rate |")
print("|---|---|---|")
print(string.format("| load a GSM8K-sized TSV (7,473 rows, %.1f MB) | %.0f ms | %.0f MB/s |", #tsv / 1e6, t_gsm * 1e3, #tsv / 1e6 / t_gsm))
print(string.format("| load an MMLU-style CSV (20,000 quoted rows, %.1f MB) | %.0f ms | %.0f MB/s |", #csvtext / 1e6, t_csv * 1e3, #csvtext / 1e6 / t_csv))
print(string.format("| numpy-exact split of 100,000 items (3.5%%) | %.1f ms | |", t_split * 1e3))
print(string.format("| xoshiro sample of 100,000 items (20%%) | %.1f ms | |", t_sample * 1e3))
print(string.format("| 200 concurrent `true` processes | %.0f ms | %.0f processes/s |", t_par * 1e3, 200 / t_par))
print(string.format("| 50 sequential `true` processes | %.0f ms | %.0f processes/s |", t_seq * 1e3, 50 / t_seq))
print()
print("Parsing is pure Lua (RFC 4180 state machine over string.find); a")
print("process costs a fork/exec plus its pipes and pidfd on the event loop.")
