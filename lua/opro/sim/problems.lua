--- opro.sim.problems: simple GSM8K-like arithmetic word problems, made
-- deterministically from a seed, and the solver the simulator uses to know
-- their answers when a prompt contains one.
--
--   local problems = require "opro.sim.problems"
--   local items = problems.generate(50, 1)   -- {{input=, target="42", solution=}, ...}
--   local found = problems.find(prompt)       -- {answer=, question=, start=, stop=, steps=} or nil
--   problems.solve(question)                  -- the answer (an integer) or nil
local util = require "opro.sim.util"

local M = {}

local NAMES = { "Alice", "Ben", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jamal",
                "Kenji", "Lena", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tomas" }
local ITEMS = { "apples", "marbles", "cookies", "pencils", "stickers", "books", "oranges", "cards",
                "candies", "shells", "stamps", "buttons" }

-- Each template: text with slots {P} {Q} (names), {I} (items), {N1}..{N4}
-- (numbers); gen(r) -> slot values; answer(v) -> integer; steps(v) -> the
-- worked computation, one line a step, the last one giving the answer.
local TEMPLATES = {
  {
    text = "{P} has {N1} {I}. {P} buys {N2} more {I} and then gives {N3} {I} to {Q}. How many {I} does {P} have now?",
    gen = function(r) local a, b = r:int(5, 60), r:int(2, 40); return { N1 = a, N2 = b, N3 = r:int(1, a + b - 1) } end,
    steps = function(v) local s = v.N1 + v.N2; return { ("%d + %d = %d"):format(v.N1, v.N2, s), ("%d - %d = %d"):format(s, v.N3, s - v.N3) } end,
  },
  {
    text = "A box holds {N1} {I}. {P} fills {N2} boxes and then uses {N3} of the {I}. How many {I} are left?",
    gen = function(r) local a, b = r:int(4, 24), r:int(2, 12); return { N1 = a, N2 = b, N3 = r:int(1, a * b - 1) } end,
    steps = function(v) local s = v.N1 * v.N2; return { ("%d x %d = %d"):format(v.N1, v.N2, s), ("%d - %d = %d"):format(s, v.N3, s - v.N3) } end,
  },
  {
    text = "{P} earns ${N1} per hour and works {N2} hours a day for {N3} days. How many dollars does {P} earn in total?",
    gen = function(r) return { N1 = r:int(8, 30), N2 = r:int(2, 9), N3 = r:int(2, 7) } end,
    steps = function(v) local d = v.N1 * v.N2; return { ("%d x %d = %d dollars a day"):format(v.N1, v.N2, d), ("%d x %d = %d"):format(d, v.N3, d * v.N3) } end,
  },
  {
    text = "{P} reads {N1} pages on Monday and twice as many pages on Tuesday. On Wednesday {P} reads {N2} pages fewer than on Tuesday. How many pages does {P} read over the three days?",
    gen = function(r) local a = r:int(6, 40); return { N1 = a, N2 = r:int(1, 2 * a - 1) } end,
    steps = function(v)
      local t, w = 2 * v.N1, 2 * v.N1 - v.N2
      return { ("Tuesday: 2 x %d = %d"):format(v.N1, t), ("Wednesday: %d - %d = %d"):format(t, v.N2, w),
               ("%d + %d + %d = %d"):format(v.N1, t, w, v.N1 + t + w) }
    end,
  },
  {
    text = "There are {N1} students in a class. The teacher splits them into groups of {N2}. Each group needs {N3} markers. How many markers does the teacher need?",
    valid = function(v) return v.N2 ~= 0 end,
    gen = function(r) local g = r:int(2, 6); return { N1 = g * r:int(3, 9), N2 = g, N3 = r:int(2, 8) } end,
    steps = function(v) local g = v.N1 // v.N2; return { ("%d / %d = %d groups"):format(v.N1, v.N2, g), ("%d x %d = %d"):format(g, v.N3, g * v.N3) } end,
  },
  {
    text = "{P} buys {N1} {I} at ${N2} each and pays with a ${N3} bill. How much change, in dollars, does {P} get?",
    gen = function(r)
      local a, b = r:int(2, 9), r:int(1, 9)
      local bill = 20
      while bill <= a * b do bill = bill == 20 and 50 or 100 end
      return { N1 = a, N2 = b, N3 = bill }
    end,
    steps = function(v) local c = v.N1 * v.N2; return { ("%d x %d = %d dollars"):format(v.N1, v.N2, c), ("%d - %d = %d"):format(v.N3, c, v.N3 - c) } end,
  },
  {
    text = "A train travels at {N1} miles per hour for {N2} hours and then at {N3} miles per hour for {N4} hours. How many miles does the train travel in total?",
    gen = function(r) return { N1 = r:int(3, 9) * 10, N2 = r:int(2, 5), N3 = r:int(3, 9) * 10, N4 = r:int(2, 5) } end,
    steps = function(v)
      local a, b = v.N1 * v.N2, v.N3 * v.N4
      return { ("%d x %d = %d"):format(v.N1, v.N2, a), ("%d x %d = %d"):format(v.N3, v.N4, b), ("%d + %d = %d"):format(a, b, a + b) }
    end,
  },
  {
    text = "{P} has ${N1}. {P} spends half of the money on {I} and then ${N2} on lunch. How many dollars does {P} have left?",
    gen = function(r) local a = 2 * r:int(10, 60); return { N1 = a, N2 = r:int(1, a // 2 - 1) } end,
    steps = function(v) local h = v.N1 // 2; return { ("%d / 2 = %d"):format(v.N1, h), ("%d - %d = %d"):format(h, v.N2, h - v.N2) } end,
  },
  {
    text = "{P} arranges {N1} rows of {I} with {N2} {I} in each row and then removes {N3} {I}. How many {I} are there now?",
    gen = function(r) local a, b = r:int(2, 12), r:int(3, 15); return { N1 = a, N2 = b, N3 = r:int(1, a * b - 1) } end,
    steps = function(v) local s = v.N1 * v.N2; return { ("%d x %d = %d"):format(v.N1, v.N2, s), ("%d - %d = %d"):format(s, v.N3, s - v.N3) } end,
  },
  {
    text = "{P} is {N1} years old. {Q} is {N2} years older than {P}. How old will {Q} be in {N3} years?",
    gen = function(r) return { N1 = r:int(5, 40), N2 = r:int(1, 20), N3 = r:int(2, 15) } end,
    steps = function(v) local q = v.N1 + v.N2; return { ("%d + %d = %d"):format(v.N1, v.N2, q), ("%d + %d = %d"):format(q, v.N3, q + v.N3) } end,
  },
}

-- compile each template's text into a Lua pattern and its slot order
for _, t in ipairs(TEMPLATES) do
  t.slots = {}
  local pat = t.text:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
  pat = pat:gsub("{(%w+)}", function(slot)
    t.slots[#t.slots + 1] = slot
    if slot == "P" or slot == "Q" then return "(%u%l+)" end
    if slot == "I" then return "(%l+)" end
    return "(%d+)"
  end)
  t.pattern = pat
end

local function last_number(line) return tonumber(line:match("(%-?%d+)[^%d]*$")) end

local function fill(t, v)
  return (t.text:gsub("{(%w+)}", function(slot) return tostring(v[slot]) end))
end

--- n problems from the seed: {{input=, target=, solution=, template=}, ...}; target
-- is the answer as a string, solution the worked steps ending "#### target" (as GSM8K's).
function M.generate(n, seed)
  assert(math.type(n) == "integer" and n >= 0, "problems.generate: n must be a non-negative integer")
  local r = util.rng(util.hash("opro.sim.problems", seed or 0))
  local out = {}
  for i = 1, n do
    local ti = r:int(1, #TEMPLATES)
    local t = TEMPLATES[ti]
    local v = t.gen(r)
    v.P = r:pick(NAMES)
    repeat v.Q = r:pick(NAMES) until v.Q ~= v.P
    v.I = r:pick(ITEMS)
    local steps = t.steps(v)
    local target = tostring(last_number(steps[#steps]))
    out[i] = { input = fill(t, v), target = target, template = ti, index = i - 1, kind = "number",
               solution = table.concat(steps, "\n") .. "\n#### " .. target }
  end
  return out
end

--- Finds a generated problem inside a text (a prompt); returns
-- {question=, answer=, start=, stop=, steps={...}} or nil.
function M.find(text)
  local best
  for _, t in ipairs(TEMPLATES) do
    local caps = { text:find(t.pattern) }
    local v
    if caps[1] and (not best or caps[1] < best.start) then
      v = {}
      for i, slot in ipairs(t.slots) do
        local c = caps[i + 2]
        v[slot] = tonumber(c) or c
        -- a number too long for an integer is not one of ours
        if slot:find("^N") and not math.tointeger(v[slot]) then v = nil break end
      end
      if v and t.valid and not t.valid(v) then v = nil end   -- e.g. groups of 0
    end
    if v then
      local steps = t.steps(v)
      best = { start = caps[1], stop = caps[2], question = text:sub(caps[1], caps[2]),
               answer = last_number(steps[#steps]), steps = steps }
    end
  end
  return best
end

--- The answer (an integer) to a generated problem, or nil if the text has none.
function M.solve(text)
  local f = M.find(text)
  return f and f.answer
end

M.templates = #TEMPLATES

return M
