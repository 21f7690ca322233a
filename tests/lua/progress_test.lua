-- opro.progress: plain lines off a terminal, one redrawn line on one,
-- nothing when quiet.
local T = require "testlib"
local progress = require "opro.progress"
local term = require "opro.core.term"

local dir = T.tmpdir()

local function capture(opts, fn)
  local path = dir .. "/out" .. math.random(1e9)
  local f = assert(io.open(path, "w"))
  opts.stream = f
  local p = progress.new(opts)
  fn(p)
  f:close()
  return T.read(path)
end

T.test("term.isatty and term.width on files and descriptors", function()
  local f = assert(io.open(dir .. "/plain", "w"))
  T.eq(term.isatty(f), false)
  T.eq(term.width(f), nil)
  f:close()
  T.raises(function() term.isatty(f) end, "closed file")
  T.eq(term.isatty(0), false, "tests run with stdin from /dev/null")
  T.raises(function() term.isatty("x") end, "file descriptor or file")
end)

T.test("not a terminal: one plain line per new step, log lines, a final line", function()
  local now = 0
  local out = capture({ total_steps = 4, clock = function() return now end }, function(p)
    T.eq(p.tty, false)
    p:update{ step = 1, candidates = 8, inflight = 3, tokens = 1500, cost = 0.0123, best = 0.5 }
    now = 10
    p:update{ inflight = 2 }         -- same step: no new line
    p:log("a message")
    p:update{ step = 2, candidates = 16, best = 0.75, tokens = 25000 }
    p:finish()
  end)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 4, out)
  T.match(lines[1], "^%d%d:%d%d:%d%d step 1/4 | 8 candidates | 3 in flight | 1.5k tokens | %$0.0123 | best 0.5 | ETA")
  T.eq(lines[2], "a message")
  T.match(lines[3], "step 2/4 | 16 candidates | 2 in flight | 25k tokens")
  T.match(lines[3], "best 0.75 | ETA 10s$", "2 of 4 steps in 10 s: 10 s left")
  T.match(lines[4], "step 2/4 .* | 10s$")
  T.eq(out:find("\27", 1, true), nil, "no control codes")
end)

T.test("quiet: nothing at all", function()
  local out = capture({ total_steps = 2, quiet = true }, function(p)
    p:update{ step = 1, candidates = 1 }
    p:log("hidden")
    p:finish()
  end)
  T.eq(out, "")
end)

