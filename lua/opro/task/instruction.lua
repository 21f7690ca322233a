--- opro.task.instruction: prompt optimization on a dataset with a scorer LLM
-- (the paper's §4). A solution is an instruction (a string); its score is the
-- fraction of train items the scorer answers correctly with it.
--
--   local task = opro.task.instruction{
--     scorer = llm,               -- anything with :chat(prompt, opts)
--     train = items, test = items,-- opro.dataset items {input=, target=, kind=, ...}
--     dataset = "gsm8k",          -- the reference's per-dataset settings (kind, validation)
--     position = "Q_begin",       -- "Q_begin" | "Q_end" | "before_Q" | "A_begin"
--     include_qa = nil,           -- "Q:"/"A:" around question/answer (default below)
--     kind = nil,                 -- answer kind override ("number"|"boolean"|"choice"|"text")
--     check = fn(response, item, prompt) -> correct, prediction,   -- full override
--     extract = fn(response, item) -> prediction,                  -- prediction override
--     extract_opts = { boxed = true, decimals = 0, ... },          -- more opro.extract.score options
--                                 -- (boxed = true: the reference's GPT-scorer \boxed{} rule)
--     concurrency = nil,          -- items scored at once (default: all; the llm caps it)
--     chat = { max_tokens = ... },-- options passed to scorer:chat
--     initial = { "Let's solve the problem." },
--   }
--
-- Prompts are built exactly as the reference's eval_utils.gen_prompt. The
-- reference scores with include_qa=False (its scorer settings for both
-- text-bison and GPT models), which only allows Q_begin and Q_end; A_begin
-- and before_Q need the "Q: ... A:" frame (the paper's pre-trained-model
-- format), so include_qa defaults to true for those two positions.
local base = require "opro.task"
local options = require "opro.options"

local M = {}

local POSITIONS = { Q_begin = true, Q_end = true, before_Q = true, A_begin = true }

--- The scorer prompt for one question, exactly as the reference's gen_prompt.
function M.prompt(question, instruction, position, include_qa)
  position = position or "Q_begin"
  if not POSITIONS[position] then
    error("opro.task.instruction: position must be one of Q_begin, Q_end, before_Q, A_begin; got '"
      .. tostring(position) .. "'", 2)
  end
  if include_qa == nil then include_qa = position == "A_begin" or position == "before_Q" end
  local has = instruction ~= nil and instruction ~= ""
  if include_qa then
    if position == "before_Q" then
      return (has and instruction .. "\n" or "") .. "Q: " .. question .. "\n\nA:"
    elseif position == "Q_begin" then
      return (has and "Q: " .. instruction .. "\n" or "Q: ") .. question .. "\n\nA:"
    elseif position == "Q_end" then
      return "Q: " .. question .. (has and "\n" .. instruction .. "\n\nA:" or "\n\nA:")
    else -- A_begin
      return "Q: " .. question .. "\n\nA:" .. (has and " " .. instruction or "")
    end
  end
  if position == "Q_begin" then
    return (has and instruction .. "\n" or "") .. question
  elseif position == "Q_end" then
    return question .. (has and "\n" .. instruction or "")
  end
  error("opro.task.instruction: position '" .. position .. "' needs include_qa = true (the \"Q:\"/\"A:\" frame)", 2)
end

-- ------------------------------------------------------------ checking answers
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function last_number(s)
  local last
  for n in s:gsub("(%d),(%d%d%d)", "%1%2"):gmatch("%-?%d+%.?%d*") do last = n end
  return last and tonumber((last:gsub("%.$", "")))
end

local BOOL = { ["true"] = true, yes = true, valid = true, ["false"] = false, no = false, invalid = false }

-- A small built-in checker, used only when opro.extract is not available.
local function fallback_check(response, item)
  local kind = item.kind or "text"
  local r = response or ""
  if kind == "number" then
    local p, t = last_number(r), tonumber((tostring(item.target):gsub(",", "")))
    return p ~= nil and t ~= nil and math.abs(p - t) < 1e-6, p and tostring(p)
  elseif kind == "boolean" then
    local tv = BOOL[trim(tostring(item.target)):lower()]
    local pv, pword
    for w in r:lower():gmatch("%a+") do
      if BOOL[w] ~= nil then pv, pword = BOOL[w], w end
    end
    return tv ~= nil and pv == tv, pword
  elseif kind == "choice" then
    local letter = tostring(item.target):match("%(?(%a)%)?")
    local p = r:match("%((%u)%)") or r:match("^%s*(%u)[%).:]?%s*$") or r:match("[Aa]nswer is:?%s*%(?(%u)")
    local ok = p ~= nil and letter ~= nil and p:upper() == letter:upper()
    if not ok and item.choices and letter then
      local txt = item.choices[letter:upper():byte() - 64]
      if txt and txt ~= "" and r:lower():find(txt:lower(), 1, true) then ok = true end
    end
    return ok, p
  end
  local t = trim(tostring(item.target)):lower()
  return t ~= "" and r:lower():find(t, 1, true) ~= nil, trim(r)
end

-- -> correct (boolean), prediction (string or nil)
local function default_check(response, item, prompt, dataset, extra)
  local extract = base.optional("opro.extract")
  if extract and type(extract.score) == "function" then
    local opts = { kind = item.kind, target = item.target }
    for k, v in pairs(extra or {}) do opts[k] = v end
    if item.kind == "choice" then opts.input = prompt end   -- the reference passes the prompt for choices
    local r, pred = extract.score(response or "", item.target, opts)
    if type(r) == "number" then r = r > 0 end
    if type(r) == "table" then
      pred = r.prediction
      r = r.correct == true or r.correct == 1
    end
    return r == true, pred
  end
  return fallback_check(response, item)
end

local function normalize(v)
  local s = trim(tostring(v)):lower()
  local n = tonumber((s:gsub(",", "")))
  return n or s
end

-- ------------------------------------------------------------ the objective
local Task = {}
Task.__index = Task

--- The options opro.task.instruction reads.
M.options = options.set { "train", "test", "scorer", "check", "position", "include_qa", "dataset", "kind", "answer",
  "extract", "extract_opts", "boxed", "concurrency", "chat", "initial", "max_length", "better", "task_name",
  "exemplars", "num_exemplars" }

function M.new(o)
  if type(o) ~= "table" then error("opro.task.instruction: a table of options expected", 3) end
  options.check(o, M.options, "opro.task.instruction", "docs/tasks.md", 3)
  if type(o.train) ~= "table" or #o.train == 0 then
    error("opro.task.instruction: train (a non-empty list of items {input=, target=}) is required", 3)
  end
  if o.scorer == nil and o.check == nil then
    error("opro.task.instruction: scorer (an llm with :chat) is required", 3)
  end
  if o.scorer ~= nil and (type(o.scorer) ~= "table" or type(o.scorer.chat) ~= "function") then
    error("opro.task.instruction: scorer must be an llm (a table with :chat)", 3)
  end
  local position = o.position or "Q_begin"
  if not POSITIONS[position] then
    error("opro.task.instruction: position must be one of Q_begin, Q_end, before_Q, A_begin; got '"
      .. tostring(position) .. "'", 3)
  end
  local include_qa = o.include_qa
  if include_qa == nil then include_qa = position == "A_begin" or position == "before_Q" end
  if not include_qa and (position == "A_begin" or position == "before_Q") then
    error("opro.task.instruction: position '" .. position .. "' needs include_qa = true", 3)
  end
  for name, list in pairs { train = o.train, test = o.test or {} } do
    for i, it in ipairs(list) do
      if type(it) ~= "table" or type(it.input) ~= "string" or it.target == nil then
        error(string.format("opro.task.instruction: %s[%d] must be an item {input=<string>, target=}", name, i), 3)
      end
    end
  end
  local dataset = o.dataset or (o.train[1] and o.train[1].dataset)
  local t = setmetatable({
    scorer = o.scorer, train = o.train, test = o.test, dataset = dataset,
    position = position, include_qa = include_qa, answer_kind = o.kind or o.answer,
    check = o.check, extract = o.extract, concurrency = o.concurrency, chat = o.chat or {},
    extract_opts = o.extract_opts or (o.boxed ~= nil and { boxed = o.boxed } or nil),
    initial = o.initial or M.default_initial(dataset),
    max_length = o.max_length or 500, better = o.better or "higher",
    task_name = o.task_name or (o.train[1] and o.train[1].task),
    exemplars = o.exemplars, num_exemplars = o.num_exemplars or 3,
  }, Task)
  base.base(t, "instruction", function(opts, history)
    if opts.position == nil and opts.instruction_pos == nil then opts.position = t.position end
    if opts.include_qa == nil then opts.include_qa = t.include_qa end
    if opts.dataset == nil then opts.dataset = t.dataset end
    if opts.task_name == nil then opts.task_name = t.task_name end
    if history and opts.exemplars == nil then opts.exemplars = t:pick_exemplars(history, opts) end
  end)
  return t
end

-- an item as the meta-prompt template shows it (MMLU: the raw question and
-- its choices; the template lists them as the reference does)
local function exemplar(item)
  if item.dataset == "mmlu" and item.question then
    return { input = item.question, target = item.target, choices = item.choices, index = item.index }
  end
  return { input = item.input, target = item.target, index = item.index }
end

--- The exemplars of the meta-prompt at a step (the reference's
-- few_shot_selection_criteria), chosen by opro.template.exemplars:
-- opts.exemplars = "random" (default: np.random.seed(step - 1);
-- np.sort(np.random.choice(train_index, 3))), "constant" (seed 0), "wrong"
-- (accumulative_most_frequent: the train items the instructions in the
-- history get wrong most often), "current_wrong" (current_most_frequent:
-- counted over the instructions the meta-prompt shows), "none", or a list of
-- items. The count is opts.num_exemplars (default 3).
function Task:pick_exemplars(history, opts)
  local how = self.exemplars or "random"
  if type(how) == "table" then return how end
  local k = opts.num_exemplars or self.num_exemplars
  if how == "none" or k == 0 then return {} end
  local ex = require "opro.template.exemplars"
  local train = self.train
  local o = { k = math.min(k, #train), step = math.max(math.tointeger(opts.step) or 1, 1),
              max_num_instructions = opts.max_num_instructions, score_threshold = opts.score_threshold }
  local chosen
  if how == "random" then
    chosen = ex.random(train, o)
  elseif how == "constant" then
    chosen = ex.constant(train, o)
  elseif how == "wrong" or how == "current_wrong" then
    -- details.wrong holds dataset indices; exemplars counts train positions
    local pos = {}
    for i, it in ipairs(train) do pos[it.index or (i - 1)] = i end
    local h = {}
    for j, e in ipairs(history) do
      local wrong = {}
      local listed = type(e.details) == "table" and e.details.wrong
      if type(listed) == "table" then
        for _, idx in ipairs(listed) do wrong[#wrong + 1] = pos[idx] end
      end
      h[j] = { solution = e.solution, score = e.score, step = e.step, wrong = wrong }
    end
    o.current = how == "current_wrong"
    chosen = ex.most_wrong(h, train, o)
  else
    error("opro.task.instruction: exemplars must be 'random', 'constant', 'wrong', 'current_wrong', "
      .. "'none' or a list; got '" .. tostring(how) .. "'", 2)
  end
  local out = {}
  for i, it in ipairs(chosen) do out[i] = exemplar(it) end
  return out
end

--- The reference's initial instructions (optimize_instructions.py:
-- initial_instructions) — the same for every dataset.
function M.default_initial(_) return { "Let's solve the problem." } end

function Task:key(solution)
  if type(solution) ~= "string" then
    error("opro.task.instruction: a solution is a string (an instruction), got " .. type(solution), 2)
  end
  return solution
end

function Task:format(solution) return solution end

--- The reference's filters on generated instructions (opt_utils.run_evolution):
-- longer than 500 characters, digits in a GSM8K instruction, "INS" in it.
function Task:validate(solution)
  if type(solution) ~= "string" then return false, "an instruction must be a string" end
  if #solution > self.max_length then return false, "too long" end
  if self.dataset == "gsm8k" and solution:find("%d") then return false, "contains numbers" end
  if solution:find("INS", 1, true) then return false, "contains 'INS'" end
  return true
end

--- The scorer prompt of one item with this instruction.
function Task:prompt(instruction, item)
  return M.prompt(item.input, instruction, self.position, self.include_qa)
end

function Task:item_kind(item)
  return self.answer_kind or item.kind or "text"
end

-- scores `instruction` on a list of items: fraction correct, details
function Task:run_items(instruction, items, split, ctx)
  if type(instruction) ~= "string" then
    return nil, "an instruction must be a string", "parse"
  end
  ctx = ctx or {}
  local key = ctx.key or instruction
  local results = opro.map(items, function(item, i)
    local prompt = self:prompt(instruction, item)
    local response, info, code, finfo = self.scorer:chat(prompt, self.chat)
    if response == nil and type(finfo) == "table" and finfo.no_text then
      -- the scorer refused or was blocked (opro.llm's info.no_text): a
      -- wrong answer with an empty response, as an empty answer is, rather
      -- than a failure that leaves the whole instruction unscored
      if ctx.run and ctx.run.record_evaluation then
        ctx.run:record_evaluation{ rep = ctx.rep, key = key, split = split, index = item.index or (i - 1),
          input = prompt, target = item.target, response = "", correct = false }
      end
      return { correct = false, response = "", no_text = info }
    end
    if response == nil then return { error = info, code = code } end
    local it = item
    local kind = self:item_kind(item)
    if kind ~= item.kind then
      it = setmetatable({ kind = kind }, { __index = item })
    end
    local correct, prediction
    if self.check then
      correct, prediction = self.check(response, it, prompt)
    elseif self.extract then
      prediction = self.extract(response, it)
      correct = prediction ~= nil and normalize(prediction) == normalize(item.target)
    else
      correct, prediction = default_check(response, it, prompt, self.dataset, self.extract_opts)
    end
    correct = correct == true or correct == 1
    if ctx.run and ctx.run.record_evaluation then
      ctx.run:record_evaluation{ rep = ctx.rep, key = key, split = split, index = item.index or (i - 1),
        input = prompt, target = item.target, response = response,
        prediction = prediction ~= nil and tostring(prediction) or nil, correct = correct }
    end
    return { correct = correct, prediction = prediction, response = response }
  end, { concurrency = self.concurrency })
  local n, wrong = 0, {}
  for i, r in ipairs(results) do
    if r.error ~= nil or r.code ~= nil then
      return nil, string.format("scoring item %d of %d failed: %s", i, #items, tostring(r.error)), r.code
    end
    if r.correct then n = n + 1 else wrong[#wrong + 1] = items[i].index or (i - 1) end
  end
  local acc = n / #items
  return acc, { correct = n, total = #items, accuracy = acc, wrong = wrong, split = split,
                predictions = ctx.keep_predictions and results or nil }
end

function Task:score(solution, ctx)
  return self:run_items(solution, self.train, ctx and ctx.split or "train", ctx)
end

--- The held-out score on the test split (nil, message when there is none).
function Task:evaluate(solution, ctx)
  if not self.test or #self.test == 0 then return nil, "no test items", "parse" end
  return self:run_items(solution, self.test, "test", ctx)
end

M.fallback_check = fallback_check
return M
