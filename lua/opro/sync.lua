--- opro.sync: coordination between tasks — semaphores and events.
-- Waiting tasks are parked (no polling) and woken in FIFO order. A task
-- cancelled while waiting gives back nothing it did not get, and a permit
-- it was handed but never used goes to the next waiter.
local core = require "opro.core.task"

local M = {}

local Semaphore = {}
Semaphore.__index = Semaphore

--- A counting semaphore with `n` permits.
function M.semaphore(n)
  if math.type(n) ~= "integer" or n < 0 then
    error("bad argument #1 to 'semaphore' (integer >= 0 expected)", 2)
  end
  return setmetatable({ permits = n, queue = {}, head = 1, tail = 0, granted = {} }, Semaphore)
end

--- Takes a permit, waiting in FIFO order when none is free.
function Semaphore:acquire()
  if self.permits > 0 and self.head > self.tail then
    self.permits = self.permits - 1
    return
  end
  local me = core.current()
  if not me then error("semaphore:acquire must be called inside a task", 2) end
  self.tail = self.tail + 1
  self.queue[self.tail] = me
  local done = false
  -- runs if the task is cancelled while parked: pass on a permit it was given
  local guard <close> = setmetatable({}, { __close = function()
    if not done and self.granted[me] then
      self.granted[me] = nil
      self:release()
    end
  end })
  while not self.granted[me] do core.park() end
  self.granted[me] = nil
  done = true
end

--- Gives a permit back (to the first live waiter, if any).
function Semaphore:release()
  while self.head <= self.tail do
    local t = self.queue[self.head]
    self.queue[self.head] = nil
    self.head = self.head + 1
    local st = t:status()
    if st ~= "cancelled" and st ~= "done" and st ~= "failed" then
      self.granted[t] = true
      core.unpark(t)
      return
    end
  end
  self.permits = self.permits + 1
end

--- Runs fn(...) holding a permit; the permit is returned even on error.
function Semaphore:with(fn, ...)
  self:acquire()
  local guard <close> = setmetatable({}, { __close = function() self:release() end })
  return fn(...)
end

--- Tasks waiting for a permit.
function Semaphore:waiting()
  return self.tail - self.head + 1
end

local Event = {}
Event.__index = Event

--- An event: tasks wait() until someone calls set().
function M.event()
  return setmetatable({ is_set = false, waiters = {} }, Event)
end

function Event:set()
  self.is_set = true
  local w = self.waiters
  self.waiters = {}
  for _, t in ipairs(w) do core.unpark(t) end
end

function Event:wait()
  while not self.is_set do
    local me = core.current()
    if not me then error("event:wait must be called inside a task", 2) end
    self.waiters[#self.waiters + 1] = me
    core.park()
  end
end

return M
