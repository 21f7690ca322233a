-- The loop's own overhead (opro.optimize with in-process fake optimizer and
-- objective: no HTTP, no LLM): what a step costs besides the calls it makes,
-- and how reps scale. Also a real run against opro-sim (zero latency) when
-- bin/opro-sim is built: wall time per step, all layers included.
local optimize = require "opro.optimize"

local function median(fn, reps)
  local times = {}
  for r = 1, reps do
    local t0 = opro.now()
    fn()
    times[r] = opro.now() - t0
  end
  table.sort(times)
  return times[(reps + 1) // 2]
end

local function toy()
  local t = { initial = { 0, 500 } }
  function t:key(x) return tostring(x) end
  function t:score(x) return -math.abs(x - 4242) end
  t.template = function(h, o)
    local parts = {}
    for _, e in ipairs(opro.order.ascending(h, { limit = 20 })) do parts[#parts + 1] = e.solution .. ":" .. e.score end
    return table.concat(parts, "\n")
  end
  t.parse = function(text) return { math.tointeger(tonumber(text)) } end
  return t
end
local fake = { chat = function(_, prompt, o)
  local best = tonumber(prompt:match("(%-?%d+):%S+$")) or 0
  return tostring(best + o.sample % 201 - 100), { usage = { input_tokens = 10, output_tokens = 2 } }
end }

print("## The loop (opro.optimize)")
print()
print("| run | steps x proposals x reps | median wall | per step |")
print("|---|---:|---:|---:|")
for _, cfg in ipairs { { 100, 8, 1 }, { 100, 8, 8 }, { 20, 64, 1 } } do
  local steps, k, reps = cfg[1], cfg[2], cfg[3]
  local t = median(function()
    optimize{ task = function() return toy() end, optimizer = fake, steps = steps, candidates_per_step = k,
              reps = reps, quiet = true, stop_when_found = false }
  end, 5)
  print(string.format("| fake optimizer and objective (loop overhead) | %d x %d x %d | %.1f ms | %.3f ms |",
    steps, k, reps, t * 1000, t * 1000 / (steps * reps)))
end

local root = os.getenv("OPRO_ROOT") or "."
if io.open(root .. "/bin/opro-sim", "r") then
  local dir = io.popen("mktemp -d"):read("l")
  os.execute(string.format("%s/bin/opro-sim --port-file %s/port --quiet >/dev/null 2>&1 & echo $! > %s/pid", root, dir, dir))
  local port
  for _ = 1, 200 do
    local f = io.open(dir .. "/port")
    port = f and f:read("l")
    if f then f:close() end
    if port then break end
    opro.sleep(0.025)
  end
  local pid = io.open(dir .. "/pid"):read("l")
  if port then
    local t = median(function()
      os.execute(string.format("%s/bin/opro-lua %s/examples/gsm8k.lua --demo --base-url http://127.0.0.1:%s/v1 --model sim-1 --steps 10 --quiet --json --evaluate-top 0 >/dev/null",
        root, root, port))
    end, 3)
    print(string.format("| examples/gsm8k.lua --demo against opro-sim, 20 items (1,640 calls) | 10 x 8 x 1 | %.0f ms | %.1f ms |", t * 1000, t * 100))
  end
  os.execute("kill " .. pid .. " 2>/dev/null; rm -rf " .. dir)
end
print()
