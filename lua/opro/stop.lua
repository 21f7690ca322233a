--- opro.stop: stopping rules. Each rule is `function(state) -> stop, reason`
-- with state = {step=, best={solution=, score=}, history=, started=,
-- totals=, better=}: `step` is the step just finished (initial solutions are
-- step 0), `history` the scored entries so far, `started` the run's start
-- (opro.now() seconds), `totals` the meter's totals ({calls=, input_tokens=,
-- output_tokens=, cost=}), `better` "higher" (default) or "lower".
-- Rules are pure: they read state and keep nothing, so a resumed run stops
-- where the original would have. Compose them with any{...} / all{...}.
local M = {}

local function fmt(x)
  if math.type(x) == "integer" then return tostring(x) end
  return string.format("%.6g", x)
end

local function better_of(state)
  local b = state.better or "higher"
  if b ~= "higher" and b ~= "lower" then
    error("opro.stop: state.better must be \"higher\" or \"lower\", got " .. tostring(b), 3)
  end
  return b
end

local function is_better(a, b, better)
  if better == "higher" then return a > b end
  return a < b
end

-- The best score among entries (optionally only those with step <= upto).
local function best_score(history, better, upto)
  local best
  for _, e in ipairs(history or {}) do
    local s = e.score
    if type(s) == "number" and s == s and (upto == nil or (e.step or 0) <= upto) then
      if best == nil or is_better(s, best, better) then best = s end
    end
  end
  return best
end

local function current_best(state, better)
  if state.best and type(state.best.score) == "number" then return state.best.score end
  return best_score(state.history, better)
end

local function positive_int(v, what)
  local n = math.tointeger(v)
  if not n or n < 1 then error(string.format("opro.stop.%s must be an integer >= 1, got %s", what, tostring(v)), 3) end
  return n
end

local function positive_number(v, what)
  if type(v) ~= "number" or not (v > 0) then
    error(string.format("opro.stop.%s must be a number > 0, got %s", what, tostring(v)), 3)
  end
  return v
end

--- Stops once `n` optimization steps have run.
function M.max_steps(n)
  n = positive_int(n, "max_steps: n")
  return function(state)
    if (state.step or 0) >= n then
      return true, string.format("reached the maximum of %d steps", n)
    end
    return false
  end
end

--- Stops when the best score has not improved by at least `delta` (default:
-- any improvement) during the last `steps` steps.
function M.patience(opts)
  if type(opts) ~= "table" then error("opro.stop.patience: expected a table {steps=, delta=}", 2) end
  local p = positive_int(opts.steps, "patience: steps")
  local delta = opts.delta or 0
  if type(delta) ~= "number" or delta < 0 then
    error("opro.stop.patience: delta must be a number >= 0, got " .. tostring(delta), 2)
  end
  return function(state)
    local step = state.step or 0
    if step < p then return false end
    local better = better_of(state)
    local before = best_score(state.history, better, step - p)
    local now = current_best(state, better)
    if before == nil or now == nil then return false end
    local gain = better == "higher" and (now - before) or (before - now)
    if gain > 0 and gain >= delta then return false end
    return true, string.format("no improvement%s in the last %d steps (best %s since step %d)",
      delta > 0 and (" of at least " .. fmt(delta)) or "", p, fmt(now), step - p)
  end
end

--- Stops when the best score reaches `score` (>= for better="higher",
-- <= for better="lower").
function M.target(score)
  if type(score) ~= "number" or score ~= score then
    error("opro.stop.target: score must be a number, got " .. tostring(score), 2)
  end
  return function(state)
    local better = better_of(state)
    local best = current_best(state, better)
    if best == nil then return false end
    if (better == "higher" and best >= score) or (better == "lower" and best <= score) then
      return true, string.format("reached the target score %s (best %s)", fmt(score), fmt(best))
    end
    return false
  end
end

--- Stops when the run has spent `usd` dollars, made `calls` LLM calls or
-- used `tokens` tokens (input + output), whichever comes first.
function M.budget(opts)
  if type(opts) ~= "table" or (opts.usd == nil and opts.calls == nil and opts.tokens == nil) then
    error("opro.stop.budget: expected a table with usd=, calls= and/or tokens=", 2)
  end
  if opts.usd ~= nil then positive_number(opts.usd, "budget: usd") end
  if opts.calls ~= nil then positive_int(opts.calls, "budget: calls") end
  if opts.tokens ~= nil then positive_int(opts.tokens, "budget: tokens") end
  return function(state)
    local t = state.totals or {}
    if opts.usd and (t.cost or 0) >= opts.usd then
      return true, string.format("spent $%.4f of the $%s budget", t.cost, fmt(opts.usd))
    end
    if opts.calls and (t.calls or 0) >= opts.calls then
      return true, string.format("made %d of the %d calls allowed", t.calls, opts.calls)
    end
    local tokens = (t.input_tokens or 0) + (t.output_tokens or 0)
    if opts.tokens and tokens >= opts.tokens then
      return true, string.format("used %d of the %d tokens allowed", tokens, opts.tokens)
    end
    return false
  end
end

--- Stops once `seconds` have passed since state.started (state.now, when
-- set, replaces the clock).
function M.wall_time(seconds)
  positive_number(seconds, "wall_time: seconds")
  return function(state)
    if type(state.started) ~= "number" then return false end
    local now = state.now or require("opro").now()
    local elapsed = now - state.started
    if elapsed >= seconds then
      return true, string.format("ran for %.1f s (limit %s s)", elapsed, fmt(seconds))
    end
    return false
  end
end

local function check_rules(rules, who)
  if type(rules) ~= "table" or #rules == 0 then
    error(string.format("opro.stop.%s: expected a non-empty list of rules", who), 3)
  end
  for i, r in ipairs(rules) do
    if type(r) ~= "function" then
      error(string.format("opro.stop.%s: rule %d is a %s, not a function(state)", who, i, type(r)), 3)
    end
  end
end

--- Stops when any rule says stop (the first one's reason).
function M.any(rules)
  check_rules(rules, "any")
  return function(state)
    for _, r in ipairs(rules) do
      local stop, reason = r(state)
      if stop then return true, reason end
    end
    return false
  end
end

--- Stops when every rule says stop (their reasons joined by "and").
function M.all(rules)
  check_rules(rules, "all")
  return function(state)
    local reasons = {}
    for _, r in ipairs(rules) do
      local stop, reason = r(state)
      if not stop then return false end
      reasons[#reasons + 1] = reason or "stop"
    end
    return true, table.concat(reasons, " and ")
  end
end

return M
