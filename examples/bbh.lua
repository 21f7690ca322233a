-- bbh.lua: optimize a prompt instruction for a BIG-Bench Hard task (OPRO §5.2).
--   opro-lua examples/bbh.lua --task navigate --data-dir DIR [--steps 10]
-- 20% of the task's examples train the instruction (as in the paper), the
-- other 80% evaluate the top instructions at the end.
local cli = require "opro.cli"
local runner = require "opro.runner"

local opts = cli.parse(arg, {
  name = "bbh.lua",
  summary = "Optimize an instruction for one BIG-Bench Hard task (OPRO).",
  options = runner.options {
    { "task", "string", "the BBH task (e.g. navigate, sports_understanding)", default = "navigate" },
    { "data-dir", "string", "directory with the datasets (BIG-Bench-Hard-data/...)", default = os.getenv("OPRO_DATA_DIR") or "data" },
    { "train-ratio", "number", "share of the examples used for optimization", default = 0.2 },
    { "position", "string", "where the instruction goes in the scorer prompt", default = "Q_begin",
      choices = { "before_Q", "Q_begin", "Q_end", "A_begin" } },
    { "initial", "string", "the initial instruction (default: empty, as in the paper)", default = "" },
    { "evaluate-top", "integer", "evaluate this many top instructions on the held-out 80%", default = 3 },
  },
})

local name = "bbh:" .. opts.task
local items = runner.load_dataset("bbh.lua", name, { data_dir = opts.data_dir },
  "fetch the data with scripts/fetch-datasets or pass --data-dir")
local train, test = opro.dataset.split(items, { ratio = opts.train_ratio, seed = opts.seed })

local env = runner.setup(opts, { name = name })
local task = opro.task.instruction{
  scorer = env.scorer, train = train, test = test, position = opts.position,
  initial = { opts.initial }, dataset = "bbh", task_name = opts.task,
}
runner.optimize(env, { task = task, evaluate_top = opts.evaluate_top })
