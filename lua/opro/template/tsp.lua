--- opro.template.tsp: the meta-prompt of the paper's §3.2 experiment
-- (traveling salesman), byte for byte as gen_meta_prompt in the reference's
-- opro/optimization/optimize_tsp.py builds it.
local num = require "opro.template.num"
local order_mod = require "opro.order"

local WHO = "opro.template.tsp"

local shown = num.shown
local function int_opt(opts, name, default)
  local v = num.int_opt(opts, name, default, WHO)  -- not a tail call: the error level counts this frame
  return v
end

return function(history, opts)
  if type(history) ~= "table" then
    error(WHO .. ": history must be a list of {solution={tour}, score=, step=} entries, got " .. type(history), 2)
  end
  opts = opts or {}
  local coords = opts.coords
  if type(coords) ~= "table" then
    error(WHO .. ": opts.coords must be the list of node coordinates {{x, y}, ...}", 2)
  end
  local d = int_opt(opts, "num_decimals", 0)
  local max = int_opt(opts, "max_num_pairs", 10)
  local order = order_mod.resolve(opts.order, WHO)

  local pts = {}
  for i, c in ipairs(coords) do
    if type(c) ~= "table" or type(c[1]) ~= "number" or type(c[2]) ~= "number" then
      error(string.format("%s: opts.coords[%d] must be {x, y} numbers", WHO, i), 2)
    end
    pts[i] = string.format("(%d): (%s, %s)", i - 1, num.str(shown(c[1], d)), num.str(shown(c[2], d)))
  end

  -- one entry per (trace, shown length), like the reference's set of pairs;
  -- an ordering sees {solution=tour, trace=, score=shown length, step=, entry=original}
  local entries, seen = {}, {}
  for i, e in ipairs(history) do
    if type(e) == "table" and type(e.score) == "number" and e.score == e.score then
      local tour = e.solution
      if type(tour) ~= "table" then
        error(string.format("%s: history[%d].solution must be a tour (a list of node indices)", WHO, i), 2)
      end
      local names = {}
      for j, v in ipairs(tour) do
        local n = math.tointeger(v)
        if not n then
          error(string.format("%s: history[%d].solution[%d] is not a node index: %s", WHO, i, j, tostring(v)), 2)
        end
        names[j] = tostring(n)
      end
      local trace = table.concat(names, ",")
      local dis = shown(e.score, d)
      local key = trace .. "\0" .. num.str(dis)
      if not seen[key] then
        seen[key] = true
        entries[#entries + 1] = { solution = tour, trace = trace, score = dis, step = e.step, entry = e }
      end
    end
  end
  local parts = {}
  local oo = { better = "lower", limit = max, seed = opts.seed, rng = opts.rng, k = opts.k }
  for _, e in ipairs(order(entries, oo)) do
    parts[#parts + 1] = "\n<trace> " .. e.trace .. " </trace>\nlength:\n" .. num.str(e.score) .. "\n"
  end
  local pairs_text = table.concat(parts):gsub("^%s+", ""):gsub("%s+$", "")
  return "You are given a list of points with coordinates below:\n"
    .. table.concat(pts, ", ")
    .. ".\n\nBelow are some previous traces and their lengths. The traces are arranged in descending order"
    .. " based on their lengths, where lower values are better.\n\n"
    .. pairs_text .. "\n\n"
    .. "Give me a new trace that is different from all traces above, and has a length lower than any of"
    .. " the above. The trace should traverse all points exactly once. The trace should start with"
    .. " '<trace>' and end with </trace>."
end
