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

-- Varied responses for the differential check against the reference: every
-- marker and delimiter (several languages, any case), numbers in every form,
-- number words, booleans, bracketed letters, Unicode that lower-cases to
-- other lengths, fullwidth colons. All valid UTF-8 (Python gets the same text).
local FRAGS = {
  "The answer is ", "the answer is ", "ANSWER IS ", "Answer: ", "answer: ", "answer is: ", "Answer is: ", "answer",
  "Answer", "answers ", " is: ", "IS: ", " are: ", "ARE: ", " is the correct answer", " is the right answer",
  " IS THE FINAL ANSWER", " is the answer", " Is The Answer", "Step-by-Step Answer: ", "STEP-BY-STEP ANSWER: ",
  "Respuesta paso a paso: ", "Jibu la Hatua kwa Hatua: ", "Jibu la Hatua \u{212A}wa Hatua: ",
  "Schritt-f\u{FC}r-Schritt-Antwort: ", "SCHRITT-F\u{DC}R-SCHRITT-ANTWORT: ", "R\u{E9}ponse \u{E9}tape par \u{E9}tape : ",
  "\u{30B9}\u{30C6}\u{30C3}\u{30D7}\u{3054}\u{3068}\u{306E}\u{7B54}\u{3048}\u{FF1A}", "\u{9010}\u{6B65}\u{89E3}\u{7B54}\u{FF1A}",
  "\u{41F}\u{43E}\u{448}\u{430}\u{433}\u{43E}\u{432}\u{43E}\u{435} \u{440}\u{435}\u{448}\u{435}\u{43D}\u{438}\u{435}: ",
  "#### ", "####", "### ", "#", "Q:", "q:", "Q: ", "Question:", "QUESTION: ", "question :", "QUEST\u{130}ON:", "Frage: ",
  "Pregunta: ", "Swali: ", "\u{554F}\u{984C}\u{FF1A}", "\u{95EE}\u{9898}\u{FF1A}", "\u{417}\u{430}\u{434}\u{430}\u{447}\u{430}: ",
  "this is the solution:", "This Is The Solution:", ":", ": ", "\u{FF1A}", " ", "  ", "\n", "\n\n", "\t", ".", "..", "'",
  "\u{A0}", "\u{2003}", "(a)", "(A)", "(b)", "(B) ", "(c)", "(Z)", "(ab)", "(", ")", "(about 150 m)", "(1)",
  "=", " = ", "$", "$1,000", ",", "%", "\u{20AC}", "\u{A3}", "-", "+", "*", "/", "_", "1_000", "e5", "inf", "nan",
  "0", "1", "2", "5", "7", "10", "18", "42", "100", "2.5", "3.5", "0.125", "-0.4", "007", "-0", "+5", "1e400",
  "123456789012345678", "3.14159", "12:30", ".5", "5.", "\u{661}\u{668}", "\u{FF11}\u{FF12}", "\u{2162}", "\u{B2}",
  "zero", "one", "two", "three", "seven", "seventeen", "twelve", "twenty", "ninety", "none", "Eight", "FORTY",
  "someone", "often", "kgs", "-yard", "apples", "dollars", "the", "total", "is", "so", "we", "Therefore, ",
  "true", "false", "True", "FALSE", "yes", "no", "Yes", "No", "valid", "invalid", "Invalid",
  "\u{3A3}", "\u{39F}\u{394}\u{39F}\u{3A3}", "\u{3A3}\u{3B1}", "\u{130}", "\u{212A}", "\u{DF}", "\u{1E9E}", "\u{FB01}",
  "\u{2019}s", "\u{D7}", "\u{2013}", "caf\u{E9}",
}
local TARGETS = { "5", "18", "42", "7", "0", "1", "A", "B", "(A)", "(B)", "(C)", "a", "yes", "No", "True", "false",
  "valid", "Invalid", "east", "Paris", "bc", "", "2.5", "-0" }
local INPUTS = { "", "", "", "From which direction does the sun rise? (A) west (B) east (C) north (D) south",
  "Pick one: (A) Paris (B) paris city (C) Berlin", "(A) true (B) false", "A: (A) \u{130}stanbul (B) Ankara",
  "(A) 1 (B) 2 (C) 3 (E) 5" }
