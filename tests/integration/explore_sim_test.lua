-- The acceptance test of issue 8 against opro-sim: a prompt-optimization
-- run with near-duplicate rejection (opro.explore.reject) spends fewer
-- scorer calls than one without, for the same number of distinct
-- candidates scored. "Distinct" is judged the same way for both runs: a
-- scored text counts when its cosine (opro.embed.hashed) to every earlier
-- counted text is at most the threshold. Both runs stop once they have
-- scored N distinct candidates; scorer calls are counted by the scorer
-- client and, independently, by the simulator's /stats (the scorer uses
-- its own model name).
local T = require "testlib"
local S = require "simlib"

if not io.open(S.bin, "r") then
  T.skip("exploration against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local sim = S.start("--seed 1 --quiet")
local base = sim.base .. "/v1"
local THRESHOLD = 0.85
local N = 25                      -- distinct candidates to score
local items = require("opro.sim.problems").generate(10, 1)

-- the distinct texts among `texts`, greedily in order
local function distinct(texts)
  if #texts == 0 then return 0 end
  local m = opro.embed.hashed(texts)
  local kept = opro.vec.matrix({}, m:dim())
  for i = 1, m:rows() do
    local s = kept:max_cosine(m:row(i))
    if s == nil or s <= THRESHOLD then kept:append(m:row(i)) end
  end
  return kept:rows()
end

local function history_texts(history)
  local texts = {}
  for _, e in ipairs(history) do texts[#texts + 1] = e.text end
  return texts
end

local function scorer_requests()
  return ((sim:stats() or {}).models or {})["sim-1-mini"] or 0
end

-- one run until N distinct candidates are scored; returns its numbers
local function run(explore, label)
  local optimizer = opro.llm{ base_url = base, model = "sim-1", api_key = "sim", temperature = 1 }
  local scorer = opro.llm{ base_url = base, model = "sim-1-mini", api_key = "sim", temperature = 0 }
  local task = opro.task.instruction{ scorer = scorer, train = items, kind = "number",
                                      initial = { "Let's solve the problem." } }
  local before = scorer_requests()
  local r = opro.optimize{ task = task, optimizer = optimizer, steps = 40, candidates_per_step = 4, seed = 1,
    quiet = true, explore = explore,
    stop = function(state) return distinct(history_texts(state.history)) >= N, "distinct" end }
  local rep = r.reps[1]
  local rejected = 0
  for _, m in ipairs(rep.metrics) do rejected = rejected + (m.rejected or 0) end
  local out = { label = label, calls = scorer:totals().calls, sim_calls = scorer_requests() - before,
                scored = #rep.history, distinct = distinct(history_texts(rep.history)), steps = rep.steps,
                stop = rep.stop_reason, rejected = rejected, best = rep.best and rep.best.score }
  out.per_distinct = out.calls / out.distinct
  return out
end

local function describe(x)
  return string.format("%s: %d scorer calls (sim counted %d) for %d distinct of %d scored in %d steps, %.2f calls per distinct, %d rejected, best %s",
    x.label, x.calls, x.sim_calls, x.distinct, x.scored, x.steps, x.per_distinct, x.rejected, tostring(x.best))
end

local plain, rej

T.test("both runs reach " .. N .. " distinct scored candidates", function()
  plain = run(nil, "without rejection")
  rej = run(opro.explore.reject{ threshold = THRESHOLD }, "with reject{threshold=" .. THRESHOLD .. "}")
  for _, x in ipairs({ plain, rej }) do
    T.eq(x.stop, "distinct", describe(x))
    T.ok(x.distinct >= N, describe(x))
    T.eq(x.sim_calls, x.calls, "the client's count agrees with the simulator's: " .. describe(x))
    T.eq(x.calls, x.scored * #items, "one scorer call per training item of each scored candidate: " .. describe(x))
  end
end)

T.test("near-duplicate rejection spends fewer scorer calls for the same number of distinct candidates", function()
  assert(plain and rej, "the runs did not complete")
  local msg = describe(rej) .. "; " .. describe(plain)
  T.ok(rej.rejected > 0, "candidates were rejected: " .. msg)
  T.ok(rej.calls < plain.calls, "fewer scorer calls in all: " .. msg)
  T.ok(rej.per_distinct < plain.per_distinct, "fewer scorer calls per distinct candidate: " .. msg)
  -- every candidate the rejecting run scored is distinct from the ones before it
  T.eq(rej.distinct, rej.scored, msg)
  io.stderr:write("# ", msg, "\n")
end)

T.test("rejection with the provider's embeddings: batched per step, cached on a repeat", function()
  local cache = opro.llm.memory_cache()
  local function go(emb)
    local optimizer = opro.llm{ base_url = base, model = "sim-1", api_key = "sim", temperature = 1 }
    local scorer = opro.llm{ base_url = base, model = "sim-1-mini", api_key = "sim", temperature = 0 }
    local task = opro.task.instruction{ scorer = scorer, train = items, kind = "number",
                                        initial = { "Let's solve the problem." } }
    local r = opro.optimize{ task = task, optimizer = optimizer, steps = 4, candidates_per_step = 8, seed = 2,
      quiet = true, explore = opro.explore.reject{ threshold = THRESHOLD, embed = emb } }
    local rejected = 0
    for _, m in ipairs(r.reps[1].metrics) do rejected = rejected + (m.rejected or 0) end
    return r, rejected
  end
  local embedder = opro.llm{ base_url = base, model = "sim-embed-1", api_key = "sim", cache = cache }
  local paths0 = (sim:stats().paths or {})["/v1/embeddings"] or 0
  local r1, rej1 = go(embedder)
  local sent = ((sim:stats().paths or {})["/v1/embeddings"] or 0) - paths0
  T.ok(sent >= 1 and sent <= 4, "one embeddings request per step at most: " .. sent)
  T.eq(embedder:totals().calls, sent)
  T.ok(rej1 > 0, "the provider's embeddings rejected near-duplicates too: " .. rej1)
  -- the same run again with a new client over the same cache: no embeddings request
  local again = opro.llm{ base_url = base, model = "sim-embed-1", api_key = "sim", cache = cache }
  local r2, rej2 = go(again)
  T.eq(((sim:stats().paths or {})["/v1/embeddings"] or 0) - paths0, sent, "the repeat sent no embeddings request")
  T.ok(again:totals().cache_hits > 0)
  T.eq(again:totals().calls, 0)
  T.eq(rej2, rej1, "the same candidates were rejected")
  T.eq(#r2.reps[1].history, #r1.reps[1].history)
end)

S.shutdown_test()
T.done()
