-- custom_template.lua: your own meta-prompt and ordering, in about 20 lines.
--   opro-lua examples/custom_template.lua --base-url http://127.0.0.1:PORT/v1   # against opro-sim
-- Optimizes an instruction for arithmetic word problems (lua/opro/sim/problems.lua)
-- with a meta-prompt written here instead of the paper's.
local cli, runner = require "opro.cli", require "opro.runner"
local opts = cli.parse(arg, { name = "custom_template.lua", summary = "A user-defined meta-prompt and ordering.",
  options = runner.options { { "items", "integer", "training problems", default = 20 } } })
local env = runner.setup(opts, { name = "custom_template" })
local task = opro.task.instruction{ scorer = env.scorer, kind = "number", initial = { "Solve it." },
  train = runner.demo_items(opts.items, opts.seed) }

-- the ordering: the 8 best, worst first, so the best sits next to the request
local function best_eight(history)
  local h = {}
  for _, e in ipairs(history) do h[#h + 1] = e end
  table.sort(h, function(a, b) if a.score ~= b.score then return a.score > b.score end return a.key < b.key end)
  local top = {}
  for i = math.min(8, #h), 1, -1 do top[#top + 1] = h[i] end
  return top
end

-- the meta-prompt: earlier instructions with their accuracy, then the request
local function my_template(history, o)
  local parts = { "Below are instructions for solving math word problems, each with the accuracy it reached.\n" }
  for _, e in ipairs((o.order or best_eight)(history, o)) do
    parts[#parts + 1] = string.format("text:\n%s\nscore:\n%d\n", e.text or e.solution, math.floor(e.score * 100 + 0.5))
  end
  parts[#parts + 1] = "Write a new instruction that is different from the ones above and scores higher. "
    .. "Put it in <INS> and </INS> tags."
  return table.concat(parts, "\n")
end

runner.optimize(env, { task = task, template = my_template, order = best_eight })
