-- The examples against opro-sim: the demo run climbs, linear regression
-- finds (15, 14) in all 5 reps, TSP reports gaps for n = 10 with the exact
-- optimum, claude_md.lua runs its shell objective, evaluate.lua writes one
-- line per item.
local T = require "testlib"
local cjson = require "cjson"

local sim_bin = T.sim   -- $OPRO_SIM, else bin/opro-sim
if not io.open(sim_bin, "r") then
  T.skip("examples against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local dir = T.tmpdir()
local function start_sim(args)
  local pf = dir .. "/port" .. math.random(1e9)
  os.execute(string.format("%s --port-file %s --quiet %s >%s.log 2>&1 & echo $! > %s.pid",
    T.shquote(sim_bin), pf, args or "", pf, pf))
  local pid = T.read(pf .. ".pid"):match("%d+")
  T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
  for _ = 1, 200 do
    local port = T.read(pf)
    if port and port:match("%d+") then return "http://127.0.0.1:" .. port:match("%d+") .. "/v1", pid end
    opro.sleep(0.025)
  end
  error("opro-sim did not start: " .. (T.read(pf .. ".log") or ""))
end

local base = start_sim("--seed 1")

-- runs an example with --json; returns the decoded summary, stdout, stderr
local function example(name, args)
  local rc, out, err = T.run(string.format("%s/examples/%s --base-url %s --model sim-1 --json --quiet %s",
    T.root, name, base, args or ""))
  if rc ~= 0 then error(string.format("%s exited %d\nstdout: %s\nstderr: %s", name, rc, out, err), 2) end
  local line = out:match("([^\n]+)\n*$") or ""
  local ok, v = pcall(cjson.decode, line)
  if not ok then error(name .. " did not print a JSON summary: " .. out .. "\n" .. err, 2) end
  -- the --json summary: per rep steps, found, best, unique, calls, tokens;
  -- totals; wall time
  local function count(x) return type(x) == "number" and x >= 0 and x == math.floor(x) end
  T.ok(type(v.reps) == "table" and #v.reps >= 1, name .. ": reps")
  for _, r in ipairs(v.reps) do
    for _, f in ipairs { "steps", "unique", "calls", "tokens" } do
      T.ok(count(r[f]), name .. ": reps[].".. f .. " = " .. tostring(r[f]))
    end
    T.ok(type(r.found) == "boolean", name .. ": reps[].found")
    T.ok(type(r.best) == "table" and r.best.score ~= nil and r.best.solution ~= nil, name .. ": reps[].best")
  end
  T.ok(type(v.totals) == "table" and count(v.totals.calls) and count(v.totals.tokens),
    name .. ": totals")
  T.ok(type(v.wall) == "number" and v.wall > 0, name .. ": wall")
  return v, out, err
end

-- a small data directory in the reference layout, made of problems the
-- simulator can solve: GSM8K train (200) and test (30) files and one BBH task
-- (50 examples)
local data = dir .. "/data"
do
  local problems = require "opro.sim.problems"
  os.execute("mkdir -p " .. data .. "/gsm_data " .. data .. "/BIG-Bench-Hard-data " .. data .. "/MultiArith-data")
  local function tsv(path, items)
    local lines = {}
    for i, it in ipairs(items) do lines[i] = it.input .. "\t" .. it.target end
    T.write(path, table.concat(lines, "\n") .. "\n")
  end
  local all = problems.generate(230, 4)
  tsv(data .. "/gsm_data/gsm_train.tsv", { table.unpack(all, 1, 200) })
  tsv(data .. "/gsm_data/gsm_test.tsv", { table.unpack(all, 201, 230) })
  local ex = {}
  for i, it in ipairs(problems.generate(50, 9)) do ex[i] = { input = it.input, target = it.target } end
  T.write(data .. "/BIG-Bench-Hard-data/multistep_arithmetic_two.json", cjson.encode{ examples = ex })
  local ma = {}
  for i, it in ipairs(problems.generate(5, 3)) do ma[i] = { sQuestion = it.input, lSolutions = { tonumber(it.target) } } end
  T.write(data .. "/MultiArith-data/MultiArith.json", cjson.encode(ma))
end

-- {split = {distinct candidates, rows, distinct items}} from a run database
local function evaluations(db)
  local st = assert(opro.store.open(db))
  local rows = st:_rows("SELECT split, count(DISTINCT key) AS k, count(*) AS n, count(DISTINCT idx) AS items FROM evaluations GROUP BY split")
  st:close()
  local by = {}
  for _, r in ipairs(rows) do by[r.split] = { keys = r.k, rows = r.n, items = r.items } end
  return by
end

T.test("the demo run (gsm8k.lua --demo) improves its best training score over 10 steps", function()
  local s = example("gsm8k.lua", "--demo --steps 10 --seed 1 --evaluate-top 1")
  local r = s.reps[1]
  T.eq(r.steps, 10)
  T.eq(#r.curve, 11, "best-so-far at steps 0..10")
  T.ok(r.curve[11] > r.curve[1], string.format("best went from %s to %s", r.curve[1], r.curve[11]))
  T.ok(r.unique > 10, "explored " .. r.unique .. " instructions")
  T.ok(s.totals.calls > 80 and s.totals.tokens > 0)
end)

T.test("gsm8k.lua --data-dir: trains on 3.5% of the train split, evaluates the top instructions on the test split", function()
  local db = dir .. "/gsm8k.db"
  local s = example("gsm8k.lua", "--data-dir " .. data .. " --steps 3 --seed 2 --evaluate-top 2 --db " .. db)
  T.eq(s.reps[1].steps, 3)
  local ev = evaluations(db)
  T.eq(ev.train.items, 7, "int(0.035 x 200) training problems")
  T.eq(ev.train.rows, 7 * ev.train.keys, "every candidate scored on the same 7")
  T.eq(ev.test.keys, 2, "the top 2 instructions evaluated")
  T.eq(ev.test.items, 30, "on the whole test file")
  T.eq(#s.evaluations, 2)
  for _, e in ipairs(s.evaluations) do T.ok(e.test >= 0 and e.test <= 1 and e.train ~= nil) end
end)

T.test("bbh.lua --data-dir: trains on 20% of the task, evaluates on the other 80%", function()
  local db = dir .. "/bbh.db"
  local s = example("bbh.lua", "--task multistep_arithmetic_two --data-dir " .. data ..
    " --steps 2 --seed 1 --evaluate-top 1 --db " .. db)
  T.eq(s.reps[1].steps, 2)
  local ev = evaluations(db)
  T.eq(ev.train.items, 10)
  T.eq(ev.test.items, 40)
  T.eq(ev.test.keys, 1)
  T.eq(#s.evaluations, 1)
end)

T.test("linear_regression.lua finds (15, 14) in all 5 reps", function()
  local s = example("linear_regression.lua", "--reps 5 --steps 100 --seed 0")
  T.eq(#s.reps, 5)
  for _, r in ipairs(s.reps) do
    T.eq(r.found, true, "rep " .. r.rep .. " after " .. r.steps .. " steps")
    T.eq(r.best.solution.w, 15)
    T.eq(r.best.solution.b, 14)
  end
  T.eq(s.found_reps, 5)
end)

T.test("tsp.lua reports gaps for n = 10 against the exact optimum", function()
  local s = example("tsp.lua", "--nodes 10 --steps 15 --reps 2 --seed 3")
  T.eq(#s.gaps, 2)
  for i, g in ipairs(s.gaps) do
    T.ok(type(g.optimum) == "number" and g.optimum > 0, "rep " .. i .. " has the exact optimum")
    local gap = g.optimal
    T.ok(type(gap) == "number" and gap >= 0, "rep " .. i .. " gap to the optimum")
    -- the gap is the best length against the optimum
    T.near(gap, 100 * (g.best_length - g.optimum) / g.optimum, 1e-6)
    T.ok(g.best_length >= g.optimum - 1e-9, "no tour beats the optimum")
    T.ok(g.nearest_neighbor ~= nil and g.farthest_insertion ~= nil)
  end
end)

T.test("--instance replays exact instances (linear regression, TSP); a bad instance file is named", function()
  -- linear regression: the reference's data shape, 3 starting pairs of our own
  local X, y = {}, {}
  for i = 1, 50 do X[i] = i; y[i] = 15 * i + 14 + ((i * 7919) % 11 - 5) / 10 end
  local lr = T.write(dir .. "/lr.json", cjson.encode{
    { X = X, y = y, w_true = 15, b_true = 14, init = { { 12, 10 }, { 18, 20 }, { 11, 17 } } } })
  local db = dir .. "/lr_instance.db"
  local s = example("linear_regression.lua", "--reps 2 --steps 60 --instance " .. lr .. " --db " .. db)
  T.eq(s.found_reps, 2)
  local st = assert(opro.store.open(db))
  local run = assert(st:last("linear_regression"))
  for rep = 1, 2 do
    local init = {}
    for _, e in ipairs(run:candidates{ rep = rep, step = 0 }) do init[#init + 1] = string.format("%d,%d", e.solution.w, e.solution.b) end
    table.sort(init)
    T.eq(init, { "11,17", "12,10", "18,20" }, "rep " .. rep .. " starts from the file's pairs")
  end
  st:close()
  -- TSP: 7 nodes, two starting tours; the optimum is checked by brute force
  local coords = { { 0, 0 }, { 40, 5 }, { 80, -10 }, { 70, 60 }, { 20, 70 }, { -30, 40 }, { -50, -20 } }
  local tsp = T.write(dir .. "/tsp.json", cjson.encode{ { coords = coords, init = { { 0, 3, 1, 5, 2, 6, 4 }, { 0, 6, 5, 4, 3, 2, 1 } } } })
  db = dir .. "/tsp_instance.db"
  s = example("tsp.lua", "--steps 4 --instance " .. tsp .. " --db " .. db)
  local function len(t)
    local d = 0
    for i = 1, #t do
      local a, b = coords[t[i] + 1], coords[t[i % #t + 1] + 1]
      d = d + math.sqrt((a[1] - b[1]) ^ 2 + (a[2] - b[2]) ^ 2)
    end
    return d
  end
  local best = math.huge
  local function perm(t, k)
    if k > #t then best = math.min(best, len(t)); return end
    for i = k, #t do
      t[k], t[i] = t[i], t[k]; perm(t, k + 1); t[k], t[i] = t[i], t[k]
    end
  end
  perm({ 0, 1, 2, 3, 4, 5, 6 }, 2)
  T.near(s.gaps[1].optimum, best, 1e-6)
  st = assert(opro.store.open(db))
  run = assert(st:last("tsp"))
  local init = {}
  for _, e in ipairs(run:candidates{ step = 0 }) do init[#init + 1] = table.concat(e.solution, ",") end
  table.sort(init)
  T.eq(init, { "0,3,1,5,2,6,4", "0,6,5,4,3,2,1" })
  st:close()
  -- the HTML reports of these real runs know the direction and the instance
  -- (recorded by the loop: run:record_task), not only synthetic configs
  local function html(path)
    local out = path .. ".html"
    local rc, _, err = T.run("report " .. T.shquote(path) .. " -o " .. T.shquote(out))
    T.eq(rc, 0, err)
    return T.read(out)
  end
  local page = html(dir .. "/lr_instance.db")
  T.contains(page, "best so far (lower is better)")
  T.match(page, "<b>Best</b> %(rep %d, step %d+, score [^)]*%):</p><pre class=\"best\">w=15, b=14</pre>")
  T.contains(page, "true w=15, b=14")
  T.contains(page, "score (log scale)", "losses over orders of magnitude")
  page = html(db)
  T.contains(page, "best so far (lower is better)")
  T.match(page, '<polygon class="tour" points="[^"]+"')
  local _, nodes = page:gsub('<circle class="node"', "")
  T.eq(nodes, 7)
  T.contains(page, "score " .. string.format("%.4g", s.reps[1].best.score) .. ")")
  -- bad files: named with the instance, exit 2, nothing called
  local bad = T.write(dir .. "/bad.json", cjson.encode{ { coords = coords, init = { { 0, 1, 2 } } }, 7 })
  local rc, out, err = T.run(string.format("%s/examples/tsp.lua --base-url %s --model sim-1 --instance %s",
    T.root, base, bad))
  T.eq(rc, 2)
  T.eq(out, "")
  T.contains(err, "tsp.lua: " .. bad .. ": instance 1: ")
  T.contains(err, "init[1]")
  T.ok(not err:find("traceback", 1, true), err)
  rc, out, err = T.run(string.format("%s/examples/linear_regression.lua --base-url %s --model sim-1 --instance %s",
    T.root, base, dir .. "/missing.json"))
  T.eq(rc, 2)
  T.contains(err, "linear_regression.lua: " .. dir .. "/missing.json: No such file")
  rc, out, err = T.run(string.format("%s/examples/linear_regression.lua --base-url %s --model sim-1 --instance %s",
    T.root, base, bad))
  T.eq(rc, 2)
  T.contains(err, "instance 1: opro.task.linear_regression: instance.X")
end)

T.test("claude_md.lua runs its shell objective", function()
  local s = example("claude_md.lua", "--steps 3 --candidates 3")
  local r = s.reps[1]
  T.eq(r.steps, 3)
  -- the initial text covers "test" and "commit" and "small": 3 x 12
  T.eq(r.curve[1], 36)
  T.ok(r.unique >= 2)
end)

T.test("evaluate.lua writes one JSON line per item", function()
  local out = dir .. "/eval.jsonl"
  local rc, _, err = T.run(string.format("%s/examples/evaluate.lua --base-url %s --model sim-1 --dataset gsm8k --demo --limit 6 --instruction %s --out %s",
    T.root, base, T.shquote("Let's think step by step."), out))
  T.eq(rc, 0, err)
  local n = 0
  for line in io.lines(out) do
    n = n + 1
    local v = cjson.decode(line)
    T.ok(type(v.index) == "number" and type(v.question) == "string" and type(v.target) == "string"
      and type(v.response) == "string" and type(v.correct) == "boolean", line)
    T.ok(type(v.prediction) == "string" or v.prediction == cjson.null, line)
  end
  T.eq(n, 6)
  T.match(err, "/6 correct")
end)

T.test("evaluate.lua on a dataset directory: splits, --position, --json; an empty split is a clear error", function()
  local out = dir .. "/eval_bbh.jsonl"
  local rc, stdout, err = T.run(string.format("%s/examples/evaluate.lua --base-url %s --model sim-1 --data-dir %s "
    .. "--dataset bbh:multistep_arithmetic_two --split test --position A_begin --instruction %s --out %s --json",
    T.root, base, data, T.shquote("Let's think step by step."), out))
  T.eq(rc, 0, err)
  local summary = cjson.decode(stdout)
  T.eq(summary.items, 40, "the held-out 80%")
  local n, correct = 0, 0
  for line in io.lines(out) do
    local v = cjson.decode(line)
    n = n + 1
    if v.correct then correct = correct + 1 end
    T.ok(v.correct == (v.prediction == v.target), "correct iff the prediction is the target: " .. line)
  end
  T.eq(n, 40)
  T.eq(summary.correct, correct)
  T.ok(correct > 0, "the simulator solves some")
  rc, stdout = T.run(string.format("%s/examples/evaluate.lua --base-url %s --model sim-1 --data-dir %s --dataset gsm8k --split all",
    T.root, base, data))
  T.eq(rc, 0)
  T.eq(select(2, stdout:gsub("\n", "")), 230, "--split all: train and test files")
  rc, stdout, err = T.run(string.format("%s/examples/evaluate.lua --base-url %s --model sim-1 --data-dir %s --dataset multiarith --split train",
    T.root, base, data))
  T.eq(rc, 1)
  T.eq(stdout, "")
  T.contains(err, "multiarith has no items in the train split")
  T.ok(not err:find("traceback", 1, true), err)
end)

T.test("every example answers --help", function()
  for _, name in ipairs { "gsm8k.lua", "bbh.lua", "linear_regression.lua", "tsp.lua", "evaluate.lua",
                          "claude_md.lua", "continuous.lua", "custom_template.lua" } do
    local rc, out = T.run(T.root .. "/examples/" .. name .. " --help")
    T.eq(rc, 0, name)
    T.contains(out, "usage: opro-lua " .. name)
    -- the common flags, from the one shared parser
    local optimizes = name ~= "evaluate.lua"
    for _, flag in ipairs { "--base-url", "--provider", "--model", "--optimizer-model", "--scorer-model", "--steps",
                            "--candidates", "--reps", "--seed", "--concurrency", "--db", "--resume", "--json" } do
      local only_optimization = flag == "--optimizer-model" or flag == "--steps" or flag == "--candidates"
        or flag == "--reps" or flag == "--resume"
      if optimizes or not only_optimization then
        T.ok(out:find("\n  " .. flag .. " ", 1, true), name .. " --help lists " .. flag)
      else
        -- evaluate.lua scores one instruction: no optimization flags to mislead
        T.ok(not out:find("\n  " .. flag .. " ", 1, true), name .. " --help does not list " .. flag)
      end
    end
  end
  for _, name in ipairs { "gsm8k.lua", "bbh.lua", "evaluate.lua" } do
    T.contains(select(2, T.run(T.root .. "/examples/" .. name .. " --help")), "\n  --data-dir ", name)
  end
  for _, name in ipairs { "linear_regression.lua", "tsp.lua" } do
    T.contains(select(2, T.run(T.root .. "/examples/" .. name .. " --help")), "\n  --instance ", name)
  end
end)

T.test("custom_template.lua and continuous.lua run", function()
  local s = example("custom_template.lua", "--steps 3 --candidates 4")
  T.eq(s.reps[1].steps, 3)
  local log = T.write(dir .. "/feedback.jsonl",
    '{"prompt": "Solve it.", "score": 0.4}\n{"prompt": "Think step by step and solve it.", "score": 0.6}\n'
    .. '{"prompt": "Solve it.", "score": 0.2}\n')
  local db = dir .. "/continuous.db"
  local c = example("continuous.lua", "--log " .. log .. " --demo --steps 2 --candidates 4 --db " .. db)
  T.eq(c.reps[1].steps, 2)
  T.ok(c.best.score >= 0.6, "the log's best is kept")
  -- the log is the stored history at step -1, one entry per prompt (mean score)
  local st = assert(opro.store.open(db))
  local given = {}
  for _, e in ipairs(assert(st:last("continuous")):candidates{ step = -1 }) do given[e.key] = e end
  st:close()
  T.near(given["Solve it."].score, 0.3, 1e-12)
  T.eq(given["Solve it."].details.feedback, 2)
  T.near(given["Think step by step and solve it."].score, 0.6, 1e-12)
  -- a bad line is named before anything is called
  local bad = T.write(dir .. "/bad_feedback.jsonl", '{"prompt": "a", "score": 1}\n{"prompt": "b"}\n')
  local rc, out, err = T.run(string.format("%s/examples/continuous.lua --base-url %s --model sim-1 --demo --log %s",
    T.root, base, bad))
  T.eq(rc, 2)
  T.eq(out, "")
  T.contains(err, "continuous.lua: " .. bad .. ":2: field 'score' (a number) is missing")
end)

T.done()
