-- Resume by replay: a run killed with SIGKILL at random points (24 times
-- over this file) and resumed with --db --resume ends with the same history
-- as an uninterrupted run, and no completed call is sent again.
local T = require "testlib"
local cjson = require "cjson"
local http = require "opro.core.http"

local sim_bin = T.sim   -- $OPRO_SIM, else bin/opro-sim
if not io.open(sim_bin, "r") then
  T.skip("resume against opro-sim", "bin/opro-sim is not built")
  T.done()
end

local dir = T.tmpdir()
local pf = dir .. "/port"
os.execute(string.format("%s --port-file %s --seed 7 --latency-ms 0 --quiet >%s/sim.log 2>&1 & echo $! > %s/sim.pid",
  T.shquote(sim_bin), pf, dir, dir))
local sim_pid = T.read(dir .. "/sim.pid"):match("%d+")
T.cleanup(function() os.execute("kill " .. sim_pid .. " 2>/dev/null") end)
local port
for _ = 1, 200 do
  port = T.read(pf)
  if port and port:match("%d+") then port = port:match("%d+"); break end
  port = nil
  opro.sleep(0.025)
end
assert(port, "opro-sim did not start")
local base = "http://127.0.0.1:" .. port

local function requests()
  local resp = assert(http.request{ url = base .. "/stats" })
  return cjson.decode(resp.body).requests
end

-- a small run: 4 steps x 4 proposals, 6 training problems, 2 reps
local ARGS = "--demo --demo-items 6 --steps 4 --candidates 4 --reps 2 --seed 5 --evaluate-top 0 --concurrency 8 --quiet --json"
local function command(db, resume)
  return string.format("%s %s/examples/gsm8k.lua --base-url %s/v1 --model sim-1 --db %s %s %s",
    T.shquote(T.bin), T.root, base, db, ARGS, resume and "--resume" or "")
end

