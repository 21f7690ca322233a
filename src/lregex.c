/* opro.core.regex: PCRE2 patterns for Lua (src/regex.c).
 *   local re = regex.new(pattern [, flags [, {match_limit=, depth_limit=, heap_limit=}]])
 *   re:match(s [, init [, astable]])  -> captures (or the whole match) | nil
 *        astable: one table {[0]=whole, [1]=..., name=...}; unset groups are false
 *   re:find(s [, init])   -> start, end, captures... | nil
 *   re:gmatch(s [, init]) -> iterator over the captures of every match
 *   re:gsub(s, repl [, n]) -> string, count   (repl: string with $0 $1 ${name} $$,
 *        table indexed by the first capture, or function called with the captures)
 * Positions are 1-based byte offsets as in Lua's string library. A search
 * that hits the match, depth or heap limit returns nil, message,
 * "regex_limit" (gmatch raises). Flags: i m s x U A u (see regex.h). */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "regex.h"

#define RX_MT "opro.regex"
#define MD_MT "opro.regex.match"

typedef struct {
  rx *r;
  char *pattern; /* for error messages and __tostring (lua_newuserdatauv tail) */
  size_t plen;
  unsigned flags;
} lrx;

static lrx *check_rx(lua_State *L, int i) {
  lrx *x = luaL_checkudata(L, i, RX_MT);
  if (!x->r) luaL_error(L, "attempt to use a closed regex");
  return x;
}

static int md_gc(lua_State *L) {
  rx_match **m = luaL_checkudata(L, 1, MD_MT);
  rx_match_free(*m);
  *m = NULL;
  return 0;
}

/* match data owned by a userdata on the stack (freed even if Lua raises) */
static rx_match *new_md(lua_State *L, lrx *x) {
  rx_match **m = lua_newuserdatauv(L, sizeof *m, 0);
  *m = NULL;
  luaL_setmetatable(L, MD_MT);
  *m = rx_match_new(x->r);
  if (!*m) luaL_error(L, "opro.regex: out of memory");
  return *m;
}

static int rx_gc(lua_State *L) {
  lrx *x = luaL_checkudata(L, 1, RX_MT);
  rx_free(x->r);
  x->r = NULL;
  return 0;
}

static int rx_tostring(lua_State *L) {
  lrx *x = luaL_checkudata(L, 1, RX_MT);
  if (!x->r) lua_pushliteral(L, "opro.regex (closed)");
  else lua_pushfstring(L, "opro.regex(%s)", x->pattern);
  return 1;
}

static unsigned parse_flags(lua_State *L, int i) {
  size_t n;
  const char *f = luaL_optlstring(L, i, "", &n);
  unsigned fl = 0;
  for (size_t k = 0; k < n; k++) {
    switch (f[k]) {
      case 'i': fl |= RX_CASELESS; break;
      case 'm': fl |= RX_MULTILINE; break;
      case 's': fl |= RX_DOTALL; break;
      case 'x': fl |= RX_EXTENDED; break;
      case 'U': fl |= RX_UNGREEDY; break;
      case 'A': fl |= RX_ANCHORED; break;
      case 'u': fl |= RX_UCP; break;
      default: luaL_argerror(L, i, lua_pushfstring(L, "unknown regex flag '%c' (flags: i m s x U A u)", f[k]));
    }
  }
  return fl;
}

static uint32_t limit_field(lua_State *L, int t, const char *k) {
  uint32_t v = 0;
  if (lua_getfield(L, t, k) != LUA_TNIL) {
    int isint;
    lua_Integer x = lua_tointegerx(L, -1, &isint);
    if (!isint || x < 1 || x > 0xFFFFFFFFLL) luaL_error(L, "opro.regex: '%s' must be a positive integer", k);
    v = (uint32_t)x;
  }
  lua_pop(L, 1);
  return v;
}

