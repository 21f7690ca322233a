-- bench/opro_run_bench.lua: a full OPRO prompt optimization (opro.optimize
-- with opro.task.instruction) against opro-sim at 50 ms and 200 ms latency.
-- Reports the wall time against the latency-bound ideal and the host CPU
-- (os.clock of this process: loop, meta-prompts, parsing, extraction, HTTP)
-- per LLM call. Prints a Markdown section (see bench/run).
--
-- The ideal is the run's critical path: every step waits for its optimizer
-- calls (one round of latency per `concurrency` calls) and then for the
-- scoring of its new candidates (one round per `concurrency` scorer calls),
-- so ideal = sum over steps (step 0: the initial instruction) of
-- (ceil(optimizer calls / concurrency) + ceil(scorer calls / concurrency)) x
-- latency, with the calls counted per step as they were sent in this run.
--
-- Environment: OPRO_RUN_STEPS (10), OPRO_RUN_ITEMS (20), OPRO_RUN_REPEATS (3),
-- OPRO_RUN_LATENCIES ("50,200").
local simproc = require "lib.simproc"
local problems = require "opro.sim.problems"

local TITLE = "## A full OPRO run (opro.optimize) against opro-sim"
if not simproc.available() then
  print(simproc.skip_line(TITLE))
  return
end

local STEPS = tonumber(os.getenv("OPRO_RUN_STEPS")) or 10
local ITEMS = tonumber(os.getenv("OPRO_RUN_ITEMS")) or 20
local REPEATS = tonumber(os.getenv("OPRO_RUN_REPEATS")) or 3
local CPS = 8           -- candidates per step (the paper's)
local CONC = 16         -- opro.llm's default concurrency, for each of the two clients
local LATENCIES = {}
for ms in (os.getenv("OPRO_RUN_LATENCIES") or "50,200"):gmatch("%d+") do LATENCIES[#LATENCIES + 1] = tonumber(ms) end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

local train = problems.generate(ITEMS, 1)

-- One run; returns wall, ideal, calls, cpu seconds, steps, best score.
local function one_run(base, latency_s, seed)
  local step = 0
  local opt_calls, sc_calls = {}, {}
  local function counter(t)
    return function(rec)
      if not rec.cached then t[step] = (t[step] or 0) + 1 end
    end
  end
  local common = { provider = "openai", base_url = base .. "/v1", api_key = "local", concurrency = CONC,
                   cache = opro.llm.memory_cache() }
  local function client(model, temperature, on_call)
    local cfg = { model = model, temperature = temperature, on_call = on_call }
    for k, v in pairs(common) do cfg[k] = v end
    return opro.llm(cfg)
  end
  local optimizer = client("gpt-4", 1.0, counter(opt_calls))
  local scorer = client("gpt-3.5-turbo", 0, counter(sc_calls))
  local task = opro.task.instruction{ scorer = scorer, train = train, position = "Q_begin", kind = "number",
                                      dataset = "gsm8k", initial = { "Let's solve the problem." } }
  collectgarbage()
  local c0, w0 = os.clock(), opro.now()
  local result = opro.optimize{ task = task, optimizer = optimizer, steps = STEPS, candidates_per_step = CPS,
    seed = seed, quiet = true, stop_when_found = false,
    hooks = { before_step = function(ctx) step = ctx.step end } }
  local wall, cpu = opro.now() - w0, os.clock() - c0
  local rounds, calls = 0, 0
  for s = 0, step do
    local o, c = opt_calls[s] or 0, sc_calls[s] or 0
    rounds = rounds + (o + CONC - 1) // CONC + (c + CONC - 1) // CONC
    calls = calls + o + c
  end
  local opt_total, sc_total = 0, 0
  for _, v in pairs(opt_calls) do opt_total = opt_total + v end
  for _, v in pairs(sc_calls) do sc_total = sc_total + v end
  return { wall = wall, ideal = rounds * latency_s, calls = calls, opt = opt_total, sc = sc_total, cpu = cpu,
           steps = result.reps[1].steps, best = result.best.score, rounds = rounds }
end

local rows = {}
for _, ms in ipairs(LATENCIES) do
  simproc.with(string.format("--seed 1 --latency-ms %d", ms), function(sim)
    local runs = {}
    for r = 1, REPEATS do
      -- the same seed each time: the same calls, so the runs are comparable
      runs[r] = one_run(sim.base, ms / 1000, 1)
      local x = runs[r]
      io.stderr:write(string.format("opro_run_bench: %d ms run %d: wall %.3f s ideal %.3f s calls %d cpu %.3f s\n",
        ms, r, x.wall, x.ideal, x.calls, x.cpu))
    end
    local ratios, walls, ideals, cpus = {}, {}, {}, {}
    for i, x in ipairs(runs) do
      ratios[i], walls[i], ideals[i], cpus[i] = x.wall / x.ideal, x.wall, x.ideal, x.cpu / x.calls * 1e6
    end
    rows[#rows + 1] = { ms = ms, ratio = median(ratios), wall = median(walls), ideal = median(ideals),
                        cpu_us = median(cpus), calls = runs[1].calls, opt = runs[1].opt, sc = runs[1].sc,
                        steps = runs[1].steps, rounds = runs[1].rounds, peak = sim:stats().inflight_peak }
  end)
end

print(TITLE)
print()
print(string.format("Prompt optimization as in the paper's GSM8K setting, on %d generated arithmetic word problems:", ITEMS))
print(string.format("%d steps of %d optimizer calls (temperature 1) each followed by the scoring of the new", STEPS, CPS))
print(string.format("instructions on every item (scorer at temperature 0); one rep; each client's concurrency %d.", CONC))
print(string.format("Median of %d runs with the same seed (the same calls each time). Ideal = the", REPEATS))
print("latency-bound critical path: sum over steps of (ceil(optimizer calls / 16) + ceil(scorer calls / 16)) x latency.")
print("Host CPU = os.clock of opro-lua over the whole run (loop, meta-prompts, parsing, extraction, HTTP) / LLM calls.")
print()
print("| latency | steps | LLM calls (optimizer + scorer) | latency rounds | ideal | wall | wall / ideal | host CPU per call |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for _, r in ipairs(rows) do
  print(string.format("| %d ms | %d | %d (%d + %d) | %d | %.3f s | %.3f s | **%.3f** | %.0f us |",
    r.ms, r.steps, r.calls, r.opt, r.sc, r.rounds, r.ideal, r.wall, r.ratio, r.cpu_us))
end
print()
