--- Fuzz target: the dataset loaders (opro.dataset, opro.dataset.csv) on
-- arbitrary file contents. io.open is replaced by one that opens the input
-- at any path, so every loader reads the fuzzed bytes as its file. Input: a
-- selector byte, an option byte, then the file.
--   0 gsm8k (split train/test/all)  1 bbh (a task of each answer kind)
--   2 mmlu                          3 multiarith
--   4 aqua                          5 jsonl (several field maps)
--   6 csv with a header (sep , ; or tab)
--   7 csv without a header (columns 1 and 2)   8 csv.parse itself
-- The contract (docs/datasets.md): a loader returns a non-empty list of
-- items, or raises an error naming the file (and the line or field). An
-- error from inside the library ("lua/opro/...lua:N: attempt to ..."), a
-- non-string error or one that does not name the file is a finding.
local dataset = require "opro.dataset"
local csv = require "opro.dataset.csv"

local content = ""
local fake = { read = function() return content end, close = function() return true end }
io.open = function() return fake end   -- luacheck: ignore (this state only fuzzes)

local fail = require("tests.fuzz.harness").fail

local function expected(e, file)
  return type(e) == "string" and (e:find("^opro%.dataset") or e:sub(1, #file) == file)
    and e:find(file, 1, true) ~= nil
end

-- runs f(...): an error must be an expected one; returns the result or nil
local function run(what, file, f, ...)
  local ok, res = xpcall(f, function(e)
    if expected(e, file) then return e end
    return debug.traceback("UNEXPECTED: " .. tostring(e), 2)
  end, ...)
  if ok then return res end
  if type(res) == "string" and res:find("^UNEXPECTED: ") then fail("%s raised %s", what, res) end
  return nil
end

local function check_items(what, items, loaded)
  if type(items) ~= "table" or #items < 1 then fail("%s: no items and no error", what) end
  for i, it in ipairs(items) do
    if type(it.input) ~= "string" or type(it.target) ~= "string" then fail("%s: item %d: input/target not strings", what, i) end
    if it.index ~= i - 1 then fail("%s: item %d has index %s", what, i, tostring(it.index)) end
    if type(it.source) ~= "string" or type(it.id) ~= "string" then fail("%s: item %d: no source/id", what, i) end
    if loaded and (type(it.dataset) ~= "string" or type(it.kind) ~= "string") then fail("%s: item %d: no dataset/kind", what, i) end
    if it.choices ~= nil and type(it.choices) ~= "table" then fail("%s: item %d: choices is a %s", what, i, type(it.choices)) end
  end
end

local BBH = { "object_counting", "navigate", "date_understanding", "dyck_languages" }
local SEPS = { ",", ";", "\t" }
local MAPS = {
  {},
  { input = "question", target = "answer", id = "id" },
  { input = "q.text", target = "a.1", choices = "options", kind = "choice" },
  { input = function(r) return r.x end, target = "y" },
}

return function(data)
  if #data < 2 then return end
  local sel, opt = data:byte(1) % 9, data:byte(2)
  content = data:sub(3)
  local dir = "fz"
  if sel == 0 then
    local split = ({ "train", "test", "all" })[opt % 3 + 1]
    local items = run("gsm8k", dir, dataset.load, "gsm8k", { data_dir = dir, split = split })
    if items then
      check_items("gsm8k", items, true)
      for _, it in ipairs(items) do if not tonumber(it.target) then fail("gsm8k: target %q", it.target) end end
    end
  elseif sel == 1 then
    local task = BBH[opt % #BBH + 1]
    local items = run("bbh", dir, dataset.load, "bbh:" .. task, { data_dir = dir })
    if items then check_items("bbh", items, true) end
  elseif sel == 2 then
    local items = run("mmlu", dir, dataset.load, "mmlu:tiny", { data_dir = dir, pandas_na = opt & 1 == 0 })
    if items then
      check_items("mmlu", items, true)
      for _, it in ipairs(items) do if not it.target:match("^[ABCD]$") then fail("mmlu: target %q", it.target) end end
    end
  elseif sel == 3 then
    local items = run("multiarith", dir, dataset.load, "multiarith", { data_dir = dir, limit = opt > 0 and opt or nil })
    if items then check_items("multiarith", items, true) end
  elseif sel == 4 then
    local items = run("aqua", dir, dataset.load, "aqua", { data_dir = dir })
    if items then check_items("aqua", items, true) end
  elseif sel == 5 then
    local items = run("jsonl", "fz.jsonl", dataset.jsonl, "fz.jsonl", MAPS[opt % #MAPS + 1])
    if items then check_items("jsonl", items) end
  elseif sel == 6 then
    local items = run("csv", "fz.csv", dataset.csv, "fz.csv", { sep = SEPS[opt % 3 + 1], input = "q", target = "a" })
    if items then check_items("csv", items) end
  elseif sel == 7 then
    local items = run("csv", "fz.csv", dataset.csv, "fz.csv", { header = false, input = 1, target = 2, sep = SEPS[opt % 3 + 1] })
    if items then check_items("csv", items) end
  else
    local sep = SEPS[opt % 3 + 1]
    local rows = run("csv.parse", "fz.csv", csv.parse, content, { sep = sep, file = "fz.csv" })
    if rows then
      local last = 0
      for i, r in ipairs(rows) do
        if type(r.line) ~= "number" or r.line <= last then fail("csv.parse: row %d starts at line %s", i, tostring(r.line)) end
        last = r.line
        if #r < 1 then fail("csv.parse: row %d is empty", i) end
        for j, f in ipairs(r) do if type(f) ~= "string" then fail("csv.parse: row %d field %d", i, j) end end
      end
    end
  end
end
