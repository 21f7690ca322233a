-- The default persona: scorer prompts, instruction-optimizer, linear
-- regression and TSP meta-prompts (in the reference code's wordings),
-- plain replies, --data, --persona; the problems generator.
local T = require "testlib"
local S = require "simlib"
local problems = require "opro.sim.problems"

local sim = S.start("--seed 21 --quiet --data " .. T.root .. "/tests/fixtures/sim/qa.jsonl")
local other = S.start("--seed 22 --quiet")

local function last_number(s)
  local last
  for n in s:gmatch("%-?%d+") do last = n end
  return last
end

-- the reference's Q_begin scorer prompt
local function scorer_prompt(instruction, question)
  return "Q: " .. instruction .. "\n" .. question .. "\n\nA:"
end

local function accuracy(s, instruction, items)
  local right = opro.map(items, function(it)
    local text = s:chat(scorer_prompt(instruction, it.input))
    return last_number(text) == it.target and 1 or 0
  end, { concurrency = 16 })
  local n = 0
  for _, v in ipairs(right) do n = n + v end
  return n / #items
end

T.test("problems.generate is deterministic per seed and its answers are right", function()
  local a, b, c = problems.generate(40, 5), problems.generate(40, 5), problems.generate(40, 6)
  T.eq(a, b)
  T.ne(a, c)
  local templates = {}
  for _, it in ipairs(a) do
    T.match(it.target, "^%-?%d+$")
    T.eq(problems.solve("Q: Think.\n" .. it.input .. "\nA:"), tonumber(it.target))
    T.eq(it.solution:match("#### (%-?%d+)$"), it.target)
    templates[it.template] = true
  end
  local n = 0
  for _ in pairs(templates) do n = n + 1 end
  T.ok(n >= 5, "problems come from " .. n .. " templates")
  T.eq(problems.solve("What is the capital of France?"), nil)
end)

local items = problems.generate(60, 3)

T.test("scorer: accuracy depends on the instruction's wording", function()
  local good = accuracy(sim, "Let's think step by step. Double-check each calculation carefully.", items)
  local bad = accuracy(sim, "Make a quick guess. Don't overthink it.", items)
  T.ok(good - bad >= 0.25, string.format("good %.2f, bad %.2f", good, bad))
  T.ok(good < 1, "capped below 100%")
end)

T.test("scorer: varied answer formats, deterministic per seed at temperature 0", function()
  local kinds = {}
  local differs = 0
  for i = 1, 30 do
    local p = scorer_prompt("Let's solve the problem.", items[i].input)
    local a1, a2, b = sim:chat(p), sim:chat(p), other:chat(p)
    T.eq(a1, a2)
    if a1 ~= b then differs = differs + 1 end
    if a1:find("####", 1, true) then kinds.hash = true
    elseif a1:find("\\boxed{", 1, true) then kinds.boxed = true
    elseif a1:find("The answer is", 1, true) then kinds.answer_is = true
    elseif a1:find("\n", 1, true) then kinds.cot = true
    else kinds.other = true end
  end
  local n = 0
  for _ in pairs(kinds) do n = n + 1 end
  T.ok(n >= 3, "formats: " .. T.fmt(kinds))
  T.ok(differs >= 5, differs .. " of 30 replies differ under another seed")
end)

T.test("scorer: --data questions of every kind, right or plausibly wrong", function()
  local f = assert(io.open(T.root .. "/tests/fixtures/sim/qa.jsonl"))
  local qa = {}
  for line in f:lines() do qa[#qa + 1] = require("cjson").decode(line) end
  f:close()
  local instructions = {}
  for i = 1, 40 do instructions[i] = "Instruction " .. i .. ": think step by step and answer carefully." end
  for _, q in ipairs(qa) do
    local right, wrong = 0, 0
    for _, ins in ipairs(instructions) do
      local text = sim:chat(scorer_prompt(ins, q.input))
      if text:find(q.target, 1, true) then right = right + 1 else wrong = wrong + 1 end
      if q.target == "(B)" and not text:find(q.target, 1, true) then T.match(text, "%([ACD]%)") end
      if q.target == "False" and not text:find("False", 1, true) then T.contains(text, "True") end
    end
    T.ok(right >= 1, "right at least once: " .. q.input)
  end
end)

local META_HEAD = "Your task is to generate the instruction <INS>. Below are some previous instructions with their scores. The score ranges from 0 to 100.\n"
local META_TAIL = "\n\nGenerate an instruction that is different from all the instructions <INS> above, and has a higher score than all the instructions <INS> above. The instruction should begin with <INS> and end with </INS>. The instruction should be concise, effective, and generally applicable to all problems above."

local function meta_prompt(history)
  table.sort(history, function(a, b) return a.score < b.score end)
  local parts = { META_HEAD }
  for _, h in ipairs(history) do parts[#parts + 1] = string.format("\ntext:\n%s\nscore:\n%d\n", h.text, h.score) end
  parts[#parts + 1] = META_TAIL
  return table.concat(parts)
end

T.test("optimizer meta-prompts get a new, well-formed text in the asked wrapping", function()
  local hist = { { text = "Let's solve the problem.", score = 40 }, { text = "Solve it.", score = 30 } }
  local seen = {}
  for i = 1, 6 do
    local text = sim:chat(meta_prompt(hist), { temperature = 1, seed = i })
    local ins = text:match("<INS>(.-)</INS>")
    T.ok(ins and #ins > 3, text)
    T.ok(ins ~= "Let's solve the problem." and ins ~= "Solve it.", ins)
    seen[ins] = true
  end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  T.ok(n >= 3, "samples differ: " .. n)
  local bison = "I have some texts along with their corresponding scores. The texts are arranged in ascending order based on their scores, where higher scores indicate better quality.\n\n"
    .. "\ntext:\nLet's solve the problem.\nscore:\n61\n"
    .. "\n\nWrite your new text that is different from the old ones and has a score as high as possible. Write the text in square brackets."
  T.match(sim:chat(bison, { temperature = 1 }), "%[[^%]]+%]")
  local start = "Your task is to generate the answer starting sentence <Start>. Below are some previous starting sentences with their scores. The score ranges from 0 to 100.\n"
    .. "\ntext:\nLet's think.\nscore:\n50\n"
    .. "\n\nGenerate a starting sentence that is different from all the <Start> sentences above, and has a higher score than all the <Start> sentences above. The starting sentence should begin with <Start> and end with </Start>. The starting sentence should be concise, effective, and generally applicable to all QA pairs above."
  T.match(sim:chat(start, { temperature = 1 }), "<Start>.+</Start>")
end)

T.test("an OPRO loop against the default persona climbs over 10 steps", function()
  local train = problems.generate(30, 77)
  local hist = { { text = "Let's solve the problem.", score = math.floor(100 * accuracy(sim, "Let's solve the problem.", train)) } }
  local first = hist[1].score
  for step = 1, 10 do
    local mp = meta_prompt(hist)
    local cands = opro.map({ 1, 2, 3, 4, 5, 6, 7, 8 }, function(k)
      local text = sim:chat(mp, { temperature = 1, seed = step * 100 + k })
      return text:match("<INS>(.-)</INS>") or ""
    end)
    for _, c in ipairs(cands) do
      hist[#hist + 1] = { text = c, score = math.floor(100 * accuracy(sim, c, train)), step = step }
    end
  end
  table.sort(hist, function(a, b) return a.score < b.score end)
  local best = hist[#hist]
  T.ok(best.score >= first + 10, string.format("best %d (%q) from %d", best.score, best.text, first))
end)

-- the reference's linear-regression meta-prompt
local function linreg_prompt(pairs_)
  table.sort(pairs_, function(a, b) return a.v > b.v end)
  local s = "Now you will help me minimize a function with two input variables w, b. I have some (w, b) pairs and the function values at those points. The pairs are arranged in descending order based on their function values, where lower values are better.\n\n"
  local sub = {}
  for _, p in ipairs(pairs_) do sub[#sub + 1] = string.format("input:\nw=%s, b=%s\nvalue:\n%s\n", p.w, p.b, p.v) end
  s = s .. table.concat(sub, "\n"):gsub("\n$", "") .. "\n\n"
  return s .. "Give me a new (w, b) pair that is different from all pairs above, and has a function value lower than any of the above. Do not write code. The output must end with a pair [w, b], where w and b are numerical values."
end

T.test("linear regression: a new [w, b] pair, and a loop goes downhill", function()
  local X, Y = {}, {}
  for i = 1, 20 do X[i] = i * 0.5; Y[i] = 3 * X[i] + 7 end
  local function f(w, b) local s = 0; for i = 1, #X do local d = Y[i] - (w * X[i] + b); s = s + d * d end; return math.floor(s + 0.5) end
  local pts = { { w = 12, b = 15 }, { w = 18, b = 11 }, { w = 14, b = 19 }, { w = 11, b = 12 }, { w = 16, b = 17 } }
  for _, p in ipairs(pts) do p.v = f(p.w, p.b) end
  local start = math.huge
  for _, p in ipairs(pts) do start = math.min(start, p.v) end
  for step = 1, 25 do
    local text = sim:chat(linreg_prompt(pts), { temperature = 1, seed = step })
    local w, b = text:match("%[(%-?[%d%.]+),%s*(%-?[%d%.]+)%]%s*$")
    T.ok(w, "ends with [w, b]: " .. text)
    w, b = tonumber(w), tonumber(b)
    for _, p in ipairs(pts) do T.ok(not (p.w == w and p.b == b), "a new pair") end
    pts[#pts + 1] = { w = w, b = b, v = f(w, b) }
  end
  local best = math.huge
  for _, p in ipairs(pts) do best = math.min(best, p.v) end
  T.ok(best < start / 4, string.format("best value %d from %d", best, start))
end)

T.test("TSP: a valid tour by a local move, and a loop shortens the best tour", function()
  local n = 9
  local xs, ys = {}, {}
  for i = 0, n - 1 do
    xs[i] = math.floor(50 + 40 * math.cos(i * 2.4))
    ys[i] = math.floor(50 + 40 * math.sin(i * 1.7))
  end
  local function len(t)
    local s = 0
    for i = 1, #t do
      local a, b = t[i], t[i % #t + 1]
      s = s + math.sqrt((xs[a] - xs[b]) ^ 2 + (ys[a] - ys[b]) ^ 2)
    end
    return math.floor(s + 0.5)
  end
  local tours = { { 0, 1, 2, 3, 4, 5, 6, 7, 8 }, { 0, 8, 7, 6, 5, 4, 3, 2, 1 } }
  local hist = {}
  for _, t in ipairs(tours) do hist[#hist + 1] = { t = t, l = len(t) } end
  local start = math.min(hist[1].l, hist[2].l)
  for step = 1, 20 do
    table.sort(hist, function(a, b) return a.l > b.l end)
    local coords = {}
    for i = 0, n - 1 do coords[#coords + 1] = string.format("(%d): (%d, %d)", i, xs[i], ys[i]) end
    local p = "You are given a list of points with coordinates below:\n" .. table.concat(coords, ", ")
      .. ".\n\nBelow are some previous traces and their lengths. The traces are arranged in descending order based on their lengths, where lower values are better.\n\n"
    local sub = {}
    for _, h in ipairs(hist) do sub[#sub + 1] = string.format("<trace> %s </trace>\nlength:\n%d\n", table.concat(h.t, ","), h.l) end
    p = p .. table.concat(sub, "\n"):gsub("\n$", "") .. "\n\nGive me a new trace that is different from all traces above, and has a length lower than any of the above. The trace should traverse all points exactly once. The trace should start with '<trace>' and end with </trace>."
    local text = sim:chat(p, { temperature = 1, seed = step })
    local body = text:match("<trace>(.-)</trace>")
    T.ok(body, text)
    local tour, seen = {}, {}
    for v in body:gmatch("%d+") do
      v = tonumber(v)
      T.ok(v >= 0 and v < n and not seen[v], "a valid node " .. v)
      seen[v] = true
      tour[#tour + 1] = v
    end
    T.eq(#tour, n)
    hist[#hist + 1] = { t = tour, l = len(tour) }
  end
  local best = math.huge
  for _, h in ipairs(hist) do best = math.min(best, h.l) end
  T.ok(best < start, string.format("best %d from %d", best, start))
end)

T.test("anything else gets a plain reply that says it is a simulator", function()
  local text = sim:chat("What is the capital of France?")
  T.contains(text, "simulator")
  T.contains(text, "not")
end)

T.test("--persona FILE replaces replies; missing functions fall back to the default", function()
  local dir = T.tmpdir()
  T.write(dir .. "/p.lua", [[
local default = require "opro.sim.persona"
local P = {}
function P.init(cfg) P.seed = cfg.seed end
function P.reply(req)
  if req.prompt:find("delegate", 1, true) then return default.reply(req) end
  return { text = "PERSONA seed=" .. P.seed .. " n=" .. req.n .. " " .. req.prompt:upper(), finish_reason = "stop" }
end
return P
]])
  local s = S.start("--quiet --seed 4 --persona " .. dir .. "/p.lua")
  T.eq(s:chat("hello"), "PERSONA seed=4 n=1 HELLO")
  T.contains(s:chat("delegate this"), "simulator")
  local _, obj = s:post("/v1/embeddings", { model = "e", input = "abc", dimensions = 8 })
  T.eq(#obj.data[1].embedding, 8)
  T.write(dir .. "/bad.lua", "return 42")
  local rc, _, err = T.sh(T.shquote(S.bin) .. " --persona " .. dir .. "/bad.lua")
  T.eq(rc, 2)
  T.contains(err, "must return a table")
end)

S.shutdown_test()
T.done()
