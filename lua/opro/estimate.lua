--- opro.estimate: the expected calls, tokens and cost of a configured run,
-- computed without calling anything.
--   local est = opro.estimate{ task=, optimizer=, steps=, candidates_per_step=, reps=,
--                              template=, template_opts=, order=, scorer=,
--                              new_ratio=, optimizer_output_tokens=, scorer_output_tokens= }
--   io.write(opro.estimate.format(est))
--
-- Model (docs/loop.md#estimate):
-- - optimizer: reps * steps * candidates_per_step calls. The input of the
--   call at step s is the meta-prompt of a history of the initial solutions
--   plus the new candidates of s-1 steps; it is built by the task's own
--   template from the initial solutions and synthetic proposals of the
--   expected length, so the growth and the cap of the template
--   (max_num_instructions, ...) are measured, not guessed.
-- - scorer: every new candidate (the initial ones and new_ratio of the
--   proposals) is scored on the training items, one call per item; the
--   input is the scorer prompt of each training item (task:scorer_prompt
--   when the task has it, else instruction + question), grown by the
--   expected length of a proposal; plus evaluate_top x #task.test calls.
-- - tokens are counted as characters / 4 (what OpenAI-style tokenizers
--   average on English, and what opro-sim reports).
-- - cost: price = {input=, output=} in USD per million tokens (the llm's
--   `price` unless given).
local M = {}

M.CHARS_PER_TOKEN = 4

local function tokens(text)
  if type(text) ~= "string" then return 0 end
  return math.ceil(#text / M.CHARS_PER_TOKEN)
end
M.tokens = tokens

-- Filler text for synthetic proposals of a given length.
local FILLER = "Read the question carefully, solve the problem step by step and check each calculation. "

-- A proposal-like variant of an initial solution: strings are padded (or
-- cut) to `chars` characters; (w, b) pairs and tours are shifted so a
-- template shows them as distinct entries.
local function variant(sol, i, chars)
  if type(sol) == "string" then
    if chars and chars > 0 then
      local t = (sol ~= "" and (sol .. " ") or "") .. string.rep(FILLER, chars // #FILLER + 1)
      return t:sub(1, chars) .. " #" .. i
    end
    return sol .. " #" .. i
  end
  if type(sol) == "table" and sol.w ~= nil then
    return { w = sol.w + i, b = sol.b + (i % 3) }
  end
  if type(sol) == "table" and #sol > 0 then
    local n, out = #sol, {}
    out[1] = sol[1]
    for j = 2, n do out[j] = sol[((j - 2 + i) % (n - 1)) + 2] end
    return out
  end
  return sol
end

local function key_of(task, sol, i)
  local ok, k = pcall(task.key, task, sol)
  return (ok and type(k) == "string" and k or tostring(sol)) .. "#" .. i
end

local function format_of(task, sol)
  if type(task.format) == "function" then
    local ok, t = pcall(task.format, task, sol)
    if ok and type(t) == "string" then return t end
  end
  return type(sol) == "string" and sol or tostring(sol)
end

-- The meta-prompt length (tokens) for the initial solutions plus `extra`
-- synthetic proposals of `chars` characters.
local function meta_tokens(task, template, topts, extra, chars)
  local init = task.initial or {}
  if #init == 0 then return nil end
  local hist = {}
  for i, sol in ipairs(init) do
    local score = (task.better == "lower") and (2000 - i) or 0.3 + 0.01 * i
    hist[i] = { solution = sol, score = score, step = 0, key = key_of(task, sol, i), text = format_of(task, sol) }
  end
  for j = 1, extra do
    local sol = variant(init[(j - 1) % #init + 1], j, chars)
    local score = (task.better == "lower") and (1000 - j) or (0.4 + 0.5 * j / (extra + 1))
    hist[#hist + 1] = { solution = sol, score = score, step = 1, key = key_of(task, sol, 1000 + j),
                        text = format_of(task, sol) }
  end
  local o = {}
  for k, v in pairs(topts or {}) do o[k] = v end
  o.step, o.rep = 1, 1
  local r = require("opro.random").new(0)
  o.rng = function(n) return r:random(n) end
  o.prng = r
  o.task = task
  local ok, text = pcall(template, hist, o)
  if not ok or type(text) ~= "string" then return nil, text end
  return tokens(text), text
end

local function price_of(llm, given)
  local p = given or (type(llm) == "table" and rawget(llm, "price")) or
            (type(llm) == "table" and type(llm.price) == "table" and llm.price) or nil
  if type(p) ~= "table" then return { input = 0, output = 0 }, false end
  return { input = p.input or 0, output = p.output or 0 }, true
end

local function train_items(task)
  return task.train or task.items or {}
end

-- The scorer prompts of one solution over the training items.
local function scorer_prompts(task, sol)
  local items = train_items(task)
  if type(task.scorer_prompts) == "function" then
    local ok, list = pcall(task.scorer_prompts, task, sol)
    if ok and type(list) == "table" then return list end
  end
  local out = {}
  for i, item in ipairs(items) do
    local p
    for _, name in ipairs { "scorer_prompt", "prompt" } do   -- opro.task.instruction has :prompt(instruction, item)
      if p == nil and type(task[name]) == "function" then
        local ok, v = pcall(task[name], task, sol, item)
        if ok and (type(v) == "string" or type(v) == "table") then p = v end
      end
    end
    if type(p) == "table" then            -- messages
      local parts = {}
      for _, m in ipairs(p) do parts[#parts + 1] = tostring(m.content or "") end
      p = table.concat(parts, "\n")
    end
    if type(p) ~= "string" then
      local ins = type(task.format) == "function" and task:format(sol) or tostring(sol)
      p = ins .. "\n\nQ: " .. tostring(item.input or item.question or "") .. "\nA:"
    end
    out[i] = p
  end
  return out
end

--- Computes the estimate (see the top of this file). Options besides the
-- loop's: new_ratio (0.9: share of proposals that are new and valid),
-- solution_chars (the expected length of a proposed text; default: the
-- initial texts' length, at least 120 characters — instructions grow as
-- the optimizer combines ideas), optimizer_output_tokens, scorer_output_tokens
-- (20: a short worked answer; raise it for scorers that reason at length),
-- calls_per_score (default #task.train), evaluate_top (test evaluations).
function M.estimate(o)
  if type(o) ~= "table" then error("opro.estimate: a table of options expected", 2) end
  require("opro.options").check(o, require("opro.optimize").options, "opro.estimate", "docs/loop.md#options")
  local task = o.task
  if type(task) == "function" then task = task(1, o.seed or 0) end
  if type(task) == "table" and task.score == nil and task[1] then task = task[1] end
  assert(type(task) == "table", "opro.estimate: task is required")
  local steps = o.steps or 10
  local k = o.candidates_per_step or 8
  local reps = o.reps or 1
  local template = o.template or task.template
  local topts = {}
  for kk, v in pairs(o.template_opts or {}) do topts[kk] = v end
  topts.order = topts.order or o.order
  local init = task.initial or {}
  local ninit = #init
  local new_ratio = o.new_ratio or 0.9
  local new_per_step = k * new_ratio

  -- the length of a proposal
  local init_chars, strings = 0, true
  for _, sol in ipairs(init) do
    init_chars = init_chars + #format_of(task, sol)
    if type(sol) ~= "string" then strings = false end
  end
  init_chars = ninit > 0 and init_chars / ninit or 0
  local chars = o.solution_chars or (strings and math.max(init_chars, 120) or nil)
  local sol_tokens = chars and chars / M.CHARS_PER_TOKEN or init_chars / M.CHARS_PER_TOKEN

  -- optimizer input per step: the template on a growing synthetic history
  local memo, opt_in, per_step, text0 = {}, 0, {}, nil
  local function at(extra)
    extra = math.min(extra, 240)     -- templates show a bounded number of entries
    if memo[extra] == nil then memo[extra] = meta_tokens(task, template, topts, extra, chars) or false end
    return memo[extra] or nil
  end
  if template and ninit > 0 then
    local t0
    t0, text0 = meta_tokens(task, template, topts, 0, chars)
    for s = 1, steps do
      local t = at(math.floor((s - 1) * new_per_step + 0.5)) or t0 or 0
      per_step[s] = t
      opt_in = opt_in + t * k
    end
  end
  local opt_out_per = o.optimizer_output_tokens or math.ceil(sol_tokens * 1.1 + 5)
  local opt_calls = reps * steps * k

  -- scorer: one call per training item for every new candidate
  local items = train_items(task)
  local calls_per_score = o.calls_per_score or (type(task.calls_per_score) == "function" and task:calls_per_score())
                          or task.calls_per_score or #items
  if type(calls_per_score) ~= "number" then calls_per_score = #items end
  local scored = reps * (ninit + steps * new_per_step)
  local sc_in_per, sc_base, grown = 0, 0, 0
  if ninit > 0 then
    local total, n = 0, 0
    for _, s0 in ipairs(init) do
      for _, p in ipairs(scorer_prompts(task, s0)) do total = total + tokens(p); n = n + 1 end
    end
    sc_base = n > 0 and total / n or 0
    -- proposals are longer than the initial texts (the step-0 ones are not)
    if strings and chars then grown = math.max(0, chars - init_chars) / M.CHARS_PER_TOKEN end
    sc_in_per = sc_base + grown * (scored - reps * ninit) / math.max(scored, 1)
  end
  local sc_out_per = o.scorer_output_tokens or 20
  local sc_calls = math.floor(scored * calls_per_score + 0.5)
  -- the held-out evaluation of the top solutions (proposals: grown prompts)
  local ntest = type(task.test) == "table" and #task.test or 0
  local ev_calls = (o.evaluate_top or 0) > 0 and math.min(o.evaluate_top, math.floor(scored + 0.5)) * ntest or 0
  local ev_in = 0
  if ev_calls > 0 then
    local total, n = 0, 0
    for _, p in ipairs(scorer_prompts(setmetatable({ train = task.test }, { __index = task }), init[1])) do
      total = total + tokens(p); n = n + 1
    end
    ev_in = ev_calls * ((n > 0 and total / n or sc_base) + grown)
  end

  local oprice, oknown = price_of(o.optimizer, o.optimizer_price)
  local sprice, sknown = price_of(o.scorer or task.scorer, o.scorer_price)
  local function part(calls, tin, tout, price)
    tin, tout = math.floor(tin + 0.5), math.floor(tout + 0.5)
    return { calls = calls, input_tokens = tin, output_tokens = tout, tokens = tin + tout,
             cost = (tin * price.input + tout * price.output) / 1e6 }
  end
  local est = {
    optimizer = part(opt_calls, reps * opt_in, opt_calls * opt_out_per, oprice),
    scorer = part(sc_calls + ev_calls, sc_calls * sc_in_per + ev_in, (sc_calls + ev_calls) * sc_out_per, sprice),
    assumptions = { steps = steps, candidates_per_step = k, reps = reps, new_ratio = new_ratio,
                    initial = ninit, train_items = calls_per_score, meta_prompt_tokens_first = per_step[1],
                    meta_prompt_tokens_last = per_step[#per_step], optimizer_output_tokens = opt_out_per,
                    solution_chars = chars, evaluation_calls = ev_calls,
                    scorer_input_tokens = math.floor(sc_in_per + 0.5), scorer_output_tokens = sc_out_per,
                    candidates_scored = math.floor(scored + 0.5),
                    upper_bound = type(task.found) == "function" or nil,
                    priced = { optimizer = oknown, scorer = sknown } },
    sample_meta_prompt = text0,
  }
  est.total = {
    calls = est.optimizer.calls + est.scorer.calls,
    input_tokens = est.optimizer.input_tokens + est.scorer.input_tokens,
    output_tokens = est.optimizer.output_tokens + est.scorer.output_tokens,
    cost = est.optimizer.cost + est.scorer.cost,
  }
  est.total.tokens = est.total.input_tokens + est.total.output_tokens
  return est
end

local function thousands(n)
  local s = tostring(math.floor(n + 0.5))
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- The estimate as a short table for people.
function M.format(est)
  local a = est.assumptions
  local lines = {
    "Estimate (nothing was called):",
    string.format("  %-10s %10s %14s %14s %12s", "", "calls", "input tokens", "output tokens", "cost (USD)"),
  }
  for _, name in ipairs { "optimizer", "scorer", "total" } do
    local p = est[name]
    lines[#lines + 1] = string.format("  %-10s %10s %14s %14s %12.4f", name, thousands(p.calls),
      thousands(p.input_tokens), thousands(p.output_tokens), p.cost)
  end
  lines[#lines + 1] = string.format("  assumes %d rep(s) x %d steps x %d proposals, %.0f%% of them new; %d initial; %d scorer call(s) per candidate",
    a.reps, a.steps, a.candidates_per_step, 100 * a.new_ratio, a.initial, a.train_items)
  if a.meta_prompt_tokens_first then
    lines[#lines + 1] = string.format("  meta-prompt: %d tokens at step 1, %d at the last step; scorer prompt: %d tokens",
      a.meta_prompt_tokens_first, math.floor((a.meta_prompt_tokens_last or 0) + 0.5), a.scorer_input_tokens)
  end
  if a.upper_bound then
    lines[#lines + 1] = "  an upper bound: a rep stops as soon as it finds the optimum"
  end
  local unpriced = {}
  for _, name in ipairs { "optimizer", "scorer" } do
    if a.priced and not a.priced[name] then unpriced[#unpriced + 1] = name end
  end
  if #unpriced > 0 then
    lines[#lines + 1] = "  no price known for the " .. table.concat(unpriced, " and ") ..
      ": cost shows as 0; give --price INPUT,OUTPUT (USD per million tokens)"
  end
  return table.concat(lines, "\n") .. "\n"
end

return setmetatable(M, { __call = function(_, o) return M.estimate(o) end })
