-- continuous.lua: continue optimizing from production feedback.
--   opro-lua examples/continuous.lua --log feedback.jsonl --command 'sh score.sh {file}' [--steps 3]
--   opro-lua examples/continuous.lua --log feedback.jsonl --demo --base-url http://127.0.0.1:PORT/v1
-- The log holds one JSON object per line, {"prompt": "...", "score": 0.7}
-- (scores as your feedback measures them; higher is better). They become
-- the history (step -1, not scored again); the loop then runs k steps,
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
  }, { steps = 3 }),
})

local history = {}
do
  local f = io.open(opts.log, "rb")
  if not f then io.stderr:write("continuous.lua: cannot read ", opts.log, "\n"); os.exit(2) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    if line:match("%S") then
      local ok, v = pcall(cjson.decode, line)
      if not ok or type(v) ~= "table" or type(v.prompt) ~= "string" or type(v.score) ~= "number" then
        io.stderr:write(string.format("continuous.lua: %s:%d: expected {\"prompt\": string, \"score\": number}\n", opts.log, n))
        os.exit(2)
      end
      history[#history + 1] = { solution = v.prompt, score = v.score }
    end
  end
  f:close()
  if #history == 0 then io.stderr:write("continuous.lua: ", opts.log, " holds no feedback\n"); os.exit(2) end
end
if not opts.command and not opts.demo then
  io.stderr:write("continuous.lua: give --command (a scoring harness) or --demo\n")
  os.exit(2)
end

local env = runner.setup(opts, { name = "continuous", scorer = opts.demo and {} or false })
local task
if opts.command then
  task = opro.task.shell{ command = opts.command, initial = {} }
else
  task = opro.task.instruction{ scorer = env.scorer, kind = "number", initial = {},
    train = runner.demo_items(opts.items, opts.seed) }
end
local result = runner.optimize(env, { task = task, history = history,
  template_opts = opts.command and { num_score_buckets = "none" } or nil })
if result and opts.out then
  local out = assert(io.open(opts.out, "w"))
  for _, e in ipairs(result.history) do
    if e.step and e.step > 0 then out:write(cjson.encode{ prompt = e.text or e.solution, score = e.score, step = e.step }, "\n") end
  end
  out:close()
end
