/* opro.core.extract: the reference's answer normalization and scoring
 * (src/extract.c) for Lua. lua/opro/extract.lua builds the public API on
 * top; the options table here is already resolved:
 *   {number=bool, boolean=bool, decimals=int, boxed=0|1|2, post=bool, include_ok=bool}
 */
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <string.h>

#include "extract.h"

/* The module's output buffer: an ex_buf owned by a userdata (so a Lua
 * error never leaks it), every function's upvalue 1, reused from call to
 * call (nothing calls back into Lua while it is in use). */
static ex_buf *newbuf(lua_State *L) {
  ex_buf *b = lua_touserdata(L, lua_upvalueindex(1));
  if (b->cap > (1u << 20)) ex_buf_free(b); /* do not keep a huge one */
  b->n = 0;
  return b;
}

static int buf_gc(lua_State *L) {
  ex_buf_free(luaL_checkudata(L, 1, "opro.extract.buf"));
  return 0;
}

static void oom(lua_State *L) { luaL_error(L, "opro.extract: out of memory"); }

static int opt_bool(lua_State *L, int t, const char *k, int def) {
  int r = def;
  if (lua_getfield(L, t, k) != LUA_TNIL) r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer def, lua_Integer lo, lua_Integer hi) {
  lua_Integer r = def;
  if (lua_getfield(L, t, k) != LUA_TNIL) {
    int isint;
    r = lua_tointegerx(L, -1, &isint);
    if (!isint || r < lo || r > hi)
      luaL_error(L, "opro.extract: option '%s' must be an integer in [%d, %d]", k, (int)lo, (int)hi);
  }
  lua_pop(L, 1);
  return r;
}

/* Options: nil, a table (see the top of this file) or the same packed in
 * an integer: bit 0 number, 1 boolean, 2 include_ok, 3 no post, 4-5 boxed,
 * bits 8.. decimals (what lua/opro/extract.lua passes, to spare a table). */
static void read_opts(lua_State *L, int t, ex_score_opts *o) {
  memset(o, 0, sizeof *o);
  o->post = 1;
  if (lua_isnoneornil(L, t)) return;
  if (lua_type(L, t) == LUA_TNUMBER) {
    lua_Integer f = luaL_checkinteger(L, t);
    o->norm.as_number = (int)(f & 1);
    o->norm.as_bool = (int)((f >> 1) & 1);
    o->include_ok = (int)((f >> 2) & 1);
    o->post = !((f >> 3) & 1);
    o->boxed = (int)((f >> 4) & 3);
    o->norm.num_decimals = (int)(f >> 8);
    if (f < 0 || o->boxed > 2 || o->norm.num_decimals > 340) luaL_argerror(L, t, "bad packed options");
    return;
  }
  luaL_checktype(L, t, LUA_TTABLE);
  o->norm.as_number = opt_bool(L, t, "number", 0);
  o->norm.as_bool = opt_bool(L, t, "boolean", 0);
  o->norm.num_decimals = (int)opt_int(L, t, "decimals", 0, 0, 340);
  o->boxed = (int)opt_int(L, t, "boxed", 0, 0, 2);
  o->post = opt_bool(L, t, "post", 1);
  o->include_ok = opt_bool(L, t, "include_ok", 0);
}

/* normalize(s, opts) -> prediction (get_normalized_prediction, no \boxed, no post) */
static int l_normalize(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_score_opts o;
  read_opts(L, 2, &o);
  ex_buf *b = newbuf(L);
  if (ex_normalize(s, n, &o.norm, b)) oom(L);
  lua_pushlstring(L, b->p, b->n);
  return 1;
}

/* predict(s, opts) -> prediction: \boxed (when asked), normalize, post */
static int l_predict(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_score_opts o;
  read_opts(L, 2, &o);
  ex_buf *b = newbuf(L);
  int done = 0;
  if (o.boxed) {
    size_t off, len;
    int r = ex_boxed(s, n, o.boxed == EX_BOXED_NORMALIZE, &off, &len);
    if (r == -1) oom(L);
    if (r == 1) {
      if (o.boxed == EX_BOXED_REFERENCE) {
        if (!o.post) {
          lua_pushlstring(L, s + off, len);
          return 1;
        }
        if (ex_post(s + off, len, b)) oom(L);
        lua_pushlstring(L, b->p ? b->p : "", b->n);
        return 1;
      }
      if (ex_normalize(s + off, len, &o.norm, b)) oom(L);
      done = 1;
    }
  }
  if (!done && ex_normalize(s, n, &o.norm, b)) oom(L);
  if (o.post && ex_post(b->p, b->n, b)) oom(L);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 1;
}

/* accuracy(target, prediction [, input [, include_ok]]) -> bool (_get_accuracy) */
static int l_accuracy(lua_State *L) {
  size_t tn, pn, in = 0;
  const char *t = luaL_checklstring(L, 1, &tn);
  const char *p = luaL_checklstring(L, 2, &pn);
  const char *i = luaL_optlstring(L, 3, "", &in);
  int r = ex_accuracy(t, tn, p, pn, i, in, lua_toboolean(L, 4));
  if (r < 0) oom(L);
  lua_pushboolean(L, r);
  return 1;
}

