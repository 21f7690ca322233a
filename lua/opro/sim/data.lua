--- opro.sim.data: the questions the simulator knows the answers to
-- (`opro-sim --data FILE`), and finding one inside a prompt.
-- Formats: JSON lines {"input", "target"} (also {"question", "answer"});
-- BBH JSON {"examples": [{"input", "target"}]}; a JSON list of such
-- objects or of MultiArith {"sQuestion", "lSolutions"}; AQuA JSON lines
-- {"question", "options", "correct"}; GSM8K TSV (question TAB answer).
local cjson = require "cjson.safe"
local util = require "opro.sim.util"

local M = {}
local KEY = 24   -- characters of a question's start used as its index key

-- cjson decodes numbers as floats: 2.0 is the target "2"
local function str(v)
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then v = math.tointeger(v) end
  return tostring(v)
end

local function item_of(obj)
  if type(obj) ~= "table" then return nil end
  if obj.input ~= nil and obj.target ~= nil then return str(obj.input), str(obj.target) end
  if obj.question ~= nil and obj.answer ~= nil then return str(obj.question), str(obj.answer) end
  if obj.sQuestion ~= nil and type(obj.lSolutions) == "table" then
    return str(obj.sQuestion), str(obj.lSolutions[1])
  end
  if obj.question ~= nil and type(obj.options) == "table" and obj.correct ~= nil then
    local q = tostring(obj.question) .. "\nAnswer Choices: "
    for i, o in ipairs(obj.options) do q = q .. (i > 1 and " " or "") .. "(" .. tostring(o):gsub("%)", ") ", 1) end
    return q, "(" .. tostring(obj.correct) .. ")"
  end
  return nil
end

--- Reads FILE; returns a list of {input=, target=} or raises naming the file and line.
function M.load(path)
  local f, err = io.open(path, "rb")
  if not f then error("--data: " .. tostring(err), 0) end
  local text = f:read("a")
  f:close()
  local items = {}
  local function add(q, t) if q and t then items[#items + 1] = { input = q, target = t } end end
  local first = text:match("^%s*(.)")
  local whole = (first == "{" or first == "[") and cjson.decode(text)
  if type(whole) == "table" then
    local list = whole.examples or whole
    for i, obj in ipairs(list) do
      local q, t = item_of(obj)
      if not q then error(string.format("--data %s: item %d has no input/target", path, i), 0) end
      add(q, t)
    end
    return items
  end
  local n = 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    if line:match("^%s*$") then goto continue end
    if first == "{" then
      local obj, e = cjson.decode(line)
      if not obj then error(string.format("--data %s:%d: %s", path, n, e), 0) end
      local q, t = item_of(obj)
      if not q then error(string.format("--data %s:%d: expected {\"input\", \"target\"}", path, n), 0) end
      add(q, t)
    else
      local q, t = line:match("^([^\t]+)\t([^\t\r]+)")
      if not q then error(string.format("--data %s:%d: expected JSON lines or question<TAB>answer", path, n), 0) end
      add(q, t)
    end
    ::continue::
  end
  return items
end

--- An index for finding items' questions inside prompts.
function M.index(items)
  local idx = { by_key = {}, short = {}, targets = {} }
  local seen = {}
  for _, it in ipairs(items) do
    local q = util.squash(it.input)
    local entry = { question = q, target = it.target }
    if #q >= KEY then
      local k = q:sub(1, KEY)
      local list = idx.by_key[k] or {}
      list[#list + 1] = entry
      idx.by_key[k] = list
    elseif #q > 0 then
      idx.short[#idx.short + 1] = entry
    end
    if not seen[it.target] then
      seen[it.target] = true
      idx.targets[#idx.targets + 1] = it.target
    end
  end
  return idx
end

--- Finds the longest known question in a prompt: entry, start, stop (in the squashed prompt), squashed prompt.
function M.find(idx, prompt)
  local p = util.squash(prompt)
  local best, bs, be
  local pos = 1
  while pos and pos <= #p - KEY + 1 do
    local list = idx.by_key[p:sub(pos, pos + KEY - 1)]
    if list then
      for _, e in ipairs(list) do
        if (not best or #e.question > #best.question) and p:sub(pos, pos + #e.question - 1) == e.question then
          best, bs, be = e, pos, pos + #e.question - 1
        end
      end
    end
    pos = p:find(" ", pos, true)
    pos = pos and pos + 1
  end
  if not best then
    for _, e in ipairs(idx.short) do
      local s = p:find(e.question, 1, true)
      if s and (not best or #e.question > #best.question) then best, bs, be = e, s, s + #e.question - 1 end
    end
  end
  return best, bs, be, p
end

return M
