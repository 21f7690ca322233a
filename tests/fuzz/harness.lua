--- The fuzz targets' shared helpers (tests/fuzz/fuzz_*.lua; embedded with
-- them, see mk/fuzz.mk). An error that escapes a target is a finding.
local M = {}

--- Reports a finding: error(format(fmt, ...)) without a position.
function M.fail(fmt, ...) error(string.format(fmt, ...), 0) end

--- Runs f(...) and returns its results; an error it raises is a finding
-- named `what`, with its traceback.
function M.call(what, f, ...)
  local r = table.pack(xpcall(f, debug.traceback, ...))
  if not r[1] then M.fail("%s raised: %s", what, tostring(r[2])) end
  return table.unpack(r, 2, r.n)
end

return M
