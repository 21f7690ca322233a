/* opro.core.sqlite: a small, generic SQLite binding.
 *   db = sqlite.open(path [, flags])   flags: "rwc" (default), "rw", "r"
 *   db:exec(sql) db:prepare(sql) db:close() db:changes() db:last_insert_rowid()
 *   db:busy_timeout(ms) db:transaction(fn, ...)
 *   st:bind(i|name, v) st:bind_values(...) st:bind_names{...} st:step()
 *   st:rows() st:columns() st:reset() st:clear_bindings() st:finalize()
 *   sqlite.blob(s) marks a string to be bound as a BLOB.
 * Expected failures return nil, message, "sqlite", extended result code;
 * the message holds SQLite's text and the first line of the SQL. Misuse
 * (wrong argument types, a closed handle) raises. */
#include <lauxlib.h>
#include <sqlite3.h>
#include <string.h>

#define DB_MT "opro.sqlite.db"
#define STMT_MT "opro.sqlite.stmt"
#define BLOB_MT "opro.sqlite.blob"

typedef struct {
  sqlite3 *db;      /* NULL once closed */
  char *path;       /* for __tostring */
} ldb;

typedef struct {
  sqlite3_stmt *st; /* NULL once finalized */
  ldb *owner;       /* kept alive through the uservalue */
  int done;         /* last step returned SQLITE_DONE */
} lstmt;

/* ---- errors ------------------------------------------------------------ */

/* pushes nil, "sqlite: MSG (in: FIRST LINE OF SQL)", "sqlite", code */
static int push_error(lua_State *L, sqlite3 *db, int rc, const char *sql) {
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  lua_pushnil(L);
  if (sql) {
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r') sql++;
    size_t n = strcspn(sql, "\r\n");
    if (n > 120) n = 120;
    lua_pushfstring(L, "sqlite: %s (in: %s%s)", msg, lua_pushlstring(L, sql, n),
                    sql[n] ? " ..." : "");
    lua_remove(L, -2);
  } else {
    lua_pushfstring(L, "sqlite: %s", msg);
  }
  lua_pushliteral(L, "sqlite");
  lua_pushinteger(L, ext);
  return 4;
}

/* ---- database ---------------------------------------------------------- */

static ldb *check_db(lua_State *L, int idx) {
  ldb *d = luaL_checkudata(L, idx, DB_MT);
  if (!d->db) luaL_error(L, "attempt to use a closed sqlite database");
  return d;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *flags = luaL_optstring(L, 2, "rwc");
  int f;
  if (strcmp(flags, "rwc") == 0) f = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  else if (strcmp(flags, "rw") == 0) f = SQLITE_OPEN_READWRITE;
  else if (strcmp(flags, "r") == 0) f = SQLITE_OPEN_READONLY;
  else return luaL_argerror(L, 2, "flags must be \"rwc\", \"rw\" or \"r\"");
  f |= SQLITE_OPEN_NOMUTEX;
  ldb *d = lua_newuserdatauv(L, sizeof *d, 0);
  d->db = NULL;
  d->path = NULL;
  luaL_setmetatable(L, DB_MT);
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, f, NULL);
  if (rc != SQLITE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "sqlite: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    lua_pushliteral(L, "sqlite");
    lua_pushinteger(L, rc);
    sqlite3_close(db);
    return 4;
  }
  sqlite3_extended_result_codes(db, 1);
  d->db = db;
  size_t n = strlen(path);
  d->path = sqlite3_malloc64(n + 1);
  if (d->path) memcpy(d->path, path, n + 1);
  return 1;
}

static void db_release(ldb *d) {
  if (d->db) {
    sqlite3_stmt *s;
    /* statements still open are finalized here; their userdata see the
     * closed owner and never touch the pointer again */
    while ((s = sqlite3_next_stmt(d->db, NULL)) != NULL) sqlite3_finalize(s);
    sqlite3_close(d->db);
    d->db = NULL;
  }
  sqlite3_free(d->path);
  d->path = NULL;
}

static int db_gc(lua_State *L) {
  ldb *d = luaL_checkudata(L, 1, DB_MT);
  db_release(d);
  return 0;
}

static int db_close(lua_State *L) {
  ldb *d = luaL_checkudata(L, 1, DB_MT);
  db_release(d);
  lua_pushboolean(L, 1);
  return 1;
}

