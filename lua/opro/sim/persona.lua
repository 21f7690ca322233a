--- opro.sim.persona: the simulator's default persona. It plays an LLM by
-- fixed rules (it is not a model): it recognises what a prompt asks and
-- answers deterministically from the seed, the prompt and the sample.
--
--   persona.reply(req) -> text | {text=, finish_reason=}
--   persona.embed(req) -> vector
-- See docs/simulator.md for the request fields and for writing a persona.
--
-- What it recognises, in this order:
--   * a TSP meta-prompt (<trace> tours with lengths): a local move of the best tour;
--   * a linear-regression meta-prompt (w=.., b=.. / value: pairs): a pair [w, b] downhill;
--   * an instruction-optimizer meta-prompt (texts with scores): a new text
--     recombined and mutated from the best ones, wrapped as asked;
--   * a scorer prompt (an instruction and a question it knows: a generated
--     arithmetic problem or one from --data): right with a probability set
--     by the instruction's wording through a hidden function;
--   * anything else: a plain reply that says it comes from a simulator.
local util = require "opro.sim.util"
local problems = require "opro.sim.problems"
local data = require "opro.sim.data"
local embed = require "opro.sim.embed"

local M = {}

local cfg = { seed = 0 }
local index     -- questions from --data

--- Called once per Lua state by the server with {seed=, data={items}}.
function M.init(config)
  cfg = config
  index = config.data and data.index(config.data) or nil
end

local function norm_text(s)
  return util.squash(s:lower():gsub("[%-_]", " "))
end

---------------------------------------------------------------------------
-- The hidden quality of an instruction (a probability of answering right).
local HELP = {
  { "step by step", 0.14 }, { "carefully", 0.06 }, { "think", 0.05 }, { "double check", 0.06 },
  { "verify", 0.04 }, { "show your work", 0.05 }, { "break", 0.04 }, { "reason", 0.03 },
  { "calculat", 0.03 }, { "each step", 0.03 }, { "final answer", 0.03 }, { "precise", 0.02 },
  { "accura", 0.02 }, { "solve", 0.03 }, { "let's", 0.02 }, { "deep breath", 0.05 },
  { "check", 0.02 }, { "explain", 0.02 }, { "read the question", 0.03 }, { "math", 0.01 },
}
local HURT = {
  { "guess", -0.20 }, { "quick", -0.08 }, { "random", -0.15 }, { "ignore", -0.15 },
  { "don't think", -0.20 }, { "do not think", -0.20 }, { "briefly", -0.05 }, { "maybe", -0.06 },
  { "just", -0.03 }, { "hurry", -0.10 }, { "whatever", -0.10 }, { "approximat", -0.08 },
  { "estimate", -0.06 }, { "overthink", -0.05 },
}

local function quality(instruction)
  local s = norm_text(instruction)
  local q = 0.30
  for _, p in ipairs(HELP) do if s:find(p[1], 1, true) then q = q + p[2] end end
  for _, p in ipairs(HURT) do if s:find(p[1], 1, true) then q = q + p[2] end end
  local words = 0
  for _ in s:gmatch("%S+") do words = words + 1 end
  if words == 0 then q = q - 0.04
  elseif words < 4 then q = q - 0.02
  elseif words <= 30 then q = q + 0.02
  elseif words > 45 then q = q - (words - 45) * 0.006 end
  q = q + (util.unit(util.hash(cfg.seed, "quality", s)) - 0.5) * 0.06
  return math.max(0.02, math.min(0.92, q))
end
M._quality = quality   -- for tests and docs: the hidden function is not secret, just not in the prompt

---------------------------------------------------------------------------
-- Scorer prompts.
local BOOLS = { ["true"] = "false", ["false"] = "true", yes = "no", no = "yes", valid = "invalid", invalid = "valid" }

local function keep_case(model, word)
  if model:match("^%u%l") then return word:sub(1, 1):upper() .. word:sub(2) end
  if model:match("^%u+$") then return word:upper() end
  return word
end

