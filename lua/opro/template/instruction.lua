--- opro.template.instruction: the prompt-optimization meta-prompt, byte for
-- byte as the reference's gen_meta_prompt (opro/optimization/opt_utils.py)
-- builds it. See docs/templates.md for every option.
local num = require "opro.template.num"
local order_mod = require "opro.order"

local WHO = "opro.template.instruction"

local POSITIONS = { before_Q = true, Q_begin = true, Q_end = true, A_begin = true }

local function bad(field, msg)
  error(string.format("%s: opts.%s %s", WHO, field, msg), 4)
end

-- Reads and checks the options; returns a table of normalised settings.
local function settings(opts, history)
  opts = opts or {}
  if type(opts) ~= "table" then error(WHO .. ": opts must be a table", 3) end
  local s = {}
  s.style = opts.style
  if s.style == nil then
    local name = opts.optimizer
    if name ~= nil and type(name) ~= "string" then bad("optimizer", "must be a model name") end
    s.style = (name and name:lower():find("bison", 1, true)) and "bison" or "gpt"
  end
  if s.style ~= "gpt" and s.style ~= "bison" then bad("style", "must be \"gpt\" or \"bison\", got " .. tostring(s.style)) end

  s.type = opts.meta_prompt_type or "both_instructions_and_exemplars"
  if s.type ~= "both_instructions_and_exemplars" and s.type ~= "instructions_only" then
    bad("meta_prompt_type", "must be \"both_instructions_and_exemplars\" or \"instructions_only\", got " .. tostring(s.type))
  end

  s.position = opts.position or opts.instruction_pos or "Q_begin"
  if not POSITIONS[s.position] then
    bad("position", "must be one of before_Q, Q_begin, Q_end, A_begin; got " .. tostring(s.position))
  end
  s.include_qa = opts.include_qa == true

  s.max = math.tointeger(opts.max_num_instructions or 20)
  if not s.max or s.max < 0 then bad("max_num_instructions", "must be an integer >= 0") end

  s.threshold = opts.score_threshold or opts.old_instruction_score_threshold or 0
  if type(s.threshold) ~= "number" then bad("score_threshold", "must be a number") end

  local b = opts.num_score_buckets
  if b == nil then b = 100 end
  if b == false or b == "none" or b == math.huge then
    s.buckets = nil
  elseif math.tointeger(b) and b > 0 then
    s.buckets = math.tointeger(b)
  else
    bad("num_score_buckets", "must be a positive integer, \"none\" or math.huge; got " .. tostring(b))
  end

  s.dataset = (opts.dataset or "gsm8k"):lower()
  s.task_name = opts.task_name or ""
  s.task_description = opts.task_description

  s.exemplars = opts.exemplars
  if type(s.exemplars) == "function" then s.exemplars = s.exemplars(history, opts) end
  if s.exemplars ~= nil and type(s.exemplars) ~= "table" then
    bad("exemplars", "must be a list of items or a function(history, opts) returning one")
  end
  s.instructions_before_exemplars = opts.instructions_before_exemplars ~= false

  s.length_constraint = opts.length_constraint
  if type(s.length_constraint) == "number" then s.length_constraint = math.tointeger(s.length_constraint) or false end
  if s.length_constraint ~= nil and type(s.length_constraint) ~= "string"
     and math.type(s.length_constraint) ~= "integer" then
    bad("length_constraint", "must be a sentence or a number of words")
  end

  s.order = order_mod.resolve(opts.order, WHO)
  s.order_opts = { better = "higher", seed = opts.seed, rng = opts.rng, k = opts.k }
  return s
end

local function show_score(score, buckets, digits)
  if buckets then
    if not (score >= 0 and score <= 1) then
      error(string.format("%s: score %s is not between 0 and 1 (num_score_buckets needs scores in [0, 1])",
        WHO, tostring(score)), 4)
    end
    return tostring(num.round_int(score * buckets))
  end
  return num.repr(num.np_round(score, digits))
end

-- The question and answer of one exemplar, as the reference formats them.
local function exemplar_qa(item, dataset, i)
  if type(item) ~= "table" then
    error(string.format("%s: opts.exemplars[%d] must be a table with input and target", WHO, i), 4)
  end
  local q = item.input or item.question
  local a = item.target
  if a == nil then a = item.answer end
  if q == nil or a == nil then
    error(string.format("%s: opts.exemplars[%d] needs input (or question) and target (or answer)", WHO, i), 4)
  end
  q = num.str(q)
  if dataset == "mmlu" and type(item.choices) == "table" then
    -- eval_utils._format_mmlu_example: four lettered choices and a question line
    local letters = { "(A)", "(B)", "(C)", "(D)" }
    for j, c in ipairs(item.choices) do
      q = q .. "\n" .. (letters[j] or ("(" .. string.char(64 + j) .. ")")) .. " " .. num.str(c)
    end
    q = q .. "\nWhat's the answer in (A) (B) (C) (D)?"
  end
  return q, num.str(a)
end

local function solution_text(e)
  local v = e.solution
  if type(v) ~= "string" and type(v) ~= "number" then
    error(string.format("%s: a history entry's solution must be an instruction string, got %s", WHO, type(v)), 5)
  end
  return num.str(v)
end

local function length_sentence(c)
  if c == nil then return "" end
  if type(c) == "string" then return " " .. c end
  return string.format(" The instruction should be at most %d words long.", c)
end

