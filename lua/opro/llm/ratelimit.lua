--- opro.llm.ratelimit: token buckets for requests per minute and tokens per
-- minute. A bucket holds up to `per_minute` and refills at per_minute/60 a
-- second. take(n) removes n at once, going into debt when there is not
-- enough, and sleeps until the debt is repaid: waiters are served in the
-- order they came, and a request larger than the bucket still goes once
-- the bucket has refilled enough.
local core = require "opro.core.task"

local now, sleep = core.now, core.sleep

local M = {}
local Bucket = {}
Bucket.__index = Bucket

function M.bucket(per_minute)
  if type(per_minute) ~= "number" or not (per_minute > 0) then
    error("rate limit must be a number > 0 (per minute)", 2)
  end
  return setmetatable({ cap = per_minute, rate = per_minute / 60, level = per_minute, t = now() }, Bucket)
end

local function refill(self)
  local t = now()
  local level = self.level + (t - self.t) * self.rate
  if level > self.cap then level = self.cap end
  self.level, self.t = level, t
  return level
end

--- Takes n (waiting in the calling task while the bucket is in debt).
function Bucket:take(n)
  local level = refill(self) - n
  self.level = level
  if level < 0 then sleep(-level / self.rate) end
end

--- Corrects an earlier estimate: `delta` = actual - estimated.
function Bucket:adjust(delta)
  local level = refill(self) - delta
  if level > self.cap then level = self.cap end
  self.level = level
end

--- The amount available now (negative while in debt).
function Bucket:available()
  return refill(self)
end

return M
