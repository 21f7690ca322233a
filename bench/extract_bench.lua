-- Answer extraction throughput: opro.extract (C) on a generated corpus of
-- model outputs, and the reference's Python normalizer on the same inputs
-- when OPRO_REF names a checkout of google-deepmind/opro.
-- Prints a Markdown section (see bench/run).
local X = opro.extract

local N = tonumber(os.getenv("EXTRACT_BENCH_N") or "") or 20000
math.randomseed(42)

local words = { "apples", "dollars", "minutes", "students", "we", "add", "the", "total", "each", "so",
  "then", "she", "has", "left", "more", "than", "of", "per", "day", "week" }
local function sentence()
  local t = {}
  for i = 1, math.random(6, 14) do
    t[i] = math.random() < 0.2 and tostring(math.random(1, 999)) or words[math.random(#words)]
  end
  local a, b = math.random(1, 99), math.random(1, 99)
  return table.concat(t, " ") .. string.format(", %d + %d = %d.", a, b, a + b)
end
local endings = {
  function(v) return "The answer is " .. v .. "." end,
  function(v) return "#### " .. v end,
  function(v) return "So the answer is $" .. v .. ".\n\nQ: A farmer has 12 cows and buys 7 more. The answer is 19." end,
  function(v) return "Therefore, " .. v .. " is the correct answer." end,
  function(v) return "In total she has " .. v .. " apples" end,
}
local responses, targets, bytes = {}, {}, 0
for i = 1, N do
  local v = math.random(1, 5000)
  local parts = {}
  for k = 1, math.random(2, 8) do parts[k] = sentence() end
  parts[#parts + 1] = endings[math.random(#endings)](v)
  responses[i] = table.concat(parts, " ")
  targets[i] = tostring(math.random() < 0.8 and v or v + 1)
  bytes = bytes + #responses[i]
end
local MB = bytes / 1e6

-- CPU time of the process (the machine may be shared), best of several runs
local function best_of(runs, fn)
  local best = math.huge
  for _ = 1, runs do
    local t0 = os.clock()
    fn()
    best = math.min(best, os.clock() - t0)
  end
  return best
end

-- 1. normalization alone, one Lua call per response
local preds = {}
local t_norm = best_of(5, function()
  for i = 1, N do preds[i] = X.normalize(responses[i], { kind = "number", post = false }) end
end)
-- 2. whole scoring path (normalize + post + accuracy), batch in C
local correct
local t_batch = best_of(5, function()
  local _
  _, correct = X.score_all(responses, targets, { kind = "number" })
end)
-- 3. whole scoring path, one Lua call per response
local t_single = best_of(5, function()
  for i = 1, N do X.score(responses[i], targets[i], { kind = "number" }) end
end)

print("## Answer extraction (opro.extract)")
print()
print(string.format("Corpus: %d generated GSM8K-style chain-of-thought responses, %.1f MB (mean %d bytes);", N, MB, bytes // N))
print("kind = \"number\" (the reference's treat_as_number=True). CPU time, best of 5 runs.")
print()
print("| implementation | what | time (s) | MB/s | items/s |")
print("|---|---|---:|---:|---:|")
local function row(impl, what, t)
  print(string.format("| %s | %s | %.3f | %.1f | %.0f |", impl, what, t, MB / t, N / t))
end
row("opro-lua (C)", "normalize, one call each", t_norm)
row("opro-lua (C)", "score_all (batch in C)", t_batch)
row("opro-lua (C)", "score, one call each", t_single)

local ref = os.getenv("OPRO_REF")
if not ref or ref == "" then
  print()
  print("Python reference: skipped (set OPRO_REF=DIR to a checkout of google-deepmind/opro to compare).")
  print()
  return
end

-- the same corpus through the reference's Python code
local cjson = require "cjson"
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local f = assert(io.open(dir .. "/corpus.json", "w"))
f:write(cjson.encode({ responses = responses, targets = targets }))
f:close()
f = assert(io.open(dir .. "/driver.py", "w"))
f:write([=[
import json, sys, time, types
ref, corpus = sys.argv[1], sys.argv[2]
sys.path.insert(0, ref)
# metrics.py needs immutabledict, eval_utils.py numpy and pandas; stand-ins
# for what these functions use when they are not installed
try:
    import immutabledict  # noqa
except ImportError:
    m = types.ModuleType("immutabledict"); m.ImmutableOrderedDict = dict; sys.modules["immutabledict"] = m
try:
    import numpy  # noqa
except ImportError:
    m = types.ModuleType("numpy")
    m.unique = lambda x: sorted(set(x)); m.average = lambda x: sum(x) / len(x)
    class A(list):
        def __eq__(self, o): return [v == o for v in self]
    m.array = A; m.where = lambda c: ([i for i, v in enumerate(c) if v],)
    sys.modules["numpy"] = m
try:
    import pandas  # noqa
except ImportError:
    sys.modules["pandas"] = types.ModuleType("pandas")
from opro.evaluation import metrics, eval_utils
d = json.load(open(corpus))
R, Tg = d["responses"], d["targets"]
def post(a): return a.strip(":").strip().split("\n")[0].split("Q:")[0]
best_n = best_s = 1e9
for _ in range(5):
    t0 = time.process_time()
    preds = [metrics.get_normalized_prediction(r, treat_as_number=True) for r in R]
    t1 = time.process_time()
    ok = [eval_utils._get_accuracy(t, post(metrics.get_normalized_prediction(r, treat_as_number=True)), "", False) for r, t in zip(R, Tg)]
    t2 = time.process_time()
    best_n, best_s = min(best_n, t1 - t0), min(best_s, t2 - t1)
print(json.dumps({"t_norm": best_n, "t_score": best_s, "correct": sum(ok), "preds": preds}))
]=])
f:close()
local p = io.popen(string.format("python3 %s/driver.py '%s' %s/corpus.json 2>&1", dir, ref:gsub("'", "'\\''"), dir))
local out = p:read("a")
p:close()
os.execute("rm -rf " .. dir)
local ok, res = pcall(cjson.decode, out)
if not ok or type(res) ~= "table" then
  print()
  print("Python reference: failed to run: " .. out:sub(1, 300))
  print()
  return
end
row("reference (Python)", "get_normalized_prediction", res.t_norm)
row("reference (Python)", "normalize + _get_accuracy", res.t_score)
local same = 0
for i = 1, N do if res.preds[i] == preds[i] then same = same + 1 end end
print()
print(string.format("Speed-up: normalize %.0fx, scoring %.0fx (batch) / %.0fx (one call each); target >= 100x.",
  res.t_norm / t_norm, res.t_score / t_batch, res.t_score / t_single))
print(string.format("Same predictions as the reference: %d of %d; correct answers: %d (C) vs %d (Python).",
  same, N, correct, res.correct))
print()
