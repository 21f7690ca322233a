-- Meta-prompt building and output parsing speed (pure Lua): a run builds one
-- meta-prompt per step and parses every optimizer output, so these must stay
-- far below an LLM call's latency even with long histories.
local template = require "opro.template"
local parse = require "opro.parse"

local function median(fn, reps)
  local times = {}
  for r = 1, reps do
    local t0 = os.clock()
    fn()
    times[r] = os.clock() - t0
  end
  table.sort(times)
  return times[(reps + 1) // 2]
end

local function history(n)
  local h = {}
  for i = 1, n do
    h[i] = { solution = "Instruction number " .. i .. ": think step by step and check the arithmetic.",
             score = (i * 7919 % 1000) / 1000, step = i // 8 }
  end
  return h
end

local items = {}
for i = 1, 3 do items[i] = { input = string.rep("A question with some words. ", 20), target = tostring(i) } end

print("## Templates and parsers (opro.template, opro.parse)")
print()
print("| operation | history | median time |")
print("|---|---:|---:|")
for _, n in ipairs{ 100, 1000, 10000 } do
  local h = history(n)
  local t = median(function() template.instruction(h, { exemplars = items }) end, 7)
  print(string.format("| instruction meta-prompt (GPT, 3 exemplars) | %d | %.2f ms |", n, t * 1000))
end
local lr = {}
for i = 1, 1000 do lr[i] = { solution = { w = i % 37, b = i % 23 }, score = (i * 104729) % 100000 + 0.5, step = i // 8 } end
print(string.format("| linear-regression meta-prompt | 1000 | %.2f ms |",
  median(function() template.linear_regression(lr) end, 7) * 1000))
local coords, tours = {}, {}
for i = 1, 50 do coords[i] = { (i * 37) % 200 - 100, (i * 91) % 200 - 100 } end
for i = 1, 500 do
  local t = { 0 }
  for j = 1, 49 do t[#t + 1] = (j * (i % 48 + 1)) % 49 + 1 end
  tours[i] = { solution = t, score = 1000 + i * 3.7, step = i // 8 }
end
print(string.format("| TSP meta-prompt (50 nodes) | 500 | %.2f ms |",
  median(function() template.tsp(tours, { coords = coords }) end, 7) * 1000))
local out = "Sure. Here is a new instruction:\n<INS>" .. string.rep("Check every step carefully. ", 10) .. "</INS>\nThanks."
local t = median(function() for _ = 1, 1000 do parse.instruction(out, { dataset = "bbh" }) end end, 7)
print(string.format("| parse.instruction x1000 | - | %.2f ms |", t * 1000))
