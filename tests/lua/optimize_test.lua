-- opro.optimize with fake optimizer/scorer objects (plain Lua tables with :chat).
local T = require "testlib"
local optimize = require "opro.optimize"

-- A toy objective: a solution is an integer; the score is -(x - 42)^2
-- ("higher" is better). The scorer is an llm-like table so per-rep call
-- counting through task.scorer is exercised too.
local function fake_scorer(delay)
  local s = { calls = 0 }
  function s:chat(prompt, _)
    self.calls = self.calls + 1
    if delay then opro.sleep(delay) end
    return prompt, { usage = { input_tokens = 3, output_tokens = 1 } }
  end
  return s
end

local function number_task(opts)
  opts = opts or {}
  local t = { kind = "toy", better = opts.better or "higher", initial = opts.initial or { 0, 10, 100 },
              scorer = opts.scorer or fake_scorer(opts.score_delay), scored = {} }
  function t:key(x) return tostring(x) end
  function t:format(x) return "x=" .. tostring(x) end
  function t:score(x, ctx)
    self.scored[#self.scored + 1] = x
    local echo = self.scorer:chat(tostring(x))   -- one "scorer call" per candidate
    assert(tonumber(echo) == x)
    if opts.fail_score and opts.fail_score(x) then return nil, "scorer down", "http_500" end
    local d = x - (opts.target or 42)
    return -(d * d), { ctx_step = ctx.step, ctx_rep = ctx.rep }
  end
  function t:validate(x)
    if x < -1000 or x > 1000 then return false, "out of range" end
    return true
  end
  function t:found(x) return x == (opts.target or 42) end
  -- "meta-prompt": the history in ascending score order, best last
  t.template = function(history, o)
    local list = {}
    for _, e in ipairs(history) do list[#list + 1] = e end
    local order = o.order or function(h)
      table.sort(h, function(a, b) if a.score ~= b.score then return a.score < b.score end return a.key < b.key end)
      return h
    end
    list = order(list, o)
    local parts = { "step " .. o.step }
    for _, e in ipairs(list) do parts[#parts + 1] = string.format("x=%s score=%s", e.key, e.score) end
    return table.concat(parts, "\n")
  end
  t.parse = function(text)
    local out = {}
    for n in text:gmatch("%[(%-?%d+)%]") do out[#out + 1] = math.tointeger(tonumber(n)) end
    if #out == 0 then return nil, "no [number] in output", "parse" end
    return out
  end
  return t
end

-- An optimizer that proposes best + a step chosen by the sample index, in
-- "[N]" brackets; it records every call.
local function fake_optimizer(opts)
  opts = opts or {}
  local o = { calls = {}, n = 0 }
  function o:chat(prompt, co)
    self.n = self.n + 1
    self.calls[#self.calls + 1] = { prompt = prompt, opts = co }
    if opts.delay then opro.sleep(opts.delay(co.sample)) end
    if opts.fail and opts.fail(self.n, co) then
      return nil, "server error", opts.fail_code or "http_500"
    end
    if opts.reply then return opts.reply(prompt, co) end
    local last = prompt:match("x=(%-?%d+) score=[^\n]*$")
    local best = tonumber(last) or 0
    local delta = (co.sample % 7) - 3
    return string.format("I suggest [%d]", best + delta), { usage = { input_tokens = #prompt // 4, output_tokens = 5 } }
  end
  return o
end

-- A fake store run: records calls; candidates() serves what was recorded.
local function fake_run(stored)
  local r = { steps = {}, cands = {}, finished = nil, stored = stored or {} }
  function r:record_step(s) self.steps[#self.steps + 1] = s end
  function r:record_candidate(c) self.cands[#self.cands + 1] = c end
  function r:candidates(q)
    local out = {}
    for _, e in ipairs(self.stored) do if e.rep == q.rep then out[#out + 1] = e end end
    return out
  end
  function r:finish(f) self.finished = f end
  return r
end

T.test("initial solutions are scored at step 0, then steps propose, dedupe and score", function()
  local task = number_task()
  local opt = fake_optimizer()
  local res = optimize{ task = task, optimizer = opt, steps = 3, candidates_per_step = 4, seed = 1, quiet = true,
                        stop_when_found = false }
  T.eq(#opt.calls, 12, "3 steps x 4 proposals")
  for _, c in ipairs(opt.calls) do T.eq(c.opts.temperature, 1.0) end
  local steps = {}
  for _, e in ipairs(res.history) do steps[e.step] = (steps[e.step] or 0) + 1 end
  T.eq(steps[0], 3, "three initial solutions at step 0")
  -- every scored key is unique
  local seen = {}
  for _, x in ipairs(task.scored) do
    T.eq(seen[x], nil, "scored twice: " .. x)
    seen[x] = true
  end
  T.eq(#task.scored, #res.history)
  T.eq(res.reps[1].unique, #res.history)
  T.eq(res.reps[1].steps, 3)
  T.match(res.reps[1].stop_reason, "3")   -- "max_steps" or opro.stop's "reached the maximum of 3 steps"
  -- the best is the max score
  local best = -math.huge
  for _, e in ipairs(res.history) do best = math.max(best, e.score) end
  T.eq(res.best.score, best)
  -- meta-prompts grow with the history: step 2's prompt holds step 1's candidates
  T.match(opt.calls[1].prompt, "^step 1\n")
  T.match(opt.calls[5].prompt, "^step 2\n")
  T.ok(#opt.calls[5].prompt > #opt.calls[1].prompt)
end)

T.test("a candidate seen before is never scored again (within the run)", function()
  local task = number_task{ initial = { 5 } }
  local opt = fake_optimizer{ reply = function() return "[5] and also [7]" end }
  local res = optimize{ task = task, optimizer = opt, steps = 4, candidates_per_step = 3, quiet = true }
  T.eq(task.scored, { 5, 7 })
  T.eq(#res.history, 2)
  T.eq(res.reps[1].duplicates, 3 * 4 * 2 - 1)
end)

T.test("a given history (step -1) is shown, never scored, and recorded with the run", function()
  local task = number_task{ initial = { 1 } }
  local run = fake_run()
  local res = optimize{ task = task, optimizer = fake_optimizer{ reply = function() return "[3]" end },
                        steps = 1, candidates_per_step = 1, run = run, quiet = true,
                        history = { { solution = 40, score = -4, details = { feedback = 2 } }, { solution = 1, score = -9 } } }
  T.eq(task.scored, { 3 }, "neither the given entries nor the initial solution already given are scored")
  T.eq(res.best.solution, 40)
  local given = {}
  for _, c in ipairs(run.cands) do if c.step == -1 then given[#given + 1] = c end end
  T.eq(#given, 2)
  T.eq(given[1].key, "40")
  T.eq(given[1].score, -4)
  T.eq(given[1].details, { feedback = 2, given = true })
end)

T.test("a candidate already scored in the stored run reuses its score (resume)", function()
  local task = number_task{ initial = { 1, 2 } }
  local run = fake_run{ { rep = 1, key = "2", solution = 2, score = 123, step = 0 } }
  local opt = fake_optimizer{ reply = function() return "[3]" end }
  local res = optimize{ task = task, optimizer = opt, steps = 1, candidates_per_step = 1, run = run, quiet = true }
  T.eq(task.scored, { 1, 3 }, "2 came from the store")
  T.eq(res.best.score, 123)
  T.eq(res.reps[1].reused, 1)
end)

T.test("invalid and unparsable proposals are counted and recorded, not scored", function()
  local task = number_task{ initial = { 1 } }
  local n = 0
  local opt = fake_optimizer{ reply = function()
    n = n + 1
    if n == 1 then return "no number here" end
    if n == 2 then return "[5000]" end
    return "[8]"
  end }
  local run = fake_run()
  local res = optimize{ task = task, optimizer = opt, steps = 1, candidates_per_step = 3, run = run, quiet = true,
                        seed = 3 }
  T.eq(res.reps[1].parse_errors, 1)
  T.eq(res.reps[1].invalid, 1)
  T.eq(task.scored, { 1, 8 })
  local perr = 0
  for _, c in ipairs(run.cands) do if c.parse_error then perr = perr + 1 end end
  T.eq(perr, 2)
  T.eq(#run.steps, 1)
  T.eq(run.steps[1].step, 1)
  T.eq(#run.steps[1].outputs, 3)
  T.eq(run.finished.status, "done")
end)

T.test("a parser that raises counts as a parse error, logged once", function()
  local task = number_task{ initial = { 1 } }
  task.parse = function(text)
    if text:find("boom") then error("cannot parse this") end
    return { math.tointeger(tonumber(text:match("%[(%-?%d+)%]"))) }
  end
  local n = 0
  local logged = {}
  local log = { write = function(_, ...) logged[#logged + 1] = table.concat({ ... }) end }
  local res = optimize{ task = task, optimizer = fake_optimizer{ reply = function()
      n = n + 1
      return n % 2 == 0 and "boom" or ("[" .. (n + 100) .. "]")
    end }, steps = 2, candidates_per_step = 4, quiet = true, log = log }
  T.eq(res.reps[1].parse_errors, 4)
  T.eq(#task.scored, 1 + 4)
  local text = table.concat(logged)
  T.contains(text, "cannot parse this")
  local _, count = text:gsub("cannot parse this", "")
  T.eq(count, 1)
end)

T.test("hooks run in order each step and may replace candidates and stop", function()
  local events = {}
  local task = number_task{ initial = { 1 } }
  local opt = fake_optimizer()
  local res = optimize{ task = task, optimizer = opt, steps = 5, candidates_per_step = 2, quiet = true,
    hooks = {
      before_step = function(ctx) events[#events + 1] = "before:" .. ctx.step end,
      meta_prompt = function(meta, ctx)
        events[#events + 1] = "meta:" .. ctx.step
        T.match(meta, "^step " .. ctx.step .. "\n")
        return meta .. "\nEXTRA " .. ctx.step
      end,
      after_propose = function(cands, ctx)
        events[#events + 1] = "propose:" .. ctx.step
        -- replace the proposals by one of our own
        return { { solution = 100 + ctx.step, key = tostring(100 + ctx.step), text = "mine", step = ctx.step } }
      end,
      after_score = function(scored, ctx)
        events[#events + 1] = "score:" .. ctx.step .. ":" .. #scored
        scored[1].score = scored[1].score + 1   -- hooks may adjust scores
      end,
      after_step = function(ctx)
        events[#events + 1] = "after:" .. ctx.step
        if ctx.step == 2 then return "stop", "enough" end
      end,
    } }
  T.eq(events, { "score:0:1", "before:1", "meta:1", "propose:1", "score:1:1", "after:1",
                 "before:2", "meta:2", "propose:2", "score:2:1", "after:2" })
  -- the optimizer was asked the meta-prompt the hook returned
  T.match(opt.calls[1].prompt, "\nEXTRA 1$")
  T.match(opt.calls[#opt.calls].prompt, "\nEXTRA 2$")
  T.eq(task.scored, { 1, 101, 102 })
  T.eq(res.reps[1].stop_reason, "enough")
  T.eq(res.history[2].score, -((101 - 42) ^ 2) + 1)
end)

T.test("explore:filter runs before scoring and :adjust after", function()
  local task = number_task{ initial = { 1 } }
  local calls = {}
  local explore = {}
  function explore:filter(cands) calls[#calls + 1] = "filter"; return { cands[1] } end
  function explore:adjust(scored)
    calls[#calls + 1] = "adjust"
    for _, c in ipairs(scored) do c.raw_score = c.score; c.score = c.score - 0.5 end
    return scored
  end
  local res = optimize{ task = task, optimizer = fake_optimizer(), steps = 2, candidates_per_step = 4,
                        explore = explore, quiet = true, seed = 9 }
  T.eq(calls, { "adjust", "filter", "adjust", "filter", "adjust" })
  T.eq(#task.scored, 3, "one initial + one kept per step")
  for _, e in ipairs(res.history) do T.eq(e.score % 1, 0.5) end
end)

T.test("opro.explore stages: reject near-duplicates before scoring, penalize similarity after", function()
  local explore = require "opro.explore"
  -- proposals: two near-identical texts and a different one each step
  local n = 0
  local opt = fake_optimizer{ reply = function()
    n = n + 1
    local texts = { "[7] solve the problem carefully step by step", "[8] solve the problem carefully step by step",
                    "[9] a completely different idea about numbers" }
    return texts[(n - 1) % 3 + 1]
  end }
  local task = number_task{ initial = { 1 } }
  function task:format(x) return ({ [7] = "solve the problem carefully step by step",
    [8] = "solve the problem carefully step by step!", [9] = "a completely different idea about numbers" })[x]
    or ("x=" .. x) end
  local res = optimize{ task = task, optimizer = opt, steps = 1, candidates_per_step = 3, quiet = true,
    explore = { explore.reject{ threshold = 0.9 }, explore.penalty{ lambda = 0.5 } } }
  T.eq(task.scored, { 1, 7, 9 }, "8 is a near-duplicate of 7 and is not scored")
  local by = {}
  for _, e in ipairs(res.history) do by[e.solution] = e end
  T.ok(by[7].raw_score ~= nil and by[7].score < by[7].raw_score, "penalized")
  T.eq(by[7].raw_score, -((7 - 42) ^ 2))
  T.ok(by[7].similarity >= 0)
  T.eq(res.best.score, by[9].raw_score, "the best is judged by the objective's own score")
end)

T.test("stop rules: a custom rule, a target found, and steps without a rule", function()
  local task = number_task{ initial = { 40 } }
  local seen_states = {}
  local res = optimize{ task = task, optimizer = fake_optimizer(), candidates_per_step = 2, quiet = true,
    stop_when_found = false,
    stop = function(st)
      seen_states[#seen_states + 1] = st
      if st.step >= 2 then return true, "two steps" end
    end }
  T.eq(res.reps[1].steps, 2)
  T.eq(res.reps[1].stop_reason, "two steps")
  T.eq(seen_states[1].step, 0)
  T.eq(seen_states[1].best.score, -4)
  T.eq(seen_states[1].better, "higher")
  T.ok(type(seen_states[1].totals) == "table" and type(seen_states[1].started) == "number")
  -- found: 42 is reachable from 40 (delta in -3..3): stops with "found"
  local task2 = number_task{ initial = { 41 } }
  local opt = fake_optimizer{ reply = function() return "[42]" end }
  local res2 = optimize{ task = task2, optimizer = opt, steps = 50, candidates_per_step = 2, quiet = true }
  T.eq(res2.reps[1].found, true)
  T.eq(res2.reps[1].found_step, 1)
  T.eq(res2.reps[1].stop_reason, "found")
  T.eq(res2.reps[1].steps, 1)
end)

T.test("a budget failure stops the run cleanly", function()
  local task = number_task{ initial = { 1 } }
  local opt = fake_optimizer{ fail = function(n) return n > 5 end, fail_code = "budget" }
  local run = fake_run()
  local res = optimize{ task = task, optimizer = opt, steps = 10, candidates_per_step = 3, quiet = true, run = run }
  T.eq(res.reps[1].stop_reason, "budget")
  T.eq(res.reps[1].steps, 1, "step 2 lost calls to the budget")
  T.eq(run.finished.status, "done")
  T.ok(res.best ~= nil)
end)

T.test("some optimizer failures are counted; all failing in a step raises", function()
  local task = number_task{ initial = { 1 } }
  local res = optimize{ task = task, optimizer = fake_optimizer{ fail = function(n) return n % 2 == 0 end },
                        steps = 2, candidates_per_step = 4, quiet = true, log = io.open("/dev/null", "w") }
  T.eq(res.reps[1].failures, 4)
  T.eq(res.reps[1].steps, 2)
  local run = fake_run()
  T.raises(function()
    optimize{ task = number_task(), optimizer = fake_optimizer{ fail = function() return true end },
              steps = 2, candidates_per_step = 2, quiet = true, run = run, log = io.open("/dev/null", "w") }
  end, "all 2 optimizer calls of rep 1 step 1 failed")
  T.eq(run.finished.status, "interrupted", "a run left by an error is marked")
end)

T.test("scorer failures are counted and the candidate is dropped", function()
  local task = number_task{ initial = { 1, 2 }, fail_score = function(x) return x == 2 end }
  local res = optimize{ task = task, optimizer = fake_optimizer{ reply = function() return "[9]" end },
                        steps = 1, candidates_per_step = 1, quiet = true, log = io.open("/dev/null", "w") }
  T.eq(#res.history, 2)
  T.eq(res.reps[1].failures, 1)
end)

T.test("reps run concurrently, each with its own PRNG and its own task", function()
  local made, draws = {}, {}
  local opt = fake_optimizer{ delay = function() return 0.1 end }
  local t0 = opro.now()
  local res = optimize{
    task = function(rep) local t = number_task{ initial = { rep * 10 } }; made[rep] = t; return t end,
    optimizer = opt, steps = 3, candidates_per_step = 4, reps = 10, quiet = true, seed = 5,
    stop_when_found = false,
    hooks = { before_step = function(ctx) draws[ctx.rep] = draws[ctx.rep] or {}
      table.insert(draws[ctx.rep], ctx.rng:random(1000000)) end } }
  local dt = opro.now() - t0
  -- concurrent reps: about 3 steps x 0.1 s; one rep after the other (even
  -- with each step's calls concurrent): 10 x 3 x 0.1 = 3 s
  T.ok(dt < 3.0, string.format("took %.2f s", dt))
  T.eq(#res.reps, 10)
  for r = 1, 10 do
    T.eq(res.reps[r].history[1].solution, r * 10, "rep's own task")
    T.eq(res.reps[r].calls, 3 * 4 + #made[r].scored, "optimizer + scorer calls of this rep")
  end
  for r = 2, 10 do T.ne(draws[r], draws[1], "rep " .. r .. " draws its own numbers") end
  T.eq(#draws[1], 3)
  local scored = 0
  for r = 1, 10 do scored = scored + #made[r].scored end
  T.eq(res.totals.calls, 10 * 12 + scored)
  -- the per-rep sample indices are all distinct
  local samples = {}
  for _, c in ipairs(opt.calls) do
    T.eq(samples[c.opts.sample], nil, "sample index reused")
    samples[c.opts.sample] = true
  end
end)

T.test("the progress line counts the candidates and steps of all (concurrent) reps", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  local res = optimize{ task = number_task(), optimizer = fake_optimizer(), steps = 2, candidates_per_step = 3,
                        reps = 2, seed = 3, log = f, stop_when_found = false }
  f:close()
  local text = T.read(path)
  os.remove(path)
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.contains(text, "rep 1/2 | step 2/2 | ")
  T.contains(text, "rep 2/2 | step 2/2 | ")
  local last = lines[#lines - 1]
  T.match(last, "rep %d/2 | step 2/2 | " .. (res.reps[1].unique + res.reps[2].unique) .. " candidates", text)
  T.match(last, "ETA 0s$", "every step of both reps done")
end)

T.test("a run is deterministic under a seed, whatever the completion order", function()
  local function once(seed, jitter)
    local opt = fake_optimizer{ delay = function(sample) return jitter and ((sample * 7919) % 13) / 1000 or 0 end }
    local res = optimize{ task = number_task{ initial = { 0, 3 } }, optimizer = opt, steps = 4,
                          candidates_per_step = 5, reps = 2, seed = seed, quiet = true, stop_when_found = false,
                          order = function(h, o)
                            o.prng:shuffle(h)   -- a random ordering drawn from the rep's PRNG
                            return h
                          end }
    local hist = {}
    for _, e in ipairs(res.history) do hist[#hist + 1] = { e.rep, e.step, e.key, e.score } end
    local prompts = {}
    for _, c in ipairs(opt.calls) do prompts[c.opts.sample] = c.prompt end
    return hist, prompts
  end
  local h1, p1 = once(11, false)
  local h2, p2 = once(11, true)
  local h3 = once(12, false)
  T.eq(h2, h1, "same seed, different timing: same history")
  T.eq(p2, p1, "same meta-prompts for the same sample indices")
  T.ne(h3, h1, "another seed explores differently")
end)

T.test("sample indices depend on seed, rep, step and i only", function()
  local a = optimize.sample_index(0, 1, 1, 1)
  T.eq(optimize.sample_index(0, 1, 1, 1), a)
  T.ok(math.type(a) == "integer" and a >= 1 and a <= 2 ^ 31)
  local seen = {}
  for seed = 0, 2 do for rep = 1, 3 do for step = 1, 20 do for i = 1, 8 do
    local s = optimize.sample_index(seed, rep, step, i)
    T.eq(seen[s], nil)
    seen[s] = true
  end end end end
end)

T.test("a replayed run writes the same records", function()
  local function once()
    local run = fake_run()
    optimize{ task = number_task(), optimizer = fake_optimizer(), steps = 3, candidates_per_step = 3,
              seed = 4, run = run, quiet = true }
    return run
  end
  local a, b = once(), once()
  T.eq(b.steps, a.steps)
  T.eq(#b.cands, #a.cands)
  for i = 1, #a.cands do T.eq(b.cands[i].key, a.cands[i].key); T.eq(b.cands[i].score, a.cands[i].score) end
end)

T.test("cancelling a run marks it interrupted", function()
  local run = fake_run()
  local t = opro.spawn(function()
    optimize{ task = number_task(), optimizer = fake_optimizer{ delay = function() return 10 end },
              steps = 3, run = run, quiet = true }
  end)
  opro.sleep(0.05)
  t:cancel()
  opro.sleep(0)
  T.eq(run.finished and run.finished.status, "interrupted")
end)

T.test("\"lower\" tasks keep the lowest score as best", function()
  local task = number_task{ better = "lower", initial = { 1, 2, 3 } }
  local res = optimize{ task = task, optimizer = fake_optimizer{ reply = function() return "[50]" end },
                        steps = 1, candidates_per_step = 1, quiet = true }
  T.eq(res.best.solution, 1)
end)

T.test("the summary holds per-rep steps, found, best, unique, calls, tokens", function()
  local res = optimize{ task = number_task(), optimizer = fake_optimizer(), steps = 2, candidates_per_step = 2,
                        reps = 2, quiet = true, evaluate_top = 2 }
  local s = optimize.summary(res)
  T.eq(#s.reps, 2)
  for _, r in ipairs(s.reps) do
    T.ok(r.steps and r.unique and r.calls and r.tokens and r.best and r.found ~= nil)
  end
  T.ok(s.totals.calls > 0 and s.totals.tokens > 0)
  T.eq(#s.evaluations, 2)
  local cjson = require "cjson"
  T.ok(#cjson.encode(s) > 0)
end)

T.test("bad options raise clear errors", function()
  T.raises(function() optimize{ optimizer = fake_optimizer() } end, "task is required")
  T.raises(function() optimize{ task = number_task() } end, "optimizer must be an llm")
  T.raises(function() optimize{ task = number_task(), optimizer = fake_optimizer(), steps = 1.5 } end,
           "steps must be an integer")
  T.raises(function() optimize{ task = number_task(), optimizer = fake_optimizer(), hooks = { before = print } } end,
           "unknown hook 'before'")
  T.raises(function() optimize{ task = number_task(), optimizer = fake_optimizer(), quiet = true, steps = 1,
                                hooks = { meta_prompt = function() return 42 end } } end,
           "meta_prompt hook returned a number")
  T.raises(function() optimize{ task = { key = function() end }, optimizer = fake_optimizer() } end,
           "no score method")
  local t = number_task()
  t.template = nil
  T.raises(function() optimize{ task = t, optimizer = fake_optimizer(), quiet = true } end, "no template")
end)

T.test("opro.optimize is reachable from the opro table", function()
  T.eq(type(opro.optimize), "table")
  local res = opro.optimize{ task = number_task(), optimizer = fake_optimizer(), steps = 1, candidates_per_step = 1,
                             quiet = true }
  T.ok(res.best)
end)

T.done()
