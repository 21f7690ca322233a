-- opro.core.sqlite: the generic SQLite binding.
local T = require "testlib"
local sqlite = require "opro.core.sqlite"

local dir = T.tmpdir()

local function fresh(name)
  local db = assert(sqlite.open(dir .. "/" .. name))
  T.cleanup(function() db:close() end)
  return db
end

T.test("open, exec, prepare, step rows with integer/float/text/blob/null", function()
  local db = fresh("types.db")
  assert(db:exec("CREATE TABLE t (i, f, s, b, n); CREATE TABLE u (x)"))
  local ins = assert(db:prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)"))
  ins:bind_values(42, 2.5, "text\0with nul", sqlite.blob("\0\1\2\255"), nil)
  T.eq(ins:step(), nil)
  T.eq(db:changes(), 1)
  T.eq(db:last_insert_rowid(), 1)
  ins:bind_values(3.0, 7, "x", "y", true)
  T.eq(ins:step(), nil)
  local q = assert(db:prepare("SELECT i, f, s, b, n, typeof(i) AS ti, typeof(f) AS tf, typeof(b) AS tb FROM t ORDER BY rowid"))
  T.eq(q:columns(), { "i", "f", "s", "b", "n", "ti", "tf", "tb" })
  local r = q:step()
  T.eq(math.type(r.i), "integer")
  T.eq(r.i, 42)
  T.eq(math.type(r.f), "float")
  T.eq(r.f, 2.5)
  T.eq(r.s, "text\0with nul")
  T.eq(r.b, "\0\1\2\255")
  T.eq(r.n, nil)
  T.eq(r.ti, "integer")
  T.eq(r.tf, "real")
  T.eq(r.tb, "blob")
  r = q:step()
  T.eq(r.ti, "real", "3.0 binds as a float")
  T.eq(r.tf, "integer", "7 binds as an integer")
  T.eq(r.tb, "text")
  T.eq(r.n, 1, "true binds as 1")
  T.eq(q:step(), nil, "done")
end)

