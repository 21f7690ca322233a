-- opro.llm.retry: which failures are retried, the backoff schedule and
-- the parsing of retry-after-ms / Retry-After (seconds and HTTP-dates).
local T = require "testlib"
local retry = require "opro.llm.retry"

T.test("retried: 408, 409, 429, every status >= 500 (529 too), transport failures, bad JSON", function()
  for _, s in ipairs({ 408, 409, 429, 500, 502, 503, 504, 529, 599 }) do
    T.ok(retry.retryable(s, "http_" .. s, {}), "status " .. s)
  end
  for _, s in ipairs({ 400, 401, 403, 404, 413, 422 }) do
    T.ok(not retry.retryable(s, "http_" .. s, {}), "status " .. s)
  end
  for _, c in ipairs({ "timeout", "connect", "reset", "transport" }) do T.ok(retry.retryable(nil, c, nil), c) end
  T.ok(retry.retryable(200, "bad_response", {}), "a 2xx with a malformed body")
  T.ok(not retry.retryable(nil, "budget", nil))
end)

T.test("x-should-retry overrides the status", function()
  T.ok(retry.retryable(400, "http_400", { ["x-should-retry"] = "true" }))
  T.ok(not retry.retryable(500, "http_500", { ["x-should-retry"] = "false" }))
end)

T.test("backoff is min(0.5 * 2^n, 8) s times a jitter in (0.75, 1]", function()
  local want = { 0.5, 1, 2, 4, 8, 8, 8 }
  for n = 0, 6 do
    T.near(retry.backoff(n, function() return 0 end), want[n + 1], 1e-12, "no jitter, retry " .. n)
    T.near(retry.backoff(n, function() return 0.999999 end), want[n + 1] * 0.75, 1e-5, "full jitter, retry " .. n)
  end
  for n = 0, 5 do
    for _ = 1, 50 do
      local d = retry.backoff(n)
      T.ok(d > want[n + 1] * 0.75 - 1e-9 and d <= want[n + 1], "backoff " .. d)
    end
  end
end)

T.test("retry-after-ms wins over Retry-After; seconds may be fractional", function()
  T.eq(retry.retry_after({ ["retry-after-ms"] = "250", ["retry-after"] = "9" }), 0.25)
  T.eq(retry.retry_after({ ["retry-after"] = "2" }), 2)
  T.eq(retry.retry_after({ ["retry-after"] = " 1.5 " }), 1.5)
  T.eq(retry.retry_after({}), nil)
  T.eq(retry.retry_after({ ["retry-after"] = "soon" }), nil)
  T.eq(retry.retry_after({ ["retry-after-ms"] = "x", ["retry-after"] = "3" }), 3)
end)

T.test("HTTP-dates in the three RFC 9110 forms", function()
  local t = 784111777   -- Sun, 06 Nov 1994 08:49:37 GMT
  T.eq(retry.http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t)
  T.eq(retry.http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t)
  T.eq(retry.http_date("Sun Nov  6 08:49:37 1994"), t)
  T.eq(retry.http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0)
  T.eq(retry.http_date("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400)
  T.eq(retry.http_date("not a date"), nil)
  T.eq(retry.retry_after({ ["retry-after"] = "Sun, 06 Nov 1994 08:49:40 GMT" }, t), 3)
  T.eq(retry.retry_after({ ["retry-after"] = "Sun, 06 Nov 1994 08:49:30 GMT" }, t), 0, "a date in the past")
  local soon = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 5)
  local ra = retry.retry_after({ ["retry-after"] = soon })
  T.ok(ra >= 4 and ra <= 5, "5 s ahead: " .. ra)
end)

T.test("delay: the server's wait is never shortened; too long a wait gives up", function()
  local zero = function() return 0.99 end
  T.eq(retry.delay(0, { ["retry-after"] = "1" }, 60, zero), 1)
  T.eq(retry.delay(3, { ["retry-after"] = "1" }, 60, zero), 1, "also when the backoff would be longer")
  T.eq(retry.delay(0, { ["retry-after-ms"] = "20" }, 60, zero), 0.02)
  local d, asked = retry.delay(0, { ["retry-after"] = "3600" }, 60, zero)
  T.eq(d, nil)
  T.eq(asked, 3600)
  T.near(retry.delay(1, {}, 60, function() return 0 end), 1, 1e-12, "no header: backoff")
  T.near(retry.delay(0, { ["retry-after"] = "0" }, 60, function() return 0 end), 0.5, 1e-12, "0: backoff")
end)

T.done()
