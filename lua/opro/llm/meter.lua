--- opro.llm.meter: usage, cost and budget shared by the llm objects of a
-- run. A call reserves its estimate before it is sent (calls, tokens,
-- dollars); the call is refused with code "budget" when what is spent plus
-- what is reserved plus the estimate would exceed the budget. When the call
-- ends the reservation is replaced by what it really used. A token or dollar
-- reservation is an upper estimate, so a call that would fit in what is
-- really spent waits for the calls in flight to settle (llm.lua, via
-- wait_settle) rather than being refused while most of the budget is left.
--   local m = opro.llm.meter{ budget = { usd = 1.00, calls = 500, tokens = 1e6 } }
--   m:totals() -> { calls=, retries=, cache_hits=, failures=, input_tokens=, output_tokens=, cost= }
local core = require "opro.core.task"

local M = {}
local Meter = {}
Meter.__index = Meter

local budget_fields = { usd = true, calls = true, tokens = true }

function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("opro.llm.meter: options must be a table", 2) end
  for k in pairs(opts) do
    if k ~= "budget" then error("opro.llm.meter: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local budget = opts.budget
  if budget ~= nil then
    if type(budget) ~= "table" then error("opro.llm.meter: budget must be a table {usd=, calls=, tokens=}", 2) end
    for k, v in pairs(budget) do
      if not budget_fields[k] then error("opro.llm.meter: unknown budget field '" .. tostring(k) .. "'", 2) end
      if type(v) ~= "number" or v < 0 then error("opro.llm.meter: budget." .. k .. " must be a number >= 0", 2) end
    end
  end
  return setmetatable({
    budget = budget,
    calls = 0, retries = 0, cache_hits = 0, failures = 0,
    input_tokens = 0, output_tokens = 0, cost = 0,
    r_calls = 0, r_tokens = 0, r_usd = 0,     -- reserved by calls in flight
    waiters = {},                             -- tasks in wait_settle
  }, Meter)
end

--- Reserves an estimate. Returns a ticket, or nil, a message and whether
-- waiting could help: true when only the reservations of calls in flight
-- stand in the way (the estimate fits in what is really spent), since those
-- calls may use less than they reserved. A calls budget never waits: every
-- call in flight counts as a call when it ends.
function Meter:reserve(calls, tokens, usd)
  local b = self.budget
  if b then
    if b.calls and self.calls + self.r_calls + calls > b.calls then
      return nil, string.format("budget: %d of %d calls used or in flight", self.calls + self.r_calls, b.calls)
    end
    local used = self.input_tokens + self.output_tokens
    if b.tokens and used + self.r_tokens + tokens > b.tokens then
      return nil, string.format("budget: %d of %d tokens used or reserved; the next call may need about %d",
        used + self.r_tokens, b.tokens, tokens), self.r_calls > 0 and used + tokens <= b.tokens
    end
    if b.usd and self.cost + self.r_usd + usd > b.usd + 1e-12 then
      return nil, string.format("budget: $%.4f of $%.4f spent or reserved; the next call may cost about $%.4f",
        self.cost + self.r_usd, b.usd, usd), self.r_calls > 0 and self.cost + usd <= b.usd + 1e-12
    end
  end
  self.r_calls = self.r_calls + calls
  self.r_tokens = self.r_tokens + tokens
  self.r_usd = self.r_usd + usd
  return { calls, tokens, usd, settled = false }   -- (the field made now: no rehash when it is set)
end

--- Parks the current task until a call in flight settles (after a reserve
-- that said waiting could help). Returns false outside a task.
function Meter:wait_settle()
  local me = core.current()
  if not me then return false end
  self.waiters[#self.waiters + 1] = me
  core.park()
  return true
end

--- Ends a reservation: adds what the call really used (usage may be nil
-- for a failed call; failed calls still count as calls).
function Meter:settle(ticket, calls, input_tokens, output_tokens, cost, failed)
  if ticket then
    if ticket.settled then return end
    ticket.settled = true
    self.r_calls = self.r_calls - ticket[1]
    self.r_tokens = self.r_tokens - ticket[2]
    self.r_usd = self.r_usd - ticket[3]
  end
  self.calls = self.calls + calls
  self.input_tokens = self.input_tokens + (input_tokens or 0)
  self.output_tokens = self.output_tokens + (output_tokens or 0)
  self.cost = self.cost + (cost or 0)
  if failed then self.failures = self.failures + 1 end
  if ticket and #self.waiters > 0 then
    local w = self.waiters
    self.waiters = {}
    for _, t in ipairs(w) do
      local st = t:status()
      if st ~= "cancelled" and st ~= "done" and st ~= "failed" then core.unpark(t) end
    end
  end
end

--- Ends a reservation whose call was abandoned (its task cancelled): it
-- counts as a failed call, since its request may have been sent. A
-- settled ticket is left alone.
function Meter:abandon(ticket)
  if ticket and not ticket.settled then self:settle(ticket, 1, 0, 0, 0, true) end
end

function Meter:add_retry() self.retries = self.retries + 1 end
function Meter:add_cache_hit() self.cache_hits = self.cache_hits + 1 end

--- A snapshot of the totals.
function Meter:totals()
  return { calls = self.calls, retries = self.retries, cache_hits = self.cache_hits, failures = self.failures,
           input_tokens = self.input_tokens, output_tokens = self.output_tokens, cost = self.cost }
end

--- What is left of the budget (nil fields have no limit).
function Meter:remaining()
  local b = self.budget or {}
  return {
    calls = b.calls and b.calls - self.calls - self.r_calls,
    tokens = b.tokens and b.tokens - self.input_tokens - self.output_tokens - self.r_tokens,
    usd = b.usd and b.usd - self.cost - self.r_usd,
  }
end

function Meter:__tostring()
  return string.format("opro.llm.meter(%d calls, %d+%d tokens, $%.4f)",
    self.calls, self.input_tokens, self.output_tokens, self.cost)
end

M.Meter = Meter
return M
