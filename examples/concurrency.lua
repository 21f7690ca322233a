-- concurrency.lua: how opro-lua runs many waits at once.
--   opro-lua examples/concurrency.lua [N] [SECONDS]
-- Starts N tasks (default 100) that each sleep SECONDS (default 0.2) and
-- shows that together they take about SECONDS, not N x SECONDS: every
-- blocking call (sleep, HTTP, LLM) yields its task to the one event loop.
if arg[1] == "-h" or arg[1] == "--help" then
  print("usage: opro-lua examples/concurrency.lua [N] [SECONDS]\n" ..
        "Runs N tasks (default 100) that each sleep SECONDS (default 0.2) and shows\n" ..
        "they take about SECONDS in all: every blocking call yields to the event loop.")
  os.exit(0)
end
local n = math.tointeger(tonumber(arg[1] or "100"))
local secs = tonumber(arg[2] or "0.2")
if not n or n < 1 or not secs or secs < 0 then
  io.stderr:write("usage: opro-lua examples/concurrency.lua [N>=1] [SECONDS>=0]\n")
  os.exit(2)
end
local list = {}
for i = 1, n do list[i] = i end
local t0 = opro.now()
local squares = opro.map(list, function(i)
  opro.sleep(secs)
  return i * i
end)
local wall = opro.now() - t0
local sum = 0
for _, v in ipairs(squares) do sum = sum + v end
print(string.format("%d tasks slept %.2f s each: %.3f s in all (sequentially: %.1f s); sum of squares %d",
  n, secs, wall, n * secs, sum))
