--- opro.task.tsp: the paper's §3.2 objective. A solution is a tour: a list
-- of the n node indices (0-based, as the paper), starting at node 0, each
-- node once. Its score is the closed tour's length (lower is better),
-- truncated to an integer as the reference does with num_decimals = 0
-- (`decimals` = d rounds to d decimals instead); details carry the exact
-- length and the gaps (in %) against the exact optimum (Held–Karp, n <= 15)
-- and the nearest-neighbour and farthest-insertion baselines.
--
--   opro.task.tsp{ n = 10, seed = 1 }     -- coords uniform in [-100, 100), int() as the reference,
--                                         -- by opro.tsp.random_instance (generator = "numpy": by
--                                         -- numpy's legacy stream from np.random.seed(seed))
--   opro.task.tsp{ instance = { coords = {{x, y}, ...}, init = {{0, 2, 1, ...}, ...} } }
--
-- The C helpers of opro.tsp (length, valid, optimal, nearest_neighbour,
-- farthest_insertion) are used when present; otherwise small Lua versions.
local base = require "opro.task"
local options = require "opro.options"
local rng = require "opro.random"

local M = {}

-- ------------------------------------------------------------ helpers (Lua)
local L = {}

local function dist(c, i, j)   -- 0-based node ids
  local a, b = c[i + 1], c[j + 1]
  local dx, dy = a[1] - b[1], a[2] - b[2]
  return math.sqrt(dx * dx + dy * dy)
end

function L.length(coords, tour)
  local s = 0.0
  for i = 1, #tour - 1 do s = s + dist(coords, tour[i], tour[i + 1]) end
  if #tour > 0 then s = s + dist(coords, tour[#tour], tour[1]) end
  return s
end

function L.valid(tour, n)
  if type(tour) ~= "table" then return false, "a tour is a list of node indices" end
  if #tour ~= n then return false, string.format("a tour has %d nodes, got %d", n, #tour) end
  local seen = {}
  for i, v in ipairs(tour) do
    if math.type(v) ~= "integer" then return false, string.format("node %d is not an integer", i) end
    if v < 0 or v >= n then return false, string.format("node %d out of range 0..%d", v, n - 1) end
    if seen[v] then return false, string.format("node %d visited twice", v) end
    seen[v] = true
  end
  return true
end

function L.nearest_neighbour(coords)
  local n = #coords
  local tour, left, total = { 0 }, {}, 0.0
  for i = 1, n - 1 do left[#left + 1] = i end
  while #left > 0 do
    local best, bi, bd = nil, nil, nil
    for k, p in ipairs(left) do
      local d = dist(coords, tour[#tour], p)
      if bd == nil or d < bd then best, bi, bd = p, k, d end
    end
    tour[#tour + 1] = best
    total = total + bd
    table.remove(left, bi)
  end
  return L.length(coords, tour), tour
end

function L.farthest_insertion(coords)
  local n = #coords
  local tour, left = { 0 }, {}
  for i = 1, n - 1 do left[#left + 1] = i end
  while #left > 0 do
    local max_p, max_k, max_d, max_idx
    for k, p in ipairs(left) do
      local min_d, min_idx
      for idx = 2, #tour + 1 do            -- insert before position idx (after the start)
        local prev, nxt = tour[idx - 1], tour[idx] or tour[1]
        local d = dist(coords, prev, p) + dist(coords, p, nxt) - dist(coords, prev, nxt)
        if min_d == nil or d < min_d then min_d, min_idx = d, idx end
      end
      if max_d == nil or min_d > max_d then max_p, max_k, max_d, max_idx = p, k, min_d, min_idx end
    end
    table.insert(tour, max_idx, max_p)
    table.remove(left, max_k)
  end
  return L.length(coords, tour), tour
end

-- Held–Karp dynamic programming over subsets (n <= 15)
function L.optimal(coords)
  local n = #coords
  if n == 1 then return 0.0, { 0 } end
  local full = (1 << n) - 1
  local INF = math.huge
  local dp, parent = {}, {}
  local D = {}
  for i = 0, n - 1 do
    D[i] = {}
    for j = 0, n - 1 do D[i][j] = dist(coords, i, j) end
  end
  -- dp[mask * n + j]: shortest path from 0 visiting mask (which holds 0 and j), ending at j
  dp[1 * n + 0] = 0.0
  for mask = 1, full, 2 do
    for j = 0, n - 1 do
      local cur = dp[mask * n + j]
      if cur then
        for k = 1, n - 1 do
          local bit = 1 << k
          if mask & bit == 0 then
            local nm = mask | bit
            local v = cur + D[j][k]
            local idx = nm * n + k
            local old = dp[idx]
            if old == nil or v < old then dp[idx], parent[idx] = v, j end
          end
        end
      end
    end
  end
  local best, last = INF, nil
  for j = 1, n - 1 do
    local v = dp[full * n + j]
    if v and v + D[j][0] < best then best, last = v + D[j][0], j end
  end
  local tour, mask, j = {}, full, last
  while j ~= 0 do
    table.insert(tour, 1, j)
    local pj = parent[mask * n + j]
    mask = mask & ~(1 << j)
    j = pj
  end
  table.insert(tour, 1, 0)
  return best, tour
end
M.lua = L

local function helpers()
  local c = base.optional("opro.tsp")
  local h = {}
  for _, f in ipairs { "length", "valid", "optimal", "nearest_neighbour", "farthest_insertion" } do
    h[f] = (type(c) == "table" and type(c[f]) == "function") and c[f] or L[f]
  end
  -- the baselines as (length, tour) whichever order a helper returns them in
  for _, f in ipairs { "optimal", "nearest_neighbour", "farthest_insertion" } do
    local g = h[f]
    h[f] = function(coords)
      local a, b = g(coords)
      if type(a) == "table" then return b or L.length(coords, a), a end
      return a, b
    end
  end
  return h
end

-- ------------------------------------------------------------ instances
--- A random instance as optimize_tsp.py draws it: x then y uniform in
-- [-100, 100), truncated with int(), from np.random.seed(seed); `k` starting
-- tours from np.random.permutation, kept when they start at node 0.
function M.generate(n, seed, k)
  if math.type(n) ~= "integer" or n < 2 then error("opro.task.tsp: n must be an integer >= 2", 3) end
  local np = rng.numpy(seed or 0)
  local xs, ys = {}, {}
  local function trunc(v) return math.tointeger(v >= 0 and math.floor(v) or math.ceil(v)) end
  for i = 1, n do xs[i] = trunc(np:uniform(-100, 100)) end
  for i = 1, n do ys[i] = trunc(np:uniform(-100, 100)) end
  local coords = {}
  for i = 1, n do coords[i] = { xs[i], ys[i] } end
  local init, seen = {}, {}
  local tries = 0
  while #init < (k or 5) and tries < 100000 do
    tries = tries + 1
    local p = np:permutation(n)
    local key = table.concat(p, ",")
    if p[1] == 0 and not seen[key] then
      seen[key] = true
      init[#init + 1] = p
    end
  end
  return { coords = coords, init = init, seed = seed }
end

local Task = {}
Task.__index = Task

--- The options opro.task.tsp reads.
M.options = options.set { "instance", "init", "n", "seed", "generator", "num_starting_points", "decimals", "max_exact" }

function M.new(o)
  o = o or {}
  if type(o) ~= "table" then error("opro.task.tsp: a table of options expected", 3) end
  options.check(o, M.options, "opro.task.tsp", "docs/tasks.md", 3)
  local inst = o.instance
  if inst == nil then
    local n = o.n or 10
    if math.type(n) ~= "integer" or n < 2 then error("opro.task.tsp: n must be an integer >= 2", 3) end
    local c = base.optional("opro.tsp")
    if o.generator == "numpy" or not (c and c.random_instance and c.random_tours) then
      inst = M.generate(n, o.seed or 0, o.num_starting_points or 5)
    else
      -- opro.tsp's generator (docs/tsp.md): the same instance on every machine;
      -- starting tours exclude the farthest-insertion tour as the reference's gt_sol
      local coords = c.random_instance(n, o.seed or 0)
      local _, fi = c.farthest_insertion(coords)
      inst = { coords = coords, init = c.random_tours(n, o.num_starting_points or 5, (o.seed or 0) + 1, { fi }),
               seed = o.seed }
    end
  end
  if type(inst) ~= "table" or type(inst.coords) ~= "table" or #inst.coords < 2 then
    error("opro.task.tsp: instance.coords must be a list of at least 2 [x, y] pairs", 3)
  end
  for i, c in ipairs(inst.coords) do
    if type(c) ~= "table" or type(c[1]) ~= "number" or type(c[2]) ~= "number" then
      error(string.format("opro.task.tsp: instance.coords[%d] must be [x, y] numbers", i), 3)
    end
  end
  local n = #inst.coords
  local t = setmetatable({ coords = inst.coords, n = n, instance = inst, better = "lower",
    decimals = o.decimals or 0, h = helpers() }, Task)
  local init = {}
  for i, tour in ipairs(o.init or inst.init or {}) do
    local copy = {}
    for j, v in ipairs(type(tour) == "table" and tour or {}) do copy[j] = math.tointeger(v) or v end
    local ok, err = t:validate(copy)
    if not ok then error(string.format("opro.task.tsp: init[%d] is not a valid tour: %s", i, err), 3) end
    init[#init + 1] = copy
  end
  t.initial = init
  base.base(t, "tsp", function(opts)
    if opts.coords == nil then opts.coords = t.coords end
    if opts.n == nil then opts.n = t.n end
    if opts.num_decimals == nil then opts.num_decimals = t.decimals end
  end)
  -- reference points: the optimum (n <= 15) and both baselines
  t.nn_length, t.nn_tour = t.h.nearest_neighbour(t.coords)
  t.fi_length, t.fi_tour = t.h.farthest_insertion(t.coords)
  if n <= (o.max_exact or 15) then
    t.optimal_length, t.optimal_tour = t.h.optimal(t.coords)
  end
  return t
end

--- What the run store records about this instance (for the report).
function Task:describe()
  return { n = self.n, coords = self.coords, optimum = self.optimal_length,
           nearest_neighbour = self.nn_length, farthest_insertion = self.fi_length }
end

function Task:key(solution)
  if type(solution) ~= "table" then return tostring(solution) end
  local parts = {}
  for i, v in ipairs(solution) do parts[i] = tostring(v) end
  return table.concat(parts, ",")
end

function Task:format(solution) return self:key(solution) end

--- Valid: n distinct integer nodes in 0..n-1, starting at node 0 (the
-- reference's checks on a parsed trace).
function Task:validate(tour)
  local ok, err = L.valid(tour, self.n)
  if not ok then return false, err end
  if tour[1] ~= 0 then return false, "a tour starts at node 0" end
  return true
end

local function gap(len, ref)
  if not ref or ref <= 0 then return nil end
  return (len - ref) / ref * 100
end

function Task:shown(len)
  if self.decimals > 0 then
    local s = 10 ^ self.decimals
    return math.floor(len * s + 0.5) / s
  end
  return math.tointeger(len >= 0 and math.floor(len) or math.ceil(len))
end

function Task:score(tour, _)
  local ok, err = self:validate(tour)
  if not ok then return nil, "invalid tour: " .. err, "parse" end
  local len = self.h.length(self.coords, tour)
  return self:shown(len), {
    length = len, optimal = self.optimal_length, nearest_neighbour = self.nn_length,
    farthest_insertion = self.fi_length,
    gap = gap(len, self.optimal_length), gap_nn = gap(len, self.nn_length), gap_fi = gap(len, self.fi_length),
  }
end

--- Success: the tour is as short as the exact optimum (when known).
function Task:found(tour)
  if not self.optimal_length or not self:validate(tour) then return false end
  return self.h.length(self.coords, tour) <= self.optimal_length * (1 + 1e-9)
end

return M
