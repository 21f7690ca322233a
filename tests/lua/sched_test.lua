-- The task scheduler: spawn, wait, map, sleep, cancellation, errors.
local T = require "testlib"

T.test("map over 1000 tasks that each sleep 0.2 s runs them concurrently", function()
  local list = {}
  for i = 1, 1000 do list[i] = i end
  local t0 = opro.now()
  local r = opro.map(list, function(x) opro.sleep(0.2) return x * 2 end)
  local dt = opro.now() - t0
  T.eq(#r, 1000)
  for i = 1, 1000 do assert(r[i] == 2 * i, "result out of order at " .. i) end
  T.ok(dt >= 0.2, "slept at least 0.2 s")
  -- sequential would take 200 s; 10x slack over the ideal 0.2 s
  T.ok(dt < 2.0, string.format("took %.2f s", dt))
end)

T.test("map respects concurrency", function()
  local active, peak = 0, 0
  local list = {}
  for i = 1, 40 do list[i] = i end
  opro.map(list, function()
    active = active + 1
    peak = math.max(peak, active)
    opro.sleep(0.01)
    active = active - 1
  end, { concurrency = 7 })
  T.eq(peak, 7)
end)

T.test("map keeps list order when tasks finish out of order", function()
  local r = opro.map({ 5, 1, 3 }, function(x) opro.sleep(x / 100) return x end)
  T.eq(r, { 5, 1, 3 })
end)

T.test("map over an empty list returns an empty list", function()
  T.eq(opro.map({}, function() error("never") end), {})
end)

T.test("spawn passes arguments and wait returns every result", function()
  local t = opro.spawn(function(a, b) opro.sleep(0) return a + b, "sum", nil end, 2, 3)
  local a, b, c = opro.wait(t)
  T.eq({ a, b, c }, { 5, "sum", nil })
  T.eq(t:status(), "done")
  -- waiting again gives the same results
  T.eq(opro.wait(t), 5)
end)

T.test("wait on a list returns each task's first result in order", function()
  local ts = {}
  for i = 1, 5 do ts[i] = opro.spawn(function() opro.sleep((6 - i) / 200) return i * 10 end) end
  T.eq(opro.wait(ts), { 10, 20, 30, 40, 50 })
end)

T.test("a task error surfaces at wait with the task's traceback", function()
  local line = debug.getinfo(1, "l").currentline + 4
  local t = opro.spawn(function()
    opro.sleep(0.01)
    local x = nil
    return x.field
  end)
  local err = T.raises(function() opro.wait(t) end, "attempt to index a nil value")
  T.contains(err, "sched_test.lua:" .. line .. ":")
  T.contains(err, "[in task " .. t:id() .. "] stack traceback:")
  T.eq(t:status(), "failed")
end)

T.test("a failing map item cancels the others promptly", function()
  local finished = 0
  local t0 = opro.now()
  local err = T.raises(function()
    opro.map({ 1, 2, 3, 4 }, function(x)
      if x == 2 then opro.sleep(0.01) error("item two is bad") end
      opro.sleep(30)
      finished = finished + 1
    end)
  end, "item two is bad")
  T.contains(err, "stack traceback")
  T.ok(opro.now() - t0 < 5, "did not wait for the 30 s sleepers")
  opro.sleep(0.05)
  T.eq(finished, 0, "cancelled tasks never resumed")
end)

T.test("cancel closes to-be-closed variables of the cancelled task", function()
  local closed = false
  local t = opro.spawn(function()
    local guard <close> = setmetatable({}, { __close = function() closed = true end })
    opro.sleep(60)
  end)
  opro.sleep(0.01)
  t:cancel()
  T.eq(t:status(), "cancelled")
  T.ok(closed, "__close ran")
  T.raises(function() opro.wait(t) end, "was cancelled")
end)

T.test("cancelling a task cancels the tasks it spawned", function()
  local child
  local parent = opro.spawn(function()
    child = opro.spawn(function() opro.sleep(60) end)
    opro.sleep(60)
  end)
  opro.sleep(0.01)
  parent:cancel()
  T.eq(child:status(), "cancelled")
end)

T.test("a task bound with <close> is cancelled at scope end", function()
  local t
  do
    local tt <close> = opro.spawn(function() opro.sleep(60) end)
    t = tt
  end
  T.eq(t:status(), "cancelled")
end)

T.test("sleep orders wakeups by deadline", function()
  local order = {}
  local ts = {}
  for _, d in ipairs({ 0.03, 0.01, 0.02, 0.0 }) do
    ts[#ts + 1] = opro.spawn(function() opro.sleep(d) order[#order + 1] = d end)
  end
  opro.wait(ts)
  T.eq(order, { 0.0, 0.01, 0.02, 0.03 })
end)

T.test("coroutine.yield inside a task lets other tasks run", function()
  local log = {}
  local a = opro.spawn(function() for i = 1, 3 do log[#log + 1] = "a" .. i; coroutine.yield() end end)
  local b = opro.spawn(function() for i = 1, 3 do log[#log + 1] = "b" .. i; coroutine.yield() end end)
  opro.wait({ a, b })
  T.eq(table.concat(log, " "), "a1 b1 a2 b2 a3 b3")
end)

T.test("misuse raises clear errors", function()
  T.raises(function() opro.sleep(-1) end, "seconds must be a number >= 0")
  T.raises(function() opro.sleep("x") end, "number expected")
  T.raises(function() opro.spawn(42) end, "function expected")
  T.raises(function() opro.wait(42) end, "task or list of tasks expected")
  T.raises(function() opro.wait({ 1 }) end, "item 1 is a number, not a task")
  T.raises(function() opro.map({ 1 }, function() end, { concurrency = 0 }) end, "concurrency must be")
  local co = coroutine.wrap(function() opro.sleep(0.01) end)
  T.raises(co, "must be called inside a task")
  T.raises(function() table.sort({ 3, 2, 1 }, function(a, b) opro.sleep(0) return a < b end) end,
           "yield across a C-call boundary")
  local self_t
  self_t = opro.spawn(function() opro.sleep(0.01); self_t:cancel() end)
  T.raises(function() opro.wait(self_t) end, "cannot cancel itself")
end)

T.test("opro.now is monotonic and in seconds", function()
  local a = opro.now()
  opro.sleep(0.05)
  local b = opro.now()
  T.ok(b - a >= 0.05 and b - a < 1.0, string.format("%.3f", b - a))
end)

T.test("opro.current names the running task", function()
  local inner
  local t = opro.spawn(function() inner = opro.current() end)
  opro.wait(t)
  T.eq(inner, t)
  T.ok(opro.current() ~= nil, "the main chunk is a task")
end)

T.test("cpu_times: user and kernel CPU seconds, growing with work, summing to about os.clock", function()
  local core = require "opro.core.task"
  local u0, s0 = core.cpu_times()
  T.ok(type(u0) == "number" and type(s0) == "number" and u0 >= 0 and s0 >= 0)
  local c0 = os.clock()
  local x = 0
  for i = 1, 3e6 do x = x + i % 7 end           -- user time
  for _ = 1, 200 do io.open("/dev/null"):close() end   -- kernel time
  local u1, s1 = core.cpu_times()
  local c1 = os.clock()
  T.ok(u1 > u0, "user time grew")
  T.ok(s1 >= s0, "kernel time did not go back")
  -- both clocks count this process's CPU: they agree within their resolutions
  T.ok(math.abs((u1 + s1 - u0 - s0) - (c1 - c0)) < 0.05 + 0.5 * (c1 - c0),
    string.format("cpu_times %.4f s vs os.clock %.4f s", u1 + s1 - u0 - s0, c1 - c0))
end)

T.done()
