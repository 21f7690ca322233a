--- opro.task.shell: score = the last number a user command prints for a
-- candidate written to a file. Enough to optimize a CLAUDE.md or a
-- text-to-SQL prompt against a real harness.
--
--   opro.task.shell{
--     command = "./eval.sh {file}",  -- run by /bin/sh; {file} = the candidate's path (shell-quoted)
--     initial = { "first candidate" } | "text",  initial_file = "CLAUDE.md",  (or none:
--                                    -- the loop's history= / continuous mode gives the start)
--     timeout = 300,                 -- seconds per run
--     better = "higher",             -- or "lower"
--     suffix = ".md",                -- the temp file's extension
--     stdin = false,                 -- also give the candidate on stdin
--     concurrency = nil,             -- runs at once (default: unlimited)
--   }
--
-- The command runs without blocking the event loop (opro.core.proc), so
-- the candidates of a step are scored concurrently. A command that exits
-- non-zero, times out or prints no number makes score return
-- nil, message, code ("command", "timeout", "parse").
local base = require "opro.task"
local options = require "opro.options"
local proc = require "opro.core.proc"

local M = {}

local function shquote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- The last number in a text (integers, decimals, exponents; "75%" is 75).
function M.last_number(text)
  local last
  for tok in text:gmatch("[%w%.%-+]+") do
    tok = tok:gsub("%.+$", "")
    if not tok:find("^[%-+]?0[xX]") and tok:find("^[%-+]?%.?%d") then
      local v = tonumber(tok)
      if v == nil then                       -- "12abc": take the leading number
        local lead = tok:match("^[%-+]?%d+%.?%d*[eE][%-+]?%d+") or tok:match("^[%-+]?%d*%.?%d+")
        v = lead and tonumber(lead)
      end
      if v and v == v then last = v end
    end
  end
  return last
end

local function tail(s, n)
  n = n or 400
  s = s or ""
  if #s <= n then return s end
  return "..." .. s:sub(-n)
end

local Task = {}
Task.__index = Task

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then error("opro.task.shell: cannot read initial_file: " .. tostring(err), 4) end
  local s = f:read("a")
  f:close()
  return s
end

--- The options opro.task.shell reads.
M.options = options.set { "command", "timeout", "initial", "initial_file", "better", "concurrency", "keep_files", "stdin", "suffix" }

function M.new(o)
  if type(o) ~= "table" then error("opro.task.shell: a table of options expected", 3) end
  options.check(o, M.options, "opro.task.shell", "docs/tasks.md", 3)
  if type(o.command) ~= "string" or o.command == "" then
    error("opro.task.shell: command (a shell command line with {file}) is required", 3)
  end
  if o.timeout ~= nil and (type(o.timeout) ~= "number" or o.timeout <= 0) then
    error("opro.task.shell: timeout must be a number of seconds > 0", 3)
  end
  local initial = o.initial
  if type(initial) == "string" then initial = { initial } end
  if o.initial_file then
    initial = initial or {}
    initial[#initial + 1] = read_all(o.initial_file)
  end
  initial = initial or {}      -- may be empty when the history is given (continuous mode)
  local sem
  if o.concurrency then sem = require("opro.sync").semaphore(o.concurrency) end
  local t = setmetatable({
    command = o.command, initial = initial, timeout = o.timeout or 300,
    better = o.better or "higher", suffix = o.suffix or "", stdin = o.stdin,
    sem = sem, keep_files = o.keep_files,
  }, Task)
  base.base(t, "instruction", function(opts)
    if opts.exemplars == nil then opts.exemplars = {} end
    -- a harness's numbers are not accuracies in [0, 1]: shown as they are
    if opts.num_score_buckets == nil then opts.num_score_buckets = "none" end
  end)
  t.kind = "shell"
  return t
end

function Task:key(solution) return tostring(solution) end
function Task:format(solution) return tostring(solution) end

--- The command line for a candidate file.
function Task:command_for(path)
  local cmd, n = self.command:gsub("{file}", (shquote(path):gsub("%%", "%%%%")))
  if n == 0 then cmd = cmd .. " " .. shquote(path) end
  return cmd
end

function Task:score(solution, _)
  if type(solution) ~= "string" then return nil, "a candidate must be a string", "parse" end
  local reserved = os.tmpname()
  local path = reserved .. self.suffix
  local f, err = io.open(path, "wb")
  if not f then
    os.remove(reserved)
    return nil, "opro.task.shell: cannot write the candidate: " .. tostring(err), "command"
  end
  f:write(solution)
  f:close()
  local cmd = self:command_for(path)
  local sem, keep = self.sem, self.keep_files
  if sem then sem:acquire() end
  -- released and cleaned up even when the task is cancelled meanwhile
  local guard <close> = setmetatable({}, { __close = function()
    if sem then sem:release() end
    if not keep then
      os.remove(path)
      if path ~= reserved then os.remove(reserved) end
    end
  end })
  local res, msg, code = proc.run{ shell = cmd, timeout = self.timeout, stdin = self.stdin and solution or nil }
  if not res then
    if code == "timeout" then
      return nil, string.format("shell objective: `%s` timed out after %g s", cmd, self.timeout), "timeout"
    end
    return nil, "shell objective: " .. tostring(msg), code or "command"
  end
  if res.status ~= 0 then
    return nil, string.format("shell objective: `%s` exited with status %d%s", cmd, res.status,
      res.stderr:find("%S") and (": " .. tail(res.stderr):gsub("%s+$", "")) or ""), "command"
  end
  local score = M.last_number(res.stdout)
  if score == nil then
    return nil, string.format("shell objective: `%s` printed no number (stdout: %q)", cmd, tail(res.stdout, 200)), "parse"
  end
  return score, { stdout = tail(res.stdout), stderr = tail(res.stderr), status = res.status, time = res.time }
end

return M
