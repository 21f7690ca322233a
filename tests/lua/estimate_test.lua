-- opro.estimate: calls, tokens and cost of a configured run, without calling anything.
local T = require "testlib"
local estimate = require "opro.estimate"

local function no_calls()
  return setmetatable({ price = { input = 1.0, output = 2.0 } }, { __index = function(_, k)
    if k == "chat" or k == "chat_n" or k == "embed" then
      return function() error("the estimate must not call the llm") end
    end
  end })
end

local function task(ntrain, max_shown)
  local train = {}
  for i = 1, ntrain do train[i] = { input = string.rep("q", 40 + i), target = tostring(i) } end
  local t = { kind = "instruction", initial = { "Let's solve the problem." }, train = train, scorer = no_calls() }
  function t:key(s) return s end
  function t:format(s) return s end
  function t:score() error("the estimate must not score") end
  t.template = function(history)
    local parts = { string.rep("m", 400) }
    local from = math.max(1, #history - max_shown + 1)
    for i = from, #history do parts[#parts + 1] = history[i].solution .. " score: 50" end
    return table.concat(parts, "\n")
  end
  return t
end

T.test("calls follow reps x steps x candidates and the training set size", function()
  local e = estimate{ task = task(10, 20), optimizer = no_calls(), steps = 5, candidates_per_step = 4, reps = 2,
                      new_ratio = 0.5 }
  T.eq(e.optimizer.calls, 2 * 5 * 4)
  -- scored: (1 initial + 5 steps x 4 x 0.5 new) per rep, 10 items each
  T.eq(e.scorer.calls, 2 * (1 + 5 * 2) * 10)
  T.eq(e.total.calls, e.optimizer.calls + e.scorer.calls)
  T.eq(e.total.tokens, e.total.input_tokens + e.total.output_tokens)
end)

T.test("the meta-prompt grows with the history up to the template's cap", function()
  local e30 = estimate{ task = task(3, 20), optimizer = no_calls(), steps = 30, candidates_per_step = 8 }
  local e60 = estimate{ task = task(3, 20), optimizer = no_calls(), steps = 60, candidates_per_step = 8 }
  local a = e30.assumptions
  T.eq(a.meta_prompt_tokens_first, math.ceil((400 + #"\nLet's solve the problem. score: 50") / 4))
  T.ok(a.meta_prompt_tokens_last > a.meta_prompt_tokens_first)
  T.eq(e60.assumptions.meta_prompt_tokens_last, a.meta_prompt_tokens_last, "capped at 20 entries")
  -- 20 entries of about solution_chars (120) characters each
  T.near(a.meta_prompt_tokens_last, (400 + 20 * (1 + 120 + 4 + #" score: 50")) / 4, 8)
  T.ok(e60.optimizer.input_tokens < 2.2 * e30.optimizer.input_tokens)
end)

T.test("scorer input tokens come from the training items' prompts; cost from prices", function()
  local t = task(4, 20)
  function t:scorer_prompt(s, item) return s .. "\nQ: " .. item.input .. "\nA:" end
  local e = estimate{ task = t, optimizer = no_calls(), steps = 1, candidates_per_step = 1, new_ratio = 1,
                      solution_chars = #"Let's solve the problem." }
  local sum = 0
  for _, item in ipairs(t.train) do sum = sum + math.ceil(#("Let's solve the problem.\nQ: " .. item.input .. "\nA:") / 4) end
  T.eq(e.assumptions.scorer_input_tokens, math.floor(sum / 4 + 0.5))
  T.near(e.total.cost, (e.total.input_tokens * 1.0 + e.total.output_tokens * 2.0) / 1e6, 1e-9)
  T.contains(estimate.format(e), "Estimate (nothing was called)")
end)

T.done()
