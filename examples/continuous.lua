-- continuous.lua: continue optimizing from production feedback.
--   opro-lua examples/continuous.lua --log feedback.jsonl --command 'sh score.sh {file}' [--steps 3]
--   opro-lua examples/continuous.lua --log feedback.jsonl --demo --base-url http://127.0.0.1:PORT/v1
-- The log holds one JSON object per line, {"prompt": "...", "score": 0.7}
-- (scores as your feedback measures them; higher is better). They become
-- the history (step -1, not scored again; several lines for one prompt
-- count once, with their mean score, or --aggregate last|max|min); the
-- loop then runs k steps,
-- scoring new prompts with --command (a shell harness; {file} is the
-- candidate's path) or, with --demo, on generated arithmetic problems with
-- the scorer LLM. Prints the best prompt and, with --out, writes the new
-- candidates as JSON lines to append to your log.
local cli = require "opro.cli"
local runner = require "opro.runner"
local cjson = require "cjson"

local opts = cli.parse(arg, {
  name = "continuous.lua",
  summary = "Start from a JSONL log of {prompt, score} feedback and run k more OPRO steps.",
  options = runner.options({
    { "log", "string", "JSON-lines file of {\"prompt\":..., \"score\":...}", required = true },
    { "command", "string", "score new prompts with this shell command ({file}: the candidate's path)" },
    { "demo", "boolean", "score new prompts on generated arithmetic problems with the scorer LLM", default = false },
    { "items", "integer", "problems in --demo mode", default = 20 },
    { "out", "string", "write the new candidates as JSON lines here" },
    { "aggregate", "string", "how several lines for one prompt count", default = "mean",
      choices = { "mean", "last", "max", "min" } },
  }, { steps = 3 }),
})

if not opts.command and not opts.demo then
  io.stderr:write("continuous.lua: give --command (a scoring harness) or --demo\n")
  os.exit(2)
end
if not (opts.aggregate == "mean" or opts.aggregate == "last" or opts.aggregate == "max" or opts.aggregate == "min") then
  io.stderr:write("continuous.lua: --aggregate must be mean, last, max or min\n")
  os.exit(2)
end
-- read the log first: a bad line is reported before anything is called
local ok_log, entries = pcall(require("opro.task.continuous").read_log, opts.log, { aggregate = opts.aggregate })
if not ok_log then
  io.stderr:write("continuous.lua: ", tostring(entries):gsub("^[^:]*:%d+: ", ""):gsub("^opro%.task%.continuous: ", ""), "\n")
  os.exit(2)
end

local env = runner.setup(opts, { name = "continuous", scorer = opts.demo and {} or false })
local objective
if opts.command then
  objective = opro.task.shell{ command = opts.command, initial = {} }
else
  objective = opro.task.instruction{ scorer = env.scorer, kind = "number", initial = {},
    train = runner.demo_items(opts.items, opts.seed) }
end
-- the log's prompts are the history (step -1, never scored again); several
-- lines for one prompt count once, with their mean score (--aggregate)
local task = opro.task.continuous{ log = opts.log, objective = objective, aggregate = opts.aggregate }
local result = runner.optimize(env, { task = task,
  template_opts = opts.command and { num_score_buckets = "none" } or nil })
if result and opts.out then
  local out = assert(io.open(opts.out, "w"))
  for _, e in ipairs(result.history) do
    if e.step and e.step > 0 then out:write(cjson.encode{ prompt = e.text or e.solution, score = e.score, step = e.step }, "\n") end
  end
  out:close()
end