T.test("bind by index and by name; bind_names; rows() iterates and resets", function()
  local db = fresh("names.db")
  assert(db:exec("CREATE TABLE t (a, b)"))
  local ins = assert(db:prepare("INSERT INTO t VALUES (:a, @b)"))
  ins:bind("a", 1):bind("@b", "one")
  ins:step()
  ins:bind(1, 2):bind(2, "two")
  ins:step()
  ins:bind_names{ a = 3, b = "three" }
  ins:step()
  local q = assert(db:prepare("SELECT a, b FROM t WHERE a >= ? ORDER BY a"))
  q:bind(1, 2)
  local got = {}
  for row in q:rows() do got[#got + 1] = row.b end
  T.eq(got, { "two", "three" })
  got = {}
  for row in q:rows() do got[#got + 1] = row.a end
  T.eq(got, { 2, 3 }, "rows() reset the statement at the end, bindings kept")
  q:clear_bindings()
  T.eq(q:step(), nil, "a >= NULL matches nothing")
end)

T.test("errors: nil, message with the SQL's first line, 'sqlite', extended code", function()
  local db = fresh("errors.db")
  local ok, msg, code, ext = db:exec("SELECT nope FROM nowhere\n-- second line")
  T.eq(ok, nil)
  T.eq(code, "sqlite")
  T.contains(msg, "no such table: nowhere")
  T.contains(msg, "SELECT nope FROM nowhere")
  T.ok(not msg:find("second line", 1, true), msg)
  T.eq(math.type(ext), "integer")
  local st, m2, c2 = db:prepare("SELEC 1")
  T.eq(st, nil)
  T.eq(c2, "sqlite")
  T.contains(m2, "syntax error")
  assert(db:exec("CREATE TABLE u (x UNIQUE)"))
  local ins = assert(db:prepare("INSERT INTO u VALUES (?)"))
  ins:bind(1, 1):step()
  local r, m3, c3, e3 = ins:bind(1, 1):step()
  T.eq(r, nil)
  T.eq(c3, "sqlite")
  T.contains(m3, "UNIQUE constraint failed")
  T.eq(e3, 2067, "SQLITE_CONSTRAINT_UNIQUE")
  local q = assert(db:prepare("SELECT x FROM u"))
  T.eq(q:step().x, 1, "the statement works again after an error")
end)

T.test("opening a missing file read-only fails with a message naming it", function()
  local db, msg, code = sqlite.open(dir .. "/absent/x.db", "r")
  T.eq(db, nil)
  T.eq(code, "sqlite")
  T.contains(msg, "absent/x.db")
end)

T.test("transaction commits, rolls back on error and re-raises", function()
  local db = fresh("tx.db")
  assert(db:exec("CREATE TABLE t (x)"))
  local a, b = db:transaction(function(v)
    assert(db:exec("INSERT INTO t VALUES (" .. v .. ")"))
    return "r1", "r2"
  end, 5)
  T.eq({ a, b }, { "r1", "r2" })
  T.raises(function()
    db:transaction(function()
      assert(db:exec("INSERT INTO t VALUES (6)"))
      error("boom")
    end)
  end, "boom")
  local q = assert(db:prepare("SELECT group_concat(x) AS xs FROM t"))
  T.eq(q:step().xs, "5")
  -- a transaction that yields (a task sleeping inside it)
  db:transaction(function()
    assert(db:exec("INSERT INTO t VALUES (7)"))
    opro.sleep(0.01)
  end)
  T.eq(q:reset():step().xs, "5,7")
end)

T.test("misuse raises: bad types, unknown parameters, closed handles", function()
  local db = fresh("misuse.db")
  assert(db:exec("CREATE TABLE t (x)"))
  local st = assert(db:prepare("INSERT INTO t VALUES (:x)"))
  T.raises(function() st:bind("y", 1) end, "no parameter named 'y'")
  T.raises(function() st:bind(2, 1) end, "no parameter 2")
  T.raises(function() st:bind(1, {}) end, "cannot bind a table")
  T.raises(function() st:bind_values(1, 2) end, "2 values for 1 parameters")
  T.raises(function() db:prepare("SELECT 1; SELECT 2") end, "more than one SQL statement")
  T.raises(function() sqlite.open(dir .. "/x.db", "w") end, "flags must be")
  T.raises(function() db:exec({}) end, "string expected")
  st:finalize()
  st:finalize()
  T.raises(function() st:step() end, "finalized")
  local q = assert(db:prepare("SELECT 1 AS one"))
  db:close()
  db:close()
  T.raises(function() db:exec("SELECT 1") end, "closed sqlite database")
  T.raises(function() q:step() end, "closed sqlite database")
  T.match(tostring(db), "closed")
end)

T.test("__close closes handles at the end of a scope", function()
  local path = dir .. "/close.db"
  local keep
  do
    local db <close> = assert(sqlite.open(path))
    local st <close> = assert(db:prepare("SELECT 1"))
    keep = { db, st }
    T.match(tostring(st), "SELECT 1")
  end
  T.raises(function() keep[1]:exec("SELECT 1") end, "closed")
  T.raises(function() keep[2]:step() end, "finalized")
end)

local function open_fds()
  local p = io.popen("ls /proc/$PPID/fd | wc -l")
  local n = tonumber(p:read("a"))
  p:close()
  return n
end

T.test("garbage-collected statements and databases release their handles", function()
  collectgarbage()
  local before = open_fds()
  for i = 1, 200 do
    local db = assert(sqlite.open(dir .. "/gc.db"))
    local st = assert(db:prepare("SELECT ? AS v"))
    T.eq(st:bind(1, i):step().v, i)
  end
  collectgarbage()
  collectgarbage()
  -- statements outliving their database object in the same cycle
  local sts = {}
  for i = 1, 20 do
    local db = assert(sqlite.open(":memory:"))
    sts[i] = assert(db:prepare("SELECT 1"))
  end
  sts = nil
  collectgarbage()
  collectgarbage()
  local after = open_fds()
  T.ok(after <= before + 2, string.format("open descriptors: %d before, %d after 200 unclosed opens", before, after))
end)

T.done()
