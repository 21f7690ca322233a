--- opro.order: which earlier solutions a meta-prompt shows, and in what order.
-- Each ordering is `function(history, opts) -> list` over history entries
-- ({solution=, score=, step=, ...}); entries without a numeric score are
-- left out. Common options:
--   better = "higher" (default) | "lower"   which scores are better
--   limit  = N       keep only the N best entries (default: all)
-- The input list is never modified; the returned entries are the same tables.
local M = {}

local function check_history(history, who)
  if type(history) ~= "table" then
    error(string.format("opro.order.%s: history must be a list, got %s", who, type(history)), 3)
  end
end

local function better_of(opts, who)
  local b = opts and opts.better or "higher"
  if b ~= "higher" and b ~= "lower" then
    error(string.format("opro.order.%s: better must be \"higher\" or \"lower\", got %s", who, tostring(b)), 3)
  end
  return b
end

local function limit_of(opts, who)
  local n = opts and opts.limit
  if n == nil then return nil end
  n = math.tointeger(n) or n
  if math.type(n) ~= "integer" or n < 0 then
    error(string.format("opro.order.%s: limit must be an integer >= 0, got %s", who, tostring(n)), 3)
  end
  return n
end

-- Scored entries sorted worst first (best last); ties keep their position in
-- `history`, as Python's stable sorted(key=score) does.
local function sorted_ascending(history, better)
  local items = {}
  for i, e in ipairs(history) do
    if type(e) == "table" and type(e.score) == "number" and e.score == e.score then
      items[#items + 1] = { e = e, i = i, s = better == "higher" and e.score or -e.score }
    end
  end
  table.sort(items, function(a, b)
    if a.s ~= b.s then return a.s < b.s end
    return a.i < b.i
  end)
  local out = {}
  for k, it in ipairs(items) do out[k] = it.e end
  return out
end

local function keep_last(list, n)
  if not n or #list <= n then return list end
  local out = {}
  for i = #list - n + 1, #list do out[#out + 1] = list[i] end
  return out
end

--- Worst first, best last (the paper's default). With `limit`, the best
-- `limit` entries, still best last (Python's `sorted(...)[-limit:]`).
function M.ascending(history, opts)
  check_history(history, "ascending")
  return keep_last(sorted_ascending(history, better_of(opts, "ascending")), limit_of(opts, "ascending"))
end

--- Best first: the same entries as `ascending`, reversed.
function M.descending(history, opts)
  check_history(history, "descending")
  local asc = keep_last(sorted_ascending(history, better_of(opts, "descending")), limit_of(opts, "descending"))
  local out = {}
  for i = #asc, 1, -1 do out[#out + 1] = asc[i] end
  return out
end

--- A small seeded generator (SplitMix64) so orderings never touch
-- math.random's global state. Returns function(n) -> integer in [1, n].
function M.rng(seed)
  local state = math.tointeger(seed) or 0
  return function(n)
    state = state + 0x9E3779B97F4A7C15
    local z = state
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 1) % n + 1
  end
end

--- The same entries as `ascending` in a random order: `opts.rng` (a
-- function(n) -> 1..n, e.g. math.random) or a generator seeded by
-- `opts.seed` (default 0), so a run is reproducible.
function M.random(history, opts)
  check_history(history, "random")
  local list = keep_last(sorted_ascending(history, better_of(opts, "random")), limit_of(opts, "random"))
  local rng = opts and opts.rng
  if rng == nil then
    local seed = opts and opts.seed or 0
    if math.type(seed) ~= "integer" then
      error("opro.order.random: seed must be an integer, got " .. tostring(seed), 2)
    end
    rng = M.rng(seed)
  elseif type(rng) ~= "function" then
    error("opro.order.random: rng must be a function(n) -> 1..n, got " .. type(rng), 2)
  end
  for i = #list, 2, -1 do
    local j = rng(i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

--- The `k` best entries plus the `k` most recent ones (highest step; ties:
-- later in the history is more recent), without duplicates, shown
-- ascending (best last). `opts.k` defaults to 10. `limit` is ignored.
function M.top_k_recent(history, opts)
  check_history(history, "top_k_recent")
  local better = better_of(opts, "top_k_recent")
  local k = opts and opts.k or 10
  k = math.tointeger(k) or k
  if math.type(k) ~= "integer" or k < 0 then
    error("opro.order.top_k_recent: k must be an integer >= 0, got " .. tostring(k), 2)
  end
  local asc = sorted_ascending(history, better)
  local chosen = {}
  for i = math.max(1, #asc - k + 1), #asc do chosen[asc[i]] = true end
  local pos = {}
  for i, e in ipairs(history) do pos[e] = i end
  local recent = {}
  for _, e in ipairs(asc) do recent[#recent + 1] = e end
  table.sort(recent, function(a, b)
    local sa, sb = a.step or 0, b.step or 0
    if sa ~= sb then return sa > sb end
    return pos[a] > pos[b]
  end)
  for i = 1, math.min(k, #recent) do chosen[recent[i]] = true end
  local out = {}
  for _, e in ipairs(asc) do
    if chosen[e] then out[#out + 1] = e end
  end
  return out
end

--- Looks up an ordering by name or returns a function unchanged.
function M.resolve(order, who)
  if order == nil then return M.ascending end
  if type(order) == "function" then return order end
  if type(order) == "string" and type(M[order]) == "function" and order ~= "resolve" and order ~= "rng" then
    return M[order]
  end
  error(string.format("%s: order must be a function or one of ascending, descending, random, top_k_recent; got %s",
    who or "opro.order", tostring(order)), 3)
end

return M
