--- opro.options: checks an options table's keys against the ones a
-- function reads, so that a misspelt option (`candidate_per_step`) is an
-- error naming the closest known one instead of a silently ignored key.
--   options.check(o, known, "opro.task.tsp", "docs/tasks.md", level)
local M = {}

--- The edit distance between two strings (Levenshtein).
function M.distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- A set {name=true} from a list of names (a set is returned as it is;
-- a table with [1] is a list, so pass names that include integers as a list).
function M.set(names)
  if names[1] == nil then return names end
  local s = {}
  for _, k in ipairs(names) do s[k] = true end
  return s
end

--- "<who>: unknown option 'k' (did you mean 'x'?)", or "(see <docs>)" when
-- no known name is close.
function M.unknown(who, k, known, docs)
  local best, bd
  if type(k) == "string" then
    for name in pairs(known) do
      if type(name) == "string" then
        local d = M.distance(k, name)
        if d <= math.max(2, #name // 4) and (bd == nil or d < bd or (d == bd and name < best)) then best, bd = name, d end
      end
    end
  end
  return string.format("%s: unknown option '%s'%s", who, tostring(k),
    best and string.format(" (did you mean '%s'?)", best) or (docs and " (see " .. docs .. ")" or ""))
end

--- Raises (at `level` above the caller, default 2: the caller's caller)
-- on the first key of o that is not in known (a set or a list).
function M.check(o, known, who, docs, level)
  known = M.set(known)
  local bad = {}
  for k in pairs(o) do
    if not known[k] then bad[#bad + 1] = k end
  end
  if #bad == 0 then return o end
  table.sort(bad, function(x, y) return tostring(x) < tostring(y) end)
  error(M.unknown(who, bad[1], known, docs), (level or 2) + 1)
end

return M