/* score(response, target, input, opts) -> correct, prediction */
static int l_score(lua_State *L) {
  size_t rn, tn, in = 0;
  const char *r = luaL_checklstring(L, 1, &rn);
  const char *t = luaL_checklstring(L, 2, &tn);
  const char *i = luaL_optlstring(L, 3, "", &in);
  ex_score_opts o;
  read_opts(L, 4, &o);
  ex_buf *b = newbuf(L);
  int c = ex_score(r, rn, t, tn, i, in, &o, b);
  if (c < 0) oom(L);
  lua_pushboolean(L, c);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 2;
}

/* score_all(responses, targets, inputs|input|nil, opts [, predictions])
 *   -> list of booleans, count [, list of predictions]
 * Every response and target must be a string: at the first that is not,
 * returns nil, "responses" or "targets", index (the caller converts or
 * raises; lua/opro/extract.lua turns number targets into strings).
 * Items go in blocks, fetched one block ahead: a block's values are pushed
 * (so nothing can collect them) and their strings prefetched without being
 * read, which overlaps the cache misses of a big list; the block is scored
 * once the next one is fetched. The values of blocks already scored stay
 * on the stack until STACK_BLOCKS blocks are there (dropping them block by
 * block would cost more than the rest of the reading). */
enum { SCORE_BLOCK = 32, FIXED = 8, STACK_BLOCKS = 8 };

typedef struct {
  int (*get)(lua_State *, int, lua_Integer);
  int w;           /* values per item on the stack: 2, or 3 with a list of inputs */
  lua_Integer bad; /* index of the first item that is not a string, else 0 */
  const char *what;
} fetcher;

/* push the values of items k0 .. k0 + m - 1 and prefetch their strings;
 * 0, or -1 at an item that is not a string (f->bad, f->what set) */
static int fetch_block(lua_State *L, fetcher *f, lua_Integer k0, int m) {
  for (int j = 0; j < m; j++) {
    lua_Integer k = k0 + j;
    if (f->get(L, 1, k) != LUA_TSTRING) f->what = "responses";
    else if (f->get(L, 2, k) != LUA_TSTRING) f->what = "targets";
    if (f->what) {
      f->bad = k;
      return -1;
    }
    /* lua_topointer gives the string object's address without reading it */
    const char *p = lua_topointer(L, -2), *q = lua_topointer(L, -1);
    for (int off = 0; off < 512; off += 64) __builtin_prefetch(p + off);
    __builtin_prefetch(q);
    if (f->w == 3) {
      int ty = f->get(L, 3, k);
      if (ty != LUA_TSTRING && ty != LUA_TNIL)
        luaL_error(L, "opro.extract.score_all: inputs[%d] is a %s, not a string", (int)k, luaL_typename(L, -1));
    }
  }
  return 0;
}

static int l_score_all(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  int inputs_list = lua_type(L, 3) == LUA_TTABLE;
  if (!inputs_list && !lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TSTRING);
  ex_score_opts o;
  read_opts(L, 4, &o);
  int want_preds = lua_toboolean(L, 5);
  lua_settop(L, 5);
  lua_Integer n = luaL_len(L, 1);
  if (luaL_len(L, 2) != n)
    luaL_error(L, "opro.extract.score_all: %d responses but %d targets", (int)n, (int)luaL_len(L, 2));
  size_t in = 0;
  const char *input = "";
  if (lua_type(L, 3) == LUA_TSTRING) input = lua_tolstring(L, 3, &in);
  /* plain tables (the usual case) are read raw; with a metatable, as Lua would */
  fetcher f = {lua_rawgeti, inputs_list ? 3 : 2, 0, NULL};
  for (int t = 1; t <= f.w; t++)
    if (lua_getmetatable(L, t)) lua_pop(L, 1), f.get = lua_geti;
  ex_buf *b = newbuf(L);
  lua_pushnil(L); /* 6: unused */
  lua_createtable(L, n < INT_MAX ? (int)n : 0, 0); /* 7: verdicts */
  if (want_preds) lua_createtable(L, n < INT_MAX ? (int)n : 0, 0);
  else lua_pushnil(L); /* 8: predictions */
  luaL_checkstack(L, (STACK_BLOCKS + 1) * 3 * SCORE_BLOCK + 4, "opro.extract.score_all");
  lua_Integer count = 0;
  int m = n < SCORE_BLOCK ? (int)n : SCORE_BLOCK, at0 = FIXED + 1; /* at0: where block k0 starts */
  if (fetch_block(L, &f, 1, m)) goto bad;
  for (lua_Integer k0 = 1; k0 <= n; k0 += SCORE_BLOCK) {
    lua_Integer k1 = k0 + SCORE_BLOCK;
    int m1 = k1 > n ? 0 : n - k1 + 1 < SCORE_BLOCK ? (int)(n - k1 + 1) : SCORE_BLOCK;
    if (m1 && fetch_block(L, &f, k1, m1)) goto bad;
    for (int j = 0; j < m; j++) {
      int at = at0 + f.w * j;
      size_t rn, tn, inn = in;
      const char *r = lua_tolstring(L, at, &rn), *t = lua_tolstring(L, at + 1, &tn), *inp = input;
      if (f.w == 3) {
        inp = lua_tolstring(L, at + 2, &inn);
        if (!inp) inp = "", inn = 0;
      }
      b->n = 0;
      int c = ex_score(r, rn, t, tn, inp, inn, &o, b);
      if (c < 0) oom(L);
      count += c;
      lua_pushboolean(L, c);
      lua_rawseti(L, 7, k0 + j);
      if (want_preds) {
        lua_pushlstring(L, b->p ? b->p : "", b->n);
        lua_rawseti(L, 8, k0 + j);
      }
    }
    at0 += f.w * m;
    m = m1;
    if (at0 >= FIXED + 1 + STACK_BLOCKS * f.w * SCORE_BLOCK) {
      /* drop the blocks scored; the next one moves down */
      for (int j = 0; j < f.w * m; j++) lua_copy(L, at0 + j, FIXED + 1 + j);
      lua_settop(L, FIXED + f.w * m);
      at0 = FIXED + 1;
    }
  }
  lua_pushvalue(L, 7);
  lua_pushinteger(L, count);
  if (want_preds) {
    lua_pushvalue(L, 8);
    return 3;
  }
  return 2;
bad:
  lua_pushnil(L);
  lua_pushstring(L, f.what);
  lua_pushinteger(L, f.bad);
  return 3;
}