static int db_tostring(lua_State *L) {
  ldb *d = luaL_checkudata(L, 1, DB_MT);
  if (d->db) lua_pushfstring(L, "sqlite db (%s)", d->path ? d->path : "?");
  else lua_pushliteral(L, "sqlite db (closed)");
  return 1;
}

static int db_exec(lua_State *L) {
  ldb *d = check_db(L, 1);
  const char *sql = luaL_checkstring(L, 2);
  int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK) return push_error(L, d->db, rc, sql);
  lua_pushboolean(L, 1);
  return 1;
}

static int db_prepare(lua_State *L) {
  ldb *d = check_db(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  lstmt *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->st = NULL;
  s->owner = d;
  s->done = 0;
  luaL_setmetatable(L, STMT_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);   /* the db outlives its statements */
  const char *tail = NULL;
  int rc = sqlite3_prepare_v2(d->db, sql, (int)len, &s->st, &tail);
  if (rc != SQLITE_OK) return push_error(L, d->db, rc, sql);
  if (!s->st) {
    lua_pushnil(L);
    lua_pushliteral(L, "sqlite: no SQL statement to prepare");
    lua_pushliteral(L, "sqlite");
    lua_pushinteger(L, SQLITE_MISUSE);
    return 4;
  }
  while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == '\r' || *tail == ';')) tail++;
  if (tail && *tail) {
    sqlite3_finalize(s->st);
    s->st = NULL;
    return luaL_error(L, "prepare: more than one SQL statement (use exec): %s", tail);
  }
  return 1;
}

static int db_changes(lua_State *L) {
  ldb *d = check_db(L, 1);
  lua_pushinteger(L, sqlite3_changes64(d->db));
  return 1;
}

static int db_last_insert_rowid(lua_State *L) {
  ldb *d = check_db(L, 1);
  lua_pushinteger(L, sqlite3_last_insert_rowid(d->db));
  return 1;
}

static int db_busy_timeout(lua_State *L) {
  ldb *d = check_db(L, 1);
  lua_Integer ms = luaL_checkinteger(L, 2);
  luaL_argcheck(L, ms >= 0 && ms <= 0x7fffffff, 2, "milliseconds out of range");
  sqlite3_busy_timeout(d->db, (int)ms);
  lua_pushboolean(L, 1);
  return 1;
}

static int tx_end(lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  ldb *d = luaL_checkudata(L, 1, DB_MT);
  if (status != LUA_OK && status != LUA_YIELD) {
    if (d->db) sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    return lua_error(L);
  }
  if (!d->db) return luaL_error(L, "transaction: the database was closed inside the transaction");
  int rc = sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    int n = push_error(L, d->db, rc, "COMMIT");
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    return n;
  }
  return lua_gettop(L) - 1;
}

/* db:transaction(fn, ...): BEGIN IMMEDIATE; fn(...); COMMIT (ROLLBACK and
 * re-raise when fn raises). Returns fn's results. */
static int db_transaction(lua_State *L) {
  ldb *d = check_db(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int rc = sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return push_error(L, d->db, rc, "BEGIN IMMEDIATE");
  int nargs = lua_gettop(L) - 2;
  return tx_end(L, lua_pcallk(L, nargs, LUA_MULTRET, 0, 0, tx_end), 0);
}

/* ---- statements -------------------------------------------------------- */

static lstmt *check_stmt(lua_State *L, int idx) {
  lstmt *s = luaL_checkudata(L, idx, STMT_MT);
  if (!s->st) luaL_error(L, "attempt to use a finalized sqlite statement");
  if (!s->owner->db) luaL_error(L, "attempt to use a statement of a closed sqlite database");
  return s;
}

static int stmt_gc(lua_State *L) {
  lstmt *s = luaL_checkudata(L, 1, STMT_MT);
  if (s->st && s->owner->db) sqlite3_finalize(s->st);
  s->st = NULL;
  return 0;
}

static int stmt_finalize(lua_State *L) {
  stmt_gc(L);
  lua_pushboolean(L, 1);
  return 1;
}

static int stmt_tostring(lua_State *L) {
  lstmt *s = luaL_checkudata(L, 1, STMT_MT);
  if (s->st && s->owner->db) lua_pushfstring(L, "sqlite stmt (%s)", sqlite3_sql(s->st));
  else lua_pushliteral(L, "sqlite stmt (finalized)");
  return 1;
}

static int is_blob(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, BLOB_MT);
  int r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}

