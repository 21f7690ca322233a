--- opro.template.exemplars: which few-shot exemplars an instruction
-- meta-prompt shows (the reference's few_shot_selection_criteria).
--
--   local ex = opro.template.exemplars
--   opts.exemplars = ex.random(train, { step = 3 })          -- "random" (default)
--   opts.exemplars = ex.constant(train)                      -- "constant"
--   opts.exemplars = ex.most_wrong(history, train, { step = 3 })   -- "accumulative_most_frequent"
--   opts.exemplars = ex.most_wrong(history, train, { step = 3, current = true,
--                                                    max_num_instructions = 20 })  -- "current_most_frequent"
--
-- `train` is the list of training items in dataset order. The reference
-- seeds NumPy's legacy generator with its 0-based step index before each
-- choice; here that seed is opts.seed, or opts.step - 1 (opro-lua numbers the
-- first optimization step 1). With the same train list and seed, random and
-- constant pick exactly the reference's exemplars (NumPy's MT19937 and
-- choice(replace=False) are reproduced below).
-- For most_wrong, a history entry lists the training items its solution got
-- wrong in `entry.wrong` or `entry.details.wrong`: 1-based positions in
-- `train`.
local M = {}

local N, MIDDLE = 624, 397
local MASK32 = 0xffffffff

