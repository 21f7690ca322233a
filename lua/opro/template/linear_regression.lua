--- opro.template.linear_regression: the meta-prompt of the paper's §3.1
-- experiment, byte for byte as gen_meta_prompt in the reference's
-- opro/optimization/optimize_linear_regression.py builds it.
local num = require "opro.template.num"
local order_mod = require "opro.order"

local WHO = "opro.template.linear_regression"

local shown = num.shown
local function int_opt(opts, name, default)
  local v = num.int_opt(opts, name, default, WHO)  -- not a tail call: the error level counts this frame
  return v
end

return function(history, opts)
  if type(history) ~= "table" then
    error(WHO .. ": history must be a list of {solution={w=, b=}, score=, step=} entries, got " .. type(history), 2)
  end
  opts = opts or {}
  local din = int_opt(opts, "num_input_decimals", 0)
  local dout = int_opt(opts, "num_output_decimals", 0)
  local max = int_opt(opts, "max_num_pairs", 20)
  local order = order_mod.resolve(opts.order, WHO)

  -- Round as shown, then keep one entry per shown (w, b, value) triple: the
  -- reference builds a set of rounded triples. An ordering sees
  -- {solution={w=, b=} as shown, score=value as shown, step=, entry=original}.
  local entries, seen = {}, {}
  for i, e in ipairs(history) do
    local sol = type(e) == "table" and e.solution
    if type(e) == "table" and type(e.score) == "number" and e.score == e.score then
      if type(sol) ~= "table" or type(sol.w) ~= "number" or type(sol.b) ~= "number" then
        error(string.format("%s: history[%d].solution must be {w=number, b=number}", WHO, i), 2)
      end
      local w, b, z = shown(sol.w, din), shown(sol.b, din), shown(e.score, dout)
      local key = num.str(w) .. "\0" .. num.str(b) .. "\0" .. num.str(z)
      if not seen[key] then
        seen[key] = true
        entries[#entries + 1] = { solution = { w = w, b = b }, score = z, step = e.step, entry = e }
      end
    end
  end
  local oo = { better = "lower", limit = max, seed = opts.seed, rng = opts.rng, k = opts.k }
  local parts = {}
  for _, e in ipairs(order(entries, oo)) do
    parts[#parts + 1] = "\ninput:\nw=" .. num.str(e.solution.w) .. ", b=" .. num.str(e.solution.b)
      .. "\nvalue:\n" .. num.str(e.score) .. "\n"
  end
  local pairs_text = table.concat(parts):gsub("^%s+", ""):gsub("%s+$", "")
  return "Now you will help me minimize a function with two input variables w, b."
    .. " I have some (w, b) pairs and the function values at those points."
    .. " The pairs are arranged in descending order based on their function values,"
    .. " where lower values are better.\n\n"
    .. pairs_text .. "\n\n"
    .. "Give me a new (w, b) pair that is different from all pairs above,"
    .. " and has a function value lower than any of the above. Do not write code."
    .. " The output must end with a pair [w, b], where w and b are numerical values."
end
