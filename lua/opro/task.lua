--- opro.task: the objectives (docs/INTERNALS.md "Objectives", docs/tasks.md).
--
--   opro.task.instruction{ scorer=, train=, test=, dataset=, position=, ... }
--   opro.task.linear_regression{ instance= | n_points=, w_true=, b_true=, seed=, noise= }
--   opro.task.tsp{ n=, seed= | instance={coords=, init=} }
--   opro.task.shell{ command="./eval.sh {file}", initial=, timeout=, better= }
--   opro.task.continuous{ log="feedback.jsonl", objective=, score= }
--
-- Every objective has kind, better, initial, key, format, score (and
-- optionally evaluate, found, validate), template and parse (the default
-- meta-prompt and output parser of its kind, from opro.template and
-- opro.parse, looked up when called).
local M = {}

local function optional(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if not tostring(mod):find("module '" .. name .. "' not found", 1, true) then error(mod, 0) end
  return nil
end
M.optional = optional

--- A function that calls opro.<modname>.<field>(...) when called (so the
-- template and parser modules are looked up at use, not at construction).
function M.delegate(modname, field)
  return function(...)
    local mod = optional("opro." .. modname)
    local f = mod and mod[field]
    if f == nil then
      error(string.format("opro.%s.%s is not available (no such function in this build)", modname, field), 2)
    end
    return f(...)
  end
end

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end
M.copy = copy

--- Fills in the fields every objective shares: better, and template/parse
-- delegates for its kind (or `template_kind`). `fill(opts, history)` (optional) adds the
-- objective's own settings (coordinates, position, exemplars...) to a copy
-- of the options the loop passes, so the template sees them.
function M.base(t, kind, fill, template_kind)
  t.kind = t.kind or kind
  t.better = t.better or "higher"
  if t.better ~= "higher" and t.better ~= "lower" then
    error("opro.task: better must be 'higher' or 'lower', got '" .. tostring(t.better) .. "'", 3)
  end
  if t.template == nil then
    local tmpl = M.delegate("template", template_kind or kind)
    t.template = function(history, opts)
      local o = copy(opts)
      if fill then fill(o, history) end
      return tmpl(history, o)
    end
  end
  if t.parse == nil then
    local parse = M.delegate("parse", template_kind or kind)
    t.parse = function(text, opts)
      local o = copy(opts)
      if fill then fill(o) end
      return parse(text, o)
    end
  end
  return t
end

-- not a tail call: the constructors' errors (level 3) name the caller's line
for _, name in ipairs { "instruction", "linear_regression", "tsp", "shell", "continuous" } do
  M[name] = function(opts)
    local t = require("opro.task." .. name).new(opts)
    return t
  end
end

return M