local function both(history, s)
  local gpt = s.style == "gpt"
  local old
  if gpt then
    if s.position == "A_begin" then
      old = "Your task is to generate the answer starting sentence <Start>."
        .. " Below are some previous starting sentences with their scores."
        .. " The score ranges from 0 to 100.\n"
    else
      old = "Your task is to generate the instruction <INS>."
        .. " Below are some previous instructions with their scores."
        .. " The score ranges from 0 to 100.\n"
    end
  else
    old = "I have some texts along with their corresponding scores."
      .. " The texts are arranged in ascending order based on their scores,"
      .. " where higher scores indicate better quality.\n\n"
  end
  local oo = {}
  for k, v in pairs(s.order_opts) do oo[k] = v end
  oo.limit = s.max
  local parts = { old }
  for _, e in ipairs(s.order(history, oo)) do
    if s.threshold == 0 or e.score >= s.threshold then
      parts[#parts + 1] = "\ntext:\n" .. solution_text(e) .. "\nscore:\n" .. show_score(e.score, s.buckets, 3) .. "\n"
    end
  end
  old = table.concat(parts)

  local prompt = old
  if s.exemplars then
    local ex = {}
    if gpt then
      ex[1] = "Below are some problems.\n"
    else
      ex[1] = "The following exemplars show how to apply your text: you replace"
        .. " <INS> in each input with your text, then read the input and give"
        .. " an output. We say your output is wrong if your output is"
        .. " different from the given output, and we say your output is"
        .. " correct if they are the same. When replacing <INS> with an old"
        .. " piece of text above, we get wrong outputs on the following"
        .. " inputs.\n\n"
    end
    for i, item in ipairs(s.exemplars) do
      local q, a = exemplar_qa(item, s.dataset, i)
      local p = s.position
      if s.include_qa then
        if p == "before_Q" then
          ex[#ex + 1] = "\ninput:\n<INS>\nQ: " .. q .. "\nA:"
        elseif p == "Q_begin" then
          ex[#ex + 1] = "\ninput:\nQ: <INS>\n" .. q .. "\nA:"
        elseif p == "Q_end" then
          ex[#ex + 1] = "\ninput:\nQ: " .. q .. "\n<INS>\nA:"
        elseif gpt then
          ex[#ex + 1] = "\nQ: " .. q .. "\nA: <Start>"
        else
          ex[#ex + 1] = "\ninput:\nQ: " .. q .. "\nA: <INS>"
        end
      else
        if p ~= "Q_begin" and p ~= "Q_end" then
          bad("position", "must be Q_begin or Q_end for exemplars without \"Q:\"/\"A:\" (include_qa=false); got " .. p)
        end
        local head = gpt and "\nProblem:\n" or "\ninput:\n"
        if p == "Q_begin" then
          ex[#ex + 1] = head .. "<INS>\n" .. q .. "\n"
        else
          ex[#ex + 1] = head .. q .. "\n<INS>\n"
        end
      end
      if gpt then
        ex[#ex + 1] = "\nGround truth answer:\n" .. a .. "\n"
      else
        ex[#ex + 1] = "\noutput:\n" .. a .. "\n"
      end
    end
    local exemplar_part = table.concat(ex)
    if s.instructions_before_exemplars then
      prompt = old .. "\n\n" .. exemplar_part
    else
      prompt = exemplar_part .. "\n\n" .. old
    end
  end

  if gpt then
    if s.position == "A_begin" then
      prompt = prompt .. "\n\nGenerate a starting sentence that is different from all the"
        .. " <Start> sentences above, and has a higher score than all the"
        .. " <Start> sentences above. The starting sentence should begin with"
        .. " <Start> and end with </Start>. The starting sentence should be"
        .. " concise, effective, and generally applicable to all QA pairs"
        .. " above."
    else
      prompt = prompt .. "\n\nGenerate an instruction that"
        .. " is different from all the instructions <INS> above,"
        .. " and has a higher score than all the instructions <INS> above."
        .. " The instruction should begin with <INS> and end with </INS>."
        .. " The instruction should be concise, effective,"
        .. " and generally applicable to all problems above."
    end
  else
    prompt = prompt .. "\n\nWrite your new text that is different from the old ones and"
      .. " has a score as high as possible. Write the text in square brackets."
  end
  return prompt .. length_sentence(s.length_constraint)
end

local function strip(x) return (x:gsub("^%s+", ""):gsub("%s+$", "")) end

local function instructions_only(history, s)
  local desc
  if s.position == "Q_begin" then
    desc = "at the beginning of the question"
  elseif s.position == "Q_end" then
    desc = "at the end of the question"
  elseif s.position == "A_begin" then
    desc = "at the beginning of the answer"
  else
    bad("position", "must be Q_begin, Q_end or A_begin with meta_prompt_type \"instructions_only\"; got " .. s.position)
  end
  local task = s.task_description
  if task == nil then
    if s.dataset == "gsm8k" then
      task = "grade school math"
    elseif s.dataset == "bbh" then
      task = (s.task_name:gsub("_", " "))
    else
      task = s.task_name
    end
  end
  local parts = { "Create a piece of text " .. desc .. " to enhance the precision in solving diverse "
    .. strip(task) .. " problems." .. length_sentence(s.length_constraint) }
  -- the reference shows every scored instruction here: no limit, no threshold
  for _, e in ipairs(s.order(history, s.order_opts)) do
    parts[#parts + 1] = "\n\nPrecision: " .. show_score(e.score, s.buckets, 2)
      .. " <TEXT>" .. solution_text(e) .. "</TEXT>"
  end
  return table.concat(parts)
end

return function(history, opts)
  if type(history) ~= "table" then
    error(WHO .. ": history must be a list of {solution=, score=, step=} entries, got " .. type(history), 2)
  end
  local s = settings(opts, history)
  if s.type == "instructions_only" then return instructions_only(history, s) end
  return both(history, s)
end