local SETTINGS = { -- treat_as_number, num_decimals, treat_as_bool
  { true, 0, false }, { true, 2, false }, { false, 0, true }, { false, 0, false }, { true, 0, true },
}
local VARIED = tonumber(os.getenv("EXTRACT_BENCH_VARIED") or "") or 4000
local varied, acc_cases = {}, {}
do
  local rnd = math.random -- seeded above: every run sees the same corpus
  for i = 1, VARIED do
    local parts = {}
    for k = 1, rnd(rnd(5) == 1 and 60 or 12) do parts[k] = FRAGS[rnd(#FRAGS)] end
    varied[i] = table.concat(parts)
    local pred = rnd(2) == 1 and FRAGS[rnd(#FRAGS)] .. FRAGS[rnd(#FRAGS)] or
      X.get_normalized_prediction(varied[i], true, 0, false)
    acc_cases[i] = { TARGETS[rnd(#TARGETS)], pred, INPUTS[rnd(#INPUTS)], rnd(2) == 1 }
  end
end

-- CPU time of the process (the machine may be shared). Figures are medians
-- of ROUNDS rounds; in each round both sides run back to back, so both see
-- the same load. The batch form is short, so it runs 5 times a round.
local ROUNDS = 5
local function clock(fn)
  local t0 = os.clock()
  fn()
  return os.clock() - t0
end
local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

local ref = os.getenv("OPRO_REF")
if ref == "" then ref = nil end
local py, dir
if ref then
  -- the faster interpreter where there is a choice: Debian's (built with PGO)
  py = os.getenv("OPRO_REF_PYTHON")
  if not py or py == "" then
    local f = io.open("/usr/bin/python3", "r")
    py = f and "/usr/bin/python3" or "python3"
    if f then f:close() end
  end
  local cjson = require "cjson"
  dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  local f = assert(io.open(dir .. "/corpus.json", "w"))
  f:write(cjson.encode({ responses = responses, targets = targets }))
  f:close()
  f = assert(io.open(dir .. "/varied.json", "w"))
  f:write(cjson.encode({ responses = varied, settings = SETTINGS, acc = acc_cases }))
  f:close()
  f = assert(io.open(dir .. "/driver.py", "w"))
  f:write([=[
import json, sys, time, types
ref, mode, path = sys.argv[1], sys.argv[2], sys.argv[3]
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
d = json.load(open(path))
if mode == "check":
    preds = []
    for n, dec, b in d["settings"]:
        row = []
        for r in d["responses"]:
            try:
                row.append(metrics.get_normalized_prediction(r, treat_as_number=n, num_decimals=dec, treat_as_bool=b))
            except Exception as e:
                row.append(None)
        preds.append(row)
    acc = []
    for t, p, i, inc in d["acc"]:
        try:
            acc.append(eval_utils._get_accuracy(t, p, i, inc))
        except Exception:
            acc.append(None)
    print(json.dumps({"preds": preds, "acc": acc}))
    sys.exit(0)
R, Tg = d["responses"], d["targets"]
def post(a): return a.strip(":").strip().split("\n")[0].split("Q:")[0]
t0 = time.process_time()
preds = [metrics.get_normalized_prediction(r, treat_as_number=True) for r in R]
t1 = time.process_time()
ok = [eval_utils._get_accuracy(t, post(metrics.get_normalized_prediction(r, treat_as_number=True)), "", False) for r, t in zip(R, Tg)]
t2 = time.process_time()
print(json.dumps({"t_norm": t1 - t0, "t_score": t2 - t1, "correct": sum(ok),
                  "preds": preds if mode == "preds" else None, "version": sys.version.split()[0]}))
]=])
  f:close()
end

local function run_python(mode, file)
  local q = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  local p = io.popen(string.format("%s %s/driver.py %s %s %s/%s 2>&1", q(py), dir, q(ref), mode, dir, file))
  local out = p:read("a")
  p:close()
  local ok, res = pcall(require("cjson").decode, out)
  if not ok or type(res) ~= "table" then return nil, out end
  return res
end

local t_norm, t_batch, t_single, py_norm, py_score = {}, {}, {}, {}, {}
local preds, correct, pyres, pyerr = {}, nil, nil, nil
for round = 1, ROUNDS do
  -- 1. normalization alone, one Lua call per response
  t_norm[#t_norm + 1] = clock(function()
    for i = 1, N do preds[i] = X.normalize(responses[i], { kind = "number", post = false }) end
  end)
  -- 2. whole scoring path (normalize + post + accuracy), batch in C
  for _ = 1, 5 do
    t_batch[#t_batch + 1] = clock(function()
      local _
      _, correct = X.score_all(responses, targets, { kind = "number" })
    end)
  end
  -- 3. whole scoring path, one Lua call per response
  t_single[#t_single + 1] = clock(function()
    for i = 1, N do X.score(responses[i], targets[i], { kind = "number" }) end
  end)
  -- 4. the reference on the same corpus (its own process; interpreter start not timed)
  if ref and not pyerr then
    local res, err = run_python(round == 1 and "preds" or "time", "corpus.json")
    if not res then
      pyerr = err
    else
      if round == 1 then pyres = res end
      py_norm[#py_norm + 1], py_score[#py_score + 1] = res.t_norm, res.t_score
    end
  end
end
t_norm, t_batch, t_single = median(t_norm), median(t_batch), median(t_single)
-- the same work on the first 1,000 responses (370 KB, in cache after the
-- first run), to tell the cost of the work from that of reading 7 MB
-- scattered over the heap
local small_r, small_t = table.move(responses, 1, 1000, 1, {}), table.move(targets, 1, 1000, 1, {})
local t_small = {}
for i = 1, 50 do t_small[i] = clock(function() X.score_all(small_r, small_t, { kind = "number" }) end) end
t_small = median(t_small)

print("## Answer extraction (opro.extract)")
print()
print(string.format("Corpus: %d generated GSM8K-style chain-of-thought responses, %.1f MB (mean %d bytes);", N, MB, bytes // N))
print("kind = \"number\" (the reference's treat_as_number=True). CPU time, median of " .. ROUNDS .. " rounds; in each")
print("round opro-lua (the batch form 5 times) and the reference run back to back, under the same load.")
print()
print("| implementation | what | time (s) | MB/s | items/s |")
print("|---|---|---:|---:|---:|")
local function row(impl, what, t)
  print(string.format("| %s | %s | %.4f | %.1f | %.0f |", impl, what, t, MB / t, N / t))
end
row("opro-lua (C)", "normalize, one call each", t_norm)
row("opro-lua (C)", "score_all (batch in C)", t_batch)
row("opro-lua (C)", "score, one call each", t_single)
local function ns(t, n) return t / n * 1e9 end
local score_line = string.format("score_all per response: %.0f ns over the whole corpus, %.0f ns over its first 1,000 " ..
  "(in cache).", ns(t_batch, N), ns(t_small, 1000))

if not ref then
  print()
  print(score_line)
  print("Python reference: skipped (set OPRO_REF=DIR to a checkout of google-deepmind/opro to compare).")
  print()
  return
end
if pyerr then
  os.execute("rm -rf " .. dir)
  print()
  print("Python reference: failed to run: " .. pyerr:sub(1, 300))
  print()
  return
end
local pn, ps = median(py_norm), median(py_score)
row("reference (Python " .. pyres.version .. ")", "get_normalized_prediction", pn)
row("reference (Python " .. pyres.version .. ")", "normalize + _get_accuracy", ps)
local same = 0
for i = 1, N do if pyres.preds[i] == preds[i] then same = same + 1 end end
print()
print(string.format("Speed-up: scoring %.0fx (score_all, batch) / %.0fx (score, one call each); normalize %.0fx", ps / t_batch,
  ps / t_single, pn / t_norm))
print(string.format("(one call each). Target >= 100x. Reference interpreter: %s.", py))
print(score_line)
print(string.format("Same predictions as the reference: %d of %d; correct answers: %d (C) vs %d (Python).",
  same, N, correct, pyres.correct))

-- the differential check on the varied corpus
local chk, err = run_python("check", "varied.json")
os.execute("rm -rf " .. dir)
if not chk then
  print("Differential check: the reference failed: " .. err:sub(1, 300))
  print()
  return
end
local n_pred, same_pred, diffs = 0, 0, {}
for s, st in ipairs(SETTINGS) do
  for i = 1, VARIED do
    local mine = X.get_normalized_prediction(varied[i], st[1], st[2], st[3])
    local theirs = chk.preds[s][i]
    n_pred = n_pred + 1
    if mine == theirs then
      same_pred = same_pred + 1
    elseif #diffs < 5 then
      diffs[#diffs + 1] = string.format("  normalize(%q, %s): %q here, %q in the reference", varied[i],
        table.concat({ tostring(st[1]), st[2], tostring(st[3]) }, ", "), mine, tostring(theirs))
    end
  end
end
local same_acc, raised = 0, 0
for i, c in ipairs(acc_cases) do
  local mine, theirs = X.accuracy(c[1], c[2], c[3], c[4]), chk.acc[i]
  if theirs == require("cjson").null then -- the reference raised (IndexError): we answer 0
    raised = raised + 1
    theirs = 0
  end
  if mine == theirs then
    same_acc = same_acc + 1
  elseif #diffs < 10 then
    diffs[#diffs + 1] = string.format("  _get_accuracy(%q, %q, %q, %s): %d here, %d in the reference", c[1], c[2], c[3],
      tostring(c[4]), mine, theirs)
  end
end
print(string.format("Differential check on %d varied responses (every marker, several languages, Unicode, booleans,",
  VARIED))
print(string.format("brackets) x %d settings: %d of %d predictions identical; _get_accuracy: %d of %d verdicts identical",
  #SETTINGS, same_pred, n_pred, same_acc, #acc_cases))
print(string.format("(%d where the reference raises and opro-lua answers 0).", raised))
for _, d in ipairs(diffs) do print(d) end
print()
