--- opro.llm.retry: when and how long to wait before retrying, as the
-- official OpenAI and Anthropic SDKs do: connection errors, timeouts, 408,
-- 409, 429 and every status >= 500 are retried; the wait is
-- min(0.5 * 2^n, 8) seconds times a jitter in (0.75, 1], unless the server
-- says how long (retry-after-ms, Retry-After as seconds or an HTTP-date).
local M = {}

M.INITIAL_DELAY = 0.5
M.MAX_DELAY = 8.0

local transport = { timeout = true, connect = true, reset = true, transport = true, bad_response = true }

--- Whether a failed attempt may be retried: `status` (HTTP status or nil),
-- `code` (the failure code), `headers` (response headers or nil).
function M.retryable(status, code, headers)
  if headers then
    local should = headers["x-should-retry"]
    if should == "true" then return true end
    if should == "false" then return false end
  end
  if status and status ~= 0 and code ~= "bad_response" then
    return status == 408 or status == 409 or status == 429 or status >= 500
  end
  return transport[code] == true
end

--- The backoff before retry number `n` (0 for the first retry), with the
-- SDKs' jitter; `rand` (default math.random) returns a number in [0, 1).
function M.backoff(n, rand)
  local d = M.INITIAL_DELAY * 2.0 ^ n
  if d > M.MAX_DELAY then d = M.MAX_DELAY end
  return d * (1 - 0.25 * (rand or math.random)())
end

local months = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6,
                 jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12 }

-- days since 1970-01-01 of a proleptic Gregorian date
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch (UTC) of an HTTP-date in any of the three forms
-- RFC 9110 accepts (IMF-fixdate, RFC 850, asctime), or nil.
function M.http_date(s)
  local d, mon, y, hh, mm, ss = s:match("^%a+,%s*(%d%d?)[%s%-](%a%a%a)[%s%-](%d+)%s+(%d%d):(%d%d):(%d%d)%s*GMT%s*$")
  if not d then
    mon, d, hh, mm, ss, y = s:match("^%a+%s+(%a%a%a)%s+(%d%d?)%s+(%d%d):(%d%d):(%d%d)%s+(%d%d%d%d)%s*$")
  end
  if not d then return nil end
  local m = months[mon:lower()]
  if not m then return nil end
  y = tonumber(y)
  if y < 100 then y = y + (y < 70 and 2000 or 1900) end  -- RFC 850's two-digit years
  return days_from_civil(y, m, tonumber(d)) * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

--- How long the server asked us to wait, in seconds, or nil: retry-after-ms
-- first (OpenAI), then Retry-After as seconds or as an HTTP-date (relative
-- to `now`, seconds since the epoch, default os.time()).
function M.retry_after(headers, now)
  if not headers then return nil end
  local ms = headers["retry-after-ms"]
  if ms then
    local v = tonumber(ms)
    if v and v >= 0 and v < math.huge then return v / 1000 end
  end
  local ra = headers["retry-after"]
  if not ra then return nil end
  local v = ra:match("^%s*(%d+%.?%d*)%s*$")
  if v then return tonumber(v) end
  local t = M.http_date(ra)
  if t then
    local dt = t - (now or os.time())
    return dt > 0 and dt or 0
  end
  return nil
end

--- The wait before retry number `n`: the server's retry-after when it gave
-- one (never less: a 429 is never retried sooner than it says), else the
-- backoff. Returns nil when the server asks for more than `max_wait`.
function M.delay(n, headers, max_wait, rand, now)
  local ra = M.retry_after(headers, now)
  if ra then
    if ra > (max_wait or 60) then return nil, ra end
    if ra > 0 then return ra, ra end
  end
  return M.backoff(n, rand), ra
end

return M
