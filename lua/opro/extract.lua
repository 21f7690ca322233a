--- opro.extract: answer extraction and scoring, exactly as the OPRO
-- reference code does it (google-deepmind/opro, opro/evaluation/metrics.py
-- get_normalized_prediction and eval_utils.py _get_accuracy /
-- evaluate_single_instruction), with the work done in C (src/extract.c).
--
--   local ok, pred = opro.extract.score(response, "18", { kind = "number" })
--   local pred = opro.extract.normalize(response, { kind = "boolean" })
--   local list, n = opro.extract.score_all(responses, targets, { kind = "choice", input = questions })
--
-- Options (every function takes the same table):
--   kind       "number" | "boolean" | "choice" | "text" | "adaptive"  (default "text")
--   input      the question text with its "(A) ... (B) ..." options (kind "choice");
--              score_all also takes a list (one per item)
--   include_ok count a prediction that contains the target as correct
--              (default: true for every kind but "number", as the reference)
--   decimals   digits a number is rounded to (default 0)
--   boxed      true: a "\boxed{...}" answer is taken as is (the reference's
--              GPT rule); "normalize": the last balanced \boxed{} is taken and
--              normalized; false (default): no \boxed rule
--   post       false: skip the reference's final clean-up (strip ":", first
--              line, text before "Q:"); default true
--   number, boolean   override the normalization flags of the kind
--   extract    function(response) -> prediction (or nil): your own extractor
--   pattern    a regex (PCRE2) with a capture: the first capture of the last
--              match (opts.match = "first": of the first match) is the
--              answer, normalized for the kind unless opts.normalize == false
--   flags      flags of pattern (see opro.regex)
-- See docs/extraction.md for every rule with an example.
local core = require "opro.core.extract"

local M = {}

-- Which option reproduces which reference flag (see docs/extraction.md):
--   prediction_treat_as_number=True   kind="number"   (or number=true)
--   prediction_treat_as_number="adaptive"  kind="adaptive" (number iff the target isnumeric())
--   prediction_treat_as_bool=True     kind="boolean"  (or boolean=true)
--   prediction_num_decimals=N         decimals=N
--   is_multiple_choice=True           kind="choice" with input = the prompt/question
--   is_gpt_model=True                 boxed=true
--   treat_include_as_correct          include_ok (the reference sets it to
--                                     `not prediction_treat_as_number`)
local KINDS = {
  text = { number = false, boolean = false, choice = false },
  number = { number = true, boolean = false, choice = false },
  boolean = { number = false, boolean = true, choice = false },
  choice = { number = false, boolean = false, choice = true },
  adaptive = { number = false, boolean = false, choice = false, adaptive = true },
}
M.kinds = { "text", "number", "boolean", "choice", "adaptive" }

--- The reference's per-dataset settings (optimize_instructions.py and
-- evaluate_instructions.py): dataset_defaults[name] = {kind=, reference={...}}.
-- BBH tasks are listed by task name; dataset_defaults.bbh is the default of
-- a BBH task not listed (free text, as dyck_languages and word_sorting).
local function entry(kind)
  local k = KINDS[kind]
  return {
    kind = kind,
    reference = {
      prediction_treat_as_number = k.adaptive and "adaptive" or k.number,
      prediction_treat_as_bool = k.boolean,
      is_multiple_choice = k.choice,
      treat_include_as_correct = k.adaptive and "not numeric target" or not k.number,
    },
  }
end

local BBH_NUMBER = { "object_counting", "multistep_arithmetic_two" }
local BBH_CHOICE = {
  "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton",
  "logical_deduction_five_objects", "logical_deduction_seven_objects",
  "logical_deduction_three_objects", "movie_recommendation", "penguins_in_a_table",
  "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection",
  "snarks", "temporal_sequences", "tracking_shuffled_objects_five_objects",
  "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
}
local BBH_BOOLEAN = {
  "boolean_expressions", -- True or False
  "causal_judgement",    -- Yes or No
  "formal_fallacies",    -- valid or invalid
  "navigate",            -- Yes or No
  "sports_understanding", -- yes or no
  "web_of_lies",         -- Yes or No
}
local BBH_TEXT = { "dyck_languages", "word_sorting" }