-- the run's history and non-cached calls, read back from its database
local function read_db(db)
  local st = assert(opro.store.open(db))
  local run = assert(st:last("gsm8k-demo"))
  local hist = {}
  for _, e in ipairs(run:candidates{ order = "step", unscored = true }) do
    hist[#hist + 1] = string.format("%d|%d|%s|%s|%s", e.rep, e.step, e.key, tostring(e.score), tostring(e.parse_error))
  end
  table.sort(hist)
  -- requests answered by the server (not by the cache), per request hash
  local sent, nsent, distinct = {}, 0, 0
  for _, c in ipairs(run:calls()) do
    if not c.cached and not c.error and not c.code then
      nsent = nsent + 1
      if not sent[c.hash] then distinct = distinct + 1 end
      sent[c.hash] = (sent[c.hash] or 0) + 1
    end
  end
  local status = run.status
  st:close()
  return { history = hist, sent = nsent, by_hash = sent, distinct = distinct, status = status }
end

-- the uninterrupted run
local r0 = requests()
local t0 = opro.now()
local rc, out, err = T.sh(command(dir .. "/full.db", false))
local full_wall = opro.now() - t0
if rc ~= 0 then
  T.test("the uninterrupted run", function() error("failed: " .. out .. err) end)
  T.done()                                 -- stops the sim too
end
local full_requests = requests() - r0
local full = read_db(dir .. "/full.db")

T.test("the uninterrupted run is complete", function()
  T.eq(full.status, "done")
  T.ok(#full.history > 10, "history of " .. #full.history)
  -- the two reps score the same initial instruction at the same time, so a
  -- few identical requests may be in flight together (neither is cached yet)
  T.ok(full.distinct <= full.sent and full.distinct > 0)
  T.eq(full.sent, full_requests, "every request the sim saw was recorded once")
end)

-- starts the run in the background; returns its pid
local function start(db, resume, tag)
  os.execute(string.format("%s >%s/%s.out 2>%s/%s.err </dev/null & echo $! > %s/%s.pid",
    command(db, resume), dir, tag, dir, tag, dir, tag))
  return T.read(string.format("%s/%s.pid", dir, tag)):match("%d+")
end
-- running: /proc/PID exists and is not a zombie (the killed child is
-- reparented and its reaping may take a while)
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("a") or ""
  f:close()
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z" and state ~= "X"
end

local rng = opro.random("resume_test", os.time())
local total_kills = 0

local function chain(c, kills_wanted)
  local db = string.format("%s/chain%d.db", dir, c)
  local before = requests()
  local kills, attempt = 0, 0
  local done = false
  while not done do
    attempt = attempt + 1
    local tag = string.format("c%d_%d", c, attempt)
    local pid = start(db, attempt > 1, tag)
    if kills < kills_wanted then
      -- a random moment within (about) an uninterrupted run's wall time
      opro.sleep(0.005 + rng:random() * full_wall * 0.8)
      if alive(pid) then
        os.execute("kill -9 " .. pid)
        kills = kills + 1
      end
      while alive(pid) do opro.sleep(0.01) end
      local o = T.read(string.format("%s/%s.out", dir, tag)) or ""
      if o:find('"reps"', 1, true) then done = true end     -- finished before the kill
    else
      while alive(pid) do opro.sleep(0.02) end
      local o = T.read(string.format("%s/%s.out", dir, tag)) or ""
      if not o:find('"reps"', 1, true) then
        error("the resumed run did not finish: " .. o .. (T.read(string.format("%s/%s.err", dir, tag)) or ""))
      end
      done = true
    end
    assert(attempt < 200, "no progress after 200 attempts")
  end
  total_kills = total_kills + kills
  return read_db(db), requests() - before, kills
end

-- chains of kill + resume until at least 24 kills in all (a chain ends
-- when its run finishes, possibly before a kill lands)
local c = 0
while total_kills < 24 and c < 40 do
  c = c + 1
  T.test(string.format("chain %d: killed with SIGKILL, resumed, same history, no completed call re-sent", c), function()
    local res, sim_requests, kills = chain(c, 8)
    io.write(string.format("# chain %d: %d kill(s), %d requests (uninterrupted: %d)\n", c, kills, sim_requests, full_requests))
    T.eq(res.status, "done")
    T.eq(res.history, full.history, "the final history equals the uninterrupted run's")
    -- no completed call was sent again: no request was answered by the
    -- server more often than in the uninterrupted run, and the same
    -- requests were answered
    local extra = {}
    for h, n in pairs(res.by_hash) do
      if n > (full.by_hash[h] or 0) then extra[#extra + 1] = h .. " x" .. n end
    end
    T.eq(extra, {}, "requests answered more often than in the uninterrupted run")
    -- opro.llm commits a paid response and its call record in one
    -- transaction: no kill loses the record of a response it kept
    T.eq(res.distinct, full.distinct,
         string.format("answered %d distinct requests, uninterrupted %d, kills %d", res.distinct, full.distinct, kills))
    T.ok(res.sent <= full.sent)
    -- the sim saw at most the uninterrupted run's requests plus the ones
    -- in flight (never answered to the client) at each kill: 2 llms x 8
    -- (the uninterrupted run's concurrent duplicates may be cache hits here)
    T.ok(sim_requests >= full.distinct - kills, "sim requests " .. sim_requests)
    T.ok(sim_requests <= full_requests + kills * 16,
         string.format("sim requests %d, uninterrupted %d, kills %d", sim_requests, full_requests, kills))
  end)
end

T.test("Ctrl-C (SIGINT) stops cleanly: the run is marked interrupted and resumes to the same history", function()
  local landed = false
  for try = 1, 10 do
    local db = string.format("%s/int%d.db", dir, try)
    local tag = "int" .. try
    local pid = start(db, false, tag)
    opro.sleep(0.02 + rng:random() * full_wall * 0.5)
    os.execute("kill -INT " .. pid .. " 2>/dev/null")
    while alive(pid) do opro.sleep(0.01) end
    local err = T.read(string.format("%s/%s.err", dir, tag)) or ""
    if err:find("interrupted", 1, true) and io.open(db, "r") then
      local st = assert(opro.store.open(db))
      local run = st:last("gsm8k-demo")
      local status = run and run.status
      st:close()
      if status then
        T.eq(status, "interrupted")
        local p2 = start(db, true, tag .. "r")
        while alive(p2) do opro.sleep(0.02) end
        local res = read_db(db)
        T.eq(res.status, "done")
        T.eq(res.history, full.history)
        landed = true
        break
      end
    end
  end
  T.ok(landed, "no SIGINT landed during a run in 10 tries")
end)

T.test("at least 20 kills over the file", function()
  T.ok(total_kills >= 20, "kills: " .. total_kills)
end)

T.done()
