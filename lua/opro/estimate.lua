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
--   plus the candidates of s-1 steps; it is built from the task's own
--   template with synthetic copies of the initial solutions, so the growth
--   and the cap of the template (max_num_instructions, ...) are measured,
--   not guessed.
-- - scorer: every new candidate (the initial ones and new_ratio of the
--   proposals) is scored on the training items, one call per item; the
--   input is the scorer prompt of each training item (task:scorer_prompt
--   when the task has it, else instruction + question).
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

-- A variant of an initial solution that a template shows as another entry.
local function variant(sol, i)
  if type(sol) == "string" then return sol end
  if type(sol) == "table" and sol.w ~= nil then
    return { w = sol.w + i, b = sol.b + (i % 3) }
  end
  if type(sol) == "table" and #sol > 0 then
    local n, out = #sol, {}
    for j = 1, n do out[j] = sol[((j - 1 + i) % n) + 1] end
    return out
  end
  return sol
end

local function key_of(task, sol, i)
  local ok, k = pcall(task.key, task, sol)
  return (ok and type(k) == "string" and k or tostring(sol)) .. "#" .. i
end

-- The meta-prompt length (tokens) for a history of `n` synthetic entries.
local function meta_tokens(task, template, topts, n)
  local init = task.initial or {}
  if #init == 0 then return nil end
  local hist = {}
  for i = 1, n do
    local sol = variant(init[(i - 1) % #init + 1], (i - 1) // #init)
    local score = (task.better == "lower") and (1000 - i) or (0.3 + 0.6 * i / (n + 1))
    hist[i] = { solution = sol, score = score, step = i <= #init and 0 or 1, key = key_of(task, sol, i) }
  end
  local o = {}
  for k, v in pairs(topts or {}) do o[k] = v end
  o.step, o.rep = 1, 1
  o.rng = require("opro.rng").new(0)
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
    if type(task.scorer_prompt) == "function" then
      local ok, v = pcall(task.scorer_prompt, task, sol, item)
      if ok then p = v end
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

--- Computes the estimate (see the top of this file).
function M.estimate(o)
  assert(type(o) == "table", "opro.estimate: a table of options expected")
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
  local new_ratio = o.new_ratio or 0.75     -- proposals that are new and valid (opro-sim: ~0.7-0.9)
  local new_per_step = k * new_ratio

  -- optimizer input tokens per step, measured on the template
  local t0, text0 = meta_tokens(task, template, topts, ninit)
  local opt_in, per_step = 0, {}
  if t0 then
    local tbig = meta_tokens(task, template, topts, ninit + 200) or t0
    local t1 = meta_tokens(task, template, topts, ninit * 2) or t0
    local per_entry = ninit > 0 and (t1 - t0) / ninit or 0
    for s = 1, steps do
      local n = ninit + (s - 1) * new_per_step
      local t = math.min(t0 + per_entry * (n - ninit), math.max(tbig, t0))
      per_step[s] = t
      opt_in = opt_in + t * k
    end
  end
  -- optimizer output: a sentence of reasoning and the solution in tags
  local sol_tokens = 0
  for _, s in ipairs(init) do
    sol_tokens = sol_tokens + tokens(type(task.format) == "function" and task:format(s) or tostring(s))
  end
  sol_tokens = ninit > 0 and sol_tokens / ninit or 10
  local opt_out_per = o.optimizer_output_tokens or math.ceil(sol_tokens * 1.3 + 12)
  local opt_calls = reps * steps * k

  -- scorer: one call per training item for every new candidate
  local items = train_items(task)
  local calls_per_score = o.calls_per_score or (type(task.calls_per_score) == "function" and task:calls_per_score())
                          or task.calls_per_score or #items
  local scored = reps * (ninit + steps * new_per_step)
  local sc_in_per = 0
  if calls_per_score > 0 and ninit > 0 then
    local total, n = 0, 0
    for _, s in ipairs(init) do
      for _, p in ipairs(scorer_prompts(task, s)) do total = total + tokens(p); n = n + 1 end
    end
    sc_in_per = n > 0 and total / n or 0
  end
  local sc_out_per = o.scorer_output_tokens or 45
  local sc_calls = math.floor(scored * calls_per_score + 0.5)

  local oprice = price_of(o.optimizer, o.optimizer_price)
  local sprice = price_of(o.scorer or task.scorer, o.scorer_price)
  local function part(calls, tin, tout, price)
    tin, tout = math.floor(tin + 0.5), math.floor(tout + 0.5)
    return { calls = calls, input_tokens = tin, output_tokens = tout, tokens = tin + tout,
             cost = (tin * price.input + tout * price.output) / 1e6 }
  end
  local est = {
    optimizer = part(opt_calls, reps * opt_in, opt_calls * opt_out_per, oprice),
    scorer = part(sc_calls, sc_calls * sc_in_per, sc_calls * sc_out_per, sprice),
    assumptions = { steps = steps, candidates_per_step = k, reps = reps, new_ratio = new_ratio,
                    initial = ninit, train_items = calls_per_score, meta_prompt_tokens_first = t0,
                    meta_prompt_tokens_last = per_step[#per_step], optimizer_output_tokens = opt_out_per,
                    scorer_input_tokens = math.floor(sc_in_per + 0.5), scorer_output_tokens = sc_out_per,
                    candidates_scored = math.floor(scored + 0.5) },
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
  return table.concat(lines, "\n") .. "\n"
end

return setmetatable(M, { __call = function(_, o) return M.estimate(o) end })
