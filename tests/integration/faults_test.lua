-- The fault suite (`make test-faults`; also part of `make test`): a full
-- OPRO run (examples/gsm8k.lua --demo over the OpenAI, Anthropic and
-- Gemini protocols; examples/linear_regression.lua) against opro-sim
-- injecting each fault class alone, and all of them together, ends with the
-- same history as the fault-free run under the same seed: the same
-- candidates, scores, steps, meta-prompts, optimizer outputs, per-item
-- answers and best; every call retried until answered (no lost candidate,
-- no failed call); both processes exit 0; the simulator's /stats shows the
-- faults fired and the client retried exactly once per fault.
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"

-- Every fault draw is a hash of the simulator's seed and the request (and
-- opro.llm sends canonical JSON), so the same calls fault on every run.
local SIM_SEED = 3
-- A hang lasts far longer than the client's per-attempt timeout (the sim
-- answers the other requests in milliseconds, so 2 s is plenty).
local HANG_TIMEOUT = 2
-- every class together (429, 503 and 529 with retry-after, as servers send
-- it; the others back off exponentially, so a call faulting 4 times in a
-- row waits 7.5 s: the rates are kept low)
local ALL = "429:0.03:retry-after=1,500:0.03,503:0.03:retry-after=1,529:0.03:retry-after=1,reset:0.03,badjson:0.03," ..
            "hang:0.03:after=60"
local CLASSES = { "429", "500", "503", "529", "reset", "badjson", "hang" }

-- a small run: 6 training problems, 3 steps of 4 proposals, the best
-- evaluated on 6 test problems (about 90 calls); retries enough that every
-- call ends answered
local GSM = "examples/gsm8k.lua --demo --demo-items 6 --steps 3 --candidates 4 --evaluate-top 1 --seed 5"
-- Anthropic's API has no seed: the simulator answers the k-th copy of a
-- request with its k-th sample, so the identical requests of one step would
-- get their samples in arrival order; one proposal a step
local GSM1 = "examples/gsm8k.lua --demo --demo-items 6 --steps 6 --candidates 1 --evaluate-top 1 --seed 5"
-- linear regression: no scorer LLM, the optimizer's calls only
local LR = "examples/linear_regression.lua --reps 3 --steps 10 --candidates 4 --points 20 --seed 2"
local COMMON = "--model sim-1 --concurrency 8 --max-retries 12 --quiet --json"

-- each run: its --faults spec, arguments, client timeout (per attempt),
-- API path on the simulator, and the fault-free run it must equal
local CASES = {
  { name = "none", args = GSM },
  { name = "429", faults = "429:0.1:retry-after=1", args = GSM, ref = "none" },
  { name = "500", faults = "500:0.1", args = GSM, ref = "none" },
  { name = "503", faults = "503:0.1", args = GSM, ref = "none" },
  { name = "529", faults = "529:0.1", args = GSM, ref = "none" },
  { name = "reset", faults = "reset:0.1", args = GSM, ref = "none" },
  { name = "badjson", faults = "badjson:0.1", args = GSM, ref = "none" },
  { name = "hang", faults = "hang:0.1:after=60", timeout = HANG_TIMEOUT, args = GSM, ref = "none" },
  { name = "all", faults = ALL, timeout = HANG_TIMEOUT, args = GSM, ref = "none" },
  { name = "lr-none", args = LR },
  { name = "lr-all", faults = ALL, timeout = HANG_TIMEOUT, args = LR, ref = "lr-none" },
  { name = "anthropic-none", args = GSM1 .. " --provider anthropic", path = "" },
  { name = "anthropic-all", faults = ALL, timeout = HANG_TIMEOUT, args = GSM1 .. " --provider anthropic", path = "",
    ref = "anthropic-none" },
  { name = "gemini-none", args = GSM .. " --provider gemini", path = "/v1beta" },
  { name = "gemini-all", faults = ALL, timeout = HANG_TIMEOUT, args = GSM .. " --provider gemini", path = "/v1beta",
    ref = "gemini-none" },
}

local dir = T.tmpdir()
local script = {}
for _, c in ipairs(CASES) do
  c.sim = S.start(string.format("--seed %d --quiet%s", SIM_SEED, c.faults and (" --faults " .. c.faults) or ""))
  c.db = string.format("%s/%s.db", dir, c.name)
  c.out = string.format("%s/%s", dir, c.name)
  script[#script + 1] = string.format(
    "( cd %s && s=$(date +%%s%%N); %s %s %s --base-url %s%s --db %s --timeout %s >%s.out 2>%s.err; echo $? $(( ($(date +%%s%%N) - s) / 1000000 )) >%s.rc ) &",
    T.shquote(T.root), T.shquote(T.bin), c.args, COMMON, c.sim.base, c.path or "/v1", c.db, c.timeout or 60, c.out, c.out, c.out)