local defaults = {
  gsm8k = entry("number"),
  multiarith = entry("number"),
  aqua = entry("choice"),
  mmlu = entry("choice"),
  math = entry("adaptive"),
  bbh = entry("text"),
}
for _, t in ipairs(BBH_NUMBER) do defaults[t] = entry("number") end
for _, t in ipairs(BBH_CHOICE) do defaults[t] = entry("choice") end
for _, t in ipairs(BBH_BOOLEAN) do defaults[t] = entry("boolean") end
for _, t in ipairs(BBH_TEXT) do defaults[t] = entry("text") end
M.dataset_defaults = defaults
M.bbh_tasks = {}
for _, list in ipairs({ BBH_NUMBER, BBH_CHOICE, BBH_BOOLEAN, BBH_TEXT }) do
  for _, t in ipairs(list) do M.bbh_tasks[#M.bbh_tasks + 1] = t end
end
table.sort(M.bbh_tasks)

--- The extraction options of a dataset (and BBH task): a fresh table
-- {kind=} to pass to score/normalize.
function M.defaults(dataset, task)
  local d = (dataset == "bbh" and task and defaults[task]) or defaults[dataset]
  if not d then
    error(string.format("opro.extract.defaults: unknown dataset %q", tostring(dataset)), 2)
  end
  return { kind = d.kind }
end

-- Python's str() of a target: integers as digits, floats as Python prints them
local function pystr(v, what)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    if v == math.floor(v) and math.abs(v) < 1e16 then return string.format("%.1f", v) end
    for p = 15, 17 do
      local s = string.format("%." .. p .. "g", v)
      if tonumber(s) == v then return s end
    end
    return string.format("%.17g", v)
  end
  if t == "boolean" then return v and "True" or "False" end
  error(string.format("opro.extract: %s must be a string or a number, got %s", what, t), 3)
end
M.pystr = pystr

local function check_opts(opts, fname)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("bad argument to 'opro.extract.%s' (options table expected, got %s)", fname, type(opts)), 3)
  end
  if opts.kind ~= nil and not KINDS[opts.kind] then
    error(string.format("opro.extract.%s: unknown kind %q (one of: %s)", fname, tostring(opts.kind),
      table.concat(M.kinds, ", ")), 3)
  end
  if opts.extract ~= nil and type(opts.extract) ~= "function" then
    error(string.format("opro.extract.%s: option 'extract' must be a function, got %s", fname, type(opts.extract)), 3)
  end
  if opts.pattern ~= nil and type(opts.pattern) ~= "string" then
    error(string.format("opro.extract.%s: option 'pattern' must be a string, got %s", fname, type(opts.pattern)), 3)
  end
  if opts.boxed ~= nil and opts.boxed ~= true and opts.boxed ~= false and opts.boxed ~= "normalize" then
    error(string.format("opro.extract.%s: option 'boxed' must be true, false or \"normalize\"", fname), 3)
  end
  if opts.decimals ~= nil and (math.type(opts.decimals) ~= "integer" or opts.decimals < 0 or opts.decimals > 340) then
    error(string.format("opro.extract.%s: option 'decimals' must be an integer in [0, 340]", fname), 3)
  end
  return opts
end

-- the C options for one item, packed in an integer (see src/lextract.c);
-- target only matters for kind "adaptive". Returns flags, choice, include_ok.
local function core_opts(opts, target)
  local k = KINDS[opts.kind or "text"]
  local number = k.number
  if k.adaptive then number = target ~= nil and core.isnumeric(target) end
  if opts.number ~= nil then number = opts.number and true or false end
  local boolean = k.boolean
  if opts.boolean ~= nil then boolean = opts.boolean and true or false end
  local include = not number
  if opts.include_ok ~= nil then include = opts.include_ok and true or false end
  local boxed = (opts.boxed == true and 1) or (opts.boxed == "normalize" and 2) or 0
  local flags = (number and 1 or 0) | (boolean and 2 or 0) | (include and 4 or 0)
    | (opts.post == false and 8 or 0) | (boxed << 4) | ((opts.decimals or 0) << 8)
  return flags, k.choice, include
end

-- a user's extractor (opts.extract or opts.pattern) -> prediction or nil
local function custom(response, opts, co)
  if opts.extract then
    local p = opts.extract(response)
    if p == nil then return nil end
    return pystr(p, "the prediction of opts.extract")
  end
  local re = require("opro.regex").cached(opts.pattern, opts.flags)
  local pos, found, n = 1, nil, #response
  while pos <= n + 1 do
    local r = table.pack(re:find(response, pos))
    if r[1] == nil then
      if r[3] == "regex_limit" then return nil, r[2], r[3] end
      break
    end
    found = (r.n >= 3 and r[3]) or response:sub(r[1], r[2])
    if opts.match == "first" then break end
    pos = r[2] + 1
    if r[2] < r[1] then -- an empty match: step over one character
      pos = r[1] + 1
      while pos <= n and (response:byte(pos) & 0xC0) == 0x80 do pos = pos + 1 end
    end
  end
  if not found then return nil end
  if opts.normalize == false then return found end
  return core.predict(found, co)
