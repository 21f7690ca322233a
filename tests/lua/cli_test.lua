-- The opro-lua command line: behaves like `lua`; errors and exit codes.
local T = require "testlib"

T.test("-e runs a statement", function()
  local rc, out = T.run("-e 'print(1+1)'")
  T.eq(rc, 0)
  T.eq(out, "2\n")
end)

T.test("--version and -v print the version", function()
  local rc, out = T.run("--version")
  T.eq(rc, 0)
  T.match(out, "^opro%-lua %d+%.%d+%.%d+ %(Lua 5%.4")
  local rc2, out2 = T.run("-v")
  T.eq({ rc2, out2 }, { 0, out })
end)

T.test("--help prints usage and exits 0", function()
  local rc, out = T.run("--help")
  T.eq(rc, 0)
  T.contains(out, "usage: opro-lua")
  T.contains(out, "opro-lua report run.db", "the subcommands are listed")
  -- every command the help names exists
  local rc2, out2 = T.run("version")
  T.eq(rc2, 0); T.contains(out2, "opro-lua ")
  local rc3, out3 = T.run("report --help")
  T.eq(rc3, 0); T.contains(out3, "usage: opro-lua report")
end)

T.test("an error on line 3 prints script.lua:3: and a traceback, exit 1", function()
  local dir = T.tmpdir()
  T.write(dir .. "/script.lua", "local a = 1\nlocal b = 2\nerror('boom')\n")
  local rc, out, err = T.sh("cd " .. dir .. " && " .. T.shquote(T.bin) .. " script.lua")
  T.eq(rc, 1)
  T.eq(out, "")
  T.match(err, "^opro%-lua: script%.lua:3: boom\nstack traceback:\n")
end)

T.test("a syntax error names file and line, exit 1", function()
  local dir = T.tmpdir()
  T.write(dir .. "/bad.lua", "local x = 1\n\nlocal = 2\n")
  local rc, _, err = T.run(dir .. "/bad.lua")
  T.eq(rc, 1)
  T.contains(err, "bad.lua:3:")
end)

T.test("a missing script is reported, exit 1", function()
  local rc, _, err = T.run("/nonexistent/x.lua")
  T.eq(rc, 1)
  T.contains(err, "cannot open /nonexistent/x.lua")
end)

T.test("usage errors exit 2", function()
  local rc, _, err = T.run("--bogus")
  T.eq(rc, 2)
  T.contains(err, "unknown option '--bogus'")
  rc, _, err = T.run("-e")
  T.eq(rc, 2)
  T.contains(err, "'-e' needs an argument")
  rc = T.run("")
  T.eq(rc, 2)
end)

T.test("the script receives arg and ...", function()
  local dir = T.tmpdir()
  T.write(dir .. "/args.lua", "print(arg[0], arg[1], arg[2], select('#', ...), ...)\n")
  local rc, out = T.run(dir .. "/args.lua one two")
  T.eq(rc, 0)
  T.eq(out, dir .. "/args.lua\tone\ttwo\t2\tone\ttwo\n")
end)

T.test("- reads the script from stdin", function()
  local rc, out = T.sh("echo 'print(opro.now() > 0, ...)' | " .. T.shquote(T.bin) .. " - x")
  T.eq(rc, 0)
  T.eq(out, "true\tx\n")
end)

T.test("-l loads a module as a global; require finds opro and cjson", function()
  local rc, out = T.run("-l cjson -e 'print(cjson.encode({a=1}))'")
  T.eq({ rc, out }, { 0, '{"a":1}\n' })
  rc, out = T.run("-e 'local o = require \"opro\"; print(o == opro, type(o.map))'")
  T.eq({ rc, out }, { 0, "true\tfunction\n" })
end)

T.test("modules beside the script can be required", function()
  local dir = T.tmpdir()
  T.write(dir .. "/helper.lua", "return { answer = 42 }\n")
  T.write(dir .. "/main.lua", "print(require('helper').answer)\n")
  local rc, out = T.sh("cd / && " .. T.shquote(T.bin) .. " " .. dir .. "/main.lua")
  T.eq({ rc, out }, { 0, "42\n" })
end)

T.test("an error in a task nobody waits for is reported, exit 1", function()
  local rc, _, err = T.run("-e 'opro.spawn(function() error(\"lost\") end); opro.sleep(0.01)'")
  T.eq(rc, 1)
  T.contains(err, "nobody waited for it")
  T.contains(err, "lost")
end)

T.test("the process waits for spawned tasks before exiting", function()
  local rc, out = T.run("-e 'opro.spawn(function() opro.sleep(0.05) print(\"late\") end)'")
  T.eq({ rc, out }, { 0, "late\n" })
end)

T.test("tasks that wait on each other forever are reported as a deadlock", function()
  local rc, _, err = T.run("-e 'local a; a = opro.spawn(function() opro.sleep(0) opro.wait(opro.current()) end) opro.wait(a)'")
  T.eq(rc, 1)
  T.contains(err, "wait for itself")
end)

T.test("os.exit works from the main task", function()
  local rc = T.run("-e 'os.exit(3)'")
  T.eq(rc, 3)
end)

T.test("SIGINT stops the run with status 130", function()
  -- the script marks that it runs (the loop's handler is installed by then):
  -- a signal sent earlier to a background job would be ignored, as POSIX says
  local ready = T.tmpdir() .. "/ready"
  local rc, _, err = T.sh(string.format([[%s -e 'io.open(%q, "w"):close() opro.sleep(30)' & pid=$!
    i=0; while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
    kill -INT $pid; wait $pid]], T.shquote(T.bin), ready, ready))
  T.eq(rc, 130)
  T.contains(err, "interrupted")
end)

T.done()
