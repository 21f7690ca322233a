-- linear_regression.lua: OPRO on linear regression (paper §3.1).
--   opro-lua examples/linear_regression.lua [--reps 5] [--steps 500] [--instance FILE.json]
-- Each rep draws 50 points y = w_true * x + b_true + N(0, 1), x = 1..50, and
-- 5 starting pairs (w, b) in [10, 20), rounded, exactly as the reference's
-- optimize_linear_regression.py does (numpy's generator reproduced); the optimizer sees the
-- pairs with their squared error and proposes new ones until it proposes
-- (w_true, b_true). Reports, per rep, the steps and the unique pairs it
-- took. --instance replays exact instances (a JSON array, one object per
-- rep: {"X":[...],"y":[...],"w_true":15,"b_true":14,"init":[[w,b],...]}).
local cli = require "opro.cli"
local runner = require "opro.runner"

local opts = cli.parse(arg, {
  name = "linear_regression.lua",
  summary = "Linear regression by prompting (OPRO §3.1): find (w_true, b_true) from 5 starting pairs.",
  options = runner.options({
    { "instance", "string", "JSON file with the instances (one object per rep)" },
    { "w-true", "integer", "true slope", default = 15 },
    { "b-true", "integer", "true intercept", default = 14 },
    { "points", "integer", "data points per rep", default = 50 },
  }, { steps = 500, reps = 5 }),   -- the paper's settings (it stops a rep once (w_true, b_true) is found)
})

local instances
if opts.instance then
  -- every instance is checked now: a bad one is named before anything is called
  instances = runner.load_instances(opts.instance, "linear_regression.lua", function(inst)
    opro.task.linear_regression { instance = { X = inst.X, y = inst.y, w_true = inst.w_true, b_true = inst.b_true, init = inst.init } }
  end)
end

-- a rep's instance: given, or drawn as the reference does (numpy-exact):
-- seed + rep is the reference's np.random.seed for its rep (seed 0, rep 1
-- is the reference's rep 0)
local function instance(rep)
  if instances then
    local inst = instances[(rep - 1) % #instances + 1]
    return { instance = { X = inst.X, y = inst.y, w_true = inst.w_true, b_true = inst.b_true, init = inst.init } }
  end
  return { n_points = opts.points, w_true = opts.w_true, b_true = opts.b_true, seed = opts.seed + rep }
end

local env = runner.setup(opts, { name = "linear_regression", scorer = false })
runner.optimize(env, {
  task = function(rep) return opro.task.linear_regression(instance(rep)) end,
  summary_extra = function(result)
    local found = 0
    for _, r in ipairs(result.reps) do if r.found then found = found + 1 end end
    return { found_reps = found }
  end,
  report_extra = function(result)
    local lines, found = {}, 0
    for _, r in ipairs(result.reps) do
      if r.found then found = found + 1 end
      lines[#lines + 1] = string.format("rep %d: %s after %d step(s), %d unique pairs explored", r.rep,
        r.found and "found (w_true, b_true)" or "did not find (w_true, b_true)", r.steps, r.unique)
    end
    lines[#lines + 1] = string.format("found in %d of %d reps", found, #result.reps)
    return lines
  end,
})