--- NumPy's legacy RandomState: MT19937 seeded with np.random.seed(seed).
-- Returns an object with :uint32() and :interval(max) (random_interval).
function M.numpy_rng(seed)
  seed = math.tointeger(seed)
  if not seed or seed < 0 or seed > MASK32 then
    error("opro.template.exemplars: seed must be an integer in [0, 2^32), got " .. tostring(seed), 2)
  end
  local mt = {}
  mt[0] = seed
  for i = 1, N - 1 do
    local prev = mt[i - 1]
    mt[i] = (1812433253 * (prev ~ (prev >> 30)) + i) & MASK32
  end
  local pos = N
  local rng = {}
  function rng.uint32()
    if pos >= N then
      for k = 0, N - 1 do
        local y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff)
        local v = mt[(k + MIDDLE) % N] ~ (y >> 1)
        if y & 1 == 1 then v = v ~ 0x9908b0df end
        mt[k] = v
      end
      pos = 0
    end
    local y = mt[pos]
    pos = pos + 1
    y = y ~ (y >> 11)
    y = y ~ ((y << 7) & 0x9d2c5680)
    y = y ~ ((y << 15) & 0xefc60000)
    y = y ~ (y >> 18)
    return y & MASK32
  end
  -- a uniform integer in [0, max] by masked rejection (NumPy's random_interval)
  function rng.interval(max)
    if max == 0 then return 0 end
    if max > MASK32 then error("opro.template.exemplars: interval too large", 2) end
    local mask = max
    mask = mask | (mask >> 1); mask = mask | (mask >> 2); mask = mask | (mask >> 4)
    mask = mask | (mask >> 8); mask = mask | (mask >> 16)
    while true do
      local v = rng.uint32() & mask
      if v <= max then return v end
    end
  end
  return rng
end

--- np.random.seed(seed); np.random.permutation(n): a list of 0..n-1.
function M.numpy_permutation(n, seed)
  local rng = M.numpy_rng(seed)
  local arr = {}
  for i = 0, n - 1 do arr[i] = i end
  for i = n - 1, 1, -1 do
    local j = rng.interval(i)
    arr[i], arr[j] = arr[j], arr[i]
  end
  local out = {}
  for i = 0, n - 1 do out[i + 1] = arr[i] end
  return out
end

--- np.random.seed(seed); np.random.choice(list, k, replace=False): the
-- chosen 1-based positions of `list` (n = #list, or list itself when it is
-- a number), in the order NumPy draws them.
function M.numpy_choice(list, k, seed)
  local n = type(list) == "number" and list or #list
  if k > n then
    error(string.format("opro.template.exemplars: cannot choose %d of %d without replacement", k, n), 2)
  end
  local perm = M.numpy_permutation(n, seed)
  local out = {}
  for i = 1, k do out[i] = perm[i] + 1 end
  return out
end

local function seed_of(opts)
  if opts.seed ~= nil then return opts.seed end
  return (opts.step or 1) - 1
end

local function k_of(opts)
  local k = math.tointeger(opts.k or 3)
  if not k or k < 0 then error("opro.template.exemplars: k must be an integer >= 0", 3) end
  return k
end

local function pick_sorted(train, positions)
  table.sort(positions)
  local out = {}
  for i, p in ipairs(positions) do out[i] = train[p] end
  return out
end

--- "random": k training items chosen with the step's seed, in dataset order.
function M.random(train, opts)
  opts = opts or {}
  if type(train) ~= "table" then error("opro.template.exemplars.random: train must be a list of items", 2) end
  return pick_sorted(train, M.numpy_choice(train, math.min(k_of(opts), #train), seed_of(opts)))
end

--- "constant": the same k items at every step (seed 0).
function M.constant(train, opts)
  local o = {}
  for key, v in pairs(opts or {}) do o[key] = v end
  o.seed = 0
  return M.random(train, o)
end

local function wrong_of(e)
  if type(e.wrong) == "table" then return e.wrong end
  if type(e.details) == "table" and type(e.details.wrong) == "table" then return e.details.wrong end
  return {}
end

--- The items that solutions get wrong most often.
-- Default ("accumulative_most_frequent"): counts over every scored entry of
-- the history; when more than k items were ever wrong, k of them are chosen
-- with the step's seed (the reference draws from the list sorted by count).
-- current = true ("current_most_frequent"): counts only over the entries the
-- meta-prompt shows (best max_num_instructions at or above score_threshold);
-- the items wrong most often, or — when at least k items tie for the most —
-- k of those chosen with the step's seed.
-- Ties in counts are broken by first appearance (history order), where the
-- reference's order comes from a Python set.
function M.most_wrong(history, train, opts)
  opts = opts or {}
  if type(history) ~= "table" or type(train) ~= "table" then
    error("opro.template.exemplars.most_wrong: expected (history, train, opts)", 2)
  end
  local k = k_of(opts)
  local entries = history
  if opts.current then
    local order = require "opro.order"
    entries = {}
    local threshold = opts.score_threshold or 0
    if (opts.step or 1) <= 1 then threshold = 0 end
    for _, e in ipairs(order.ascending(history, { limit = math.tointeger(opts.max_num_instructions or 20) })) do
      if threshold == 0 or e.score >= threshold then entries[#entries + 1] = e end
    end
  else
    local scored = {}
    for _, e in ipairs(history) do
      if type(e.score) == "number" then scored[#scored + 1] = e end
    end
    entries = scored
  end
  local count, first, list = {}, {}, {}
  for _, e in ipairs(entries) do
    local seen = {}
    for _, p in ipairs(wrong_of(e)) do
      p = math.tointeger(p)
      if p and train[p] ~= nil and not seen[p] then
        seen[p] = true
        if not count[p] then
          count[p] = 0
          list[#list + 1] = p
          first[p] = #list
        end
        count[p] = count[p] + 1
      end
    end
  end
  table.sort(list, function(a, b)
    if count[a] ~= count[b] then return count[a] > count[b] end
    return first[a] < first[b]
  end)
  local chosen
  if opts.current then
    local top = {}
    for _, p in ipairs(list) do
      if count[p] == count[list[1]] then top[#top + 1] = p end
    end
    if #top < k then
      chosen = {}
      for i = 1, math.min(k, #list) do chosen[i] = list[i] end
    else
      chosen = {}
      for i, q in ipairs(M.numpy_choice(top, k, seed_of(opts))) do chosen[i] = top[q] end
      table.sort(chosen)
    end
  elseif #list <= k then
    chosen = list
  else
    chosen = {}
    for i, q in ipairs(M.numpy_choice(list, k, seed_of(opts))) do chosen[i] = list[q] end
    table.sort(chosen)
  end
  local out = {}
  for i, p in ipairs(chosen) do out[i] = train[p] end
  return out
end

return M
