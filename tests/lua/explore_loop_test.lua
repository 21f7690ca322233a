-- The loop's exploration records: per-step diversity metrics (in the
-- result, the store and the report), the embeddings an explore stage
-- computed (float32 BLOBs per candidate), and the candidates a filter
-- rejected (unscored, with the reason).
local T = require "testlib"

local phrases = { "Let's think step by step.", "Let us think step by step.", "Answer carefully.",
                  "Take a deep breath and think step by step.", "Be precise.", "Check each number twice.",
                  "Write the equation first.", "Explain your reasoning briefly." }

-- a toy instruction task: the score is a function of the text alone
local function make_task()
  return {
    initial = { "Let's solve it." },
    key = function(_, s) return s end,
    score = function(_, s) return (#s * 7) % 11 end,
    template = function() return "meta" end,
    parse = function(text) return { text } end,
  }
end

-- proposes phrase i, sometimes with a suffix (near-duplicates of earlier ones)
local optimizer = { chat = function(_, _, o)
  local i = o.sample % #phrases + 1
  local suffix = ({ "", " Now.", " Then answer." })[o.sample % 3 + 1]
  return phrases[i] .. suffix
end }

local function open_run(name)
  local st = assert(opro.store.open(T.tmpdir() .. "/" .. name .. ".db"))
  return st, st:run{ name = name }
end

T.test("diversity of each step's new texts is in the result and the store, as explore.diversity computes it", function()
  local st, run = open_run("div")
  local fresh = {}
  local r = opro.optimize{ task = make_task(), optimizer = optimizer, steps = 4, candidates_per_step = 6,
    quiet = true, run = run, seed = 3,
    hooks = { after_propose = function(cands, ctx)
      local texts = {}
      for i, c in ipairs(cands) do texts[i] = c.text end
      fresh[ctx.step] = texts
    end } }
  local metrics = r.reps[1].metrics
  T.eq(#metrics, 5, "steps 0..4")
  local stored = run:metrics()
  T.eq(#stored, 5)
  local with_pairs = 0
  for i, m in ipairs(metrics) do
    T.eq(m.step, i - 1)
    T.eq(stored[i].step, m.step)
    local texts = m.step == 0 and { "Let's solve it." } or fresh[m.step]
    T.eq(m.n, #texts, "step " .. m.step .. ": new texts")
    local d = assert(opro.explore.diversity(texts))
    T.eq(m.pairs, d.pairs)
    if d.pairs > 0 then
      with_pairs = with_pairs + 1
      T.near(m.mean_pairwise_cos, d.mean_pairwise_cos, 1e-9, "step " .. m.step)
      T.near(m.max_pairwise_cos, d.max_pairwise_cos, 1e-9, "step " .. m.step)
      T.near(stored[i].metrics.mean_pairwise_cos, d.mean_pairwise_cos, 1e-9, "stored, step " .. m.step)
    else
      T.eq(m.mean_pairwise_cos, nil, "no pairs, no mean")
    end
    T.eq(m.rejected, nil, "no explore stage: no rejected count")
  end
  T.ok(with_pairs >= 3, "steps with at least two new texts: " .. with_pairs)
  -- the 20 best after the last step: the history's texts by score
  local hist = {}
  for _, e in ipairs(r.reps[1].history) do hist[#hist + 1] = e end
  table.sort(hist, function(a, b) if a.score ~= b.score then return a.score > b.score end return a.key < b.key end)
  local top = {}
  for i = 1, math.min(20, #hist) do top[i] = hist[i].text end
  local last = metrics[#metrics]
  T.eq(last.top20_n, #top)
  T.near(last.top20_mean_pairwise_cos, opro.explore.diversity(top).mean_pairwise_cos, 1e-9)
  st:close()
end)

T.test("no diversity metrics for solutions that are not strings, or with diversity = false", function()
  local task = {
    initial = { 1 },
    key = function(_, x) return tostring(x) end,
    score = function(_, x) return -math.abs(x - 42) end,
    template = function() return "m" end,
    parse = function(text) return { tonumber(text) } end,
  }
  local opt = { chat = function(_, _, o) return tostring(o.sample % 97) end }
  local r = opro.optimize{ task = task, optimizer = opt, steps = 2, candidates_per_step = 3, quiet = true }
  T.eq(#r.reps[1].metrics, 0)
  local r2 = opro.optimize{ task = make_task(), optimizer = optimizer, steps = 2, candidates_per_step = 3,
    quiet = true, diversity = false }
  T.eq(#r2.reps[1].metrics, 0)
end)

T.test("reject: rejected candidates are recorded unscored with the reason; embeddings are stored as float32", function()
  local st, run = open_run("reject")
  local r = opro.optimize{ task = make_task(), optimizer = optimizer, steps = 5, candidates_per_step = 6,
    quiet = true, run = run, seed = 1, explore = opro.explore.reject{ threshold = 0.8 } }
  local rejected, scored, with_emb = 0, 0, 0
  for _, c in ipairs(run:candidates{ unscored = true }) do
    local emb = run:embedding(1, c.key)
    if c.step > 0 then
      T.ok(emb ~= nil, "step " .. c.step .. " candidate has its embedding: " .. c.text)
      -- the stage's default embedder: opro.embed.hashed, 512 floats
      local want = opro.embed.hashed({ c.text }):row(1):totable()
      T.eq(#emb, 512)
      for i = 1, 512 do
        if emb[i] ~= want[i] then T.eq(emb[i], want[i], "element " .. i .. " of " .. c.text) end
      end
      with_emb = with_emb + 1
    end
    if c.score == nil then
      rejected = rejected + 1
      T.match(c.parse_error, "^rejected before scoring: cosine 0%.%d+ to ")
      T.ok(c.details.rejected.similarity > 0.8, "similarity above the threshold")
    else
      scored = scored + 1
    end
  end
  T.ok(rejected > 0, "some candidates were rejected")
  local sum = 0
  for _, m in ipairs(r.reps[1].metrics) do sum = sum + (m.rejected or 0) end
  T.eq(sum, rejected, "the steps' rejected counts add up to the rejected candidates")
  T.eq(scored, #r.reps[1].history)
  T.ok(with_emb > 0)
  st:close()
end)

T.test("penalty: the scored candidates' embeddings are stored", function()
  local st, run = open_run("penalty")
  opro.optimize{ task = make_task(), optimizer = optimizer, steps = 2, candidates_per_step = 4,
    quiet = true, run = run, seed = 2, explore = opro.explore.penalty{ lambda = 0.5 } }
  local n = 0
  for _, c in ipairs(run:candidates{}) do
    if c.step > 0 then
      n = n + 1
      local emb = run:embedding(1, c.key)
      T.ok(emb and #emb == 512, "embedding of " .. c.text)
      T.near(emb[1], opro.embed.hashed({ c.text }):row(1):get(1), 0)
    end
  end
  T.ok(n > 0)
  st:close()
end)

T.test("penalty: the meta-prompt sees adjusted scores; the curve and the best keep the objective's", function()
  local task = make_task()
  local r = opro.optimize{ task = task, optimizer = optimizer, steps = 3, candidates_per_step = 6,
    quiet = true, seed = 4, explore = opro.explore.penalty{ lambda = 5 } }
  local adjusted, best_raw = 0, nil
  for _, e in ipairs(r.reps[1].history) do
    local raw = task:score(e.solution)
    if e.raw_score ~= nil then
      T.eq(e.raw_score, raw, "raw_score is the objective's score")
      T.near(e.score, raw - 5 * e.similarity, 1e-9, "adjusted: " .. e.text)
      if e.similarity > 0 then adjusted = adjusted + 1 end
    else
      T.eq(e.score, raw)
    end
    if best_raw == nil or raw > best_raw then best_raw = raw end
  end
  T.ok(adjusted > 0, "some scores were adjusted")
  local curve = r.reps[1].curve
  T.eq(curve[#curve].best, best_raw, "the curve's last best-so-far is the best raw score")
  T.eq(r.best.score, best_raw)
  for i = 2, #curve do T.ok(curve[i].best >= curve[i - 1].best, "best-so-far never drops") end
end)

T.test("the examples' flags build the stages: --reject-similar, --explore-penalty, --embed", function()
  local cli, runner = require "opro.cli", require "opro.runner"
  local spec = { name = "x.lua", options = runner.options(), raise = true }
  local o = assert(cli.parse({ "--reject-similar", "0.9", "--explore-penalty", "0.2" }, spec))
  T.eq(o.embed, "hashed")
  local stages = runner.explore_stages({ opts = o }, "lower")
  T.eq(#stages, 2)
  T.eq(stages[1].threshold, 0.9)
  T.eq(stages[2].lambda, 0.2)
  T.eq(stages[2].better, "lower")
  T.eq(runner.explore_stages({ opts = assert(cli.parse({}, spec)) }), nil, "no flag, no stage")
  T.eq(select(2, cli.parse({ "--embed", "word2vec" }, spec)), '--embed must be one of hashed, llm, got "word2vec"')
  -- --embed llm: an opro.llm on --embed-model, used by the stages
  local env = runner.setup(assert(cli.parse({ "--base-url", "http://127.0.0.1:9/v1", "--reject-similar", "0.8",
    "--embed", "llm", "--embed-model", "emb-1" }, spec)), { name = "t", scorer = false })
  T.eq(env.embedder.model, "emb-1")
  local rc, _, err = T.run(string.format("%s/examples/gsm8k.lua --demo --reject-similar 1.5 --base-url http://127.0.0.1:9/v1",
    T.root))
  T.eq(rc, 2)
  T.contains(err, "--reject-similar must be a cosine in [-1, 1], got 1.5")
end)

T.test("the report shows the diversity chart and the metric columns", function()
  local st, run = open_run("report")
  opro.optimize{ task = make_task(), optimizer = optimizer, steps = 3, candidates_per_step = 5,
    quiet = true, run = run, explore = opro.explore.reject{ threshold = 0.85 } }
  local html = assert(require("opro.report").html(st, { run = run.id }))
  T.contains(html, '<svg id="diversity"')
  T.contains(html, "<th class=\"num wrap\">mean_<wbr>pairwise_<wbr>cos</th>")
  T.contains(html, "<th class=\"num wrap\">rejected</th>")
  T.contains(html, "<th class=\"num wrap\">top20_<wbr>mean_<wbr>pairwise_<wbr>cos</th>")
  -- one solid and one dashed line for the single rep
  local _, lines = html:gsub('<polyline class="divline"', "")
  T.eq(lines, 2)
  st:close()
end)

T.done()
