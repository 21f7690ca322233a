--- opro.dataset: loaders for the OPRO reference datasets (GSM8K, BBH, MMLU,
-- MultiArith, AQuA), generic JSONL/CSV loaders with field mapping, and
-- seeded splits and subsampling. See docs/datasets.md.
--
-- An item is { input=, target=, kind=, id=, index=, choices=?, dataset=,
-- task=?, source="file:line" }: `input` is the question text exactly as the
-- reference code puts it into the scorer prompt, `target` the true answer
-- as a string, `kind` the answer kind for scoring ("number", "boolean",
-- "choice" or "text"), `index` the 0-based position in the loaded list.
-- Bad input raises an error naming the file and the line or field.
local cjson = require "cjson"
local csv = require "opro.dataset.csv"
local rng = require "opro.random"

local M = {}
M.rng = rng
M.csv_parse = csv.parse

-- ------------------------------------------------------------ file helpers
local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("opro.dataset: cannot open " .. tostring(err), 0) end
  -- io.open succeeds on a directory; reading it fails ("Is a directory")
  local s, rerr = f:read("a")
  f:close()
  if not s then error(string.format("opro.dataset: cannot read %s: %s", path, tostring(rerr)), 0) end
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function line_of(text, char)
  local _, n = text:sub(1, math.max(0, char - 1)):gsub("\n", "")
  return n + 1
end

-- decodes JSON text; errors name the file and the line
local function decode_json(text, file, line)
  local ok, v = pcall(cjson.decode, text)
  if ok then return v end
  local msg = tostring(v):gsub("^.-:%d+: ", "")
  local char = tonumber(msg:match("at character (%d+)"))
  local l = line or (char and line_of(text, char)) or 1
  error(string.format("opro.dataset: %s:%d: bad JSON: %s", file, l, msg), 0)
end

local function strip(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function to_text(v, file, line, field)
  if type(v) == "string" then return v end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2^53 then return tostring(math.tointeger(v)) end
    return tostring(v)
  end
  if type(v) == "boolean" then return tostring(v) end
  error(string.format("opro.dataset: %s:%d: field '%s' must be a string or a number, got %s",
    file, line, field, v == cjson.null and "null" or type(v)), 0)
end

-- ------------------------------------------------------------ answer kinds
-- The reference's per-dataset settings (optimize_instructions.py,
-- evaluate_instructions.py): numerical_output_tasks, boolean_tasks,
-- multiple_choice_tasks.
local BBH_NUMBER = { object_counting = true, multistep_arithmetic_two = true }
local BBH_BOOLEAN = { boolean_expressions = true, causal_judgement = true, formal_fallacies = true,
  navigate = true, sports_understanding = true, web_of_lies = true }
local BBH_CHOICE = { date_understanding = true, disambiguation_qa = true, geometric_shapes = true,
  hyperbaton = true, logical_deduction_five_objects = true, logical_deduction_seven_objects = true,
  logical_deduction_three_objects = true, movie_recommendation = true, penguins_in_a_table = true,
  reasoning_about_colored_objects = true, ruin_names = true, salient_translation_error_detection = true,
  snarks = true, temporal_sequences = true, tracking_shuffled_objects_five_objects = true,
  tracking_shuffled_objects_seven_objects = true, tracking_shuffled_objects_three_objects = true }

