-- evaluate.lua: score one instruction on a dataset and write one JSON line per item.
--   opro-lua examples/evaluate.lua --dataset gsm8k --split test --instruction "Let's think step by step." \
--     --position Q_begin --out results.jsonl [--data-dir DIR] [--limit N]
-- Each line: {"index":, "question":, "target":, "response":, "prediction":, "correct":}.
-- Splits: GSM8K has its own train/test files; the other datasets are split
-- with the reference's train ratios (BBH 20%, MMLU 80%, MultiArith and
-- AQuA 0%) and the seed; `all` takes every item.
local cli = require "opro.cli"
local runner = require "opro.runner"

local opts = cli.parse(arg, {
  name = "evaluate.lua",
  summary = "Score one instruction on a dataset; one JSON line per item.",
  options = runner.options({
    { "dataset", "string", "gsm8k, multiarith, aqua, bbh:TASK or mmlu:SUBJECT", required = true },
    { "split", "string", "which items", default = "test", choices = { "train", "test", "all" } },
    { "instruction", "string", "the instruction to score", default = "" },
    { "position", "string", "where the instruction goes", default = "Q_begin",
      choices = { "before_Q", "Q_begin", "Q_end", "A_begin" } },
    { "out", "string", "the JSON-lines file to write (default: stdout)" },
    { "data-dir", "string", "directory with the datasets", default = os.getenv("OPRO_DATA_DIR") or "data" },
    { "limit", "integer", "score at most this many items (a seeded sample)", default = 0 },
    { "demo", "boolean", "use generated arithmetic problems (for opro-sim) instead of a dataset", default = false },
  }, nil, { -- what only an optimization uses
    "optimizer-model", "optimizer-price", "steps", "candidates", "reps", "resume",
    "reject-similar", "explore-penalty", "embed", "embed-model" }),
})

local items
if opts.demo then
  items = runner.demo_items(opts.limit > 0 and opts.limit or 20, opts.seed)
else
  local base = opts.dataset:match("^([%w_]+)")
  local ok, loaded = pcall(function()
    if base == "gsm8k" then
      if opts.split == "all" then
        local all = opro.dataset.load("gsm8k", { data_dir = opts.data_dir, split = "train" })
        for _, it in ipairs(opro.dataset.load("gsm8k", { data_dir = opts.data_dir, split = "test" })) do all[#all + 1] = it end
        return all
      end
      return opro.dataset.load("gsm8k", { data_dir = opts.data_dir, split = opts.split })
    end
    local all = opro.dataset.load(opts.dataset, { data_dir = opts.data_dir })
    if opts.split == "all" then return all end
    local train, test = opro.dataset.split(all, { ratio = opro.dataset.reference_ratio[base] or 0, seed = opts.seed })
    return opts.split == "train" and train or test
  end)
  if not ok then
    io.stderr:write("evaluate.lua: ", tostring(loaded), "\n")
    os.exit(1)
  end
  items = loaded
  if #items == 0 then
    local ratio = opro.dataset.reference_ratio[base]
    io.stderr:write(string.format("evaluate.lua: %s has no items in the %s split%s; use --split test or --split all\n",
      opts.dataset, opts.split,
      (opts.split == "train" and ratio == 0) and " (the reference trains on 0% of it)" or ""))
    os.exit(1)
  end
end
if opts.limit > 0 and #items > opts.limit then items = opro.dataset.sample(items, opts.limit, opts.seed) end
-- each item's position in the list scored (0-based), to match the records to the items
local by_index = {}
for i, item in ipairs(items) do
  item.index = item.index or (i - 1)
  by_index[item.index] = item
end

local env = runner.setup(opts, { name = "evaluate" })
local task = opro.task.instruction{ scorer = env.scorer, train = items, position = opts.position,
  kind = opts.demo and "number" or nil,
  initial = { opts.instruction }, dataset = opts.demo and "gsm8k" or opts.dataset:match("^([%w_]+)"),
  task_name = not opts.demo and opts.dataset:match(":(.+)$") or nil }

if opts.estimate then
  local est = opro.estimate{ task = task, optimizer = env.optimizer, steps = 0, reps = 1 }
  io.write(opro.estimate.format(est))
  return
end

-- the task records each item through ctx.run; we collect those records
local rows = {}
local capture = { record_evaluation = function(_, r) rows[#rows + 1] = r end }
local score = task:score(opts.instruction, { rep = 1, step = 0, run = capture, seed = opts.seed,
                                             key = task:key(opts.instruction), split = opts.split })
table.sort(rows, function(a, b) return (a.index or 0) < (b.index or 0) end)
local out = opts.out and assert(io.open(opts.out, "w")) or io.stdout
local cjson = require "cjson"
local correct = 0
for _, r in ipairs(rows) do
  local c = r.correct
  if type(c) == "number" then c = c > 0 end
  if c then correct = correct + 1 end
  local item = by_index[r.index] or {}
  out:write(cjson.encode{ index = r.index, question = item.input or r.input, target = r.target, response = r.response,
                          prediction = r.prediction or cjson.null, correct = c and true or false }, "\n")
end
if opts.out then out:close() end
local summary = { dataset = opts.dataset, split = opts.split, items = #rows, correct = correct,
                  accuracy = score, instruction = opts.instruction, totals = env.meter and env.meter:totals() or nil }
if opts.json then
  io.stdout:write(runner.json_encode(summary), "\n")
else
  io.stderr:write(string.format("%s (%s): %d/%d correct, accuracy %s%s\n", opts.dataset, opts.split, correct, #rows,
    runner.fmt_score(score), opts.out and (" -> " .. opts.out) or ""))
end
if env.store then env.store:close() end