/* binds the value at vidx to parameter i; raises on unsupported types */
static void bind_one(lua_State *L, lstmt *s, int i, int vidx) {
  int rc;
  switch (lua_type(L, vidx)) {
    case LUA_TNIL: rc = sqlite3_bind_null(s->st, i); break;
    case LUA_TBOOLEAN: rc = sqlite3_bind_int(s->st, i, lua_toboolean(L, vidx)); break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, vidx)) rc = sqlite3_bind_int64(s->st, i, lua_tointeger(L, vidx));
      else rc = sqlite3_bind_double(s->st, i, lua_tonumber(L, vidx));
      break;
    case LUA_TSTRING: {
      size_t n;
      const char *v = lua_tolstring(L, vidx, &n);
      rc = sqlite3_bind_text64(s->st, i, v, n, SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    }
    default:
      if (is_blob(L, vidx)) {
        lua_getfield(L, vidx, "data");
        size_t n;
        const char *v = lua_tolstring(L, -1, &n);
        rc = sqlite3_bind_blob64(s->st, i, v, n, SQLITE_TRANSIENT);
        lua_pop(L, 1);
        break;
      }
      luaL_error(L, "bind: parameter %d: cannot bind a %s (nil, boolean, number, string or sqlite.blob expected)",
                 i, luaL_typename(L, vidx));
      return;
  }
  if (rc == SQLITE_RANGE) luaL_error(L, "bind: no parameter %d in %s", i, sqlite3_sql(s->st));
  if (rc != SQLITE_OK) luaL_error(L, "bind: %s", sqlite3_errstr(rc));
}

