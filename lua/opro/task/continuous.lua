--- opro.task.continuous: continue optimizing from production feedback. A
-- JSONL log of {"prompt": ..., "score": ...} lines becomes the initial
-- history (step -1, as solutions given by the user in the reference); the
-- loop then runs k more steps, scoring new prompts with `objective` (any
-- other objective, e.g. opro.task.shell or opro.task.instruction) or a
-- `score` function.
--
--   opro.task.continuous{ log = "feedback.jsonl", objective = task,
--                         aggregate = "mean" | "last" | "max" | "min",
--                         prompt_field = "prompt", score_field = "score", better = "higher" }
--
-- Several lines for one prompt are aggregated (default: their mean); the
-- details of a history entry give the count of feedback lines.
local cjson = require "cjson"
local base = require "opro.task"
local options = require "opro.options"

local M = {}

--- Reads a feedback log -> list of {prompt=, score=, n=, line=} in first-seen order.
function M.read_log(path, o)
  o = o or {}
  local pf, sf = o.prompt_field or "prompt", o.score_field or "score"
  local agg = o.aggregate or "mean"
  if agg ~= "mean" and agg ~= "last" and agg ~= "max" and agg ~= "min" then
    error("opro.task.continuous: aggregate must be 'mean', 'last', 'max' or 'min', got '" .. tostring(agg) .. "'", 3)
  end
  local f, err = io.open(path, "rb")
  if not f then error("opro.task.continuous: cannot open log " .. tostring(err), 3) end
  local list, by = {}, {}
  local n = 0
  for line in f:lines() do
    n = n + 1
    if line:match("%S") then
      local ok, rec = pcall(cjson.decode, line)
      if not ok then
        f:close()
        error(string.format("opro.task.continuous: %s:%d: bad JSON: %s", path, n, tostring(rec):gsub("^.-:%d+: ", "")), 3)
      end
      local p, s = type(rec) == "table" and rec[pf], type(rec) == "table" and rec[sf]
      if type(p) ~= "string" then
        f:close()
        error(string.format("opro.task.continuous: %s:%d: field '%s' (a string) is missing", path, n, pf), 3)
      end
      if type(s) ~= "number" or s ~= s then
        f:close()
        error(string.format("opro.task.continuous: %s:%d: field '%s' (a number) is missing", path, n, sf), 3)
      end
      local e = by[p]
      if not e then
        e = { prompt = p, n = 0, sum = 0, line = n }
        by[p] = e
        list[#list + 1] = e
      end
      e.n = e.n + 1
      e.sum = e.sum + s
      if agg == "last" then e.score = s
      elseif agg == "max" then e.score = math.max(e.score or s, s)
      elseif agg == "min" then e.score = math.min(e.score or s, s)
      else e.score = e.sum / e.n end
    end
  end
  f:close()
  if #list == 0 then error(string.format("opro.task.continuous: %s: no feedback lines", path), 3) end
  return list
end

local Task = {}
Task.__index = function(t, k)
  local v = rawget(Task, k)
  if v ~= nil then return v end
  local obj = rawget(t, "objective")
  if obj ~= nil and k ~= "score" and k ~= "history" then
    local ov = obj[k]
    if type(ov) == "function" then return function(self, ...) return ov(obj, ...) end end
    return ov
  end
  return nil
end

--- The options opro.task.continuous reads.
M.options = options.set { "log", "objective", "score", "prompt_field", "score_field", "aggregate", "better", "initial", "template", "parse" }

function M.new(o)
  if type(o) ~= "table" or type(o.log) ~= "string" then
    error("opro.task.continuous: option 'log' (a JSONL file of {prompt, score}) is required", 3)
  end
  options.check(o, M.options, "opro.task.continuous", "docs/tasks.md", 3)
  local obj = o.objective
  if obj ~= nil and (type(obj) ~= "table" or type(obj.score) ~= "function") then
    error("opro.task.continuous: objective must be an objective (a table with :score)", 3)
  end
  if o.score ~= nil and type(o.score) ~= "function" then
    error("opro.task.continuous: score must be a function(solution, ctx) -> score, details", 3)
  end
  local entries = M.read_log(o.log, o)
  local history = {}
  for _, e in ipairs(entries) do
    history[#history + 1] = { solution = e.prompt, score = e.score, step = -1,
                              details = { feedback = e.n, line = e.line } }
  end
  local t = setmetatable({
    objective = obj, score_fn = o.score, log = o.log, history = history, entries = entries,
    kind = obj and obj.kind or "instruction",
    better = o.better or (obj and obj.better) or "higher",
    initial = o.initial or {},
    template = o.template or (obj and obj.template), parse = o.parse or (obj and obj.parse),
  }, Task)
  base.base(t, t.kind)
  return t
end

function Task:key(solution)
  if self.objective then return self.objective:key(solution) end
  return tostring(solution)
end

function Task:format(solution)
  if self.objective and self.objective.format then return self.objective:format(solution) end
  return tostring(solution)
end

function Task:score(solution, ctx)
  if self.score_fn then return self.score_fn(solution, ctx) end
  if self.objective then return self.objective:score(solution, ctx) end
  return nil, "opro.task.continuous: no objective to score new prompts (give objective= or score=)", "unscored"
end

--- The best logged prompt and its score.
function Task:best_logged()
  local best
  for _, h in ipairs(self.history) do
    if best == nil or (self.better == "lower" and h.score < best.score)
        or (self.better ~= "lower" and h.score > best.score) then best = h end
  end
  return best and best.solution, best and best.score
end

return M