T.test("a terminal: one line redrawn in place, rate-limited, truncated to the width", function()
  local now = 0
  local out = capture({ total_steps = 10, tty = true, width = 60, interval = 0.5,
                        clock = function() return now end }, function(p)
    p:update{ step = 1, candidates = 0 }               -- draws (new step)
    for i = 1, 50 do now = now + 0.001; p:update{ candidates = i } end   -- within 0.5 s: no redraw
    now = now + 1
    p:update{ candidates = 99, inflight = 7 }           -- due: redraws
    p:log("between")
    p:finish()
  end)
  local _, draws = out:gsub("\r\27%[K", "")
  -- step 1, the due redraw, log: clear + redraw, finish: clear
  T.eq(draws, 5, T.fmt(out))
  T.contains(out, "\r\27[Kbetween\n")
  local segs = {}
  for seg in out:gmatch("\r\27%[K([^\r\n]*)") do segs[#segs + 1] = seg end
  for i = 1, #segs - 1 do   -- the last is finish's permanent line
    T.ok(#segs[i] <= 59, "status line longer than the width: " .. segs[i])
  end
  T.contains(out, "step 1/10 | 99 candidates | 7 in flight")
  T.eq(out:sub(-1), "\n", "finish leaves a new line")
end)

T.test("a narrow terminal: short labels, then the least useful fields go; step, best and ETA stay", function()
  local f = assert(io.open(dir .. "/narrow", "w"))
  local p = progress.new{ total_steps = 10, reps = 2, tty = true, width = 200, stream = f,
                          clock = function() return 0 end }
  p.started = -30                                -- 3 of 20 steps in 30 s: 170 s left
  p:update{ rep = 1, step = 3, candidates = 24, inflight = 5, tokens = 12000, cost = 0.02, best = 0.81 }
  local full = "rep 1/2 | step 3/10 | 24 candidates | 5 in flight | 12k tokens | $0.0200 | best 0.81 | ETA 2m50s"
  T.eq(p:line(), full)
  T.eq(p:line(97), full)
  T.eq(p:line(96), "rep 1/2 | step 3/10 | 24 cand | 5 fly | 12k tok | $0.0200 | best 0.81 | ETA 2m50s")
  T.eq(p:line(80), "rep 1/2 | step 3/10 | 24 cand | 12k tok | $0.0200 | best 0.81 | ETA 2m50s")
  T.eq(p:line(70), "rep 1/2 | step 3/10 | 12k tok | $0.0200 | best 0.81 | ETA 2m50s")
  T.eq(p:line(60), "rep 1/2 | step 3/10 | $0.0200 | best 0.81 | ETA 2m50s")
  T.eq(p:line(50), "rep 1/2 | step 3/10 | best 0.81 | ETA 2m50s")
  T.eq(p:line(40), "step 3/10 | best 0.81 | ETA 2m50s")
  T.eq(p:line(20), "step 3/10 | best 0.")
  for w = 10, 120 do T.ok(#p:line(w) <= w - 1, "width " .. w) end
  -- what a terminal of 80 columns shows
  p.width = 80
  p:update{ step = 4 }
  f:close()
  T.contains(T.read(dir .. "/narrow"), "\r\27[Krep 1/2 | step 4/10 | 24 cand | 12k tok | $0.0200 | best 0.81 | ETA ")
end)

T.test("rep/reps and ETA over all repetitions", function()
  local now = 0
  local out = capture({ total_steps = 5, reps = 2, clock = function() return now end }, function(p)
    now = 20
    p:update{ rep = 2, step = 5 }   -- 10 of 10 steps done in 20 s
    now = 25
    p:update{ rep = 2, step = 5, best = 1 }
  end)
  T.match(out, "rep 2/2 | step 5/5 .* | ETA 0s\n$")
  -- concurrent reps: done counts the steps of all reps
  now = 0
  out = capture({ total_steps = 5, reps = 2, clock = function() return now end }, function(p)
    now = 20
    p:update{ rep = 2, step = 2, done = 4 }    -- both reps at step 2: 4 of 10 steps in 20 s
  end)
  T.match(out, "rep 2/2 | step 2/5 .* | ETA 30s\n$")
end)

T.test("bad arguments raise", function()
  T.raises(function() progress.new{ total_steps = "ten" } end, "field 'total_steps' must be a number")
  T.raises(function() progress.new{ stream = "stderr" } end, "field 'stream' must be an open file")
  local p = progress.new{ quiet = true }
  T.raises(function() p:update{ step = "one" } end, "field 'step' must be a number")
  T.raises(function() p:update(3) end, "a table of fields expected")
end)

local has_script = os.execute("command -v script >/dev/null 2>&1")
if has_script then
  T.test("under a real terminal (script -qc) the line is redrawn with control codes", function()
    local s = T.write(dir .. "/tty.lua", [[
      local p = opro.progress.new{ total_steps = 3 }
      io.stdout:write("tty=", tostring(p.tty), " width=", tostring(p.width), "\n")
      for step = 1, 3 do p:update{ step = step, candidates = step * 8, best = step / 10 } end
      p:finish()
    ]])
    local rc, out = T.sh(string.format("script -qec %s /dev/null",
      T.shquote(T.shquote(T.bin) .. " " .. T.shquote(s))))
    T.eq(rc, 0, out)
    T.contains(out, "tty=true")
    T.contains(out, "\r\27[Kstep 3/3 | 24 candidates")
    -- the same script off a terminal prints plain lines
    local rc2, _, err2 = T.run(T.shquote(s))
    T.eq(rc2, 0)
    T.eq(err2:find("\27", 1, true), nil)
    local _, nl = err2:gsub("\n", "")
    T.eq(nl, 4, err2)
  end)
else
  T.skip("under a real terminal (script -qc)", "script(1) is not installed (Debian package bsdutils)")
end

T.done()
