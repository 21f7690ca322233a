-- claude_md.lua: optimize a CLAUDE.md (or any prompt file) against a shell harness.
--   opro-lua examples/claude_md.lua --command 'sh examples/claude_md/check.sh {file}' [--initial FILE]
-- Each candidate is written to a file; the command (with {file} replaced by
-- its path) runs and the last number it prints is the candidate's score
-- (higher is better). Point --command at your real harness (run an agent
-- with the candidate on a few tasks and print the pass rate; or a
-- text-to-SQL prompt's accuracy on a test set).
local cli = require "opro.cli"
local runner = require "opro.runner"

local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local opts = cli.parse(arg, {
  name = "claude_md.lua",
  summary = "Optimize a CLAUDE.md against a shell command that scores it.",
  options = runner.options({
    { "command", "string", "the scoring command; {file} is the candidate's path",
      default = "sh " .. here .. "/claude_md/check.sh {file}" },
    { "initial", "string", "a file with the initial CLAUDE.md (default: a short built-in one)" },
    { "command-timeout", "number", "seconds a scoring command may run", default = 60 },
    { "score-concurrency", "integer", "scoring commands run at once", default = 4 },
  }, { steps = 5, candidates = 4 }),
})

local initial = "Run the tests before you commit. Keep changes small."
if opts.initial then
  local f = io.open(opts.initial, "rb")
  if not f then io.stderr:write("claude_md.lua: cannot read ", opts.initial, "\n"); os.exit(2) end
  initial = f:read("a")
  f:close()
end

local env = runner.setup(opts, { name = "claude_md", scorer = false })
local task = opro.task.shell{ command = opts.command, initial = { initial }, timeout = opts.command_timeout,
                              concurrency = opts.score_concurrency, suffix = ".md" }
-- scores are numbers from the harness, not accuracies in [0, 1]: shown as they are
runner.optimize(env, { task = task, template_opts = { num_score_buckets = "none" } })
