-- opro.core.proc: child processes that block only their task.
local T = require "testlib"
local proc = require "opro.core.proc"

local function alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

local function wait_file(path)
  for _ = 1, 200 do
    local s = T.read(path)
    if s and s:match("%d+") then return s:match("%d+") end
    opro.sleep(0.01)
  end
end

T.test("shell command: exit status, stdout and stderr", function()
  local r = assert(proc.run{ shell = "echo out; echo err >&2; exit 3" })
  T.eq(r.status, 3)
  T.eq(r.stdout, "out\n")
  T.eq(r.stderr, "err\n")
  T.eq(r.signal, nil)
  T.ok(r.time >= 0 and r.time < 10)
  T.eq(r.truncated, false)
end)

T.test("argv runs without a shell (arguments are not interpreted)", function()
  local r = assert(proc.run{ argv = { "printf", "%s|%s", "a b", "$HOME;x" } })
  T.eq(r.status, 0)
  T.eq(r.stdout, "a b|$HOME;x")
end)

T.test("stdin is fed without deadlock (1 MB through cat); no stdin reads /dev/null", function()
  local big = string.rep("0123456789abcdef", 65536)
  local r = assert(proc.run{ argv = { "cat" }, stdin = big })
  T.eq(#r.stdout, #big)
  T.ok(r.stdout == big)
  T.eq(assert(proc.run{ argv = { "cat" } }).stdout, "")
  -- a child that never reads its stdin still finishes
  T.eq(assert(proc.run{ shell = "exit 0", stdin = big }).status, 0)
end)

T.test("a program that cannot be started returns nil, message, 'spawn'", function()
  local r, msg, code = proc.run{ argv = { "/nonexistent/program" } }
  T.eq(r, nil)
  T.eq(code, "spawn")
  T.contains(msg, "/nonexistent/program")
end)

T.test("killed by a signal: status 128 + signal", function()
  local r = assert(proc.run{ shell = "kill -TERM $$" })
  T.eq(r.signal, 15)
  T.eq(r.status, 143)
end)

T.test("timeout returns nil, message, 'timeout' and kills the whole process group", function()
  local dir = T.tmpdir()
  local t0 = opro.now()
  local r, msg, code = proc.run{ shell = "sleep 30 & echo $! > " .. dir .. "/pid; wait", timeout = 0.3 }
  local dt = opro.now() - t0
  T.eq(r, nil)
  T.eq(code, "timeout")
  T.contains(msg, "timed out")
  T.ok(dt < 3, string.format("returned after %.2f s", dt))
  local pid = wait_file(dir .. "/pid")
  T.ok(pid, "the grandchild wrote its pid")
  local gone = false
  for _ = 1, 100 do
    if not alive(pid) then gone = true break end
    opro.sleep(0.02)
  end
  T.ok(gone, "the background sleep was killed with the group")
end)

T.test("runs overlap and the loop keeps running while they wait", function()
  local list = {}
  for i = 1, 20 do list[i] = i end
  local ticks = 0
  local ticker = opro.spawn(function()
    for _ = 1, 5 do opro.sleep(0.05); ticks = ticks + 1 end
  end)
  local t0 = opro.now()
  local out = opro.map(list, function(i)
    return assert(proc.run{ shell = "sleep 0.3; echo " .. i }).stdout
  end)
  local dt = opro.now() - t0
  opro.wait(ticker)
  for i = 1, 20 do T.eq(out[i], i .. "\n") end
  T.ok(dt < 3.0, string.format("20 x 0.3 s took %.2f s (sequential: 6 s)", dt))
  T.eq(ticks, 5)
end)

T.test("cancelling a task kills its process", function()
  local dir = T.tmpdir()
  local t = opro.spawn(function()
    return proc.run{ shell = "echo $$ > " .. dir .. "/pid; exec sleep 30" }
  end)
  local pid = wait_file(dir .. "/pid")
  T.ok(pid and alive(pid), "the child runs")
  t:cancel()
  local gone = false
  for _ = 1, 100 do
    if not alive(pid) then gone = true break end
    opro.sleep(0.02)
  end
  T.ok(gone, "the child was killed")
end)

T.test("max_output keeps the first bytes and marks truncated", function()
  local r = assert(proc.run{ shell = "head -c 100000 /dev/zero", max_output = 1000 })
  T.eq(#r.stdout, 1000)
  T.eq(r.truncated, true)
end)

T.test("misuse raises", function()
  T.raises(function() proc.run{} end, "exactly one of")
  T.raises(function() proc.run{ argv = { "true" }, shell = "true" } end, "exactly one of")
  T.raises(function() proc.run{ argv = {} } end, "must not be empty")
  T.raises(function() proc.run{ argv = { "true", 3 } } end, "argv[2]")
  T.raises(function() proc.run{ shell = "true", timeout = -1 } end, "timeout")
  T.raises(function() proc.run{ shell = "true", stdin = {} } end, "stdin")
  local co = coroutine.wrap(function() return proc.run{ shell = "true" } end)
  T.raises(co, "inside a task")
end)

T.done()