static int l_new(lua_State *L) {
  size_t n;
  const char *pat = luaL_checklstring(L, 1, &n);
  unsigned flags = parse_flags(L, 2);
  rx_limits lim = {0, 0, 0};
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lim.match_limit = limit_field(L, 3, "match_limit");
    lim.depth_limit = limit_field(L, 3, "depth_limit");
    lim.heap_limit = limit_field(L, 3, "heap_limit");
  }
  lrx *x = lua_newuserdatauv(L, sizeof *x + n + 1, 0);
  memset(x, 0, sizeof *x);
  x->pattern = (char *)(x + 1);
  memcpy(x->pattern, pat, n);
  x->pattern[n] = '\0';
  x->plen = n;
  x->flags = flags;
  luaL_setmetatable(L, RX_MT);
  char err[320];
  size_t off;
  x->r = rx_compile(pat, n, flags, &lim, err, sizeof err, &off);
  if (!x->r) return luaL_error(L, "opro.regex: bad pattern '%s': %s", pat, err);
  return 1;
}

/* Lua-style init (1-based, negative from the end) -> 0-based offset, or -1 past the end */
static lua_Integer start_offset(lua_State *L, int i, size_t len) {
  lua_Integer init = luaL_optinteger(L, i, 1);
  if (init > 0) init--;
  else if (init < 0) {
    init = (lua_Integer)len + init;
    if (init < 0) init = 0;
  }
  if ((size_t)init > len) return -1;
  return init;
}

/* runs one search; on failure pushes nil, message, code and returns < 0 */
static int exec(lua_State *L, lrx *x, const char *s, size_t n, size_t start, unsigned opts, rx_match *m) {
  char err[256];
  int rc = rx_exec(x->r, s, n, start, opts, m, err, sizeof err);
  if (rc >= 0) return rc;
  if (rc == RX_NOMEM) luaL_error(L, "opro.regex: out of memory");
  if (rc == RX_ERROR) luaL_error(L, "opro.regex(%s): %s", x->pattern, err);
  lua_pushnil(L);
  lua_pushfstring(L, "opro.regex(%s): %s", x->pattern, err);
  lua_pushliteral(L, "regex_limit");
  return rc;
}

static void push_group(lua_State *L, rx_match *m, const char *s, int i) {
  size_t off, len;
  if (rx_group(m, i, &off, &len)) lua_pushlstring(L, s + off, len);
  else lua_pushboolean(L, 0);
}

/* pushes the captures (or the whole match when there are none); returns how many */
static int push_captures(lua_State *L, lrx *x, rx_match *m, const char *s, int whole_if_none) {
  int nc = rx_captures(x->r);
  if (nc == 0) {
    if (!whole_if_none) return 0;
    push_group(L, m, s, 0);
    return 1;
  }
  luaL_checkstack(L, nc, "too many captures");
  for (int i = 1; i <= nc; i++) push_group(L, m, s, i);
  return nc;
}

static void push_table(lua_State *L, lrx *x, rx_match *m, const char *s) {
  int nc = rx_captures(x->r);
  lua_createtable(L, nc, 1);
  for (int i = 0; i <= nc; i++) {
    push_group(L, m, s, i);
    lua_rawseti(L, -2, i);
  }
  int g;
  const char *name;
  for (int k = 0; (name = rx_name(x->r, k, &g)) != NULL; k++) {
    push_group(L, m, s, g);
    lua_setfield(L, -2, name);
  }
}

