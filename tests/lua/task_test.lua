-- opro.task: the objectives (instruction, linear regression, TSP, shell,
-- continuous) against fakes and small fixtures.
local T = require "testlib"
local cjson = require "cjson"
local instruction = require "opro.task.instruction"
local FIX = T.root .. "/tests/fixtures"

-- A fake scorer: answers from a table keyed by the question found in the
-- prompt; records prompts and the largest number of calls in flight.
local function fake_scorer(answers, opts)
  opts = opts or {}
  local s = { prompts = {}, inflight = 0, peak = 0 }
  function s:chat(prompt, _)
    self.prompts[#self.prompts + 1] = prompt
    self.inflight = self.inflight + 1
    if self.inflight > self.peak then self.peak = self.inflight end
    if opts.delay then opro.sleep(opts.delay) end
    self.inflight = self.inflight - 1
    if opts.fail and prompt:find(opts.fail, 1, true) then return nil, "server error", "http_500" end
    for q, a in pairs(answers) do
      if prompt:find(q, 1, true) then return a, { usage = { input_tokens = 1, output_tokens = 1 } } end
    end
    return "I do not know", {}
  end
  return s
end

local function fake_run()
  local r = { evals = {} }
  function r:record_evaluation(e) self.evals[#self.evals + 1] = e end
  return r
end

local Q, I = "What is 2 + 2?", "Let's think step by step."

T.test("instruction prompts: the reference's gen_prompt for every position, with Q:/A:", function()
  T.eq(instruction.prompt(Q, I, "before_Q", true), "Let's think step by step.\nQ: What is 2 + 2?\n\nA:")
  T.eq(instruction.prompt(Q, I, "Q_begin", true), "Q: Let's think step by step.\nWhat is 2 + 2?\n\nA:")
  T.eq(instruction.prompt(Q, I, "Q_end", true), "Q: What is 2 + 2?\nLet's think step by step.\n\nA:")
  T.eq(instruction.prompt(Q, I, "A_begin", true), "Q: What is 2 + 2?\n\nA: Let's think step by step.")
  for _, pos in ipairs { "before_Q", "Q_begin", "Q_end", "A_begin" } do
    T.eq(instruction.prompt(Q, "", pos, true), "Q: What is 2 + 2?\n\nA:", "empty instruction at " .. pos)
  end
end)

T.test("instruction prompts without Q:/A: (the reference's scorer setting): Q_begin and Q_end only", function()
  T.eq(instruction.prompt(Q, I, "Q_begin", false), "Let's think step by step.\nWhat is 2 + 2?")
  T.eq(instruction.prompt(Q, I, "Q_end", false), "What is 2 + 2?\nLet's think step by step.")
  T.eq(instruction.prompt(Q, "", "Q_begin", false), Q)
  T.eq(instruction.prompt(Q, "", "Q_end", false), Q)
  -- defaults: no Q:/A: for Q_begin/Q_end; A_begin and before_Q need the frame
  T.eq(instruction.prompt(Q, I, "Q_begin"), "Let's think step by step.\nWhat is 2 + 2?")
  T.eq(instruction.prompt(Q, I, "A_begin"), "Q: What is 2 + 2?\n\nA: Let's think step by step.")
  T.raises(function() instruction.prompt(Q, I, "A_begin", false) end, "needs include_qa")
  T.raises(function() instruction.prompt(Q, I, "Q_middle") end, "position must be one of")
end)

T.test("instruction prompts on loaded MMLU/BBH items use their input as the question", function()
  local D = opro.dataset
  local mmlu = D.load("mmlu:tiny", { data_dir = FIX .. "/datasets/ref" })
  local task = opro.task.instruction{ scorer = fake_scorer{}, train = mmlu, position = "Q_begin" }
  T.eq(task:prompt("Choose wisely.", mmlu[1]),
    "Choose wisely.\nWhat is 1 + 1?\n(A) 1\n(B) 2\n(C) 3\n(D) 4\nWhat's the answer in (A) (B) (C) (D)?")
  local bbh = D.load("bbh:navigate", { data_dir = FIX .. "/datasets/ref" })
  task = opro.task.instruction{ scorer = fake_scorer{}, train = bbh, position = "A_begin" }
  T.eq(task:prompt("Let's go.", bbh[2]), "Q: " .. bbh[2].input .. "\n\nA: Let's go.")
  T.eq(task.include_qa, true)
end)

local function gsm_items()
  local items = {}
  for i = 1, 10 do
    items[i] = { input = string.format("Question %d: what is %d + %d?", i, i, i), target = tostring(2 * i),
                 kind = "number", index = i - 1, dataset = "gsm8k" }
  end
  return items
end

T.test("score = fraction of train items answered correctly; all items at once; evaluations recorded", function()
  local items = gsm_items()
  local answers = {}
  for i = 1, 10 do
    -- items 3 and 7 are answered wrongly
    answers[string.format("Question %d:", i)] = string.format("so the answer is %d.", (i == 3 or i == 7) and 0 or 2 * i)
  end
  local scorer = fake_scorer(answers, { delay = 0.05 })
  local task = opro.task.instruction{ scorer = scorer, train = items, test = { items[1], items[3] }, dataset = "gsm8k" }
  T.eq(task.kind, "instruction")
  T.eq(task.better, "higher")
  T.eq(task.initial, { "Let's solve the problem." })
  local run = fake_run()
  local t0 = opro.now()
  local score, details = task:score("Solve it.", { rep = 1, step = 2, run = run, key = "k1" })
  local dt = opro.now() - t0
  T.near(score, 0.8, 1e-12)
  T.eq(details.correct, 8)
  T.eq(details.total, 10)
  T.eq(details.wrong, { 2, 6 })
  T.eq(scorer.peak, 10, "all items in flight together")
  T.ok(dt < 0.5, string.format("10 x 50 ms took %.2f s", dt))
  T.eq(#run.evals, 10)
  local e = run.evals[3]
  T.eq(e.rep, 1)
  T.eq(e.key, "k1")
  T.eq(e.split, "train")
  T.eq(e.index, 2)
  T.eq(e.input, "Solve it.\nQuestion 3: what is 3 + 3?")
  T.eq(e.target, "6")
  T.eq(e.correct, false)
  T.eq(e.response, "so the answer is 0.")
  T.eq(scorer.prompts[1]:sub(1, 10), "Solve it.\n")
  local ts, td = task:evaluate("Solve it.", { rep = 1, run = run })
  T.near(ts, 0.5, 1e-12)
  T.eq(td.split, "test")
  T.eq(run.evals[#run.evals].split, "test")
end)

T.test("answers are checked by the item's kind (choice: the prompt's options; boolean)", function()
  local D = opro.dataset
  local mmlu = D.load("mmlu:tiny", { data_dir = FIX .. "/datasets/ref" })
  local task = opro.task.instruction{ train = mmlu, scorer = fake_scorer{
    ["What is 1 + 1?"] = "(B)", ["really"] = "7", ["Pick the statement"] = "(A)" } }
  local s, d = task:score("Answer.")
  T.near(s, 2 / 3, 1e-12)
  T.eq(d.wrong, { 2 })
  local nav = D.load("bbh:navigate", { data_dir = FIX .. "/datasets/ref" })
  local t2 = opro.task.instruction{ train = nav, scorer = fake_scorer{
    ["Take 1 step. Take 1 step back."] = "yes", ["Take 2 steps."] = "Yes", ["Turn left."] = "no" } }
  local s2, d2 = t2:score("Answer.")
  T.near(s2, 1 / 3, 1e-12)
  T.eq(d2.wrong, { 1, 2 })
end)

T.test("concurrency caps the items in flight; a failed call fails the score with its code", function()
  local items = gsm_items()
  local scorer = fake_scorer({}, { delay = 0.01 })
  local task = opro.task.instruction{ scorer = scorer, train = items, concurrency = 3 }
  local s = task:score("x")
  T.eq(s, 0)
  T.eq(scorer.peak, 3)
  local bad = opro.task.instruction{ scorer = fake_scorer({}, { fail = "Question 4:" }), train = items }
  local r, msg, code = bad:score("x")
  T.eq(r, nil)
  T.eq(code, "http_500")
  T.contains(msg, "item 4 of 10")
end)

T.test("check= and extract= replace the answer checking", function()
  local items = gsm_items()
  local task = opro.task.instruction{ scorer = fake_scorer({ ["Question 1:"] = "two" }), train = items,
    check = function(response, item) return response == "two" and item.target == "2", response end }
  T.near(task:score("x"), 0.1, 1e-12)
  local t2 = opro.task.instruction{ scorer = fake_scorer({ ["Question 2:"] = "ANSWER=4" }), train = items,
    extract = function(response) return response:match("ANSWER=(%d+)") end }
  T.near(t2:score("x"), 0.1, 1e-12)
end)

T.test("the reference's filters on generated instructions (validate)", function()
  local task = opro.task.instruction{ scorer = fake_scorer{}, train = gsm_items(), dataset = "gsm8k" }
  T.eq(task:validate("Think carefully."), true)
  T.eq(select(2, task:validate("Use 3 steps.")), "contains numbers")
  T.eq(select(2, task:validate("<INS> go")), "contains 'INS'")
  T.eq(select(2, task:validate(string.rep("a", 501))), "too long")
  local bbh = opro.task.instruction{ scorer = fake_scorer{}, train = gsm_items(), dataset = "bbh" }
  T.eq(bbh:validate("Use 3 steps."), true)
  T.eq(task:key("Think."), "Think.")
  T.raises(function() opro.task.instruction{ scorer = fake_scorer{}, train = {} } end, "train")
  T.raises(function() opro.task.instruction{ scorer = fake_scorer{}, train = gsm_items(), position = "A_begin",
    include_qa = false } end, "needs include_qa")
  T.raises(function() opro.task.instruction{ scorer = 3, train = gsm_items() } end, "scorer must be")
end)

T.test("the task's template gets position, dataset and the reference's random exemplars", function()
  local seen
  package.loaded["opro.template"] = { instruction = function(history, o) seen = o return "META" end,
    linear_regression = function(_, o) seen = o return "LR" end, tsp = function(_, o) seen = o return "TSP" end }
  T.cleanup(function() package.loaded["opro.template"] = nil end)
  local items = gsm_items()
  local task = opro.task.instruction{ scorer = fake_scorer{}, train = items, dataset = "gsm8k", position = "A_begin" }
  T.eq(task.template({}, { step = 1 }), "META")
  T.eq(seen.position, "A_begin")
  T.eq(seen.include_qa, true)
  T.eq(seen.dataset, "gsm8k")
  -- np.random.seed(0); np.sort(np.random.choice(10 indices, 3)) -> positions 2, 4, 8
  T.eq(#seen.exemplars, 3)
  T.eq({ seen.exemplars[1].index, seen.exemplars[2].index, seen.exemplars[3].index }, { 2, 4, 8 })
  T.eq(seen.exemplars[1].input, items[3].input)
  T.eq(seen.exemplars[1].target, "6")
  task.template({}, { step = 2 })
  T.ne({ seen.exemplars[1].index, seen.exemplars[2].index, seen.exemplars[3].index }, { 2, 4, 8 }, "another step, other exemplars")
  -- "wrong": the items the history's instructions get wrong most often
  local wtask = opro.task.instruction{ scorer = fake_scorer{}, train = items, exemplars = "wrong" }
  wtask.template({ { solution = "a", score = 0.5, details = { wrong = { 5, 1 } } },
                   { solution = "b", score = 0.6, details = { wrong = { 5, 7 } } } }, { step = 1 })
  T.eq({ seen.exemplars[1].index, seen.exemplars[2].index, seen.exemplars[3].index }, { 1, 5, 7 })
  -- the user's options win
  task.template({}, { step = 1, position = "Q_end", exemplars = {} })
  T.eq(seen.position, "Q_end")
  T.eq(seen.exemplars, {})
  -- a shell objective: no exemplars, raw scores (no buckets)
  local sh = opro.task.shell{ command = "true", initial = "x" }
  T.eq(sh.template({}, { step = 1 }), "META")
  T.eq(seen.exemplars, {})
  T.eq(seen.num_score_buckets, "none")
  -- TSP and linear regression templates get the instance
  local tsp = opro.task.tsp{ instance = { coords = { { 0, 0 }, { 1, 1 }, { 2, 0 } } } }
  T.eq(tsp.template({}, {}), "TSP")
  T.eq(seen.coords, tsp.coords)
  T.eq(seen.num_decimals, 0)
end)

-- ------------------------------------------------------------ linear regression
T.test("linear regression: reference data (X = 1..50, numpy seed = rep + 1), loss, found", function()
  local lr = opro.task.linear_regression{ seed = 1 }
  T.eq(lr.kind, "linear_regression")
  T.eq(lr.better, "lower")
  T.eq(#lr.X, 50)
  T.eq(lr.X[1], 1.0)
  T.eq(lr.X[50], 50.0)
  -- np.random.seed(1); np.random.randn() == 1.6243453636632417, then -0.6117564136500754
  T.near(lr.y[1], 15 * 1 + 14 + 1.6243453636632417, 1e-12)
  T.near(lr.y[2], 15 * 2 + 14 - 0.6117564136500754, 1e-12)
  -- 5 integer starting pairs from uniform(10, 20) with seeds 10 and 100, deduplicated, sorted
  T.ok(#lr.initial >= 1 and #lr.initial <= 5)
  for _, p in ipairs(lr.initial) do
    T.ok(math.type(p.w) == "integer" and p.w >= 10 and p.w <= 20)
    T.ok(math.type(p.b) == "integer" and p.b >= 10 and p.b <= 20)
  end
  -- np.random.seed(10): first uniform sample 0.771320643266746 -> w 17.71 -> 18
  T.eq(require("opro.dataset.rng").numpy(10):random_sample() > 0.7713, true)
  -- np.random.seed(10).uniform(10, 20, 5) = 17.71 10.21 16.34 17.49 14.99 and
  -- np.random.seed(100).uniform(10, 20, 5) = 15.43 12.78 14.25 18.45 10.05, rounded, sorted
  T.eq(lr.initial, { { w = 10, b = 13 }, { w = 15, b = 10 }, { w = 16, b = 14 }, { w = 17, b = 18 }, { w = 18, b = 15 } })
  -- the loss at the true pair is the noise's sum of squares
  local noise = 0
  for i = 1, 50 do noise = noise + (lr.y[i] - (15 * lr.X[i] + 14)) ^ 2 end
  local s, d = lr:score({ w = 15, b = 14 })
  T.near(s, noise, 1e-9)
  T.eq(d.found, true)
  T.eq(lr:found({ w = 15, b = 14 }), true)
  T.eq(lr:found({ w = 15.4, b = 13.6 }), true, "rounded before the test, as the reference")
  T.eq(lr:found({ w = 16, b = 14 }), false)
  T.ok(lr:score({ w = 16, b = 14 }) > s)
  T.eq(lr:key({ w = 14.5, b = 15.5 }), "14,16", "numpy rounds half to even")
  T.eq(lr:format({ 3, 4 }), "w=3, b=4")
  T.eq(lr:validate({ w = "x", b = 1 }), false)
  local r, _, code = lr:score({ w = 0 / 0, b = 1 })
  T.eq(r, nil)
  T.eq(code, "parse")
  -- another seed, other data; the same seed, the same data
  T.ne(opro.task.linear_regression{ seed = 2 }.y[1], lr.y[1])
  T.eq(opro.task.linear_regression{ seed = 1 }.y, lr.y)
end)

T.test("linear regression: replay an instance from JSON", function()
  local inst = cjson.decode(T.read(FIX .. "/tasks/lr_instance.json"))
  local lr = opro.task.linear_regression{ instance = inst }
  T.eq(lr.initial, { { w = 0, b = 0 }, { w = 3, b = 3 } })
  T.eq(lr:score({ w = 2, b = 1 }), 0.0)
  T.near(lr:score({ w = 0, b = 0 }), 9 + 25 + 49 + 81, 1e-9)
  T.eq(lr:found({ w = 2, b = 1 }), true)
  T.raises(function() opro.task.linear_regression{ instance = { X = { 1, 2 }, y = { 1 } } } end, "instance.X has 2 values")
  T.raises(function() opro.task.linear_regression{ instance = { X = { 1 }, y = { "a" } } } end, "instance.y[1]")
end)

-- ------------------------------------------------------------ TSP
local function brute_force(coords)
  local n = #coords
  local best = math.huge
  local function d(a, b)
    local p, q = coords[a + 1], coords[b + 1]
    return math.sqrt((p[1] - q[1]) ^ 2 + (p[2] - q[2]) ^ 2)
  end
  local used, tour = { [0] = true }, { 0 }
  local function rec(len)
    if #tour == n then
      best = math.min(best, len + d(tour[n], 0))
      return
    end
    for v = 1, n - 1 do
      if not used[v] then
        used[v] = true
        tour[#tour + 1] = v
        rec(len + d(tour[#tour - 1], v))
        tour[#tour] = nil
        used[v] = false
      end
    end
  end
  rec(0)
  return best
end

T.test("tsp: score = tour length (int as the reference), invalid tours rejected, gaps in details", function()
  local inst = cjson.decode(T.read(FIX .. "/tasks/tsp_square.json"))
  local tsp = opro.task.tsp{ instance = inst }
  T.eq(tsp.kind, "tsp")
  T.eq(tsp.better, "lower")
  T.eq(tsp.initial, { { 0, 2, 1, 3 } })
  T.near(tsp.optimal_length, 40, 1e-9)
  local s, d = tsp:score({ 0, 1, 2, 3 })
  T.eq(s, 40)
  T.near(d.gap, 0, 1e-9)
  s, d = tsp:score({ 0, 2, 1, 3 })
  local len = 20 + 20 * math.sqrt(2)
  T.eq(s, 48, "int(48.28...)")
  T.near(d.length, len, 1e-9)
  T.near(d.gap, (len - 40) / 40 * 100, 1e-9)
  T.ok(d.gap_nn ~= nil and d.gap_fi ~= nil)
  T.eq(tsp:found({ 0, 1, 2, 3 }), true)
  T.eq(tsp:found({ 0, 2, 1, 3 }), false)
  T.eq(tsp:key({ 0, 3, 2, 1 }), "0,3,2,1")
  for _, bad in ipairs { { 0, 1, 2 }, { 1, 0, 2, 3 }, { 0, 1, 1, 3 }, { 0, 1, 2, 4 }, { 0, 1, 2, 2.5 } } do
    local r, msg, code = tsp:score(bad)
    T.eq(r, nil, "rejected: " .. table.concat(bad, ","))
    T.eq(code, "parse")
    T.contains(msg, "invalid tour")
    T.eq(tsp:validate(bad), false)
  end
  T.raises(function() opro.task.tsp{ instance = { coords = { { 0, 0 }, { 1, 1 } }, init = { { 0, 0 } } } } end, "init[1]")
end)

T.test("tsp: generated instances (numpy seed), exact optimum vs brute force, baselines >= optimum", function()
  local tsp = opro.task.tsp{ n = 8, seed = 3 }
  T.eq(#tsp.coords, 8)
  for _, c in ipairs(tsp.coords) do
    T.ok(math.type(c[1]) == "integer" and c[1] >= -100 and c[1] < 100)
    T.ok(math.type(c[2]) == "integer" and c[2] >= -100 and c[2] < 100)
  end
  T.eq(#tsp.initial, 5)
  for _, tour in ipairs(tsp.initial) do T.eq(tsp:validate(tour), true) end
  T.eq(opro.task.tsp{ n = 8, seed = 3 }.coords, tsp.coords, "deterministic")
  T.ne(opro.task.tsp{ n = 8, seed = 4 }.coords, tsp.coords)
  local np = opro.task.tsp{ n = 6, seed = 3, generator = "numpy" }
  T.eq(np.coords, opro.task.tsp{ n = 6, seed = 3, generator = "numpy" }.coords)
  for _, tour in ipairs(np.initial) do T.eq(np:validate(tour), true) end
  T.near(np.optimal_length, brute_force(np.coords), 1e-9)
  T.near(tsp.optimal_length, brute_force(tsp.coords), 1e-9)
  T.near(select(2, tsp:score(tsp.optimal_tour)).length, tsp.optimal_length, 1e-9)
  T.ok(tsp.nn_length >= tsp.optimal_length - 1e-9)
  T.ok(tsp.fi_length >= tsp.optimal_length - 1e-9)
  T.eq(tsp:validate(tsp.nn_tour), true)
  T.eq(tsp:validate(tsp.fi_tour), true)
end)

-- ------------------------------------------------------------ shell
T.test("shell: the last number the command prints for the candidate file is the score", function()
  local task = opro.task.shell{ command = FIX .. "/tasks/eval.sh {file}", initial = "one two three", timeout = 5 }
  T.eq(task.kind, "shell")
  T.eq(task.initial, { "one two three" })
  local s, d = task:score("a b c d e")
  T.eq(s, 5)
  T.contains(d.stdout, "running 3 checks")
  T.eq(d.status, 0)
  -- it's a shell command line: {file} may appear anywhere, or be appended
  local t2 = opro.task.shell{ command = "cat {file} | wc -c", initial = { "x" } }
  T.eq(t2:score("hello"), 5)
  local t3 = opro.task.shell{ command = "wc -w <", initial = { "x" } }
  T.eq(t3:score("a b"), 2)
end)

T.test("shell: clear failures for a failing command, no number, a timeout", function()
  local task = opro.task.shell{ command = FIX .. "/tasks/eval.sh {file}", initial = "x", timeout = 5 }
  local r, msg, code = task:score("this will FAIL")
  T.eq(r, nil)
  T.eq(code, "command")
  T.contains(msg, "exited with status 2")
  T.contains(msg, "harness error")
  r, msg, code = task:score("SILENT please")
  T.eq(code, "parse")
  T.contains(msg, "printed no number")
  local slow = opro.task.shell{ command = "sleep 5; echo 1", initial = "x", timeout = 0.2 }
  r, msg, code = slow:score("y")
  T.eq(code, "timeout")
  T.contains(msg, "timed out")
  T.raises(function() opro.task.shell{ initial = "x" } end, "command")
  T.eq(opro.task.shell{ command = "true" }.initial, {}, "no initial: the history gives the start")
end)

T.test("shell: candidates score concurrently; the temp files are removed", function()
  local task = opro.task.shell{ command = FIX .. "/tasks/eval.sh {file}; echo {file} >&2", initial = "x" }
  local cands = {}
  for i = 1, 8 do cands[i] = "SLOW " .. string.rep("w ", i) end
  local t0 = opro.now()
  local out = opro.map(cands, function(c) return { task:score(c) } end)
  local dt = opro.now() - t0
  for i = 1, 8 do T.eq(out[i][1], i + 1) end
  T.ok(dt < 2.4, string.format("8 x 0.3 s took %.2f s", dt))
  local path = out[1][2].stderr:match("(%S+)\n?$")
  T.ok(path and not io.open(path, "r"), "temp file removed: " .. tostring(path))
end)

T.test("last_number parsing", function()
  local ln = require("opro.task.shell").last_number
  T.eq(ln("score: 0.75\n"), 0.75)
  T.eq(ln("3 of 4 passed\naccuracy=75%"), 75)
  T.eq(ln("loss -1.5e-3."), -1.5e-3)
  T.eq(ln("v1.2 build ok"), nil)
  T.eq(ln("nothing"), nil)
  T.eq(ln("12 then 0x10"), 12)
end)

-- ------------------------------------------------------------ continuous
T.test("continuous: the feedback log is the initial history (step -1), aggregated per prompt", function()
  local task = opro.task.continuous{ log = FIX .. "/tasks/feedback.jsonl" }
  T.eq(#task.history, 3)
  T.eq(task.history[1].solution, "Answer briefly.")
  T.near(task.history[1].score, 0.6, 1e-12)
  T.eq(task.history[1].step, -1)
  T.eq(task.history[1].details.feedback, 2)
  T.eq(task.history[3].solution, "Be precise.")
  T.eq(task.initial, {})
  T.eq(task.better, "higher")
  T.eq(select(1, task:best_logged()), "Be precise.")
  local r, _, code = task:score("new prompt")
  T.eq(r, nil)
  T.eq(code, "unscored")
  local maxed = opro.task.continuous{ log = FIX .. "/tasks/feedback.jsonl", aggregate = "max" }
  T.near(maxed.history[1].score, 0.7, 1e-12)
end)

T.test("continuous: new prompts scored by an objective; bad logs name file and line", function()
  local obj = opro.task.shell{ command = "wc -w <", initial = "x" }
  local task = opro.task.continuous{ log = FIX .. "/tasks/feedback.jsonl", objective = obj }
  T.eq(task.kind, "shell")
  T.eq(task:score("a b c"), 3)
  T.eq(task:key("k"), "k")
  local fn = opro.task.continuous{ log = FIX .. "/tasks/feedback.jsonl", score = function(s) return #s end }
  T.eq(fn:score("abcd"), 4)
  T.raises(function() opro.task.continuous{ log = FIX .. "/tasks/feedback_bad.jsonl" } end, "feedback_bad.jsonl:2: bad JSON")
  T.raises(function() opro.task.continuous{ log = FIX .. "/tasks/feedback_noscore.jsonl" } end,
    "feedback_noscore.jsonl:2: field 'score'")
  T.raises(function() opro.task.continuous{ log = FIX .. "/tasks/none.jsonl" } end, "cannot open")
  T.raises(function() opro.task.continuous{} end, "log")
end)

T.done()
