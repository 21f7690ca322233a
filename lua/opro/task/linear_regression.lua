--- opro.task.linear_regression: the paper's §3.1 objective. A solution is
-- {w=, b=}; its score is the squared-error loss sum_i (y_i - (w x_i + b))^2
-- on the instance's points (lower is better); success is proposing the true
-- (w, b).
--
--   opro.task.linear_regression{ n_points = 50, w_true = 15, b_true = 14, seed = 1, noise = 1 }
--   opro.task.linear_regression{ instance = { X = {...}, y = {...}, w_true = 15, b_true = 14,
--                                             init = { {w, b}, ... } } }
--
-- Generated instances follow optimize_linear_regression.py exactly: X =
-- 1..n_points, y = w_true X + b_true + noise * randn with
-- np.random.seed(seed); 5 starting (w, b) drawn uniform in [10, 20) with
-- seeds 10 * seed and 100 * seed, rounded (half to even) and deduplicated.
-- seed = i + 1 gives the reference's rep i (numpy's legacy generator is
-- reproduced bit for bit by opro.random.numpy).
-- Proposals are rounded to `decimals` (default 0, as the reference) before
-- scoring, so the key, the score and the success test see the same pair.
local base = require "opro.task"
local options = require "opro.options"
local rng = require "opro.random"

local M = {}

--- numpy's round (half to even) to `d` decimals.
function M.round(x, d)
  d = d or 0
  local s = 10 ^ d
  local v = x * s
  local f = math.floor(v)
  local diff = v - f
  local r
  if diff > 0.5 then r = f + 1
  elseif diff < 0.5 then r = f
  else r = (f % 2 == 0) and f or f + 1 end
  if d == 0 then return math.tointeger(r) or r end
  return r / s
end

local function num_list(v, what)
  if type(v) ~= "table" or #v == 0 then error("opro.task.linear_regression: " .. what .. " must be a non-empty list of numbers", 4) end
  for i, x in ipairs(v) do
    if type(x) ~= "number" then
      error(string.format("opro.task.linear_regression: %s[%d] must be a number", what, i), 4)
    end
  end
  return v
end

--- A generated instance {X=, y=, w_true=, b_true=, init=} (see above).
function M.generate(o)
  o = o or {}
  local n = o.n_points or 50
  local w_true, b_true = o.w_true or 15, o.b_true or 14
  local seed = o.seed or 1
  local noise = o.noise or 1
  local X, y = {}, {}
  local np = rng.numpy(seed)
  for i = 1, n do
    X[i] = i + 0.0
    y[i] = X[i] * w_true + b_true + noise * np:randn()
  end
  local k = o.num_starting_points or 5
  local nw, nb = rng.numpy(seed * 10), rng.numpy(seed * 100)
  local ws, bs = {}, {}
  for i = 1, k do ws[i] = nw:uniform(10, 20) end
  for i = 1, k do bs[i] = nb:uniform(10, 20) end
  local init, seen = {}, {}
  for i = 1, k do
    local w, b = M.round(ws[i], 0), M.round(bs[i], 0)
    local key = w .. "," .. b
    if not seen[key] then seen[key] = true init[#init + 1] = { w, b } end
  end
  table.sort(init, function(p, q) if p[1] ~= q[1] then return p[1] < q[1] end return p[2] < q[2] end)
  return { X = X, y = y, w_true = w_true, b_true = b_true, init = init, seed = seed }
end

local Task = {}
Task.__index = Task

--- The options opro.task.linear_regression reads.
M.options = options.set { "instance", "init", "decimals", "seed", "n_points", "w_true", "b_true", "noise", "num_starting_points" }

function M.new(o)
  o = o or {}
  if type(o) ~= "table" then error("opro.task.linear_regression: a table of options expected", 3) end
  options.check(o, M.options, "opro.task.linear_regression", "docs/tasks.md", 3)
  local inst = o.instance
  if inst == nil then
    inst = M.generate(o)
  else
    if type(inst) ~= "table" then error("opro.task.linear_regression: instance must be a table {X=, y=, ...}", 3) end
    num_list(inst.X, "instance.X")
    num_list(inst.y, "instance.y")
    if #inst.X ~= #inst.y then
      error(string.format("opro.task.linear_regression: instance.X has %d values but instance.y has %d", #inst.X, #inst.y), 3)
    end
  end
  local init = {}
  for i, p in ipairs(o.init or inst.init or {}) do
    if type(p) ~= "table" or type(p[1] or p.w) ~= "number" or type(p[2] or p.b) ~= "number" then
      error(string.format("opro.task.linear_regression: init[%d] must be a pair [w, b]", i), 3)
    end
    init[#init + 1] = { w = p.w or p[1], b = p.b or p[2] }
  end
  local t = setmetatable({
    X = inst.X, y = inst.y, instance = inst,
    w_true = inst.w_true or o.w_true, b_true = inst.b_true or o.b_true,
    decimals = o.decimals or 0, initial = init, better = "lower",
  }, Task)
  base.base(t, "linear_regression", function(opts)
    if opts.decimals == nil then opts.decimals = t.decimals end   -- the parser's rounding
  end)
  return t
end

local function pair(s)
  if type(s) ~= "table" then return nil end
  local w, b = s.w or s[1], s.b or s[2]
  if type(w) ~= "number" or type(b) ~= "number" or w ~= w or b ~= b or math.abs(w) == math.huge
      or math.abs(b) == math.huge then return nil end
  return w, b
end

--- What the run store records about this instance (for the report).
function Task:describe()
  return { w_true = self.w_true, b_true = self.b_true, points = #self.X }
end

--- The pair as scored: rounded to `decimals` (half to even).
function Task:normalize(solution)
  local w, b = pair(solution)
  if not w then return nil end
  return M.round(w, self.decimals), M.round(b, self.decimals)
end

local function fmt(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 2^53 then return tostring(math.tointeger(v)) end
  return string.format("%.17g", v)
end

function Task:key(solution)
  local w, b = self:normalize(solution)
  if not w then return "invalid" end
  return fmt(w) .. "," .. fmt(b)
end

function Task:format(solution)
  local w, b = self:normalize(solution)
  if not w then return tostring(solution) end
  return string.format("w=%s, b=%s", fmt(w), fmt(b))
end

function Task:validate(solution)
  if not pair(solution) then return false, "a solution is {w=<number>, b=<number>}" end
  return true
end

--- The loss at (w, b): ||y - (X w + b)||^2, as the reference's evaluate_loss.
function Task:loss(w, b)
  local s = 0.0
  local X, y = self.X, self.y
  for i = 1, #X do
    local r = y[i] - (X[i] * w + b)
    s = s + r * r
  end
  local norm = math.sqrt(s)
  return norm * norm
end

function Task:score(solution, _)
  local w, b = self:normalize(solution)
  if not w then return nil, "a solution is {w=<number>, b=<number>}", "parse" end
  local loss = self:loss(w, b)
  return loss, { w = w, b = b, loss = loss, found = self:found(solution) }
end

function Task:found(solution)
  if self.w_true == nil or self.b_true == nil then return false end
  local w, b = self:normalize(solution)
  return w ~= nil and w == self.w_true and b == self.b_true
end

return M
