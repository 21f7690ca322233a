--- testlib: a small TAP test library for opro-lua's Lua tests.
--   local T = require "testlib"
--   T.test("adds", function() T.eq(1 + 1, 2) end)
--   T.done()
-- Each test runs inside the main task, so it may sleep, spawn and call
-- LLMs. Output is TAP ("ok N - name" / "not ok N - name"); tests/run counts it.
local T = {}
local n, failed = 0, 0
local cleanups = {}

local function fmt(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" or depth > 3 then return tostring(v) end
  local parts, keys = {}, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. fmt(v[k], depth + 1) end
  return "{" .. table.concat(parts, ", ") .. "}"
end
T.fmt = fmt

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    if type(a) == "number" and type(b) == "number" and a ~= a and b ~= b then return true end
    return false
  end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
T.deep_eq = deep_eq

local function fail(msg, level)
  error(msg, (level or 1) + 2)
end

function T.ok(cond, msg)
  if not cond then fail("expected a true value" .. (msg and (": " .. msg) or ""), 1) end
  return cond
end

function T.eq(actual, expected, msg)
  if not deep_eq(actual, expected) then
    fail(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", fmt(expected), fmt(actual)), 1)
  end
end

function T.ne(actual, unexpected, msg)
  if deep_eq(actual, unexpected) then
    fail(string.format("%sdid not expect %s", msg and (msg .. ": ") or "", fmt(actual)), 1)
  end
end

function T.near(actual, expected, tol, msg)
  if type(actual) ~= "number" or math.abs(actual - expected) > tol then
    fail(string.format("%sexpected %s ± %s, got %s", msg and (msg .. ": ") or "", expected, tol, tostring(actual)), 1)
  end
end

function T.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail(string.format("%sexpected a string matching %q, got %s", msg and (msg .. ": ") or "", pattern, fmt(s)), 1)
  end
end

function T.contains(s, plain, msg)
  if type(s) ~= "string" or not s:find(plain, 1, true) then
    fail(string.format("%sexpected a string containing %q, got %s", msg and (msg .. ": ") or "", plain, fmt(s)), 1)
  end
end

--- actual must equal the long text expected byte for byte; a difference is
-- reported at its first byte, with the whole line around it on both sides.
function T.same_text(actual, expected, msg)
  if actual == expected then return end
  if type(actual) ~= "string" then fail(string.format("%sexpected a string, got %s", msg and (msg .. ": ") or "", fmt(actual)), 1) end
  local i = 1
  while i <= #expected and i <= #actual and expected:byte(i) == actual:byte(i) do i = i + 1 end
  local line = select(2, expected:sub(1, i - 1):gsub("\n", "")) + 1
  local function around(s)
    local a = i
    while a > 1 and s:sub(a - 1, a - 1) ~= "\n" do a = a - 1 end
    local b = s:find("\n", i, true) or (#s + 1)
    return string.format("%q", s:sub(a, b - 1))
  end
  fail(string.format("%sfirst difference at byte %d (line %d; expected %d bytes, got %d)\n  expected line: %s\n  actual line:   %s",
    msg and (msg .. ": ") or "", i, line, #expected, #actual, around(expected), around(actual)), 1)
end

--- fn must raise an error whose message contains `plain` (when given).
function T.raises(fn, plain, msg)
  local ok, err = pcall(fn)
  if ok then fail("expected an error" .. (msg and (": " .. msg) or ""), 1) end
  if plain and not tostring(err):find(plain, 1, true) then
    fail(string.format("expected an error containing %q, got %q", plain, tostring(err)), 1)
  end
  return err
end

function T.test(name, fn)
  n = n + 1
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    io.write(string.format("ok %d - %s\n", n, name))
  else
    failed = failed + 1
    io.write(string.format("not ok %d - %s\n", n, name))
    for line in tostring(err):gmatch("[^\n]+") do io.write("# ", line, "\n") end
  end
  io.flush()
end

function T.skip(name, reason)
  n = n + 1
  io.write(string.format("ok %d - %s # SKIP %s\n", n, name, reason))
  io.flush()
end

--- Runs fn at T.done() (or process end of the test file).
function T.cleanup(fn) cleanups[#cleanups + 1] = fn end

function T.done()
  for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
  cleanups = {}
  io.write(string.format("1..%d\n", n))
  io.flush()
  os.exit(failed == 0 and 0 or 1)
end

--- The repository's top directory (tests/run exports OPRO_ROOT).
T.root = os.getenv("OPRO_ROOT") or "."
T.bin = os.getenv("OPRO_BIN") or (T.root .. "/bin/opro-lua")
--- The opro-sim binary the integration tests start.
T.sim = os.getenv("OPRO_SIM") or (T.root .. "/bin/opro-sim")

--- A fresh temporary directory, removed at T.done().
function T.tmpdir()
  local p = io.popen("mktemp -d /tmp/opro-test.XXXXXX")
  local dir = p:read("l")
  p:close()
  T.cleanup(function() os.execute("rm -rf '" .. dir .. "'") end)
  return dir
end

function T.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

function T.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function shquote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
T.shquote = shquote

--- Runs a shell command; returns exit code, stdout, stderr.
function T.sh(cmd)
  local dir = T.tmpdir()
  local ok, how, code = os.execute(string.format("(%s) >%s/out 2>%s/err", cmd, dir, dir))
  local rc = ok and 0 or (how == "exit" and code or 128 + (code or 0))
  return rc, T.read(dir .. "/out") or "", T.read(dir .. "/err") or ""
end

--- Runs bin/opro-lua with the given argument string.
function T.run(args)
  return T.sh(shquote(T.bin) .. " " .. args)
end

return T
