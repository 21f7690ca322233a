-- --estimate against what a run then spends against opro-sim: within 20%
-- for calls and for tokens; and --estimate itself sends no request.
local T = require "testlib"
local cjson = require "cjson"
local http = require "opro.core.http"

local sim_bin = T.sim   -- $OPRO_SIM, else bin/opro-sim
if not io.open(sim_bin, "r") then
  T.skip("estimate against opro-sim", "bin/opro-sim is not built")
  T.done()
end
local dir = T.tmpdir()
os.execute(string.format("%s --port-file %s/port --seed 3 --quiet >%s/sim.log 2>&1 & echo $! > %s/sim.pid",
  T.shquote(sim_bin), dir, dir, dir))
local pid = T.read(dir .. "/sim.pid"):match("%d+")
T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
local port
for _ = 1, 200 do
  port = (T.read(dir .. "/port") or ""):match("%d+")
  if port then break end
  opro.sleep(0.025)
end
assert(port, "opro-sim did not start")
local base = "http://127.0.0.1:" .. port
local function requests() return cjson.decode(assert(http.request{ url = base .. "/stats" }).body).requests end

local function run(args)
  local rc, out, err = T.run(string.format("%s/examples/gsm8k.lua --demo --base-url %s/v1 --model sim-1 --quiet --json %s",
    T.root, base, args))
  assert(rc == 0, out .. err)
  return cjson.decode(out:match("([^\n]+)\n*$"))
end

local function within(est, actual, what)
  local rel = math.abs(est - actual) / actual
  io.write(string.format("# %s: estimated %d, spent %d (%.1f%% off)\n", what, est, actual, 100 * rel))
  T.ok(rel <= 0.20, string.format("%s: estimated %d, spent %d (%.0f%% off)", what, est, actual, 100 * rel))
end

for _, cfg in ipairs {
  "--steps 10 --seed 1",
  "--steps 6 --candidates 4 --reps 2 --demo-items 10 --seed 2 --evaluate-top 1",
  "--steps 12 --candidates 6 --seed 4 --evaluate-top 0",
} do
  T.test("--estimate is within 20% of the calls and tokens spent: " .. cfg, function()
    local before = requests()
    local e = run(cfg .. " --estimate").estimate
    T.eq(requests(), before, "--estimate sent no request")
    local s = run(cfg)
    within(e.total.calls, s.totals.calls, "calls")
    within(e.total.tokens, s.totals.tokens, "tokens")
    T.eq(requests() - before, s.totals.calls, "the run's calls are the sim's requests")
  end)
end

T.done()