static int param_index(lua_State *L, lstmt *s, int kidx) {
  if (lua_type(L, kidx) == LUA_TNUMBER) {
    lua_Integer i = luaL_checkinteger(L, kidx);
    if (i < 1 || i > sqlite3_bind_parameter_count(s->st))
      luaL_error(L, "bind: no parameter %d in %s", (int)i, sqlite3_sql(s->st));
    return (int)i;
  }
  const char *name = luaL_checkstring(L, kidx);
  int i = sqlite3_bind_parameter_index(s->st, name);
  if (!i && name[0] != ':' && name[0] != '@' && name[0] != '$') {
    static const char *const prefixes[] = {":", "@", "$"};
    for (int p = 0; p < 3 && !i; p++) {
      lua_pushfstring(L, "%s%s", prefixes[p], name);
      i = sqlite3_bind_parameter_index(s->st, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  if (!i) luaL_error(L, "bind: no parameter named '%s' in %s", name, sqlite3_sql(s->st));
  return i;
}

static void prepare_bind(lstmt *s) {
  if (s->done || sqlite3_stmt_busy(s->st)) sqlite3_reset(s->st);
  s->done = 0;
}

static int stmt_bind(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  luaL_checkany(L, 3);
  int i = param_index(L, s, 2);
  prepare_bind(s);
  bind_one(L, s, i, 3);
  lua_settop(L, 1);
  return 1;
}

/* binds its arguments to parameters 1..n */
static int stmt_bind_values(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  int n = lua_gettop(L) - 1, count = sqlite3_bind_parameter_count(s->st);
  if (n > count) return luaL_error(L, "bind_values: %d values for %d parameters in %s", n, count, sqlite3_sql(s->st));
  prepare_bind(s);
  for (int i = 1; i <= n; i++) bind_one(L, s, i, i + 1);
  lua_settop(L, 1);
  return 1;
}

/* binds t[name] for every named parameter (:name, @name, $name) and t[i]
 * for every ?NNN / ? parameter; missing values bind NULL */
static int stmt_bind_names(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  prepare_bind(s);
  int count = sqlite3_bind_parameter_count(s->st);
  for (int i = 1; i <= count; i++) {
    const char *name = sqlite3_bind_parameter_name(s->st, i);
    if (name && name[0] != '?') lua_getfield(L, 2, name + 1);
    else lua_geti(L, 2, i);
    bind_one(L, s, i, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_settop(L, 1);
  return 1;
}

static void push_column(lua_State *L, sqlite3_stmt *st, int c) {
  switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(st, c)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(st, c)); break;
    case SQLITE_NULL: lua_pushnil(L); break;
    case SQLITE_BLOB: {
      const void *p = sqlite3_column_blob(st, c);
      lua_pushlstring(L, p ? p : "", (size_t)sqlite3_column_bytes(st, c));
      break;
    }
    default: {
      const unsigned char *p = sqlite3_column_text(st, c);
      lua_pushlstring(L, p ? (const char *)p : "", (size_t)sqlite3_column_bytes(st, c));
    }
  }
}

/* one step: 1 when a row table was pushed, 0 when done, -n on error (n
 * values pushed) */
static int do_step(lua_State *L, lstmt *s) {
  if (s->done) {
    sqlite3_reset(s->st);
    s->done = 0;
  }
  int rc = sqlite3_step(s->st);
  if (rc == SQLITE_ROW) {
    int n = sqlite3_column_count(s->st);
    lua_createtable(L, 0, n);
    for (int c = 0; c < n; c++) {
      push_column(L, s->st, c);
      lua_setfield(L, -2, sqlite3_column_name(s->st, c));
    }
    return 1;
  }
  if (rc == SQLITE_DONE) {
    s->done = 1;
    return 0;
  }
  sqlite3 *db = sqlite3_db_handle(s->st);
  int n = push_error(L, db, rc, sqlite3_sql(s->st));
  sqlite3_reset(s->st);
  return -n;
}

/* st:step() -> row table | nil (done) | nil, message, "sqlite", code */
static int stmt_step(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  int r = do_step(L, s);
  if (r > 0) return 1;
  if (r == 0) { lua_pushnil(L); return 1; }
  return -r;
}

static int rows_iter(lua_State *L) {
  lstmt *s = check_stmt(L, lua_upvalueindex(1));
  int r = do_step(L, s);
  if (r > 0) return 1;
  if (r == 0) { sqlite3_reset(s->st); s->done = 0; return 0; }
  lua_pop(L, 1);          /* the code number */
  lua_pop(L, 1);          /* "sqlite" */
  return lua_error(L);    /* the message */
}

/* for row in st:rows() do ... end  (raises on errors; resets at the end) */
static int stmt_rows(lua_State *L) {
  check_stmt(L, 1);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, rows_iter, 1);
  return 1;
}

static int stmt_columns(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  int n = sqlite3_column_count(s->st);
  lua_createtable(L, n, 0);
  for (int c = 0; c < n; c++) {
    lua_pushstring(L, sqlite3_column_name(s->st, c));
    lua_rawseti(L, -2, c + 1);
  }
  return 1;
}

static int stmt_reset(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  sqlite3_reset(s->st);
  s->done = 0;
  lua_settop(L, 1);
  return 1;
}

static int stmt_clear_bindings(lua_State *L) {
  lstmt *s = check_stmt(L, 1);
  prepare_bind(s);
  sqlite3_clear_bindings(s->st);
  lua_settop(L, 1);
  return 1;
}

/* ---- module ------------------------------------------------------------ */

static int l_blob(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "data");
  luaL_setmetatable(L, BLOB_MT);
  return 1;
}

static const luaL_Reg db_methods[] = {
  {"exec", db_exec}, {"prepare", db_prepare}, {"close", db_close},
  {"changes", db_changes}, {"last_insert_rowid", db_last_insert_rowid},
  {"busy_timeout", db_busy_timeout}, {"transaction", db_transaction},
  {NULL, NULL}};

static const luaL_Reg stmt_methods[] = {
  {"bind", stmt_bind}, {"bind_values", stmt_bind_values}, {"bind_names", stmt_bind_names},
  {"step", stmt_step}, {"rows", stmt_rows}, {"columns", stmt_columns},
  {"reset", stmt_reset}, {"clear_bindings", stmt_clear_bindings},
  {"finalize", stmt_finalize}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"open", l_open}, {"blob", l_blob}, {NULL, NULL}};

static void new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                     lua_CFunction tostr) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, tostr);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

int luaopen_opro_core_sqlite(lua_State *L) {
  new_type(L, DB_MT, db_methods, db_gc, db_tostring);
  new_type(L, STMT_MT, stmt_methods, stmt_gc, stmt_tostring);
  luaL_newmetatable(L, BLOB_MT);
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushstring(L, sqlite3_libversion());
  lua_setfield(L, -2, "version");
  return 1;
}