local function wrong_answer(target, r, question, steps)
  local t = target:match("^%s*(.-)%s*$")
  local num = tonumber((t:gsub(",", "")))
  if num then
    local cands = { num + 1, num - 1, num * 2, num + 10, num - 10, math.floor(num / 2) }
    if steps then
      for _, line in ipairs(steps) do
        local v = tonumber(line:match("= (%-?%d+)"))
        if v and v ~= num then cands[#cands + 1] = v; cands[#cands + 1] = v end
      end
    end
    local w
    repeat w = r:pick(cands) until w ~= num
    if math.type(w) == "float" and w == math.floor(w) then w = math.tointeger(w) end
    return tostring(w)
  end
  local letter = t:match("^%((%u)%)$")
  if letter then
    local letters = {}
    for l in (question or ""):gmatch("%((%u)%)") do if l ~= letter then letters[#letters + 1] = l end end
    if #letters == 0 then
      for _, l in ipairs { "A", "B", "C", "D" } do if l ~= letter then letters[#letters + 1] = l end end
    end
    return "(" .. r:pick(letters) .. ")"
  end
  local flip = BOOLS[t:lower()]
  if flip then return keep_case(t, flip) end
  if index and #index.targets > 1 then
    local w
    for _ = 1, 10 do
      w = r:pick(index.targets)
      if w ~= target then return w end
    end
  end
  return "none of these"
end

local COT_OPENERS = { "Let's think step by step.", "Let's work through this carefully.", "We need to find the answer.",
                      "First, let's understand the question." }

local function format_answer(ans, r, steps, instruction, is_number)
  local s = norm_text(instruction)
  local cot_bias = (s:find("step", 1, true) or s:find("think", 1, true) or s:find("reason", 1, true)) and 0.35 or 0
  local u = r:unit()
  local body = steps and table.concat(steps, "\n") or "Let me consider each part of the question in turn."
  if u < 0.25 + cot_bias then
    return r:pick(COT_OPENERS) .. "\n" .. body .. "\nSo the answer is " .. ans .. "."
  end
  u = r:unit()
  if is_number then
    if u < 0.3 then return "The answer is " .. ans .. "." end
    if u < 0.5 then return body .. "\n#### " .. ans end
    if u < 0.7 then return body .. "\nTherefore, the final answer is $\\boxed{" .. ans .. "}$." end
    if u < 0.85 then return ans end
    return "Answer: " .. ans
  end
  if u < 0.4 then return "The answer is " .. ans .. "." end
  if u < 0.8 then return ans end
  return "So the answer is " .. ans .. "."
end

local function strip_markers(s)
  s = s:gsub("^%s*Q:%s*", ""):gsub("%s*A:%s*$", "")
  s = s:gsub("\nQ:%s*", "\n"):gsub("%s*\nA:%s*", "\n"):gsub("^%s*A:%s*", "")
  return util.squash(s)
end

-- Returns {instruction=, question=, target=, steps=} when the prompt holds a question it knows.
local function find_question(prompt)
  local f = problems.find(prompt)
  if f then
    local rest = prompt:sub(1, f.start - 1) .. "\n" .. prompt:sub(f.stop + 1)
    return { instruction = strip_markers(rest), question = f.question, target = tostring(f.answer), steps = f.steps }
  end
  if index then
    local e, s, e2, p = data.find(index, prompt)
    if e then
      local rest = p:sub(1, s - 1) .. "\n" .. p:sub(e2 + 1)
      return { instruction = strip_markers(rest), question = e.question, target = e.target }
    end
  end
  return nil
end

local function score_reply(found, req)
  local instr = norm_text(found.instruction)
  local sample = (req.temperature or 1) > 0 and req.sample or 0
  local p = quality(found.instruction) + (util.unit(util.hash(cfg.seed, "difficulty", found.question)) - 0.5) * 0.3
  p = math.max(0.02, math.min(0.95, p))
  local correct = util.unit(util.hash(cfg.seed, "correct", instr, found.question, sample)) < p
  local r = util.rng(util.hash(cfg.seed, "format", instr, found.question, sample))
  local ans = correct and found.target or wrong_answer(found.target, r, found.question, found.steps)
  local steps = found.steps
  if steps and not correct then
    steps = { table.unpack(steps) }
    steps[#steps] = steps[#steps]:gsub("%-?%d+$", ans)
  end
  local is_number = tonumber((found.target:gsub(",", ""))) ~= nil
  return format_answer(ans, r, steps, found.instruction, is_number)
end

---------------------------------------------------------------------------
-- Instruction-optimizer meta-prompts.
local BANK = {
  "Let's think step by step.", "Solve the problem carefully.", "Double-check each calculation.",
  "Break the problem into smaller steps.", "Show your work and state the final answer.",
  "Read the question carefully.", "Take a deep breath and work on this problem.",
  "Verify the answer before responding.", "Explain your reasoning.", "Calculate each quantity in turn.",
  "Be precise with the numbers.", "Here is a math problem.", "Answer the question.",
  "Use the numbers given.", "Be concise.", "You are a helpful assistant.", "Write the answer as a number.",
  "Make a quick guess.", "Answer quickly.", "Just give the number.", "Don't overthink it.",
  "Estimate the result.", "Think about what the question asks.", "Work it out like a math teacher.",
}
local SYNONYMS = {
  { "problem", "question" }, { "carefully", "with care" }, { "solve", "work out" }, { "answer", "result" },
  { "Let's", "Let us" }, { "check", "verify" }, { "step by step", "one step at a time" }, { "calculate", "compute" },
}

local function sentences(text)
  local out = {}
  for s in (text .. " "):gmatch("%s*(.-[%.!?])%s") do out[#out + 1] = s end
  local tail = text:match("[%.!?]%s*([^%.!?]+)$") or (#out == 0 and text or nil)
  if tail and tail:match("%S") then out[#out + 1] = util.squash(tail) end
  return out
end

local function join(list)
  return util.squash(table.concat(list, " "))
end

local function parse_history(p)
  local h = {}
  for text, score in p:gmatch("text:\n(.-)\nscore:\n(%-?[%d%.]+)") do
    h[#h + 1] = { text = text, score = tonumber(score) or 0 }
  end
  for score, text in p:gmatch("Precision: (%-?[%d%.]+) <TEXT>(.-)</TEXT>") do
    h[#h + 1] = { text = text, score = tonumber(score) or 0 }
  end
  return h
end

local function is_optimizer(p)
  return (p:find("text:\n", 1, true) and p:find("\nscore:\n", 1, true))
      or (p:find("Precision: ", 1, true) and p:find("<TEXT>", 1, true))
      or p:find("Generate an instruction", 1, true) or p:find("Generate a starting sentence", 1, true)
      or p:find("Write your new text", 1, true)
end

local function mutate(parent, other, r)
  local s = sentences(parent)
  local op = r:unit()
  if #s == 0 or op < 0.35 then                       -- add a phrase
    local ph = r:pick(BANK)
    if r:unit() < 0.5 then table.insert(s, 1, ph) else s[#s + 1] = ph end
  elseif op < 0.55 and other then                    -- recombine with another good text
    local o = sentences(other)
    local seen, out = {}, {}
    for _, x in ipairs(s) do if not seen[x] then seen[x] = true; out[#out + 1] = x end end
    for _, x in ipairs(o) do if not seen[x] and r:unit() < 0.7 then seen[x] = true; out[#out + 1] = x end end
    s = out
  elseif op < 0.75 then                              -- replace a sentence
    s[r:int(1, #s)] = r:pick(BANK)
  elseif op < 0.85 and #s > 1 then                   -- drop a sentence
    table.remove(s, r:int(1, #s))
  else                                               -- reword
    local text = join(s)
    local syn = r:pick(SYNONYMS)
    local a, b = syn[1], syn[2]
    if r:unit() < 0.5 then a, b = b, a end
    local changed = text:gsub(a:gsub("%p", "%%%0"), (b:gsub("%%", "%%%%")), 1)
    if changed == text then changed = text .. " " .. r:pick(BANK) end
    return changed
  end
  -- a writer does not say the same sentence twice
  local seen, out = {}, {}
  for _, x in ipairs(s) do
    local k = norm_text(x)
    if not seen[k] then seen[k] = true; out[#out + 1] = x end
  end
  s = out
  while #s > 6 do table.remove(s, r:int(1, #s)) end
  return join(s)
end

local PREAMBLES = { "", "", "", "Here is a new instruction that should score higher:\n\n",
                    "Based on the scores above, I suggest:\n", "New text:\n" }

local function wrap(p, text, r)
  local pre = r:pick(PREAMBLES)
  if p:find("</Start>", 1, true) then return pre .. "<Start>" .. text .. "</Start>" end
  if p:find("</INS>", 1, true) then return pre .. "<INS>" .. text .. "</INS>" end
  if p:find("square brackets", 1, true) then return pre .. "[" .. text .. "]" end
  if p:find("<TEXT>", 1, true) then return pre .. "<TEXT>" .. text .. "</TEXT>" end
  return pre .. "<INS>" .. text .. "</INS>"
end

local function optimize_reply(p, req)
  local hist = parse_history(p)
  table.sort(hist, function(a, b) if a.score ~= b.score then return a.score > b.score end return a.text < b.text end)
  local r = util.rng(util.hash(cfg.seed, "optimize", p, req.sample))
  local seen = {}
  for _, e in ipairs(hist) do seen[norm_text(e.text)] = true end
  local text
  for _ = 1, 20 do
    if #hist == 0 then
      text = r:pick(BANK)
    else
      local k = math.min(#hist, 3)
      local w = r:unit()
      local i = (w < 0.55 or k == 1) and 1 or (w < 0.85 or k == 2) and 2 or 3
      local j = r:int(1, k)
      text = mutate(hist[i].text, j ~= i and hist[j].text or nil, r)
    end
    if text ~= "" and not seen[norm_text(text)] then break end
  end
  return wrap(p, text, r)
end

---------------------------------------------------------------------------
-- Linear regression meta-prompts: w=.., b=.. / value: pairs, lower is better.
local NUM = "(%-?[%d%.]+[eE]?[%-+]?%d*)"

local function fmt_num(x, ints)
  if ints then return tostring(math.floor(x + 0.5)) end
  return (string.format("%.3f", x):gsub("0+$", ""):gsub("%.$", ""))
end

local function linreg_reply(p, req)
  local pts = {}
  for w, b, v in p:gmatch("w=" .. NUM .. ", b=" .. NUM .. "%s*\nvalue:\n" .. NUM) do
    w, b, v = tonumber(w), tonumber(b), tonumber(v)
    if w and b and v then pts[#pts + 1] = { w = w, b = b, v = v } end
  end
  local ints = true
  for _, q in ipairs(pts) do
    if q.w ~= math.floor(q.w) or q.b ~= math.floor(q.b) then ints = false end
  end
  table.sort(pts, function(a, b) if a.v ~= b.v then return a.v < b.v end return a.w < b.w end)
  local r = util.rng(util.hash(cfg.seed, "linreg", p, req.sample))
  local best = pts[1] or { w = r:int(10, 20), b = r:int(10, 20), v = math.huge }
  -- a local linear fit of value ~ c + gw*dw + gb*db around the best point
  local gw, gb = 0, 0
  local k = math.min(#pts, 8)
  if k >= 3 then
    local sww, swb, sbb, swv, sbv = 0, 0, 0, 0, 0
    for i = 2, k do
      local dw, db, dv = pts[i].w - best.w, pts[i].b - best.b, pts[i].v - best.v
      sww, swb, sbb = sww + dw * dw, swb + dw * db, sbb + db * db
      swv, sbv = swv + dw * dv, sbv + db * dv
    end
    local det = sww * sbb - swb * swb
    if math.abs(det) > 1e-12 then
      gw = (sbb * swv - swb * sbv) / det
      gb = (sww * sbv - swb * swv) / det
    end
  end
  local spread = 0
  for i = 2, math.min(#pts, 4) do
    spread = math.max(spread, math.abs(pts[i].w - best.w), math.abs(pts[i].b - best.b))
  end
  if spread == 0 then spread = ints and 2 or 1 end
  local taken = {}
  for _, q in ipairs(pts) do taken[fmt_num(q.w, ints) .. "," .. fmt_num(q.b, ints)] = true end
  local w, b
  for attempt = 1, 30 do
    local step = spread * (0.3 + 0.7 * r:unit()) * (attempt > 10 and 2 or 1)
    local gn = math.sqrt(gw * gw + gb * gb)
    local dw, db
    if gn > 0 and r:unit() < 0.75 then
      dw, db = -gw / gn * step, -gb / gn * step
      dw, db = dw + r:normal() * step * 0.3, db + r:normal() * step * 0.3
    else
      dw, db = r:normal() * step, r:normal() * step
    end
    if ints then
      if math.abs(dw) < 1 and math.abs(db) < 1 then
        if r:unit() < 0.5 then dw = r:unit() < 0.5 and -1 or 1 else db = r:unit() < 0.5 and -1 or 1 end
      end
    end
    w, b = best.w + dw, best.b + db
    if not taken[fmt_num(w, ints) .. "," .. fmt_num(b, ints)] then break end
  end
  local lead = r:pick { "Looking at the trend of the values, a nearby point in the improving direction should be lower.",
                        "The function decreases towards the best pairs, so I continue in that direction.",
                        "Moving slightly away from the best pair along the descending direction:" }
  return lead .. "\n[" .. fmt_num(w, ints) .. ", " .. fmt_num(b, ints) .. "]"
end

---------------------------------------------------------------------------
-- TSP meta-prompts: points with coordinates, <trace> tours with lengths.
local MAX_POINTS = 200   -- points (i) with i >= 200 are ignored (a 20-digit index asked for a tour of 1e20 cities)

local function tsp_reply(p, req)
  local xs, ys, n = {}, {}, 0
  for i, x, y in p:gmatch("%((%d+)%): %(" .. NUM .. ", " .. NUM .. "%)") do
    i = math.tointeger(tonumber(i))
    if i and i < MAX_POINTS then
      xs[i], ys[i] = tonumber(x), tonumber(y)
      if i + 1 > n then n = i + 1 end
    end
  end
  local tours = {}
  for t, len in p:gmatch("<trace>%s*([%d,%s]-)%s*</trace>%s*length:%s*" .. NUM) do
    local tour = {}
    for v in t:gmatch("%d+") do tour[#tour + 1] = tonumber(v) end
    tours[#tours + 1] = { tour = tour, len = tonumber(len) or math.huge }
  end
  local r = util.rng(util.hash(cfg.seed, "tsp", p, req.sample))
  local function valid(t)
    if #t ~= n then return false end
    local seen = {}
    for _, v in ipairs(t) do
      if v < 0 or v >= n or seen[v] then return false end
      seen[v] = true
    end
    return true
  end
  local function dist(a, b)
    local dx, dy = (xs[a] or 0) - (xs[b] or 0), (ys[a] or 0) - (ys[b] or 0)
    return math.sqrt(dx * dx + dy * dy)
  end
  table.sort(tours, function(a, b) return a.len < b.len end)
  local base
  for _, t in ipairs(tours) do if valid(t.tour) then base = t.tour; break end end
  if not base then
    base = {}
    for i = 0, n - 1 do base[#base + 1] = i end
    if n > 2 then
      local rest = { table.unpack(base, 2) }
      r:shuffle(rest)
      base = { 0, table.unpack(rest) }
    end
  end
  local seen = {}
  for _, t in ipairs(tours) do seen[table.concat(t.tour, ",")] = true end
  local best, best_delta
  if n >= 4 then
    for _ = 1, 200 do    -- 2-opt: reverse base[i..j], keeping the first city in place
      local i, j = r:int(2, n - 1), r:int(3, n)
      if i > j then i, j = j, i end
      if j > i then
        local a, b, c, d = base[i - 1], base[i], base[j], base[j % n + 1]
        local delta = dist(a, c) + dist(b, d) - dist(a, b) - dist(c, d)
        local cand = {}
        for k = 1, n do cand[k] = base[k] end
        for k = 0, (j - i) // 2 do cand[i + k], cand[j - k] = cand[j - k], cand[i + k] end
        local key = table.concat(cand, ",")
        if not seen[key] and (not best_delta or delta < best_delta) then
          best, best_delta = cand, delta
          if delta < 0 and r:unit() < 0.3 then break end
        end
      end
    end
  end
  best = best or base
  return "<trace>" .. table.concat(best, ",") .. "</trace>"
end

---------------------------------------------------------------------------
local PLAIN = {
  "This reply comes from opro-sim, a deterministic simulator (not a model). It received your message: \"%s\".",
  "opro-sim (a rule-based simulator, not a language model) has no specific answer for: \"%s\".",
  "Simulated reply (opro-sim is a simulator, not a model). It recognises scorer prompts, optimizer meta-prompts, linear regression and TSP prompts; this was none of them: \"%s\".",
}

local function plain_reply(p, req)
  local r = util.rng(util.hash(cfg.seed, "plain", p, req.sample))
  local gist = util.squash(p):sub(1, 60)
  return string.format(r:pick(PLAIN), gist)
end

--- What kind of prompt this is: "tsp", "linear_regression", "optimizer", "scorer" or "plain".
function M.classify(p)
  if p:find("<trace>", 1, true) and p:find("length:", 1, true) or p:find("list of points with coordinates", 1, true) then
    return "tsp"
  end
  if p:find("w=", 1, true) and p:find("\nvalue:\n", 1, true) or p:find("pair [w, b]", 1, true) then
    return "linear_regression"
  end
  if is_optimizer(p) then return "optimizer" end
  if find_question(p) then return "scorer" end
  return "plain"
end

--- The reply to a text-generation request (chat, completion, messages, generateContent).
function M.reply(req)
  local p = req.prompt
  local kind = M.classify(p)
  if kind == "tsp" then return tsp_reply(p, req) end
  if kind == "linear_regression" then return linreg_reply(p, req) end
  if kind == "optimizer" then return optimize_reply(p, req) end
  if kind == "scorer" then return score_reply(find_question(p), req) end
  return plain_reply(p, req)
end

--- An embedding vector for req.text with req.dimensions numbers.
function M.embed(req)
  return embed.vector(req.text, req.dimensions, cfg.seed)
end

return M
