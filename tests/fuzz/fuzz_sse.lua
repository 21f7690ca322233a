--- Fuzz target: opro.llm.sse, the event-stream parser. The input is a
-- stream; it is parsed whole, in chunks cut at points derived from the
-- input, and (when short) byte by byte: every way must give the same events
-- and the same "ended cleanly" flag, and every event must be well formed.
local sse = require "opro.llm.sse"

local fail = require("tests.fuzz.harness").fail

local function check_event(ev, i)
  if type(ev) ~= "table" then fail("event %d is a %s", i, type(ev)) end
  if type(ev.event) ~= "string" or type(ev.data) ~= "string" or type(ev.id) ~= "string" then
    fail("event %d: event, data and id must be strings", i)
  end
  -- a field value ends at a line end; data lines are joined with "\n" only
  if ev.event:find("[\r\n]") then fail("event %d: the event name holds a line break", i) end
  if ev.data:find("\r", 1, true) then fail("event %d: data holds a CR", i) end
  if ev.id:find("[\r\n%z]") then fail("event %d: the id holds a line break or NUL", i) end
end

local function same(a, b, how)
  if #a ~= #b then fail("%s: %d events, whole: %d", how, #a, #b) end
  for i = 1, #a do
    local x, y = a[i], b[i]
    if x.event ~= y.event or x.data ~= y.data or x.id ~= y.id then
      fail("%s: event %d differs: %q/%q/%q vs whole %q/%q/%q", how, i, x.event, x.data, x.id, y.event, y.data, y.id)
    end
  end
end

local function feed_cuts(data, cuts)
  local p = sse.parser()
  local out = {}
  local last = 1
  for _, c in ipairs(cuts) do
    for _, e in ipairs(p:feed(data:sub(last, c - 1))) do out[#out + 1] = e end
    last = c
  end
  for _, e in ipairs(p:feed(data:sub(last))) do out[#out + 1] = e end
  return out, p:close()
end

return function(data)
  local events, clean = sse.parse(data)
  if type(events) ~= "table" or type(clean) ~= "boolean" then fail("parse returned %s, %s", type(events), type(clean)) end
  for i, ev in ipairs(events) do check_event(ev, i) end
  if #events > #data // 2 then fail("%d events from %d bytes", #events, #data) end

  -- chunks: three cut points from a small generator seeded by the input,
  -- and one right after the first CR (a CRLF split across chunks)
  local n = #data
  local seed = n
  for i = 1, math.min(n, 16) do seed = (seed * 31 + data:byte(i)) & 0xFFFFFFFF end
  local cuts = {}
  for _ = 1, 3 do
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    cuts[#cuts + 1] = seed % (n + 2) + 1
  end
  local cr = data:find("\r", 1, true)
  if cr then cuts[#cuts + 1] = cr + 1 end
  table.sort(cuts)
  local ev2, clean2 = feed_cuts(data, cuts)
  same(ev2, events, "chunked")
  if clean2 ~= clean then fail("chunked: clean %s, whole %s", clean2, clean) end

  if n <= 48 then
    local every = {}
    for i = 2, n do every[#every + 1] = i end
    local ev3, clean3 = feed_cuts(data, every)
    same(ev3, events, "byte by byte")
    if clean3 ~= clean then fail("byte by byte: clean %s, whole %s", clean3, clean) end
  end
end
