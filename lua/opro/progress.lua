--- opro.progress: where a run is.
--   local p = opro.progress.new{ total_steps = 10, reps = 1, quiet = false, stream = io.stderr }
--   p:update{ step = 3, candidates = 24, inflight = 5, tokens = 12000, cost = 0.02, best = 0.81, rep = 1,
--             done = 3 }   -- done: steps finished over all reps (for the ETA of concurrent reps)
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
  -- done: steps finished over all reps (reps run concurrently); without
  -- it the reps are taken to run one after another
  local done = s.done or ((rep - 1) * self.total + s.step)
  if done <= 0 then return nil end
  local all = reps * self.total
  local elapsed = self.clock() - self.started
  return elapsed / done * math.max(0, all - done)
end

-- The fields of the status line: full text, a short form, and the order in
-- which they are dropped when the line does not fit (nil: never dropped).
function P:_fields()
  local s = self.state
  local f = {}
  if self.reps and self.reps > 1 then
    local r = string.format("rep %d/%d", s.rep or 1, self.reps)
    f[#f + 1] = { r, r, 5 }
  end
  local st = string.format("step %s/%s", s.step or 0, self.total or "?")
  f[#f + 1] = { st, st }
  f[#f + 1] = { string.format("%s candidates", s.candidates or 0), string.format("%s cand", s.candidates or 0), 2 }
  f[#f + 1] = { string.format("%s in flight", s.inflight or 0), string.format("%s fly", s.inflight or 0), 1 }
  f[#f + 1] = { string.format("%s tokens", human(s.tokens or 0)), string.format("%s tok", human(s.tokens or 0)), 3 }
  local cost = string.format("$%.4f", s.cost or 0)
  f[#f + 1] = { cost, cost, 4 }
  local best = "best " .. score(s.best)
  f[#f + 1] = { best, best }
  local eta = self:eta()
  local e = "ETA " .. (eta and duration(eta) or "?")
  f[#f + 1] = { e, e }
  return f
end

--- The status text (without terminal control codes). With `width`, the
-- text fits in width - 1 columns: short labels first, then the least
-- useful fields (in flight, candidates, tokens, cost, rep) are left out;
-- step, best and ETA stay (cut only when even they do not fit).
function P:line(width)
  local f = self:_fields()
  local function join(short, dropped)
    local parts = {}
    for _, x in ipairs(f) do
      if not (x[3] and x[3] <= dropped) then parts[#parts + 1] = short and x[2] or x[1] end
    end
    return table.concat(parts, " | ")
  end
  local text = join(false, 0)
  if not width or #text <= width - 1 then return text end
  for dropped = 0, 5 do
    text = join(true, dropped)
    if #text <= width - 1 then return text end
  end
  return text:sub(1, math.max(0, width - 1))
end

function P:_draw()
  local text = self:line(self.width)
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
-- tokens, cost, best, rep, done) and redraws when due.
function P:update(t)
  if type(t) ~= "table" then error("progress:update: a table of fields expected", 2) end
  for _, f in ipairs({ "step", "candidates", "inflight", "tokens", "cost", "rep", "done" }) do
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
