-- opro.sync: semaphores and events between tasks.
local T = require "testlib"
local sync = require "opro.sync"

T.test("a semaphore caps concurrency and serves waiters in FIFO order", function()
  local sem = sync.semaphore(3)
  local active, peak, order = 0, 0, {}
  local list = {}
  for i = 1, 12 do list[i] = i end
  opro.map(list, function(i)
    sem:acquire()
    order[#order + 1] = i
    active = active + 1
    peak = math.max(peak, active)
    opro.sleep(0.01)
    active = active - 1
    sem:release()
  end)
  T.eq(peak, 3)
  T.eq(order, list)
  T.eq(sem.permits, 3)
end)

T.test("with() returns the permit even when fn raises", function()
  local sem = sync.semaphore(1)
  T.raises(function() sem:with(function() error("inner") end) end, "inner")
  T.eq(sem.permits, 1)
  T.eq(sem:with(function(a, b) return a + b end, 2, 3), 5)
end)

T.test("a waiter cancelled while parked does not lose a permit", function()
  local sem = sync.semaphore(1)
  sem:acquire()
  local waiter = opro.spawn(function() sem:acquire() end)
  opro.sleep(0.01)
  T.eq(sem:waiting(), 1)
  waiter:cancel()
  sem:release()
  T.eq(sem.permits, 1)
  -- and a permit handed to a waiter that is cancelled before running passes on
  sem:acquire()
  local a = opro.spawn(function() sem:acquire() return "a" end)
  local b = opro.spawn(function() sem:acquire() sem:release() return "b" end)
  opro.sleep(0.01)
  sem:release()        -- granted to a, which has not run yet
  a:cancel()           -- a's guard passes the permit to b
  T.eq(opro.wait(b), "b")
  T.eq(sem.permits, 1)
end)

T.test("an event wakes every waiter", function()
  local ev = sync.event()
  local woke = 0
  local ts = {}
  for i = 1, 5 do ts[i] = opro.spawn(function() ev:wait() woke = woke + 1 end) end
  opro.sleep(0.01)
  T.eq(woke, 0)
  ev:set()
  opro.wait(ts)
  T.eq(woke, 5)
  ev:wait()   -- already set: returns at once
end)

T.test("misuse raises", function()
  T.raises(function() sync.semaphore(-1) end, "integer >= 0 expected")
  T.raises(function() sync.semaphore(1.5) end, "integer >= 0 expected")
end)

T.done()
