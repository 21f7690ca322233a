-- `make install` lays out a tree whose opro-lua finds its library from
-- any directory, with no environment variable.
local T = require "testlib"

local dest = T.tmpdir()
local rc, out, err = T.sh(string.format("cd %s && make -s install DESTDIR=%s PREFIX=/usr SANITIZE=%s",
  T.shquote(T.root), dest, os.getenv("OPRO_SANITIZE") or ""))

T.test("make install DESTDIR=... PREFIX=/usr succeeds", function()
  T.eq(rc, 0, out .. err)
end)

T.test("the installed binary runs from another directory and loads the library", function()
  local bin = dest .. "/usr/bin/opro-lua"
  local rc2, out2, err2 = T.sh("cd / && env -u LUA_PATH " .. T.shquote(bin) ..
    " -e 'local o = require \"opro\"; print(type(o.map), type(require(\"cjson\").encode))'")
  T.eq(rc2, 0, err2)
  T.eq(out2, "function\tfunction\n")
end)

T.test("the man page, Lua sources and docs are installed", function()
  T.ok(T.read(dest .. "/usr/share/man/man1/opro-lua.1"), "man page")
  T.ok(T.read(dest .. "/usr/share/man/man1/opro-sim.1"), "opro-sim's man page")
  T.ok(T.read(dest .. "/usr/bin/opro-sim"), "opro-sim")
  T.ok(T.read(dest .. "/usr/share/opro-lua/examples/gsm8k.lua"), "examples")
  T.ok(T.read(dest .. "/usr/share/opro-lua/lua/opro/init.lua"), "lua/opro/init.lua")
  T.ok(T.read(dest .. "/usr/share/opro-lua/docs/ARCHITECTURE.md"), "docs")
end)

T.done()