end

local function input_of(opts, i)
  local inp = opts.input
  if type(inp) == "table" then inp = inp[i] end
  if inp ~= nil and type(inp) ~= "string" then
    error("opro.extract: option 'input' must be a string (or a list of strings for score_all)", 3)
  end
  return inp
end

--- The prediction that score compares with the target. With {post=false}
-- and no \boxed option it is exactly get_normalized_prediction.
-- opts.target is needed only for kind "adaptive".
local fast_predict, fast_score = core.fast_predict, core.fast_score

function M.normalize(response, opts)
  local pred = fast_predict(response, opts) -- the common case, all in C
  if pred ~= nil then return pred end
  if type(response) ~= "string" then
    error("bad argument #1 to 'opro.extract.normalize' (string expected, got " .. type(response) .. ")", 2)
  end
  opts = check_opts(opts, "normalize")
  local target = opts.target ~= nil and pystr(opts.target, "opts.target") or nil
  if opts.kind == "adaptive" and target == nil then
    error("opro.extract.normalize: kind \"adaptive\" needs opts.target", 2)
  end
  local co = core_opts(opts, target)
  if opts.extract or opts.pattern then return custom(response, opts, co) end
  return core.predict(response, co)
end

--- score(response, target, opts) -> correct (boolean), prediction
function M.score(response, target, opts)
  local ok, pred = fast_score(response, target, opts) -- the common case, all in C
  if ok ~= nil then return ok, pred end
  if type(response) ~= "string" then
    error("bad argument #1 to 'opro.extract.score' (string expected, got " .. type(response) .. ")", 2)
  end
  opts = check_opts(opts, "score")
  target = pystr(target, "the target")
  local co, choice, include = core_opts(opts, target)
  local input = choice and input_of(opts) or nil
  if opts.extract or opts.pattern then
    local pred, err, code = custom(response, opts, co)
    if pred == nil then return false, nil, err, code end
    return core.accuracy(target, pred, input, include), pred
  end
  return core.score(response, target, input, co)
end