end
script[#script + 1] = "wait"

-- every run at once (each against its own simulator)
local t0 = opro.now()
T.sh(table.concat(script, "\n"))
io.write(string.format("# %d runs in %.1f s\n", #CASES, opro.now() - t0))

-- what a run left: exit status, stderr, --json summary, database, /stats
local function result(c)
  local rc, ms = (T.read(c.out .. ".rc") or ""):match("(%d+) (%d+)")
  local r = { rc = tonumber(rc), secs = (tonumber(ms) or 0) / 1000, err = T.read(c.out .. ".err") or "",
              stats = c.sim:stats() }
  local ok, s = pcall(cjson.decode, T.read(c.out .. ".out") or "")
  r.summary = ok and type(s) == "table" and s or nil
  local st = opro.store.open(c.db)
  local run = st and st:last()
  if run then
    r.status = run.status
    r.candidates = {}
    for _, e in ipairs(run:candidates{ order = "step", unscored = true }) do
      r.candidates[#r.candidates + 1] = { rep = e.rep, step = e.step, key = e.key, score = e.score,
                                          parse_error = e.parse_error, details = e.details }
    end
    table.sort(r.candidates, function(a, b)
      if a.rep ~= b.rep then return a.rep < b.rep end
      if a.step ~= b.step then return a.step < b.step end
      return a.key < b.key
    end)
    r.steps = run:steps()
    for _, st_ in ipairs(r.steps) do st_.created = nil end
    r.evaluations = run:evaluations()
    r.db = run:summary()
    r.best = run:best()
    r.failed_calls = 0
    for _, call in ipairs(run:calls()) do
      if call.error or call.code then r.failed_calls = r.failed_calls + 1 end
    end
  end
  if st then st:close() end
  return r
end

local results = {}
for _, c in ipairs(CASES) do results[c.name] = result(c) end

-- the parts of a summary that do not depend on timing or retries
local function outcome(s)
  if not s then return nil end
  local reps = {}
  for i, r in ipairs(s.reps or {}) do
    reps[i] = { steps = r.steps, found = r.found, found_step = r.found_step, best = r.best, unique = r.unique,
                calls = r.calls, tokens = r.tokens, curve = r.curve, stop_reason = r.stop_reason }
  end
  local t = s.totals or {}
  return { best = s.best, reps = reps, evaluations = s.evaluations, stop_reason = s.stop_reason,
           calls = t.calls, tokens = t.tokens, failures = t.failures }
end

for _, c in ipairs(CASES) do
  local r, ref = results[c.name], results[c.ref]
  local label = c.faults and ("--faults " .. c.faults) or "no faults"

  T.test(c.name .. ": the run exits 0 and finishes (" .. label .. ")", function()
    T.eq(r.rc, 0, "exit status; stderr: " .. r.err)
    T.ok(not r.err:find("Sanitizer", 1, true) and not r.err:find("runtime error", 1, true), r.err)
    T.ok(r.summary, "a --json summary on stdout")
    T.eq(r.status, "done", "the stored run's status")
    T.eq(r.summary.totals.failures, 0, "failed calls")
    T.eq(r.failed_calls, 0, "failed calls in the database")
    T.ok(#r.candidates >= 7, "candidates: " .. #r.candidates)
  end)

  if not c.ref then
    T.test(c.name .. ": the fault-free run retried nothing", function()
      T.eq(r.stats.faults, {})
      T.eq(r.summary.totals.retries, 0)
      T.eq(r.stats.requests, r.summary.totals.calls)
    end)
  else
    T.test(c.name .. ": the same history as the fault-free run", function()
      T.ok(ref.candidates and r.candidates, "both databases read")
      -- no lost candidate: each one of the reference is there, with its score
      local have = {}
      for _, e in ipairs(r.candidates) do have[e.rep .. "|" .. e.key] = e end
      for _, e in ipairs(ref.candidates) do
        local got = have[e.rep .. "|" .. e.key]
        T.ok(got, string.format("candidate of rep %d step %d lost: %s", e.rep, e.step, e.key))
        T.eq(got.score, e.score, "score of " .. e.key)
        T.eq(got.step, e.step, "step of " .. e.key)
      end
      T.eq(#r.candidates, #ref.candidates, "candidates")
      T.eq(r.candidates, ref.candidates)
      T.eq(r.steps, ref.steps, "steps: meta-prompts and optimizer outputs")
      T.eq(r.evaluations, ref.evaluations, "per-item answers")
      T.eq(r.best, ref.best, "the best candidate")
      T.eq(outcome(r.summary), outcome(ref.summary), "the --json summary")
    end)

    T.test(c.name .. ": the faults fired and each was retried once", function()
      local fired = 0
      for cls, n in pairs(r.stats.faults) do
        T.ok(c.faults:find(cls, 1, true), "an unexpected fault class " .. cls)
        fired = fired + n
      end
      -- each class alone fires on about 10% of ~100 attempts; of all the
      -- classes together (3% each), most fire in one run
      local classes = 0
      for _, cls in ipairs(CLASSES) do
        if (r.stats.faults[cls] or 0) > 0 then classes = classes + 1 end
      end
      if c.faults == ALL then
        T.ok(classes >= 4 and fired >= 8, "too few faults fired: " .. T.fmt(r.stats))
      else
        T.ok(classes == 1 and fired >= 3, "too few faults fired: " .. T.fmt(r.stats))
      end
      local retries = r.summary.totals.retries
      io.write(string.format("# %s: faults %s, retries %d, requests %d, calls %d, %.1f s\n", c.name,
        T.fmt(r.stats.faults), retries, r.stats.requests, r.summary.totals.calls, r.secs))
      T.eq(retries, fired, "retries (--json) = faults injected (/stats)")
      T.eq(r.db.retries, fired, "retries recorded in the database")
      -- every attempt reached the simulator, and only a badjson 200 was retried
      T.eq(r.stats.requests, r.summary.totals.calls + retries, "requests = calls + retries")
      T.eq(r.stats.status["200"], r.summary.totals.calls + (r.stats.faults.badjson or 0), "answers with status 200")
    end)
  end
end

S.shutdown_test()
T.done()