/* boxed(s [, balanced]) -> content | nil | false (false: "\boxed" without a match) */
static int l_boxed(lua_State *L) {
  size_t n, off, len;
  const char *s = luaL_checklstring(L, 1, &n);
  int r = ex_boxed(s, n, lua_toboolean(L, 2), &off, &len);
  if (r == -1) oom(L);
  if (r == 1) lua_pushlstring(L, s + off, len);
  else if (r == 0) lua_pushnil(L);
  else lua_pushboolean(L, 0);
  return 1;
}

static int l_post(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_buf *b = newbuf(L);
  if (ex_post(s, n, b)) oom(L);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 1;
}

static int l_lower(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_buf *b = newbuf(L);
  if (ex_lower(s, n, b)) oom(L);
  lua_pushlstring(L, b->p, b->n);
  return 1;
}

static int l_upper(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_buf *b = newbuf(L);
  if (ex_upper(s, n, b)) oom(L);
  lua_pushlstring(L, b->p, b->n);
  return 1;
}

static int l_strip(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_strip(&s, &n);
  lua_pushlstring(L, s, n);
  return 1;
}

/* tofloat(s) -> number or nil: Python's float(s) */
static int l_tofloat(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  double v;
  int r = ex_is_float(s, n, &v);
  if (r < 0) oom(L);
  if (r) lua_pushnumber(L, v);
  else lua_pushnil(L);
  return 1;
}

static int l_isnumeric(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, ex_is_numeric(s, n));
  return 1;
}

static int l_isalpha(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, ex_is_alpha(s, n));
  return 1;
}

static int l_len(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushinteger(L, (lua_Integer)ex_len(s, n));
  return 1;
}

static int l_remove_punct(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_buf *b = newbuf(L);
  if (ex_remove_punct(s, n, lua_toboolean(L, 2), b)) oom(L);
  lua_pushlstring(L, b->p, b->n);
  return 1;
}

/* answer_text(input, index0) -> text or nil (index beyond the options) */
static int l_answer_text(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, i >= 0 && i < 26, 2, "letter index must be in [0, 25]");
  ex_buf *b = newbuf(L);
  int r = ex_answer_text(s, n, (int)i, b);
  if (r < 0) oom(L);
  if (r) lua_pushnil(L);
  else lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"normalize", l_normalize},
    {"predict", l_predict},
    {"accuracy", l_accuracy},
    {"score", l_score},
    {"score_all", l_score_all},
    {"boxed", l_boxed},
    {"post", l_post},
    {"lower", l_lower},
    {"upper", l_upper},
    {"strip", l_strip},
    {"tofloat", l_tofloat},
    {"isnumeric", l_isnumeric},
    {"isalpha", l_isalpha},
    {"len", l_len},
    {"remove_punct", l_remove_punct},
    {"answer_text", l_answer_text},
    {NULL, NULL},
};

int luaopen_opro_core_extract(lua_State *L) {
  if (luaL_newmetatable(L, "opro.extract.buf")) {
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaL_newlibtable(L, funcs);
  ex_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, "opro.extract.buf");
  luaL_setfuncs(L, funcs, 1);
  return 1;
}
