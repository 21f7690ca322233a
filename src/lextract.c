/* opro.core.extract: the reference's answer normalization and scoring
 * (src/extract.c) for Lua. lua/opro/extract.lua builds the public API on
 * top; the options table here is already resolved:
 *   {number=bool, boolean=bool, decimals=int, boxed=0|1|2, post=bool, include_ok=bool}
 * (or packed in an integer, see read_opts), but for fast_score and
 * fast_predict, which take the user's options table and do the common case
 * of score and normalize in one C call (see fast_opts).
 */
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <string.h>

#include "extract.h"

/* The names the one-call fast path (see fast_opts) looks for: option keys
 * and the values of kind and boxed. */
enum { N_KIND, N_INPUT, N_INCLUDE_OK, N_DECIMALS, N_BOXED, N_POST, N_NUMBER, N_BOOLEAN, N_EXTRACT, N_PATTERN,
       N_TARGET, N_TEXT, N_CHOICE, N_ADAPTIVE, N_NORMALIZE, N_COUNT };
static const char *const names[N_COUNT] = {"kind",    "input",   "include_ok", "decimals", "boxed",
                                           "post",    "number",  "boolean",    "extract",  "pattern",
                                           "target",  "text",    "choice",     "adaptive", "normalize"};

/* The module's state, every function's upvalue 1: the output buffer, an
 * ex_buf owned by the userdata (so a Lua error never leaks it), reused from
 * call to call (nothing calls back into Lua while it is in use); and the
 * bytes of the names above as interned in this Lua state (the strings are
 * kept in the userdata's user value, so the same text is the same
 * pointer). */
typedef struct {
  ex_buf buf;
  const char *name[N_COUNT];
} module;

static ex_buf *newbuf(lua_State *L) {
  ex_buf *b = lua_touserdata(L, lua_upvalueindex(1));
  if (b->cap > (1u << 20)) ex_buf_free(b); /* do not keep a huge one */
  b->n = 0;
  return b;
}

static int buf_gc(lua_State *L) {
  ex_buf_free(&((module *)luaL_checkudata(L, 1, "opro.extract.buf"))->buf);
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

/* The one-call fast path of lua/opro/extract.lua's score and normalize:
 * the options table read here, by its keys, when it holds only what the
 * common case needs (a plain table, or nil, with known keys and valid
 * values); fast_opts returns 0 otherwise, and the Lua code takes its own
 * path (which checks the options and reports what is wrong). The rules
 * are those of core_opts in lua/opro/extract.lua. */
typedef struct {
  int kind;                   /* N_TEXT, N_NUMBER, N_BOOLEAN, N_CHOICE or N_ADAPTIVE */
  int number, boolean, include; /* -1: not given */
  int decimals, boxed, post;
  int target; /* the type of opts.target (LUA_TNIL when not given) */
  const char *input;
  size_t inn;
} fast;

static int fast_opts(lua_State *L, int t, const module *m, fast *f) {
  f->kind = N_TEXT, f->number = f->boolean = f->include = -1;
  f->decimals = 0, f->boxed = 0, f->post = 1, f->target = LUA_TNIL, f->input = NULL, f->inn = 0;
  int ty = lua_type(L, t);
  if (ty == LUA_TNONE || ty == LUA_TNIL) return 1;
  if (ty != LUA_TTABLE || lua_getmetatable(L, t)) return 0; /* (a metatable is left on the stack: no matter) */
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -2);
      int vt = lua_type(L, -1);
      const char *v = vt == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      if (k == m->name[N_KIND]) {
        if (v == m->name[N_TEXT] || v == m->name[N_NUMBER] || v == m->name[N_BOOLEAN] || v == m->name[N_CHOICE] ||
            v == m->name[N_ADAPTIVE])
          f->kind = v == m->name[N_TEXT] ? N_TEXT : v == m->name[N_NUMBER] ? N_NUMBER : v == m->name[N_BOOLEAN] ? N_BOOLEAN
                    : v == m->name[N_CHOICE] ? N_CHOICE : N_ADAPTIVE;
        else goto slow;
      } else if (k == m->name[N_INPUT]) {
        if (!v) goto slow;
        f->input = lua_tolstring(L, -1, &f->inn);
      } else if (k == m->name[N_INCLUDE_OK]) {
        f->include = lua_toboolean(L, -1);
      } else if (k == m->name[N_DECIMALS]) {
        int isint;
        lua_Integer d = lua_tointegerx(L, -1, &isint);
        if (vt != LUA_TNUMBER || !isint || !lua_isinteger(L, -1) || d < 0 || d > 340) goto slow;
        f->decimals = (int)d;
      } else if (k == m->name[N_BOXED]) {
        if (vt == LUA_TBOOLEAN) f->boxed = lua_toboolean(L, -1);
        else if (v == m->name[N_NORMALIZE]) f->boxed = 2;
        else goto slow;
      } else if (k == m->name[N_POST]) {
        f->post = !(vt == LUA_TBOOLEAN && !lua_toboolean(L, -1));
      } else if (k == m->name[N_NUMBER]) {
        f->number = lua_toboolean(L, -1);
      } else if (k == m->name[N_BOOLEAN]) {
        f->boolean = lua_toboolean(L, -1);
      } else if (k == m->name[N_EXTRACT] || k == m->name[N_PATTERN]) {
        goto slow;
      } else if (k == m->name[N_TARGET]) {
        f->target = vt;
      }
    }
    lua_pop(L, 1);
  }
  return 1;