static int l_match(lua_State *L) {
  lrx *x = check_rx(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  lua_Integer st = start_offset(L, 3, n);
  int astable = lua_toboolean(L, 4);
  if (st < 0) {
    lua_pushnil(L);
    return 1;
  }
  rx_match *m = new_md(L, x);
  int rc = exec(L, x, s, n, (size_t)st, 0, m);
  if (rc < 0) return 3;
  if (rc == RX_NOMATCH) {
    lua_pushnil(L);
    return 1;
  }
  if (astable) {
    push_table(L, x, m, s);
    return 1;
  }
  return push_captures(L, x, m, s, 1);
}

static int l_find(lua_State *L) {
  lrx *x = check_rx(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  lua_Integer st = start_offset(L, 3, n);
  if (st < 0) {
    lua_pushnil(L);
    return 1;
  }
  rx_match *m = new_md(L, x);
  int rc = exec(L, x, s, n, (size_t)st, 0, m);
  if (rc < 0) return 3;
  if (rc == RX_NOMATCH) {
    lua_pushnil(L);
    return 1;
  }
  size_t off, len;
  rx_group(m, 0, &off, &len);
  lua_pushinteger(L, (lua_Integer)off + 1);
  lua_pushinteger(L, (lua_Integer)(off + len));
  return 2 + push_captures(L, x, m, s, 0);
}

/* gmatch state: upvalues 1 regex, 2 subject, 3 match data box, 4 position, 5 next opts */
static int gmatch_aux(lua_State *L) {
  lrx *x = check_rx(L, lua_upvalueindex(1));
  size_t n;
  const char *s = lua_tolstring(L, lua_upvalueindex(2), &n);
  rx_match **mp = lua_touserdata(L, lua_upvalueindex(3));
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(4));
  unsigned opts = (unsigned)lua_tointeger(L, lua_upvalueindex(5));
  if (pos < 0 || (size_t)pos > n) return 0;
  int rc = exec(L, x, s, n, (size_t)pos, opts, *mp);
  if (rc < 0) { /* a limit: exec pushed nil, message, code; raise the message */
    lua_pop(L, 1);
    return lua_error(L);
  }
  if (rc == RX_NOMATCH) {
    lua_pushinteger(L, -1);
    lua_replace(L, lua_upvalueindex(4));
    return 0;
  }
  size_t off, len;
  rx_group(*mp, 0, &off, &len);
  lua_pushinteger(L, (lua_Integer)(off + len));
  lua_replace(L, lua_upvalueindex(4));
  lua_pushinteger(L, RX_NOTEMPTY_ATSTART);
  lua_replace(L, lua_upvalueindex(5));
  return push_captures(L, x, *mp, s, 1);
}

static int l_gmatch(lua_State *L) {
  lrx *x = check_rx(L, 1);
  size_t n;
  luaL_checklstring(L, 2, &n);
  lua_Integer st = start_offset(L, 3, n);
  lua_settop(L, 2);
  new_md(L, x);
  lua_pushinteger(L, st);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatch_aux, 5);
  return 1;
}

/* appends the replacement for one match to b */
static void add_value(lua_State *L, luaL_Buffer *b, lrx *x, rx_match *m, const char *s, int repl) {
  size_t off, len;
  rx_group(m, 0, &off, &len);
  int t = lua_type(L, repl);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    size_t rl;
    const char *r = lua_tolstring(L, repl, &rl);
    for (size_t i = 0; i < rl; i++) {
      if (r[i] != '$') {
        luaL_addchar(b, r[i]);
        continue;
      }
      i++;
      if (i < rl && r[i] == '$') {
        luaL_addchar(b, '$');
      } else if (i < rl && r[i] >= '0' && r[i] <= '9') {
        int g = r[i] - '0';
        while (i + 1 < rl && r[i + 1] >= '0' && r[i + 1] <= '9' && g * 10 + (r[i + 1] - '0') <= rx_captures(x->r))
          g = g * 10 + (r[++i] - '0');
        if (g > rx_captures(x->r)) luaL_error(L, "opro.regex: invalid capture index $%d in replacement", g);
        size_t go, gl;
        if (rx_group(m, g, &go, &gl)) luaL_addlstring(b, s + go, gl);
      } else if (i < rl && r[i] == '{') {
        const char *close = memchr(r + i, '}', rl - i);
        if (!close) luaL_error(L, "opro.regex: unterminated ${ in replacement");
        size_t nl = (size_t)(close - (r + i + 1));
        int grp = -1, g;
        const char *name;
        char digits = nl > 0;
        for (size_t k = 0; k < nl; k++)
          if (r[i + 1 + k] < '0' || r[i + 1 + k] > '9') digits = 0;
        if (digits) {
          grp = 0;
          for (size_t k = 0; k < nl && grp <= 1000; k++) grp = grp * 10 + (r[i + 1 + k] - '0');
          if (grp > rx_captures(x->r)) grp = -1;
        } else {
          for (int k = 0; (name = rx_name(x->r, k, &g)) != NULL; k++)
            if (strlen(name) == nl && memcmp(name, r + i + 1, nl) == 0) grp = g;
        }
        if (grp < 0) luaL_error(L, "opro.regex: unknown group '${%s' in replacement", lua_pushlstring(L, r + i + 1, nl));
        size_t go, gl;
        if (rx_group(m, grp, &go, &gl)) luaL_addlstring(b, s + go, gl);
        i = (size_t)(close - r);
      } else {
        luaL_error(L, "opro.regex: invalid use of '$' in replacement (use $$ for a literal $)");
      }
    }
    return;
  }
  if (t == LUA_TFUNCTION) {
    lua_pushvalue(L, repl);
    int nargs = push_captures(L, x, m, s, 1);
    lua_call(L, nargs, 1);
  } else { /* table */
    if (rx_captures(x->r) > 0) push_group(L, m, s, 1);
    else push_group(L, m, s, 0);
    lua_gettable(L, repl);
  }
  if (!lua_toboolean(L, -1)) { /* nil or false: keep the original */
    lua_pop(L, 1);
    luaL_addlstring(b, s + off, len);
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "opro.regex: invalid replacement value (a %s)", luaL_typename(L, -1));
  } else {
    luaL_addvalue(b);
  }
}

