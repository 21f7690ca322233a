-- opro.cli: the examples' shared flag parser.
local T = require "testlib"
local cli = require "opro.cli"

local spec = { name = "x.lua", raise = true, options = cli.common {
  { "data-dir", "string", "datasets", default = "data" },
  { "lambda", "number", "penalty" },
  { "position", "string", "instruction position", choices = { "before_Q", "Q_begin", "Q_end", "A_begin" } },
  { "tags", "list", "tags" },
} }

T.test("defaults apply and dashes become underscores", function()
  local o = assert(cli.parse({}, spec))
  T.eq(o.steps, 10)
  T.eq(o.candidates, 8)
  T.eq(o.data_dir, "data")
  T.eq(o.resume, false)
  T.eq(o.provider, "openai")
end)

T.test("--name value, --name=value, booleans and --no-", function()
  local o = assert(cli.parse({ "--steps", "3", "--base-url=http://127.0.0.1:1", "--json", "--no-quiet",
    "--lambda", "0.5", "--tags", "a,b", "pos1", "--position", "Q_end" }, spec))
  T.eq({ o.steps, o.base_url, o.json, o.quiet, o.lambda, o.tags, o._, o.position },
       { 3, "http://127.0.0.1:1", true, false, 0.5, { "a", "b" }, { "pos1" }, "Q_end" })
end)

T.test("errors name the flag", function()
  local _, e = cli.parse({ "--bogus" }, spec)
  T.eq(e, "unknown option --bogus")
  _, e = cli.parse({ "--steps", "ten" }, spec)
  T.eq(e, '--steps expects an integer, got "ten"')
  _, e = cli.parse({ "--steps" }, spec)
  T.eq(e, "--steps needs a value")
  _, e = cli.parse({ "--position", "middle" }, spec)
  T.contains(e, "--position must be one of before_Q, Q_begin, Q_end, A_begin")
  _, e = cli.parse({ "--resume" }, spec)
  T.contains(e, "--resume needs --db")
end)

T.test("usage lists every option with its default", function()
  local u = cli.usage(spec)
  T.contains(u, "usage: opro-lua x.lua [options]")
  T.contains(u, "--steps INTEGER")
  T.contains(u, "(default 10)")
  T.contains(u, "--data-dir STRING")
  T.contains(u, "-h, --help")
end)

-- writes dir/NAME: a script whose second line is cli.parse(arg, SPEC); returns its path
local function script(dir, name, spec, rest)
  local path = dir .. "/" .. name
  T.write(path, "local cli = require 'opro.cli'\nlocal o = cli.parse(arg, " .. spec .. ")\n" .. (rest or ""))
  return path
end

T.test("a script exits 2 on a bad flag and 0 on --help", function()
  local s = script(T.tmpdir(), "s.lua", "{ name = 's.lua', options = cli.common() }", "print(o.steps)\n")
  local rc, out, err = T.run(s .. " --steps x")
  T.eq(rc, 2)
  T.contains(err, "--steps expects an integer")
  rc, out = T.run(s .. " --help")
  T.eq(rc, 0)
  T.contains(out, "usage: opro-lua s.lua")
  rc, out = T.run(s .. " --steps 4")
  T.eq({ rc, out }, { 0, "4\n" })
end)

T.test("a misspelt spec field or option field is an error at the script's line", function()
  local dir = T.tmpdir()
  -- runner.options { ... }, nil, {...} put the omit list into the spec by mistake once
  local rc, _, err = T.run(script(dir, "s.lua", "{ name = 's.lua', options = cli.common(), { 'x' } }"))
  T.eq(rc, 1)
  T.contains(err, "s.lua:2: cli.parse: unknown option '1'")
  rc, _, err = T.run(script(dir, "t.lua", "{ name = 't.lua', sumary = 'x', options = {} }"))
  T.contains(err, "t.lua:2: cli.parse: unknown option 'sumary' (did you mean 'summary'?)")
  rc, _, err = T.run(script(dir, "u.lua", "{ name = 'u.lua', options = { { 'n', 'integer', 'n', defualt = 3 } } }"))
  T.contains(err, "u.lua:2: cli.parse: --n: unknown option 'defualt' (did you mean 'default'?)")
end)

T.done()