slow:
  lua_pop(L, 2);
  return 0;
}

/* the C options of fast options; target (may be NULL) only matters for
 * kind "adaptive" */
static void fast_resolve(const fast *f, const char *target, size_t tn, ex_score_opts *o) {
  memset(o, 0, sizeof *o);
  int number = f->kind == N_NUMBER, boolean = f->kind == N_BOOLEAN;
  if (f->kind == N_ADAPTIVE) number = target && ex_is_numeric(target, tn);
  if (f->number >= 0) number = f->number;
  if (f->boolean >= 0) boolean = f->boolean;
  o->norm.as_number = number;
  o->norm.as_bool = boolean;
  o->norm.num_decimals = f->decimals;
  o->include_ok = f->include >= 0 ? f->include : !number;
  o->boxed = f->boxed;
  o->post = f->post;
}

static int predict(lua_State *L, const char *s, size_t n, const ex_score_opts *o);

/* fast_score(response, target, opts) -> correct, prediction; nothing when
 * the Lua code must do it (see fast_opts) */
static int l_fast_score(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TSTRING) return 0;
  fast f;
  if (!fast_opts(L, 3, lua_touserdata(L, lua_upvalueindex(1)), &f)) return 0;
  size_t rn, tn;
  const char *r = lua_tolstring(L, 1, &rn), *t = lua_tolstring(L, 2, &tn);
  ex_score_opts o;
  fast_resolve(&f, t, tn, &o);
  const char *input = f.kind == N_CHOICE && f.input ? f.input : "";
  size_t in = f.kind == N_CHOICE && f.input ? f.inn : 0;
  ex_buf *b = newbuf(L);
  int c = ex_score(r, rn, t, tn, input, in, &o, b);
  if (c < 0) oom(L);
  lua_pushboolean(L, c);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 2;
}

/* fast_predict(response, opts) -> prediction; nothing when the Lua code
 * must do it (see fast_opts; kind "adaptive" needs opts.target as Python's
 * str() of it) */
static int l_fast_predict(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING) return 0;
  fast f;
  if (!fast_opts(L, 2, lua_touserdata(L, lua_upvalueindex(1)), &f) || f.kind == N_ADAPTIVE) return 0;
  if (f.target != LUA_TNIL && f.target != LUA_TSTRING && f.target != LUA_TNUMBER && f.target != LUA_TBOOLEAN)
    return 0; /* the Lua code reports it */
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  ex_score_opts o;
  fast_resolve(&f, NULL, 0, &o);
  return predict(L, s, n, &o);
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
static int predict(lua_State *L, const char *s, size_t n, const ex_score_opts *op) {
  ex_score_opts o = *op;
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

static int l_predict(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  ex_score_opts o;
  read_opts(L, 2, &o);
  return predict(L, s, n, &o);
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
    {"fast_score", l_fast_score},
    {"fast_predict", l_fast_predict},
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
  module *m = lua_newuserdatauv(L, sizeof *m, 1);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, "opro.extract.buf");
  lua_createtable(L, N_COUNT, 0); /* the names, kept alive by the userdata */
  for (int k = 0; k < N_COUNT; k++) {
    m->name[k] = lua_pushstring(L, names[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_setiuservalue(L, -2, 1);
  luaL_setfuncs(L, funcs, 1);
  return 1;
}
