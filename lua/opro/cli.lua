--- opro.cli: the command-line parser shared by the examples.
--   local cli = require "opro.cli"
--   local opts = cli.parse(arg, {
--     name = "gsm8k.lua", summary = "Optimize a GSM8K instruction (OPRO §4).",
--     options = cli.common {                    -- the common flags, plus:
--       { "data-dir", "string", "directory with the datasets", default = "data" },
--     },
--   })
-- Flags: --name VALUE or --name=VALUE; booleans are --name / --no-name.
-- Types: string, integer, number, boolean, list (comma-separated strings);
-- an option may carry choices = {...}, min = N (>= N) or above = N (> N).
-- Errors name the flag and exit 2 with a usage hint; --help prints usage.
local options = require "opro.options"

local M = {}

--- The flags every example shares (OPRO's usual knobs).
M.common_options = {
  { "provider", "string", "LLM provider: openai, anthropic or gemini", default = "openai" },
  { "base-url", "string", "API base URL (an OpenAI-compatible server, or opro-sim)" },
  { "model", "string", "model for both optimizer and scorer" },
  { "optimizer-model", "string", "model that proposes new solutions (default: --model)" },
  { "scorer-model", "string", "model that answers the questions (default: --model)" },
  { "steps", "integer", "optimization steps", default = 10, min = 0 },
  { "candidates", "integer", "proposals per step", default = 8, min = 1 },
  { "reps", "integer", "independent repetitions, run concurrently", default = 1, min = 1 },
  { "seed", "integer", "random seed", default = 0 },
  { "concurrency", "integer", "LLM calls in flight at most", default = 16, min = 1 },
  { "db", "string", "run database (SQLite); needed for --resume" },
  { "resume", "boolean", "continue the interrupted run stored in --db", default = false },
  { "json", "boolean", "print one JSON summary on stdout", default = false },
  { "quiet", "boolean", "no progress output", default = false },
  { "estimate", "boolean", "print the expected calls, tokens and cost, then exit", default = false },
}

--- The common flags followed by `extra`.
function M.common(extra)
  local all = {}
  for _, o in ipairs(M.common_options) do all[#all + 1] = o end
  for _, o in ipairs(extra or {}) do all[#all + 1] = o end
  return all
end

local types = { string = true, integer = true, number = true, boolean = true, list = true }

local function convert(o, value)
  local name, ty = o[1], o[2]
  if ty == "string" then return value end
  if ty == "integer" then
    local v = math.tointeger(tonumber(value))
    if not v then return nil, string.format("--%s expects an integer, got %q", name, value) end
    return v
  end
  if ty == "number" then
    local v = tonumber(value)
    if not v then return nil, string.format("--%s expects a number, got %q", name, value) end
    return v
  end
  if ty == "list" then
    local out = {}
    for item in value:gmatch("[^,]+") do out[#out + 1] = item end
    return out
  end
  if ty == "boolean" then
    if value == "true" or value == "1" or value == "yes" then return true end
    if value == "false" or value == "0" or value == "no" then return false end
    return nil, string.format("--%s expects true or false, got %q", name, value)
  end
end

--- The usage text of a spec.
function M.usage(spec)
  local lines = { string.format("usage: opro-lua %s [options]", spec.name or "script.lua") }
  if spec.summary then lines[#lines + 1] = spec.summary end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "options:"
  for _, o in ipairs(spec.options) do
    local flag = "--" .. o[1] .. (o[2] == "boolean" and "" or (" " .. o[2]:upper()))
    local text = o[3] or ""
    if o.default ~= nil and o[2] ~= "boolean" then text = text .. " (default " .. tostring(o.default) .. ")" end
    if o.choices then text = text .. " [" .. table.concat(o.choices, "|") .. "]" end
    lines[#lines + 1] = string.format("  %-28s %s", flag, text)
  end
  lines[#lines + 1] = string.format("  %-28s %s", "-h, --help", "show this help")
  return table.concat(lines, "\n") .. "\n"
end

-- the fields of a spec and of one of its options (see the top of this file)
local SPEC_KEYS = { "name", "summary", "options", "raise" }
local OPTION_KEYS = { 1, 2, 3, "default", "required", "choices", "min", "above" }

--- Parses argv (a list; `arg` works). Returns the options table, with
-- `opts._` holding the positional arguments. On --help prints usage and
-- exits 0; on a bad flag prints the error and exits 2 (or, with
-- spec.raise = true, returns nil, message — for tests).

function M.parse(argv, spec)
  if type(spec) ~= "table" or type(spec.options) ~= "table" then error("cli.parse: spec.options required", 2) end
  options.check(spec, SPEC_KEYS, "cli.parse", nil, 2)
  local byname = {}
  for _, o in ipairs(spec.options) do
    if not types[o[2]] then error("cli.parse: unknown type " .. tostring(o[2]) .. " for --" .. tostring(o[1]), 2) end
    options.check(o, OPTION_KEYS, "cli.parse: --" .. tostring(o[1]), nil, 2)
    byname[o[1]] = o
  end
  local function fail(msg)
    if spec.raise then return nil, msg end
    io.stderr:write("opro-lua: ", spec.name or "script", ": ", msg, "\n",
                    "try --help for the list of options\n")
    os.exit(2)
  end
  local opts, pos = { _ = {} }, {}
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    if a == "-h" or a == "--help" then
      if spec.raise then return nil, "help" end
      io.stdout:write(M.usage(spec))
      os.exit(0)
    elseif a == "--" then
      for j = i + 1, n do pos[#pos + 1] = argv[j] end
      break
    elseif a:sub(1, 2) == "--" then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o = byname[name]
      local negated = false
      if not o and name:sub(1, 3) == "no-" and byname[name:sub(4)] and byname[name:sub(4)][2] == "boolean" then
        o, negated = byname[name:sub(4)], true
      end
      if not o then return fail(string.format("unknown option --%s", name)) end
      if o[2] == "boolean" and value == nil then
        value = negated and "false" or "true"
      elseif value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then return fail(string.format("--%s needs a value", name)) end
      end
      local v, err = convert(o, value)
      if v == nil then return fail(err) end
      if o.choices then
        local okc = false
        for _, c in ipairs(o.choices) do if c == v then okc = true end end
        if not okc then
          return fail(string.format("--%s must be one of %s, got %q", name, table.concat(o.choices, ", "), value))
        end
      end
      if o.min and v < o.min then return fail(string.format("--%s must be >= %s, got %s", name, o.min, v)) end
      if o.above and not (v > o.above) then return fail(string.format("--%s must be > %s, got %s", name, o.above, v)) end
      opts[o[1]:gsub("%-", "_")] = v
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  for _, o in ipairs(spec.options) do
    local key = o[1]:gsub("%-", "_")
    if opts[key] == nil then opts[key] = o.default end
    if o.required and opts[key] == nil then return fail(string.format("--%s is required", o[1])) end
  end
  opts._ = pos
  if opts.resume and spec.options and byname.db and not opts.db then
    return fail("--resume needs --db FILE (the run to continue)")
  end
  return opts
end

return M