--- score_all(responses, targets, opts) -> list of booleans, number correct
-- [, predictions when opts.predictions]. opts.input may be a list.
function M.score_all(responses, targets, opts)
  if type(responses) ~= "table" then
    error("bad argument #1 to 'opro.extract.score_all' (table expected, got " .. type(responses) .. ")", 2)
  end
  if type(targets) ~= "table" then
    error("bad argument #2 to 'opro.extract.score_all' (table expected, got " .. type(targets) .. ")", 2)
  end
  opts = check_opts(opts, "score_all")
  if #responses ~= #targets then
    error(string.format("opro.extract.score_all: %d responses but %d targets", #responses, #targets), 2)
  end
  local co, choice = core_opts(opts, nil)
  local input = choice and opts.input or nil
  if input ~= nil and type(input) ~= "string" and type(input) ~= "table" then
    error("opro.extract.score_all: option 'input' must be a string or a list of strings", 2)
  end
  local batch = not (opts.extract or opts.pattern or opts.kind == "adaptive")
  if batch then
    -- every item a string (the usual case): all the work in one C call
    local list, count, preds = core.score_all(responses, targets, input, co, opts.predictions)
    if list then
      if opts.predictions then return list, count, preds end
      return list, count
    end
  end
  local strs = targets
  for i = 1, #targets do
    if type(targets[i]) ~= "string" then
      if strs == targets then strs = table.move(targets, 1, #targets, 1, {}) end
      strs[i] = pystr(targets[i], "targets[" .. i .. "]")
    end
  end
  for i = 1, #responses do
    if type(responses[i]) ~= "string" then
      error(string.format("opro.extract.score_all: responses[%d] is a %s, not a string", i, type(responses[i])), 2)
    end
  end
  if batch then
    return core.score_all(responses, strs, input, co, opts.predictions)
  end
  local list, preds, count = {}, {}, 0
  for i = 1, #responses do
    local ok, pred = M.score(responses[i], strs[i], {
      kind = opts.kind, input = choice and input_of(opts, i) or nil, include_ok = opts.include_ok,
      decimals = opts.decimals, boxed = opts.boxed, post = opts.post, number = opts.number,
      boolean = opts.boolean, extract = opts.extract, pattern = opts.pattern, flags = opts.flags,
      match = opts.match, normalize = opts.normalize,
    })
    list[i] = ok
    preds[i] = pred or false
    if ok then count = count + 1 end
  end
  if opts.predictions then return list, count, preds end
  return list, count
end

-- ------------------------------------------------------------------------
-- The reference's helpers, for scripts that reproduce its bookkeeping.

--- get_normalized_prediction(prediction, treat_as_number, num_decimals, treat_as_bool)
function M.get_normalized_prediction(prediction, treat_as_number, num_decimals, treat_as_bool)
  return core.normalize(prediction, {
    number = treat_as_number and true or false, boolean = treat_as_bool and true or false,
    decimals = num_decimals or 0,
  })
end

--- _get_accuracy(true_answer, pred_answer, input_text, treat_include_as_correct) -> 1 | 0
function M.accuracy(true_answer, pred_answer, input_text, include_ok)
  return core.accuracy(pystr(true_answer, "the true answer"), pystr(pred_answer, "the prediction"),
    input_text or "", include_ok) and 1 or 0
end

--- get_accuracy_of_list(true_answer, pred_answer_list, input_text, treat_include_as_correct) -> mean
function M.accuracy_of_list(true_answer, preds, input_text, include_ok)
  local sum = 0
  for _, p in ipairs(preds) do sum = sum + M.accuracy(true_answer, p, input_text, include_ok) end
  return sum / #preds
end

--- remove_punctuation_from_string(s, is_filename=true)
function M.remove_punctuation(s, is_filename)
  if is_filename == nil then is_filename = true end
  return core.remove_punct(s, is_filename)
end

--- instruction_to_filename(instruction, md5_hashing=true)
function M.instruction_to_filename(instruction, md5_hashing)
  if md5_hashing == nil or md5_hashing then return require("opro.md5")(instruction) end
  local name = instruction:gsub("\n", "")
  name = core.remove_punct(M.python_repr(name), true)
  return name ~= "" and name or "<NO INSTRUCTION>"
end

--- Python's repr() of a str (what instruction_to_filename names files after)
function M.python_repr(s)
  local q = "'"
  if s:find("'", 1, true) and not s:find('"', 1, true) then q = '"' end
  local out = s:gsub("[%z\1-\31\\\127'\"]", function(c)
    if c == "\\" then return "\\\\" end
    if c == q then return "\\" .. c end
    if c == "'" or c == '"' then return c end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    return string.format("\\x%02x", c:byte())
  end)
  return q .. out .. q
end

--- polish_sentence(sentence, add_ending_punc=false)
function M.polish_sentence(sentence, add_ending_punc)
  sentence = core.strip(sentence)
  if sentence ~= "" then
    sentence = sentence:gsub("%*%*", "")
    if core.len(sentence) > 1 then
      local first = sentence:match("^[%z\1-\127\194-\244][\128-\191]*") or sentence:sub(1, 1)
      sentence = core.upper(first) .. sentence:sub(#first + 1)
    end
    if add_ending_punc and not sentence:find("[%.%?!]$") then sentence = sentence .. "." end
  end
  return sentence
end

--- _get_index_from_symbol("(B)") -> 1 (0-based, as the reference)
function M.index_from_symbol(answer)
  answer = core.lower(pystr(answer, "the answer"))
  local letter = answer:match("^%(([a-z])%)$")
  if letter then answer = letter end
  if #answer ~= 1 then error(string.format("opro.extract.index_from_symbol: %q is not one letter", answer), 2) end
  return answer:byte() - ("a"):byte()
end

--- _get_answer_text(input_text, answer_symbol) -> the option's text, lower-cased
function M.answer_text(input_text, symbol)
  local t = core.answer_text(input_text, M.index_from_symbol(symbol))
  if t == nil then
    error(string.format("opro.extract.answer_text: no option %s in the input", tostring(symbol)), 2)
  end
  return t
end

--- The Python str helpers the rules are built on (exposed for user extractors).
M.lower, M.upper, M.strip, M.tofloat = core.lower, core.upper, core.strip, core.tofloat
M.boxed = core.boxed

return M
