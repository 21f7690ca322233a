--- bench/lib/simproc.lua: opro-sim for a benchmark, started and always
-- stopped by the bench itself. A thin layer over tests/lib/simlib.lua (the
-- tests' starter), whose cleanups only run at T.done(): here the sim is
-- killed and its directory removed as soon as the work is done, even when
-- the work raises.
--   local simproc = require "lib.simproc"
--   if not simproc.available() then print(simproc.skip_line("## My bench")) return end
--   simproc.with("--latency-ms 50", function(sim) ... sim.base ... end)
local S = require "simlib"

local M = {}

M.bin = S.bin

--- true when bin/opro-sim (or $OPRO_SIM) exists.
function M.available()
  local f = io.open(M.bin, "rb")
  if f then f:close() return true end
  return false
end

--- A Markdown section saying the bench was skipped because opro-sim is missing.
function M.skip_line(title)
  return string.format("%s\n\nSkipped: %s is not built (run `make`).\n", title, M.bin)
end

--- Starts a simulator (args: opro-sim's options as one string); returns the
-- simlib object (sim.base = "http://127.0.0.1:PORT", sim:stats(), ...).
function M.start(args)
  return S.start("--quiet " .. (args or ""))
end

function M.stop(sim)
  -- wait for the exit (simlib's shutdown) before removing its directory
  if sim.shutdown then sim:shutdown() else sim:stop() end
  if sim.dir then os.execute("rm -rf '" .. sim.dir:gsub("'", "'\\''") .. "'") end
  sim.dir = nil
end

--- Runs fn(sim) with a fresh simulator and stops it afterwards; errors are re-raised.
function M.with(args, fn)
  local sim = M.start(args)
  local ok, a, b, c = xpcall(fn, debug.traceback, sim)
  M.stop(sim)
  if not ok then error(a, 0) end
  return a, b, c
end

return M