M.bbh_tasks = {}
for _, set in ipairs { BBH_NUMBER, BBH_BOOLEAN, BBH_CHOICE } do
  for k in pairs(set) do M.bbh_tasks[#M.bbh_tasks + 1] = k end
end
for _, k in ipairs { "dyck_languages", "word_sorting" } do M.bbh_tasks[#M.bbh_tasks + 1] = k end
table.sort(M.bbh_tasks)

local function builtin_kind(name, task)
  if name == "gsm8k" or name == "multiarith" then return "number" end
  if name == "mmlu" or name == "aqua" then return "choice" end
  if name == "bbh" then
    if BBH_NUMBER[task] then return "number" end
    if BBH_BOOLEAN[task] then return "boolean" end
    if BBH_CHOICE[task] then return "choice" end
    return "text"
  end
  return "text"
end

--- The answer kind of a dataset (and BBH task): opro.extract's
-- dataset_defaults when that module has an entry, else the reference's sets.
function M.kind(name, task)
  local ok, extract = pcall(require, "opro.extract")
  local defaults = ok and type(extract) == "table" and extract.dataset_defaults
  if type(defaults) == "table" then
    for _, key in ipairs { task and (name .. ":" .. task) or false, task or false, name } do
      local d = key and defaults[key]
      if type(d) == "string" then return d end
      if type(d) == "table" and type(d.kind) == "string" then
        if name ~= "bbh" or key ~= name then return d.kind end
      end
    end
  end
  return builtin_kind(name, task)
end

--- The train ratios the reference uses (optimize_instructions.py).
M.reference_ratio = { gsm8k = 0.035, bbh = 0.2, mmlu = 0.8, multiarith = 0, aqua = 0 }

-- ------------------------------------------------------------ locating files
local layouts = {
  gsm8k = { "gsm_data", "gsm8k" },
  bbh = { "BIG-Bench-Hard-data", "bbh" },
  mmlu = { "MMLU-data", "mmlu" },
  multiarith = { "MultiArith-data", "multiarith", "." },
  aqua = { "AQuA-data", "aqua" },
}

-- the first existing data_dir/<folder>/<file> among the known layouts
local function locate(name, data_dir, file, optional)
  local tried = {}
  local dirs = {}
  for _, sub in ipairs(layouts[name]) do
    dirs[#dirs + 1] = data_dir .. "/" .. sub
    dirs[#dirs + 1] = data_dir .. "/data/" .. sub
  end
  dirs[#dirs + 1] = data_dir
  for _, d in ipairs(dirs) do
    local p = (d:gsub("/%.$", "")) .. "/" .. file
    if exists(p) then return p end
    tried[#tried + 1] = p
  end
  if optional then return nil end
  error(string.format("opro.dataset: %s: file %s not found under %s (tried %s; run scripts/fetch-datasets %s)",
    name, file, data_dir, table.concat(tried, ", "), data_dir), 0)
end

-- ------------------------------------------------------------ item helpers
local function finish(items, file, what)
  if #items == 0 then error(string.format("opro.dataset: %s: no items (%s)", file, what or "empty dataset"), 0) end
  for i, it in ipairs(items) do it.index = i - 1 end
  return items
end

-- The texts of "(A) ... (B) ..." choices in a question, as the reference's
-- _get_answer_text splits them (text up to the line end, trimmed).
function M.parse_choices(input)
  local out = {}
  local letter = 65
  local pos = input:find("(A)", 1, true)
  while pos do
    local nxt = input:find("(" .. string.char(letter + 1) .. ")", pos + 3, true)
    local text = input:sub(pos + 3, (nxt or #input + 1) - 1)
    text = text:match("^[^\n]*")
    out[#out + 1] = strip(text)
    letter = letter + 1
    pos = nxt
  end
  return #out > 0 and out or nil
end

-- pandas.read_csv's default NA strings: the reference formats these cells as "nan"
local PANDAS_NA = {}
for _, s in ipairs { "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
  "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null" } do PANDAS_NA[s] = true end

-- ------------------------------------------------------------ the loaders
local loaders = {}

function loaders.gsm8k(opts)
  local split = opts.split or "train"
  local splits = split == "all" and { "train", "test" } or { split }
  local items = {}
  for _, s in ipairs(splits) do
    if s ~= "train" and s ~= "test" then
      error("opro.dataset: gsm8k: split must be 'train', 'test' or 'all', got '" .. tostring(s) .. "'", 0)
    end
    local file = locate("gsm8k", opts.data_dir, "gsm_" .. s .. ".tsv")
    local rows = csv.parse(read_file(file), { sep = "\t", file = file })
    for _, r in ipairs(rows) do
      if #r < 2 or #r > 3 then
        error(string.format("opro.dataset: %s:%d: expected 2 or 3 tab-separated columns (question, answer[, solution]), got %d",
          file, r.line, #r), 0)
      end
      local answer = strip(r[2]):gsub(",", "")
      if not tonumber(answer) then
        error(string.format("opro.dataset: %s:%d: column 2 (answer) is not a number: %q", file, r.line, r[2]), 0)
      end
      items[#items + 1] = { input = r[1], target = answer, solution = r[3], split = s,
        id = string.format("gsm8k/%s/%d", s, #items), source = file .. ":" .. r.line }
    end
    finish(items, file)
  end
  return items
end

function loaders.bbh(opts)
  local task = opts.task or opts.subject
  if type(task) ~= "string" or task == "" then
    error("opro.dataset: bbh: option 'task' is required (one of: " .. table.concat(M.bbh_tasks, ", ") .. ")", 0)
  end
  if task:find("[/\\]") then error("opro.dataset: bbh: bad task name '" .. task .. "'", 0) end
  local file = locate("bbh", opts.data_dir, task .. ".json")
  local text = read_file(file)
  local doc = decode_json(text, file)
  if type(doc) ~= "table" or type(doc.examples) ~= "table" then
    error(string.format("opro.dataset: %s: field 'examples' (a list) is missing", file), 0)
  end
  local items = {}
  for i, ex in ipairs(doc.examples) do
    if type(ex) ~= "table" then
      error(string.format("opro.dataset: %s: examples[%d]: expected an object with 'input' and 'target', got %s",
        file, i, ex == cjson.null and "null" or type(ex)), 0)
    end
    for _, f in ipairs { "input", "target" } do
      if ex[f] == nil or ex[f] == cjson.null then
        error(string.format("opro.dataset: %s: examples[%d]: field '%s' is missing (each example needs 'input' and 'target')",
          file, i, f), 0)
      end
    end
    local where = string.format("examples[%d]", i)
    local it = { input = to_text(ex.input, file, 1, where .. ".input"), target = to_text(ex.target, file, 1, where .. ".target"),
      task = task, id = string.format("bbh/%s/%d", task, i - 1), source = file .. ":" .. where }
    if BBH_CHOICE[task] then it.choices = M.parse_choices(it.input) end
    items[#items + 1] = it
  end
  return finish(items, file, "'examples' is empty")
end

-- MMLU: the reference's _format_mmlu_example
local function format_mmlu(question, options)
  local parts = { question }
  local letters = { "(A)", "(B)", "(C)", "(D)" }
  for j, o in ipairs(options) do parts[#parts + 1] = "\n" .. letters[j] .. " " .. o end
  parts[#parts + 1] = "\nWhat's the answer in (A) (B) (C) (D)?"
  return table.concat(parts)
end
M.format_mmlu = format_mmlu

-- MMLU subjects and categories (hendrycks/test categories.py, as the reference lists them)
local MMLU_SUB = {
  abstract_algebra = "math", anatomy = "health", astronomy = "physics", business_ethics = "business",
  clinical_knowledge = "health", college_biology = "biology", college_chemistry = "chemistry",
  college_computer_science = "computer science", college_mathematics = "math", college_medicine = "health",
  college_physics = "physics", computer_security = "computer science", conceptual_physics = "physics",
  econometrics = "economics", electrical_engineering = "engineering", elementary_mathematics = "math",
  formal_logic = "philosophy", global_facts = "other", high_school_biology = "biology",
  high_school_chemistry = "chemistry", high_school_computer_science = "computer science",
  high_school_european_history = "history", high_school_geography = "geography",
  high_school_government_and_politics = "politics", high_school_macroeconomics = "economics",
  high_school_mathematics = "math", high_school_microeconomics = "economics", high_school_physics = "physics",
  high_school_psychology = "psychology", high_school_statistics = "math", high_school_us_history = "history",
  high_school_world_history = "history", human_aging = "health", human_sexuality = "culture",
  international_law = "law", jurisprudence = "law", logical_fallacies = "philosophy",
  machine_learning = "computer science", management = "business", marketing = "business",
  medical_genetics = "health", miscellaneous = "other", moral_disputes = "philosophy",
  moral_scenarios = "philosophy", nutrition = "health", philosophy = "philosophy", prehistory = "history",
  professional_accounting = "other", professional_law = "law", professional_medicine = "health",
  professional_psychology = "psychology", public_relations = "politics", security_studies = "politics",
  sociology = "culture", us_foreign_policy = "politics", virology = "health", world_religions = "philosophy",
}
local MMLU_CAT = {
  STEM = { physics = true, chemistry = true, biology = true, ["computer science"] = true, math = true, engineering = true },
  humanities = { history = true, philosophy = true, law = true },
  ["social sciences"] = { politics = true, culture = true, economics = true, geography = true, psychology = true },
  ["other (business, health, misc.)"] = { other = true, business = true, health = true },
}
M.mmlu_subjects = {}
for k in pairs(MMLU_SUB) do M.mmlu_subjects[#M.mmlu_subjects + 1] = k end
table.sort(M.mmlu_subjects)

--- The MMLU subjects of a category ("STEM", "humanities", "social sciences",
-- "other (business, health, misc.)"), sorted.
function M.mmlu_category(name)
  local cat = MMLU_CAT[name]
  if not cat then
    error("opro.dataset: unknown MMLU category '" .. tostring(name)
      .. "' (one of: STEM, humanities, social sciences, other (business, health, misc.))", 2)
  end
  local out = {}
  for _, subj in ipairs(M.mmlu_subjects) do
    if cat[MMLU_SUB[subj]] then out[#out + 1] = subj end
  end
  return out
end

local load_mmlu_subject

function loaders.mmlu(opts)
  local subject = opts.subject or opts.task
  local category = opts.category or (MMLU_CAT[subject] and subject)
  if category then
    -- every subject of the category, concatenated in sorted order
    local items = {}
    local split = opts.split or "test"
    for _, subj in ipairs(M.mmlu_category(category)) do
      -- as the reference: the subjects of the category present in the folder
      if locate("mmlu", opts.data_dir, split .. "/" .. subj .. "_" .. split .. ".csv", true) then
        local o = {}
        for k, v in pairs(opts) do o[k] = v end
        o.subject, o.category, o.task = subj, nil, nil
        for _, it in ipairs(load_mmlu_subject(o)) do
          it.category = category
          items[#items + 1] = it
        end
      end
    end
    if #items == 0 then
      error(string.format("opro.dataset: mmlu: no subject of category '%s' found under %s/MMLU-data/%s (run scripts/fetch-datasets)",
        category, opts.data_dir, split), 0)
    end
    return finish(items, "MMLU category " .. category)
  end
  return load_mmlu_subject(opts)
end

function load_mmlu_subject(opts)
  local subject = opts.subject or opts.task
  if type(subject) ~= "string" or subject == "" then
    error("opro.dataset: mmlu: option 'subject' (e.g. 'abstract_algebra') or 'category' (e.g. 'STEM') is required", 0)
  end
  if subject:find("[/\\]") then error("opro.dataset: mmlu: bad subject name '" .. subject .. "'", 0) end
  local split = opts.split or "test"
  local file = locate("mmlu", opts.data_dir, split .. "/" .. subject .. "_" .. split .. ".csv")
  local rows = csv.parse(read_file(file), { file = file })
  local pandas_na = opts.pandas_na ~= false
  local items = {}
  for _, r in ipairs(rows) do
    if #r ~= 6 then
      error(string.format("opro.dataset: %s:%d: expected 6 columns (question, 4 options, answer letter), got %d",
        file, r.line, #r), 0)
    end
    local letter = strip(r[6])
    if not letter:match("^[ABCD]$") then
      error(string.format("opro.dataset: %s:%d: column 6 (answer) must be A, B, C or D, got %q", file, r.line, r[6]), 0)
    end
    local cells = {}
    for c = 1, 5 do cells[c] = (pandas_na and PANDAS_NA[r[c]]) and "nan" or r[c] end
    local options = { cells[2], cells[3], cells[4], cells[5] }
    items[#items + 1] = { input = format_mmlu(cells[1], options), question = r[1], target = letter,
      choices = { r[2], r[3], r[4], r[5] }, task = subject, split = split,
      id = string.format("mmlu/%s/%d", subject, #items), source = file .. ":" .. r.line }
  end
  return finish(items, file)
end

function loaders.multiarith(opts)
  local file = locate("multiarith", opts.data_dir, "MultiArith.json")
  local doc = decode_json(read_file(file), file)
  if type(doc) ~= "table" or (next(doc) ~= nil and doc[1] == nil) then
    error(string.format("opro.dataset: %s: expected a JSON list of {sQuestion, lSolutions}, got %s", file,
      type(doc) == "table" and "an object" or doc == cjson.null and "null" or ("a " .. type(doc))), 0)
  end
  local items = {}
  for i, ex in ipairs(doc) do
    local where = string.format("item %d", i)
    if type(ex) ~= "table" or type(ex.sQuestion) ~= "string" then
      error(string.format("opro.dataset: %s: %s: field 'sQuestion' (a string) is required", file, where), 0)
    end
    local sol = type(ex.lSolutions) == "table" and ex.lSolutions[1]
    if type(sol) ~= "number" then
      error(string.format("opro.dataset: %s: %s: field 'lSolutions' must be a list starting with a number", file, where), 0)
    end
    local v = sol >= 0 and math.floor(sol) or math.ceil(sol)    -- int() as in the reference
    items[#items + 1] = { input = strip(ex.sQuestion), target = tostring(math.tointeger(v) or v),
      id = "multiarith/" .. (i - 1), source = file .. ":" .. where }
  end
  return finish(items, file)
end

-- AQuA: the reference's _format_aqua_example
local function format_aqua(question, options)
  local parts = { question }
  for _, o in ipairs(options) do parts[#parts + 1] = "\n(" .. o end
  parts[#parts + 1] = "\nWhat's the answer in (A) (B) (C) (D) (E)?"
  return table.concat(parts)
end
M.format_aqua = format_aqua

function loaders.aqua(opts)
  local file = locate("aqua", opts.data_dir, "AQuA.json")
  local items = {}
  local n = 0
  for line in (read_file(file) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("%S") then
      local ex = decode_json(line, file, n)
      if type(ex) ~= "table" or type(ex.question) ~= "string" or type(ex.options) ~= "table"
          or type(ex.correct) ~= "string" then
        error(string.format("opro.dataset: %s:%d: fields 'question' (string), 'options' (list) and 'correct' (letter) are required",
          file, n), 0)
      end
      local choices = {}
      for j, o in ipairs(ex.options) do
        if type(o) ~= "string" then
          error(string.format("opro.dataset: %s:%d: options[%d] must be a string", file, n, j), 0)
        end
        choices[j] = o:gsub("^%a%)", "")
      end
      items[#items + 1] = { input = format_aqua(ex.question, ex.options), question = ex.question,
        target = strip(ex.correct), choices = choices, rationale = ex.rationale,
        id = "aqua/" .. #items, source = file .. ":" .. n }
    end
  end
  return finish(items, file)
end

M.names = { "gsm8k", "bbh", "mmlu", "multiarith", "aqua" }

--- Loads a reference dataset. name: "gsm8k", "bbh", "mmlu", "multiarith",
-- "aqua", or "bbh:TASK" / "mmlu:SUBJECT". opts: data_dir (default
-- $OPRO_DATA_DIR or "data"), split (gsm8k: "train"|"test"|"all"; mmlu:
-- the folder, "test"), task (bbh), subject (mmlu), kind (overrides the
-- default answer kind), limit (keep the first n items).
function M.load(name, opts)
  if type(name) ~= "string" then error("opro.dataset.load: name must be a string", 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("opro.dataset.load: options must be a table", 2) end
  local base, sub = name:match("^([%w_]+):(.+)$")
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  if base then
    name = base
    if name == "mmlu" then o.subject = o.subject or sub else o.task = o.task or sub end
  end
  name = name:lower()
  local loader = loaders[name]
  if not loader then
    error("opro.dataset.load: unknown dataset '" .. name .. "' (one of: " .. table.concat(M.names, ", ")
      .. "; use opro.dataset.jsonl or .csv for others)", 2)
  end
  o.data_dir = o.data_dir or os.getenv("OPRO_DATA_DIR") or "data"
  local items = loader(o)
  local task = o.task or o.subject
  local kind = o.kind or M.kind(name, name == "bbh" and task or nil)
  for _, it in ipairs(items) do
    it.dataset = name
    it.kind = it.kind or kind
  end
  if o.limit then
    for i = #items, o.limit + 1, -1 do items[i] = nil end
  end
  return items
end

-- ------------------------------------------------------------ generic loaders
local function map_spec(map, fn)
  map = map or {}
  if type(map) ~= "table" then error("opro.dataset." .. fn .. ": the field map must be a table", 3) end
  return {
    input = map.input or "input",
    target = map.target or "target",
    id = map.id,
    choices = map.choices,
    kind = map.kind or "text",
  }
end

local function pick(rec, field, file, line, required, fn)
  local v
  if type(field) == "function" then
    v = field(rec)
  else
    v = rec[field]
    if v == nil and type(field) == "string" and field:find(".", 1, true) then   -- a.b paths
      v = rec
      for part in field:gmatch("[^.]+") do
        if type(v) ~= "table" then v = nil break end
        v = v[tonumber(part) or part]
      end
    end
  end
  if v == cjson.null then v = nil end
  if v == nil and required then
    error(string.format("opro.dataset.%s: %s:%d: field '%s' is missing", fn, file, line, tostring(field)), 0)
  end
  return v
end

local function make_item(rec, spec, file, line, fn, n)
  local input = pick(rec, spec.input, file, line, true, fn)
  local target = pick(rec, spec.target, file, line, true, fn)
  local it = { input = to_text(input, file, line, tostring(spec.input)),
    target = to_text(target, file, line, tostring(spec.target)),
    kind = spec.kind, source = file .. ":" .. line, record = rec }
  if spec.id then it.id = to_text(pick(rec, spec.id, file, line, true, fn), file, line, tostring(spec.id)) end
  it.id = it.id or tostring(n)
  if spec.choices then
    local c = pick(rec, spec.choices, file, line, true, fn)
    if type(c) ~= "table" then
      error(string.format("opro.dataset.%s: %s:%d: field '%s' must be a list", fn, file, line, tostring(spec.choices)), 0)
    end
    it.choices = c
  end
  return it
end

--- Items from a JSON-lines file. map: { input="field", target="field",
-- id=, choices=, kind= } (fields may be names, "a.b" paths or functions of
-- the record).
function M.jsonl(path, map)
  if type(path) ~= "string" then error("opro.dataset.jsonl: path must be a string", 2) end
  local spec = map_spec(map, "jsonl")
  local items, n = {}, 0
  for line in (read_file(path) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:match("%S") then
      local rec = decode_json(line, path, n)
      if type(rec) ~= "table" then
        error(string.format("opro.dataset.jsonl: %s:%d: expected a JSON object", path, n), 0)
      end
      items[#items + 1] = make_item(rec, spec, path, n, "jsonl", #items)
    end
  end
  return finish(items, path)
end

--- Items from a CSV file. map: as for jsonl, plus header (default true:
-- fields are column names; false: fields are 1-based column numbers) and
-- sep (default ",").
function M.csv(path, map)
  if type(path) ~= "string" then error("opro.dataset.csv: path must be a string", 2) end
  local spec = map_spec(map, "csv")
  local header = not (map and map.header == false)
  local rows = csv.parse(read_file(path), { sep = map and map.sep or ",", file = path })
  local names
  local first = 1
  if header then
    names = rows[1]
    if not names then error(string.format("opro.dataset.csv: %s: no header line", path), 0) end
    first = 2
    for _, key in ipairs { "input", "target", "id", "choices" } do
      local f = spec[key]
      if type(f) == "string" then
        local found = false
        for _, nm in ipairs(names) do if nm == f then found = true end end
        if not found then
          error(string.format("opro.dataset.csv: %s:%d: no column named '%s' for %s (columns: %s)",
            path, names.line, f, key, table.concat(names, ", ")), 0)
        end
      end
    end
  else
    if map and (map.input == nil or map.target == nil) then
      error("opro.dataset.csv: without a header, map.input and map.target must be column numbers", 2)
    end
  end
  local items = {}
  for i = first, #rows do
    local r = rows[i]
    if header and #r ~= #names then
      error(string.format("opro.dataset.csv: %s:%d: expected %d columns (as the header), got %d",
        path, r.line, #names, #r), 0)
    end
    local rec = {}
    if header then
      for c, nm in ipairs(names) do rec[nm] = r[c] end
    else
      for c, v in ipairs(r) do rec[c] = v end
    end
    items[#items + 1] = make_item(rec, spec, path, r.line, "csv", #items)
  end
  return finish(items, path)
end

-- ------------------------------------------------------------ splits
local function copy_ordered(items, chosen)
  local a, b = {}, {}
  for i, it in ipairs(items) do
    if chosen[i] then a[#a + 1] = it else b[#b + 1] = it end
  end
  return a, b
end

-- the set of chosen 1-based positions: `k` of `n`
local function choose(n, k, seed, method)
  local chosen = {}
  if method == "numpy" then
    local np = rng.numpy(seed)
    for _, i in ipairs(np:choice(n, k)) do chosen[i + 1] = true end
  elseif method == "xoshiro" or method == nil then
    local r = rng.new(seed)
    local idx = {}
    for i = 1, n do idx[i] = i end
    for i = 1, k do                      -- partial Fisher–Yates
      local j = i + r:int(n - i + 1) - 1
      idx[i], idx[j] = idx[j], idx[i]
      chosen[idx[i]] = true
    end
  else
    error("opro.dataset: method must be 'numpy' or 'xoshiro', got '" .. tostring(method) .. "'", 3)
  end
  return chosen
end

--- Splits items into (train, rest), both in the original order. opts:
-- ratio (of items going to train; the count is floor(ratio * n) as the
-- reference's int()), seed (default 0), method: "numpy" (default; the
-- reference's np.random.seed(seed); np.random.choice(n, k, replace=False),
-- so the same seed gives the reference's exact train indices) or "xoshiro".
function M.split(items, opts)
  if type(items) ~= "table" then error("opro.dataset.split: items must be a list", 2) end
  opts = opts or {}
  local ratio = opts.ratio
  if type(ratio) ~= "number" or ratio < 0 or ratio > 1 then
    error("opro.dataset.split: ratio must be a number in [0, 1]", 2)
  end
  local n = #items
  local k = math.floor(ratio * n)
  return copy_ordered(items, choose(n, k, opts.seed or 0, opts.method or "numpy"))
end

--- A deterministic subsample (in the original order): n_or_ratio is a count
-- (integer >= 1) or a ratio in (0, 1); seed default 0; method as for split
-- (default "xoshiro").
function M.sample(items, n_or_ratio, seed, method)
  if type(items) ~= "table" then error("opro.dataset.sample: items must be a list", 2) end
  local n = #items
  local k
  if (math.type(n_or_ratio) == "integer" and n_or_ratio >= 0) or (type(n_or_ratio) == "number"
      and n_or_ratio >= 1 and n_or_ratio == math.floor(n_or_ratio)) then
    k = math.tointeger(n_or_ratio)
    if k > n then k = n end
  elseif type(n_or_ratio) == "number" and n_or_ratio > 0 and n_or_ratio < 1 then
    k = math.floor(n_or_ratio * n)
  else
    error("opro.dataset.sample: n_or_ratio must be a count >= 1 or a ratio in (0, 1)", 2)
  end
  local chosen = choose(n, k, seed or 0, method or "xoshiro")
  return (copy_ordered(items, chosen))
end

return M
