--- opro.tsp: travelling-salesman helpers for the paper's §3.2 task (C:
-- opro.core.tsp). Points are {x, y} (or {x=, y=}); tours are lists of
-- 0-based node indices, closed (the last node returns to the first);
-- distances are Euclidean and summed in tour order like the reference
-- (opro/optimization/optimize_tsp.py). See docs/tsp.md.
--   local coords = opro.tsp.random_instance(10, 42)      -- integer points in [-100, 100]
--   local best, tour = opro.tsp.optimal(coords)          -- Held–Karp, exact, n <= 20
--   local nn = opro.tsp.nearest_neighbour(coords)
--   local fi = opro.tsp.farthest_insertion(coords)
--   print(opro.tsp.gap(nn, best))                        -- optimality gap in percent
-- Options {decimals=d} on length/optimal/nearest_neighbour/farthest_insertion
-- round the returned length as the reference does: decimals 0 truncates
-- (Python int()), d > 0 rounds half to even (numpy.round); farthest
-- insertion then also breaks ties on those rounded lengths, which
-- reproduces the reference's tours exactly.
local core = require "opro.core.tsp"

local M = {}

--- Length of the closed tour over coords -> number.
M.length = core.length
--- true, or false and a reason, for "tour is a permutation of 0..n-1"
-- (opts.start: the node it must start with, e.g. 0 as the reference asks).
M.valid = core.valid
--- The exact optimum by Held–Karp DP from node 0 -> length, tour.
-- Raises above opro.tsp.HELD_KARP_MAX (20) points.
M.optimal = core.optimal
--- Nearest-neighbour tour from `start` (default 0) -> length, tour.
M.nearest_neighbour = core.nearest_neighbour
M.nearest_neighbor = core.nearest_neighbour
--- The reference's farthest-insertion tour from node 0 -> length, tour.
M.farthest_insertion = core.farthest_insertion
--- n points, all x then all y drawn uniformly from [-scale, scale) and
-- truncated to integers like the reference (opts: scale=100, decimals=0).
-- Deterministic for a seed (splitmix64), on every machine.
M.random_instance = core.random_instance
--- A random tour of n nodes starting at 0 (the reference's initial
-- solutions), deterministic for a seed.
M.random_tour = core.random_tour
--- The reference's rounding of a length (decimals 0: truncation).
M.round = core.round
M.HELD_KARP_MAX = core.HELD_KARP_MAX

--- Optimality gap in percent: 100 * (length - optimum) / optimum.
function M.gap(length, optimum)
  if type(length) ~= "number" or type(optimum) ~= "number" then
    error("opro.tsp.gap: length and optimum must be numbers", 2)
  end
  if optimum == 0 then return length == 0 and 0 or math.huge end
  return 100 * (length - optimum) / optimum
end

--- `count` distinct random tours starting at 0, none equal to any tour
-- in `exclude` (a list of tours); fewer when n is too small to have so many.
function M.random_tours(n, count, seed, exclude)
  local seen, out = {}, {}
  for _, t in ipairs(exclude or {}) do seen[table.concat(t, ",")] = true end
  local possible = 1
  for k = 2, n - 1 do
    possible = possible * k
    if possible > count + #(exclude or {}) then break end
  end
  local s = seed
  local tries = 0
  while #out < count and tries < 100 * (count + 1) and #out + #(exclude or {}) < possible do
    local t = core.random_tour(n, s)
    s = s + 1
    tries = tries + 1
    local key = table.concat(t, ",")
    if not seen[key] then
      seen[key] = true
      out[#out + 1] = t
    end
  end
  return out
end

return M
