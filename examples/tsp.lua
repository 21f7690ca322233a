-- tsp.lua: OPRO on the traveling salesman problem (paper §3.2).
--   opro-lua examples/tsp.lua [--nodes 10] [--steps 50] [--instance FILE.json]
-- Each rep draws n nodes with integer coordinates in [-100, 100] and 5
-- random tours starting at node 0; the optimizer sees tours (<trace>) with
-- their lengths and proposes shorter ones. Reports the optimality gap of the
-- best tour against the exact optimum (Held-Karp, n <= 15) and against the
-- nearest-neighbour and farthest-insertion heuristics. --instance replays
-- exact instances: a JSON array, one object per rep:
-- {"coords":[[x,y],...],"init":[[0,...],...]}.
local cli = require "opro.cli"
local runner = require "opro.runner"

local opts = cli.parse(arg, {
  name = "tsp.lua",
  summary = "Traveling salesman by prompting (OPRO §3.2), with optimality gaps.",
  options = runner.options({
    { "instance", "string", "JSON file with the instances (one object per rep)" },
    { "nodes", "integer", "nodes per instance", default = 10 },
    { "init", "integer", "starting tours per rep", default = 5 },
  }, { steps = 50 }),
})

local instances
if opts.instance then
  -- every instance is checked now: a bad one is named before anything is called
  instances = runner.load_instances(opts.instance, "tsp.lua", function(inst)
    opro.task.tsp { instance = { coords = inst.coords, init = inst.init } }
  end)
end

-- a rep's instance: given, or drawn as the reference does (numpy-exact) from seed + rep - 1
local function instance(rep)
  if instances then
    local inst = instances[(rep - 1) % #instances + 1]
    return { instance = { coords = inst.coords, init = inst.init } }
  end
  return { n = opts.nodes, seed = opts.seed + rep - 1, num_starting_points = opts.init }
end

local tasks = {}
local function task_for(rep)
  tasks[rep] = tasks[rep] or opro.task.tsp(instance(rep))
  return tasks[rep]
end

-- the best tour's length and its gaps (in %) to the optimum and the baselines
local function gaps(rep, best)
  local t = task_for(rep)
  local len = type(best.details) == "table" and best.details.length or best.score
  local function gap(ref) return ref and ref > 0 and (len - ref) / ref * 100 or nil end
  return { best_length = len, optimum = t.optimal_length, optimal = gap(t.optimal_length),
           nearest_neighbor_length = t.nn_length, nearest_neighbor = gap(t.nn_length),
           farthest_insertion_length = t.fi_length, farthest_insertion = gap(t.fi_length) }
end

local function pct(x) return x and string.format("%.1f%%", math.abs(x) < 0.05 and 0 or x) or "-" end

local env = runner.setup(opts, { name = "tsp", scorer = false })
runner.optimize(env, {
  task = task_for,
  summary_extra = function(result)
    local reps = {}
    for i, r in ipairs(result.reps) do reps[i] = r.best and gaps(r.rep, r.best) or {} end
    return { gaps = reps }
  end,
  report_extra = function(result)
    local lines = {}
    for _, r in ipairs(result.reps) do
      if r.best then
        local g = gaps(r.rep, r.best)
        lines[#lines + 1] = string.format("rep %d: best length %s, optimum %s; gap %s to the optimum, %s to nearest neighbour, %s to farthest insertion",
          r.rep, runner.fmt_score(g.best_length), runner.fmt_score(g.optimum), pct(g.optimal),
          pct(g.nearest_neighbor), pct(g.farthest_insertion))
      end
    end
    return lines
  end,
})