static int l_gsub(lua_State *L) {
  lrx *x = check_rx(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int tr = lua_type(L, 3);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                   "string/function/table");
  lua_Integer maxn = luaL_optinteger(L, 4, (lua_Integer)n + 1);
  lua_settop(L, 3);
  rx_match *m = new_md(L, x);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t pos = 0;
  unsigned opts = 0;
  lua_Integer count = 0;
  while (count < maxn && pos <= n) {
    char err[256];
    int rc = rx_exec(x->r, s, n, pos, opts, m, err, sizeof err);
    if (rc == RX_NOMATCH) break;
    if (rc == RX_NOMEM) return luaL_error(L, "opro.regex: out of memory");
    if (rc == RX_ERROR) return luaL_error(L, "opro.regex(%s): %s", x->pattern, err);
    if (rc == RX_LIMIT) {
      lua_pushnil(L);
      lua_pushfstring(L, "opro.regex(%s): %s", x->pattern, err);
      lua_pushliteral(L, "regex_limit");
      return 3;
    }
    size_t off, len;
    rx_group(m, 0, &off, &len);
    if (off < pos) off = pos;
    luaL_addlstring(&b, s + pos, off - pos);
    add_value(L, &b, x, m, s, 3);
    count++;
    pos = off + len;
    opts = RX_NOTEMPTY_ATSTART;
  }
  if (pos < n) luaL_addlstring(&b, s + pos, n - pos);
  luaL_pushresult(&b);
  lua_pushinteger(L, count);
  return 2;
}

/* info() -> {pattern=, flags=, captures=, names={name=group}, jit=} */
static int l_info(lua_State *L) {
  lrx *x = check_rx(L, 1);
  lua_createtable(L, 0, 5);
  lua_pushlstring(L, x->pattern, x->plen);
  lua_setfield(L, -2, "pattern");
  lua_pushinteger(L, rx_captures(x->r));
  lua_setfield(L, -2, "captures");
  lua_pushboolean(L, rx_jit(x->r));
  lua_setfield(L, -2, "jit");
  lua_newtable(L);
  int g;
  const char *name;
  for (int k = 0; (name = rx_name(x->r, k, &g)) != NULL; k++) {
    lua_pushinteger(L, g);
    lua_setfield(L, -2, name);
  }
  lua_setfield(L, -2, "names");
  return 1;
}

static const luaL_Reg methods[] = {
    {"match", l_match}, {"find", l_find}, {"gmatch", l_gmatch}, {"gsub", l_gsub},
    {"info", l_info},   {"close", rx_gc}, {NULL, NULL},
};

static const luaL_Reg meta[] = {
    {"__gc", rx_gc}, {"__close", rx_gc}, {"__tostring", rx_tostring}, {"__index", NULL}, {NULL, NULL},
};

static const luaL_Reg funcs[] = {{"new", l_new}, {NULL, NULL}};

int luaopen_opro_core_regex(lua_State *L) {
  luaL_newmetatable(L, RX_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, MD_MT);
  lua_pushcfunction(L, md_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
