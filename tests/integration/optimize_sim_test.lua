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
  return v, out, err
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
    T.ok(v.index ~= nil and v.question and v.target and v.response and v.correct ~= nil, line)
  end
  T.eq(n, 6)
  T.match(err, "/6 correct")
end)

T.test("every example answers --help", function()
  for _, name in ipairs { "gsm8k.lua", "bbh.lua", "linear_regression.lua", "tsp.lua", "evaluate.lua",
                          "claude_md.lua", "continuous.lua", "custom_template.lua" } do
    local rc, out = T.run(T.root .. "/examples/" .. name .. " --help")
    T.eq(rc, 0, name)
    T.contains(out, "usage: opro-lua " .. name)
    T.contains(out, "--base-url")
  end
end)

T.test("custom_template.lua and continuous.lua run", function()
  local s = example("custom_template.lua", "--steps 3 --candidates 4")
  T.eq(s.reps[1].steps, 3)
  local log = T.write(dir .. "/feedback.jsonl",
    '{"prompt": "Solve it.", "score": 0.4}\n{"prompt": "Think step by step and solve it.", "score": 0.6}\n')
  local c = example("continuous.lua", "--log " .. log .. " --demo --steps 2 --candidates 4")
  T.eq(c.reps[1].steps, 2)
  T.ok(c.best.score >= 0.6, "the log's best is kept")
end)

T.done()
