--- opro.progress: where a run is.
--   local p = opro.progress.new{ total_steps = 10, reps = 1, quiet = false, stream = io.stderr }
--   p:update{ step = 3, candidates = 24, inflight = 5, tokens = 12000, cost = 0.02, best = 0.81, rep = 1 }
--   p:log("message")   p:finish()
-- On a terminal: one line redrawn in place (at most every `interval`
-- seconds, default 0.1) with step/steps, candidates, calls in flight,
-- tokens, cost, best score and ETA. Not on a terminal: one plain line per
-- new step (and at finish). quiet: nothing at all.
local term = require "opro.core.term"

local M = {}
local P = {}
P.__index = P

local function clock()
  local ok, core = pcall(require, "opro.core.task")
  if ok and core.now then return core.now() end
  return os.clock()
end

local function check(fn, t, field, kind)
  local v = t[field]
  if v ~= nil and type(v) ~= kind then
    error(string.format("%s: field '%s' must be a %s (got %s)", fn, field, kind, type(v)), 3)
  end
  return v
end

--- Creates a progress display. Fields: total_steps, reps, quiet, stream
-- (a file, default io.stderr), tty (force terminal mode on or off),
-- width (columns; default the terminal's), interval (seconds between
-- redraws on a terminal), clock (a function returning seconds; tests).
function M.new(t)
  t = t or {}
  if type(t) ~= "table" then error("opro.progress.new: a table of options expected", 2) end
  local total = check("opro.progress.new", t, "total_steps", "number")
  check("opro.progress.new", t, "reps", "number")
  local stream = t.stream or io.stderr
  if io.type(stream) ~= "file" then error("opro.progress.new: field 'stream' must be an open file", 2) end
  local tty = t.tty
  if tty == nil then tty = term.isatty(stream) end
  local p = setmetatable({
    total = total, reps = t.reps, quiet = t.quiet and true or false, stream = stream, tty = tty,
    width = t.width or (tty and term.width(stream)) or tonumber(os.getenv("COLUMNS")) or 80,
    interval = t.interval or 0.1, clock = t.clock or clock, state = {}, drawn = false,
    last_draw = -math.huge, last_step = nil, shown = "",
  }, P)
  p.started = p.clock()
  return p
end

local function human(n)
  if not n then return "-" end
  if n >= 1e6 then return string.format("%.1fM", n / 1e6) end
  if n >= 1e4 then return string.format("%.0fk", n / 1e3) end
  if n >= 1e3 then return string.format("%.1fk", n / 1e3) end
  return string.format("%d", math.floor(n + 0.5))
end

local function duration(s)
  if not s or s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, s % 60) end
  return string.format("%ds", s)
end

local function score(v)
  if type(v) ~= "number" then return "-" end
  return string.format("%.4g", v)
end

--- Seconds left, from the mean time per step so far (nil when unknown).
function P:eta()
  local s = self.state
  if not (self.total and s.step and s.step > 0) then return nil end
  local reps, rep = self.reps or 1, s.rep or 1
  local done = (rep - 1) * self.total + s.step
  local all = reps * self.total
  local elapsed = self.clock() - self.started
  return elapsed / done * math.max(0, all - done)
end

--- The status text (without terminal control codes).
function P:line()
  local s = self.state
  local parts = {}
  if self.reps and self.reps > 1 then parts[#parts + 1] = string.format("rep %d/%d", s.rep or 1, self.reps) end
  parts[#parts + 1] = string.format("step %s/%s", s.step or 0, self.total or "?")
  parts[#parts + 1] = string.format("%s candidates", s.candidates or 0)
  parts[#parts + 1] = string.format("%s in flight", s.inflight or 0)
  parts[#parts + 1] = string.format("%s tokens", human(s.tokens or 0))
  parts[#parts + 1] = string.format("$%.4f", s.cost or 0)
  parts[#parts + 1] = "best " .. score(s.best)
  local eta = self:eta()
  parts[#parts + 1] = "ETA " .. (eta and duration(eta) or "?")
  return table.concat(parts, " | ")
end

function P:_draw()
  local text = self:line()
  if #text > self.width - 1 then text = text:sub(1, self.width - 1) end
  self.stream:write("\r\27[K", text)
  self.stream:flush()
  self.drawn, self.shown = true, text
  self.last_draw = self.clock()
end

function P:_clear()
  if self.drawn then
    self.stream:write("\r\27[K")
    self.drawn = false
  end
end

--- Updates the counters (any subset of step, candidates, inflight,
-- tokens, cost, best, rep) and redraws when due.
function P:update(t)
  if type(t) ~= "table" then error("progress:update: a table of fields expected", 2) end
  for _, f in ipairs({ "step", "candidates", "inflight", "tokens", "cost", "rep" }) do
    check("progress:update", t, f, "number")
  end
  if t.best ~= nil and type(t.best) ~= "number" then error("progress:update: field 'best' must be a number", 2) end
  local s = self.state
  for k, v in pairs(t) do s[k] = v end
  if self.quiet then return end
  local key = (s.rep or 1) .. ":" .. (s.step or 0)
  if self.tty then
    if key ~= self.last_step or self.clock() - self.last_draw >= self.interval then
      self.last_step = key
      self:_draw()
    end
  elseif key ~= self.last_step then
    self.last_step = key
    self.stream:write(os.date("%H:%M:%S "), self:line(), "\n")
    self.stream:flush()
  end
end

--- Prints a message (above the status line on a terminal).
function P:log(msg)
  if self.quiet then return end
  msg = tostring(msg)
  if self.tty then
    self:_clear()
    self.stream:write(msg, "\n")
    self:_draw()
  else
    self.stream:write(msg, "\n")
    self.stream:flush()
  end
end

--- Final line: the status and the elapsed time; leaves the cursor on a
-- new line.
function P:finish(msg)
  if self.quiet or self.finished then return end
  self.finished = true
  local text = self:line():gsub(" | ETA [^|]*$", "") .. " | " .. duration(self.clock() - self.started)
  if msg then text = text .. " | " .. tostring(msg) end
  if self.tty then
    self:_clear()
    self.stream:write(text, "\n")
  else
    self.stream:write(os.date("%H:%M:%S "), text, "\n")
  end
  self.stream:flush()
end

return M
