-- opro.explore: similarity penalty, near-duplicate rejection, diversity.
local T = require "testlib"
local explore = require "opro.explore"
local embed = require "opro.embed"

local function maxcos(text, history)
  if #history == 0 then return 0 end
  local m = embed.hashed(history)
  local q = embed.hashed{ text }:row(1)
  local best = -math.huge
  for i = 1, m:rows() do best = math.max(best, m:row(i):cosine(q)) end
  return best
end

local HISTORY = { "Let's think step by step.", "Solve the problem carefully.", "Answer with a number." }

T.test("penalty: score' = score - lambda * max_cos(candidate, history)", function()
  local pen = explore.penalty{ lambda = 0.5 }
  local cands = {
    { text = "Let us think step by step.", score = 80 },
    { text = "Take a deep breath first.", score = 70 },
    { text = "Let's think step by step.", score = 60 },
  }
  local adj, sims = pen:adjust(cands, HISTORY)
  T.eq(#adj, 3)
  for i, c in ipairs(cands) do
    local want = maxcos(c.text, HISTORY)
    T.near(sims[i], want, 1e-9, "similarity " .. i)
    T.near(adj[i], c.score - 0.5 * want, 1e-9, "adjusted " .. i)
  end
  T.near(sims[3], 1, 1e-6, "an exact repeat has similarity 1")
  T.ok(sims[1] > sims[2] + 0.3, "the near-duplicate is penalised more")
end)

T.test("penalty: defaults, empty history, nil scores, better = lower, entries", function()
  local pen = explore.penalty()
  T.eq(pen.lambda, 0.1)
  local adj, sims = pen:adjust({ { text = "a b c", score = 1 } }, {})
  T.eq(adj, { 1 })
  T.eq(sims, { 0 })
  adj = pen:adjust({ { solution = "Let's think step by step.", score = 5 }, { text = "x" } }, HISTORY)
  T.near(adj[1], 5 - 0.1, 1e-6)
  T.eq(adj[2], nil, "no score, no adjusted score")
  local low = explore.penalty{ lambda = 2, better = "lower" }
  adj = low:adjust({ { text = "Let's think step by step.", score = 100 } }, { { solution = "Let's think step by step.", score = 3, step = 1 } })
  T.near(adj[1], 102, 1e-5, "lower is better: the penalty is added")
  -- without an explicit better, the loop's task (ctx.task) decides; an explicit one wins
  local dup = { { text = "Let's think step by step.", score = 100 } }
  local same = { "Let's think step by step." }
  T.near(explore.penalty{ lambda = 2 }:adjust(dup, same, { task = { better = "lower" } })[1], 102, 1e-5)
  T.near(explore.penalty{ lambda = 2 }:adjust(dup, same, { task = { better = "higher" } })[1], 98, 1e-5)
  T.near(explore.penalty{ lambda = 2 }:adjust(dup, same, { task = {} })[1], 98, 1e-5)
  T.near(explore.penalty{ lambda = 2, better = "higher" }:adjust(dup, same, { task = { better = "lower" } })[1], 98, 1e-5)
  T.eq(pen:adjust({}, HISTORY), {})
  -- non-string solutions (TSP tours) through opts.text
  local tsp = explore.penalty{ lambda = 1, text = function(e) return table.concat(e.solution, ",") end }
  adj = tsp:adjust({ { solution = { 0, 1, 2, 3 }, score = 10 } }, { { solution = { 0, 1, 2, 3 } } })
  T.near(adj[1], 9, 1e-6)
  T.raises(function() pen:adjust({ { solution = { 1, 2 }, score = 1 } }, {}) end, "item 1 is a table without a text")
  T.raises(function() explore.penalty{ lambda = -1 } end, "lambda must be a number >= 0")
  T.raises(function() explore.penalty{ better = "up" } end, "better must be")
  T.raises(function() pen:adjust({ { text = "a", score = "high" } }, {}) end, "candidate 1 has a string score")
end)

T.test("a custom embedder: called once per new text (cached), failures returned", function()
  local calls, seen = 0, 0
  local function fake(texts)
    calls = calls + 1
    seen = seen + #texts
    return embed.hashed(texts, { dim = 64 })
  end
  local pen = explore.penalty{ embed = fake }
  pen:adjust({ { text = "a", score = 1 }, { text = "b", score = 1 } }, { "a", "c" })
  T.eq(seen, 3, "a, b, c once each")
  pen:adjust({ { text = "d", score = 1 } }, { "a", "b", "c" })
  T.eq(seen, 4, "only d is new")
  -- an llm-like object with :embed returning a list of tables
  local llm = { n = 0 }
  function llm:embed(texts)
    self.n = self.n + 1
    local out = {}
    for i, t in ipairs(texts) do out[i] = { #t, 1 } end
    return out
  end
  local p2 = explore.penalty{ embed = llm, lambda = 1 }
  local adj = p2:adjust({ { text = "xx", score = 0 } }, { "yy" })
  T.near(adj[1], -1, 1e-9, "vectors (2,1) and (2,1)")
  T.eq(llm.n, 1)
  -- failures
  local failing = explore.penalty{ embed = function() return nil, "http: timeout", "timeout" end }
  local r, msg, code = failing:adjust({ { text = "a", score = 1 } }, { "b" })
  T.eq(r, nil)
  T.eq(msg, "http: timeout")
  T.eq(code, "timeout")
  local short = explore.penalty{ embed = function() return embed.hashed{ "only one" } end }
  r, msg, code = short:adjust({ { text = "a", score = 1 }, { text = "b", score = 1 } }, {})
  T.eq(r, nil)
  T.eq(code, "bad_response")
  T.contains(msg, "returned 1 vectors for 2 texts")
  T.raises(function() explore.penalty{ embed = 42 } end, "embed must be a function or an object with an :embed method")
end)

T.test("reject: near-duplicates of the history and within the batch", function()
  local rej = explore.reject{ threshold = 0.7 }
  local cands = {
    "Let us think step by step.",          -- near-duplicate of history 1
    "Take a deep breath first.",           -- new
    "Take a deep breath first!",           -- duplicate of candidate 2
    "Write the answer in French.",         -- new
  }
  local kept, rejected = rej:filter(cands, HISTORY)
  T.eq(kept, { 2, 4 })
  T.eq(#rejected, 2)
  T.eq(rejected[1].index, 1)
  T.eq(rejected[1].source, "history")
  T.eq(rejected[1].nearest, HISTORY[1])
  T.eq(rejected[1].nearest_index, 1)
  T.near(rejected[1].similarity, maxcos(cands[1], HISTORY), 1e-9)
  T.ok(rejected[1].similarity > 0.7)
  T.eq(rejected[2].index, 3)
  T.eq(rejected[2].source, "batch")
  T.eq(rejected[2].nearest, cands[2])
  T.eq(rejected[2].nearest_index, 2)
  T.near(rejected[2].similarity, 1, 1e-6)
end)

T.test("reject: thresholds, empty inputs, a batch compared only with what it keeps", function()
  local all = explore.reject{ threshold = 1 }
  local kept, rejected = all:filter({ "a", "a", "b" }, { "a" })
  T.eq(kept, { 1, 2, 3 }, "nothing is above 1")
  T.eq(rejected, {})
  kept, rejected = explore.reject():filter({}, HISTORY)
  T.eq(kept, {})
  T.eq(rejected, {})
  kept = explore.reject():filter({ "x y", "x y" }, nil)
  T.eq(kept, { 1 }, "no history: only the batch")
  T.raises(function() explore.reject{ threshold = 2 } end, "threshold must be a number in [-1, 1]")
end)

T.test("rejecting near-duplicates before scoring saves scorer calls", function()
  -- a proposal stream that keeps rewording its favourites, as an optimizer
  -- LLM collapsing on its best text does
  local base = { "Let's think step by step.", "Solve the problem carefully.", "Check each step twice.",
    "Explain your reasoning, then answer.", "Answer with a single number." }
  local variants = { "%s", "%s Please.", "Now: %s", "%s Always." }
  local proposals = {}
  for step = 1, 5 do
    local batch = {}
    for j = 1, 6 do
      local b = base[(step * j) % #base + 1]
      batch[j] = string.format(variants[(step + j) % #variants + 1], b)
    end
    proposals[step] = batch
  end
  local function run(rejector)
    local history, seen, calls = {}, {}, 0
    for _, batch in ipairs(proposals) do
      local fresh = {}
      for _, t in ipairs(batch) do
        if not seen[t] then seen[t] = true; fresh[#fresh + 1] = t end   -- exact dedupe (the loop's)
      end
      local kept = fresh
      if rejector then
        local idx = assert(rejector:filter(fresh, history))
        kept = {}
        for _, i in ipairs(idx) do kept[#kept + 1] = fresh[i] end
      end
      for _, t in ipairs(kept) do
        calls = calls + 1   -- one scorer call per scored candidate
        history[#history + 1] = t
      end
    end
    return calls, history
  end
  local plain = run(nil)
  local with, hist = run(explore.reject{ threshold = 0.8 })
  T.ok(with < plain, string.format("scorer calls: %d with rejection, %d without", with, plain))
  T.ok(with >= 5, "every distinct base instruction is still scored once: " .. with)
  local d = explore.diversity(hist)
  T.ok(d.max_pairwise_cos <= 0.8 + 1e-9, "no two scored texts above the threshold")
end)

T.test("diversity: mean and max pairwise cosine", function()
  local texts = { "Let's think step by step.", "Let us think step by step.", "Answer in French." }
  local d = explore.diversity(texts)
  local m = embed.hashed(texts)
  local c12, c13, c23 = m:row(1):cosine(m:row(2)), m:row(1):cosine(m:row(3)), m:row(2):cosine(m:row(3))
  T.near(d.mean_pairwise_cos, (c12 + c13 + c23) / 3, 1e-9)
  T.near(d.max_pairwise_cos, math.max(c12, c13, c23), 1e-9)
  T.eq(d.pairs, 3)
  T.eq(d.n, 3)
  T.eq(explore.diversity{ "one" }, { mean_pairwise_cos = 0, max_pairwise_cos = 0, pairs = 0, n = 1 })
  T.eq(explore.diversity{}, { mean_pairwise_cos = 0, max_pairwise_cos = 0, pairs = 0, n = 0 })
  local same = explore.diversity{ "a b", "a b" }
  T.near(same.max_pairwise_cos, 1, 1e-6)
  local r, _, code = explore.diversity({ "a", "b" }, { embed = function() return nil, "down", "connect" end })
  T.eq(r, nil)
  T.eq(code, "connect")
end)

T.done()
