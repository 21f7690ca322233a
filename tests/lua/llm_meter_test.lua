-- opro.llm.meter: totals, reservations and budgets.
local T = require "testlib"

T.test("totals add up settled calls, retries and cache hits", function()
  local m = opro.llm.meter()
  local t = assert(m:reserve(1, 100, 0.01))
  m:settle(t, 1, 60, 20, 0.004, false)
  m:add_retry(); m:add_cache_hit()
  T.eq(m:totals(), { calls = 1, retries = 1, cache_hits = 1, failures = 0, input_tokens = 60, output_tokens = 20, cost = 0.004 })
  T.eq(m.r_calls, 0)
  T.eq(m.r_tokens, 0)
  T.match(tostring(m), "1 calls")
end)

T.test("calls budget: in-flight reservations count; a refusal says why", function()
  local m = opro.llm.meter{ budget = { calls = 2 } }
  local a = assert(m:reserve(1, 10, 0))
  local b = assert(m:reserve(1, 10, 0))
  local none, msg = m:reserve(1, 10, 0)
  T.eq(none, nil)
  T.contains(msg, "2 of 2 calls")
  m:settle(a, 1, 5, 5, 0, false)
  m:settle(b, 1, 5, 5, 0, true)
  T.eq(m:totals().failures, 1)
  T.eq(m:reserve(1, 1, 0), nil, "finished calls still count")
end)

T.test("token and dollar budgets refuse a call before it could exceed them", function()
  local m = opro.llm.meter{ budget = { tokens = 1000, usd = 0.01 } }
  local t = assert(m:reserve(1, 900, 0.001))
  T.eq(m:reserve(1, 200, 0.001), nil, "900 reserved + 200 > 1000")
  m:settle(t, 1, 100, 100, 0.001, false)       -- used less than reserved
  T.ok(m:reserve(1, 700, 0.001), "200 used + 700 <= 1000")
  local m2 = opro.llm.meter{ budget = { usd = 0.01 } }
  local t2 = assert(m2:reserve(1, 10, 0.009))
  m2:settle(t2, 1, 10, 10, 0.009, false)
  local none, msg = m2:reserve(1, 10, 0.002)
  T.eq(none, nil)
  T.contains(msg, "$0.0090 of $0.0100")
  T.near(m2:remaining().usd, 0.001, 1e-12)
end)

T.test("a token or dollar refusal says whether waiting for the calls in flight could help", function()
  local m = opro.llm.meter{ budget = { tokens = 1000, usd = 1, calls = 10 } }
  local a = assert(m:reserve(1, 900, 0.5))
  local none, msg, may_wait = m:reserve(1, 300, 0.1)
  T.eq(none, nil); T.contains(msg, "tokens"); T.eq(may_wait, true, "300 fits in the 0 really used")
  none, msg, may_wait = m:reserve(1, 1200, 0.1)
  T.eq(may_wait, false, "1200 can never fit")
  none, msg, may_wait = m:reserve(1, 10, 0.6)
  T.contains(msg, "$"); T.eq(may_wait, true)
  local woke = false
  local t = opro.spawn(function()
    local ticket, _, wait = m:reserve(1, 300, 0.1)
    while not ticket and wait do
      T.ok(m:wait_settle())
      ticket, _, wait = m:reserve(1, 300, 0.1)
    end
    woke = ticket ~= nil
  end)
  opro.sleep(0.01)
  T.eq(woke, false, "parked while the first call is in flight")
  m:settle(a, 1, 50, 50, 0.05, false)
  opro.wait(t)
  T.eq(woke, true, "woken by the settle and reserved")
  local c = opro.llm.meter{ budget = { calls = 1 } }
  assert(c:reserve(1, 1, 0))
  none, msg, may_wait = c:reserve(1, 1, 0)
  T.eq(may_wait, nil, "a calls budget never waits: calls in flight always count")
end)

T.test("bad budgets raise", function()
  T.raises(function() opro.llm.meter{ budget = { dollars = 1 } } end, "unknown budget field 'dollars'")
  T.raises(function() opro.llm.meter{ budget = { usd = -1 } } end, ">= 0")
  T.raises(function() opro.llm.meter{ budgte = {} } end, "unknown option")
end)

T.done()
