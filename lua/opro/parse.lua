--- opro.parse: turns one optimizer output into a list of solutions, as the
-- reference code (google-deepmind/opro) extracts and filters them; returns
-- nil, message, "parse" when the output holds nothing usable.
local num = require "opro.template.num"

local M = {}

local function strip(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function ulen(s) return utf8.len(s) or #s end

local function check_text(text, who)
  if type(text) ~= "string" then
    error(string.format("opro.parse.%s: text must be a string, got %s", who, type(text)), 3)
  end
end

--- eval_utils.polish_sentence: strip, drop "**", capitalise the first letter.
function M.polish(sentence)
  sentence = strip(sentence)
  if sentence ~= "" then
    sentence = sentence:gsub("%*%*", "")
    if ulen(sentence) > 1 then
      sentence = sentence:sub(1, 1):upper() .. sentence:sub(2)
    end
  end
  return sentence
end

-- The text between the first `open` (or the start) and the first `close` (or
-- the end) of the whole output, as run_evolution slices GPT outputs.
local function between_tags(text, open, close)
  local a = text:find(open, 1, true)
  local start = a and (a + #open) or 1
  local b = text:find(close, 1, true)
  local stop = b and (b - 1) or #text
  if start > stop then return "" end
  return text:sub(start, stop)
end

-- Every <open>...</close> pair (non-greedy, across lines).
local function all_tagged(text, open, close)
  local out = {}
  local pos = 1
  while true do
    local a, a2 = text:find(open, pos, true)
    if not a then break end
    local b, b2 = text:find(close, a2 + 1, true)
    if not b then break end
    out[#out + 1] = text:sub(a2 + 1, b - 1)
    pos = b2 + 1
  end
  return out
end

local function style_of(opts)
  if opts.style then return opts.style end
  local name = opts.optimizer
  return (type(name) == "string" and name:lower():find("bison", 1, true)) and "bison" or "gpt"
end

--- One optimizer output -> list of instructions.
-- opts: style ("gpt" | "bison") or optimizer (model name), position
-- ("A_begin" uses <Start> tags), meta_prompt_type, dataset ("gsm8k" drops
-- instructions with digits), max_length (500), keep_empty (false),
-- all (false: only the first candidate of an output, as the reference).
function M.instruction(text, opts)
  check_text(text, "instruction")
  opts = opts or {}
  local style = style_of(opts)
  if style ~= "gpt" and style ~= "bison" then
    error("opro.parse.instruction: opts.style must be \"gpt\" or \"bison\", got " .. tostring(style), 2)
  end
  local mtype = opts.meta_prompt_type or "both_instructions_and_exemplars"
  local raw = {}
  if mtype == "instructions_only" then
    raw = all_tagged(text, "<TEXT>", "</TEXT>")
    if not opts.all then raw = { raw[1] } end
    if #raw == 0 then return nil, "no <TEXT>...</TEXT> in the output", "parse" end
  elseif mtype == "both_instructions_and_exemplars" then
    if style == "gpt" then
      local open, close = "<INS>", "</INS>"
      if (opts.position or opts.instruction_pos) == "A_begin" then open, close = "<Start>", "</Start>" end
      if opts.all then raw = all_tagged(text, open, close) end
      if #raw == 0 then raw = { between_tags(text, open, close) } end
    else
      for inside in text:gmatch("%[([^\n]-)%]") do
        raw[#raw + 1] = inside
        if not opts.all then break end
      end
      if #raw == 0 then raw = { "" } end
    end
  else
    error("opro.parse.instruction: opts.meta_prompt_type must be \"both_instructions_and_exemplars\" or "
      .. "\"instructions_only\", got " .. tostring(mtype), 2)
  end

  local max_length = opts.max_length or 500
  local digits_banned = (opts.dataset or "gsm8k"):lower() == "gsm8k"
  local out, seen, why = {}, {}, nil
  for _, r in ipairs(raw) do
    local ins = M.polish(r)
    if ins == "" and not opts.keep_empty then
      why = why or "no instruction in the output"
    elseif ulen(ins) > max_length then
      why = string.format("instruction too long (%d characters > %d)", ulen(ins), max_length)
    elseif digits_banned and ins:find("%d") then
      why = "instruction contains a number (not allowed for gsm8k): " .. ins
    elseif ins:find("INS", 1, true) then
      why = "instruction contains 'INS': " .. ins
    elseif not seen[ins] then
      seen[ins] = true
      out[#out + 1] = ins
    end
  end
  if #out == 0 then return nil, why or "no instruction in the output", "parse" end
  return out
end

-- Python float() of a stripped string (no underscores); nil when not a number.
local function py_float(s)
  if s:match("^[+-]?%d+%.?%d*$") or s:match("^[+-]?%.%d+$")
     or s:match("^[+-]?%d+%.?%d*[eE][+-]?%d+$") or s:match("^[+-]?%.%d+[eE][+-]?%d+$") then
    return tonumber(s) * 1.0
  end
  local sign, word = s:lower():match("^([+-]?)(%a+)$")
  if word == "inf" or word == "infinity" then return sign == "-" and -math.huge or math.huge end
  if word == "nan" then return 0 / 0 end
  return nil
end

--- One optimizer output -> { {w=, b=} }: the last [w, b] pair of the output
-- (a bracket with letters w or b but no "=" is a placeholder and skipped),
-- rounded like the reference to opts.decimals (default 0: integers).
function M.linear_regression(text, opts)
  check_text(text, "linear_regression")
  opts = opts or {}
  local decimals = math.tointeger(opts.decimals or 0)
  if not decimals or decimals < 0 then error("opro.parse.linear_regression: opts.decimals must be an integer >= 0", 2) end
  local pairs_found = {}
  for inside in text:gmatch("%[([^\n]-)%]") do pairs_found[#pairs_found + 1] = inside end
  if #pairs_found == 0 then return nil, "no [w, b] pair in the output", "parse" end
  local chosen
  for i = #pairs_found, 1, -1 do
    local p = pairs_found[i]
    if p:find("=", 1, true) or not p:find("[wb]") then chosen = p break end
  end
  if not chosen or chosen == "" then return nil, "no [w, b] pair with values in the output", "parse" end
  local values = {}
  for item in (chosen .. ","):gmatch("([^,]*),") do
    local eq = item:find("=", 1, true)
    if eq then item = item:sub(eq + 1) end
    local v = py_float(strip(item))
    if not v then return nil, string.format("not a number in [%s]: %q", chosen, strip(item)), "parse" end
    values[#values + 1] = v
  end
  if #values ~= 2 then
    return nil, string.format("[%s] has %d values, expected 2", chosen, #values), "parse"
  end
  local w, b = num.np_round(values[1], decimals), num.np_round(values[2], decimals)
  if w ~= w or b ~= b or math.abs(w) == math.huge or math.abs(b) == math.huge then
    return nil, string.format("[%s] is not finite", chosen), "parse"
  end
  if decimals == 0 then w, b = math.tointeger(w) or w, math.tointeger(b) or b end
  return { { w = w, b = b } }
end

--- One optimizer output -> { tour }: the first <trace>...</trace>, comma
-- separated node indices (items that are not integers are skipped, as the
-- reference does); valid when it visits each of the n nodes (0-based) once
-- and starts at node 0.
function M.tsp(text, n)
  check_text(text, "tsp")
  if type(n) == "table" then n = n.n end
  if n ~= nil and not (math.tointeger(n) and n > 0) then
    error("opro.parse.tsp: n must be the number of nodes (an integer > 0), got " .. tostring(n), 2)
  end
  n = n and math.tointeger(n)
  local a = text:find("<trace>", 1, true)
  if not a then return nil, "no <trace> in the output", "parse" end
  local rest = text:sub(a + #"<trace>")
  local b = rest:find("</trace>", 1, true)
  if not b then return nil, "no </trace> after <trace>", "parse" end
  local tour = {}
  for item in (rest:sub(1, b - 1) .. ","):gmatch("([^,]*),") do
    local s = strip(item)
    if s:match("^[+-]?%d+$") then tour[#tour + 1] = math.tointeger(tonumber(s)) or math.maxinteger end
  end
  n = n or #tour
  if #tour ~= n then return nil, string.format("the tour has %d nodes, expected %d", #tour, n), "parse" end
  local seen = {}
  for _, v in ipairs(tour) do
    if v < 0 or v >= n then return nil, string.format("node %d is out of range 0..%d", v, n - 1), "parse" end
    if seen[v] then return nil, string.format("node %d is visited twice", v), "parse" end
    seen[v] = true
  end
  if tour[1] ~= 0 then return nil, "the tour does not start at node 0", "parse" end
  return { tour }
end

return M
