--- Fuzz target: opro.parse, the parsers of optimizer outputs. Input: a
-- flags byte, a parameter byte, then the output text. The flags pick the
-- parser and its options:
--   bits 0-1: 0/1 instruction, 2 linear_regression, 3 tsp
--   instruction: bit 2 style bison, bit 3 position A_begin, bit 4
--     instructions_only, bit 5 dataset bbh (else gsm8k), bit 6 keep_empty,
--     bit 7 all; the parameter byte, when > 0, is max_length
--   linear_regression: decimals = parameter % 4
--   tsp: n = nil when the parameter is 0, else parameter % 24 + 1
-- The contract (lua/opro/parse.lua): given a string, a parser returns its
-- list of solutions or nil, message, "parse"; it never raises.
local parse = require "opro.parse"

local harness = require "tests.fuzz.harness"
local fail, call = harness.fail, harness.call

local function check_failure(what, out, msg, code)
  if out ~= nil then return false end
  if type(msg) ~= "string" or msg == "" or code ~= "parse" then
    fail("%s: failure must be nil, message, \"parse\" (got %s, %s)", what, tostring(msg), tostring(code))
  end
  return true
end

local function ulen(s) return utf8.len(s) or #s end

local function instruction(flags, param, text)
  local opts = {
    style = flags & 4 ~= 0 and "bison" or "gpt",
    position = flags & 8 ~= 0 and "A_begin" or "Q_begin",
    meta_prompt_type = flags & 16 ~= 0 and "instructions_only" or "both_instructions_and_exemplars",
    dataset = flags & 32 ~= 0 and "bbh" or "gsm8k",
    keep_empty = flags & 64 ~= 0,
    all = flags & 128 ~= 0,
    max_length = param > 0 and param or nil,
  }
  local out, msg, code = call("instruction", parse.instruction, text, opts)
  if check_failure("instruction", out, msg, code) then return end
  if type(out) ~= "table" or #out < 1 then fail("instruction: an empty list") end
  if not opts.all and #out ~= 1 then fail("instruction: %d instructions without opts.all", #out) end
  local seen = {}
  for i, s in ipairs(out) do
    if type(s) ~= "string" then fail("instruction %d is a %s", i, type(s)) end
    if s == "" and not opts.keep_empty then fail("instruction %d is empty", i) end
    if ulen(s) > (opts.max_length or 500) then fail("instruction %d is longer than max_length", i) end
    if opts.dataset == "gsm8k" and s:find("%d") then fail("instruction %d has a digit (gsm8k)", i) end
    if s:find("INS", 1, true) then fail("instruction %d holds INS", i) end
    if s:find("**", 1, true) then fail("instruction %d holds **", i) end
    if seen[s] then fail("instruction %d is a duplicate", i) end
    seen[s] = true
  end
end

local function linear_regression(param, text)
  local decimals = param % 4
  local out, msg, code = call("linear_regression", parse.linear_regression, text, { decimals = decimals })
  if check_failure("linear_regression", out, msg, code) then return end
  if type(out) ~= "table" or #out ~= 1 or type(out[1]) ~= "table" then fail("linear_regression: not { {w=, b=} }") end
  local w, b = out[1].w, out[1].b
  for _, v in ipairs { w, b } do
    if type(v) ~= "number" or v ~= v or math.abs(v) == math.huge then fail("linear_regression: %s is not a finite number", tostring(v)) end
    if decimals == 0 and v ~= math.floor(v) then fail("linear_regression: %s is not a whole number", tostring(v)) end
  end
end

local function tsp(param, text)
  local n = param > 0 and param % 24 + 1 or nil
  local out, msg, code = call("tsp", parse.tsp, text, n)
  if check_failure("tsp", out, msg, code) then return end
  local tour = type(out) == "table" and #out == 1 and out[1]
  if type(tour) ~= "table" then fail("tsp: not { tour }") end
  if n and #tour ~= n then fail("tsp: %d nodes, expected %d", #tour, n) end
  local seen = {}
  for i, v in ipairs(tour) do
    if math.type(v) ~= "integer" or v < 0 or v >= #tour or seen[v] then fail("tsp: node %d (%s) is invalid", i, tostring(v)) end
    seen[v] = true
  end
  if tour[1] ~= 0 then fail("tsp: the tour does not start at 0") end
end

return function(data)
  if #data < 2 then return end
  local flags, param = data:byte(1), data:byte(2)
  local text = data:sub(3)
  local which = flags & 3
  if which <= 1 then instruction(flags, param, text)
  elseif which == 2 then linear_regression(param, text)
  else tsp(param, text) end
end
