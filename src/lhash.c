/* opro.core.hash: digests for cache keys.
 *   sha256(s) -> 64 lower-case hex characters
 *   json_quote(s) -> s as a JSON string literal with the minimal escapes
 *     (", \, and control characters; the rest byte for byte)
 *   canonical_json(v) -> the canonical JSON text of v (lua/opro/llm/key.lua
 *     has the rules and the Lua original this must equal byte for byte):
 *     object keys sorted bytewise, no spaces, integers and integral floats
 *     below 2^53 as integers, other floats in the shortest of %.15g/%.16g/
 *     %.17g that reads back equal; raises "cache key: ..." on what it cannot
 *     encode (NaN, infinities, non-string keys of a non-sequence, functions,
 *     userdata such as cjson.null, nesting deeper than 1000). Tables are read
 *     raw (no __len, __pairs or __index).
 *   canonical_sha256(v) -> sha256(canonical_json(v)), without making the
 *     text a Lua string
 * The text is built in one C buffer per Lua state, kept between calls (an
 * upvalue of these functions): nothing is allocated per call, and an error
 * part-way leaves nothing to free. Encoding runs no Lua code, so no call can
 * start while another uses the buffer. */
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static int l_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  sha256_hex(s, len, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* the output buffer: grows as needed, freed when the state closes (__gc) */
typedef struct {
  char *p;
  size_t n, cap;
} jbuf;

static int jbuf_gc(lua_State *L) {
  jbuf *b = lua_touserdata(L, 1);
  free(b->p);
  b->p = NULL;
  return 0;
}

/* makes room for len more bytes */
static void jb_grow(lua_State *L, jbuf *b, size_t len) {
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->n < len) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) luaL_error(L, "cache key: out of memory");
  b->p = p;
  b->cap = cap;
}

static inline void jb_add(lua_State *L, jbuf *b, const char *s, size_t len) {
  if (b->cap - b->n < len) jb_grow(L, b, len);
  if (len) memcpy(b->p + b->n, s, len);
  b->n += len;
}

static inline void jb_char(lua_State *L, jbuf *b, char c) {
  if (b->cap == b->n) jb_grow(L, b, 1);
  b->p[b->n++] = c;
}

/* whether none of the 8 bytes in x needs an escape (< 0x20, '"', '\\');
 * the has-less-than trick is exact as a yes/no answer */
static int clean8(uint64_t x) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t ctl = (x - ones * 0x20) & ~x & highs;
  uint64_t q = x ^ (ones * 0x22), bs = x ^ (ones * 0x5C);
  q = (q - ones) & ~q & highs;
  bs = (bs - ones) & ~bs & highs;
  return (ctl | q | bs) == 0;
}

static void jb_quote(lua_State *L, jbuf *b, const char *s, size_t len) {
  static const char hexd[] = "0123456789abcdef";
  jb_char(L, b, '"');
  size_t run = 0; /* start of the bytes not yet copied */
  size_t i = 0;
  while (i < len) {
    /* eight plain bytes at a time; the last few padded with plain ones */
    uint64_t x = 0x6161616161616161ULL;
    size_t k = len - i >= 8 ? 8 : len - i;
    if (k == 8) memcpy(&x, s + i, 8);
    else for (size_t j = 0; j < k; j++) ((unsigned char *)&x)[j] = (unsigned char)s[i + j];
    if (clean8(x)) { i += k; continue; }
    unsigned char c = (unsigned char)s[i++];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    jb_add(L, b, s + run, i - 1 - run);
    run = i;
    switch (c) {
      case '"': jb_add(L, b, "\\\"", 2); break;
      case '\\': jb_add(L, b, "\\\\", 2); break;
      case '\b': jb_add(L, b, "\\b", 2); break;
      case '\f': jb_add(L, b, "\\f", 2); break;
      case '\n': jb_add(L, b, "\\n", 2); break;
      case '\r': jb_add(L, b, "\\r", 2); break;
      case '\t': jb_add(L, b, "\\t", 2); break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
        jb_add(L, b, u, 6);
      }
    }
  }
  jb_add(L, b, s + run, len - run);
  jb_char(L, b, '"');
}

/* the state's buffer, emptied */
static jbuf *scratch(lua_State *L) {
  jbuf *b = lua_touserdata(L, lua_upvalueindex(1));
  b->n = 0;
  return b;
}

/* gives back a buffer that one large text made large */
static void scratch_trim(jbuf *b) {
  if (b->cap > ((size_t)1 << 20)) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
  }
  b->n = 0;
}

static int l_json_quote(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  jbuf *b = scratch(L);
  jb_quote(L, b, s, len);
  lua_pushlstring(L, b->p, b->n);
  scratch_trim(b);
  return 1;
}

/* a number as key.lua's number() writes it */
static void jb_number(lua_State *L, jbuf *b, int idx) {
  char s[64];
  int len;
  if (lua_isinteger(L, idx)) {
    len = snprintf(s, sizeof s, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
  } else {
    double v = (double)lua_tonumber(L, idx);
    if (!isfinite(v)) luaL_error(L, "cache key: numbers must be finite");
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
      len = snprintf(s, sizeof s, "%lld", (long long)v);
    } else {
      len = 0;
      for (int p = 15; p <= 17; p++) {
        len = snprintf(s, sizeof s, "%.*g", p, v);
        if (strtod(s, NULL) == v) break;
      }
    }
  }
  jb_add(L, b, s, (size_t)len);
}

typedef struct {
  const char *s;
  size_t len;
  int vidx; /* where its value is on the stack (small objects), else 0 */
} jkey;

/* Lua's string order in the C locale: bytewise, a prefix first */
static int jkey_cmp(const void *a, const void *b) {
  const jkey *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

#define JSON_MAX_DEPTH 1000
#define JSON_SMALL_OBJECT 32

static void jb_value(lua_State *L, jbuf *b, int idx, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      jb_quote(L, b, s, len);
      return;
    }
    case LUA_TNUMBER: jb_number(L, b, idx); return;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) jb_add(L, b, "true", 4);
      else jb_add(L, b, "false", 5);
      return;
    case LUA_TNIL: jb_add(L, b, "null", 4); return;
    case LUA_TTABLE: break;
    default: luaL_error(L, "cache key: cannot encode a %s", luaL_typename(L, idx));
  }
  if (depth >= JSON_MAX_DEPTH) luaL_error(L, "cache key: nesting deeper than %d", JSON_MAX_DEPTH);
  luaL_checkstack(L, 8, "cache key: nesting");
  idx = lua_absindex(L, idx);
  lua_Unsigned n = lua_rawlen(L, idx);
  size_t count = 0, strings = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    if (lua_type(L, -2) == LUA_TSTRING) strings++;
    lua_pop(L, 1);
  }
  if (n > 0 && count == n) { /* a sequence */
    jb_char(L, b, '[');
    for (lua_Unsigned i = 1; i <= n; i++) {
      if (i > 1) jb_char(L, b, ',');
      lua_rawgeti(L, idx, (lua_Integer)i);
      jb_value(L, b, -1, depth + 1);
      lua_pop(L, 1);
    }
    jb_char(L, b, ']');
    return;
  }
  if (strings != count) luaL_error(L, "cache key: object keys must be strings");
  /* small objects: keys and values side by side on the stack (no
   * allocation, no second lookup of a value); larger ones: the keys in a
   * userdata, anchored by the table, which nothing changes meanwhile */
  int small = count <= JSON_SMALL_OBJECT;
  jkey few[JSON_SMALL_OBJECT];
  if (small) luaL_checkstack(L, (int)(2 * count) + 4, "cache key: object");
  jkey *keys = small ? few : lua_newuserdatauv(L, count * sizeof *keys, 0);
  int base = lua_gettop(L);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (small) {                  /* ..., key, value -> ..., key, value, key */
      lua_pushvalue(L, -2);
      keys[k].s = lua_tolstring(L, -3, &keys[k].len);
      keys[k].vidx = lua_gettop(L) - 1;
    } else {
      keys[k].s = lua_tolstring(L, -2, &keys[k].len);
      keys[k].vidx = 0;
      lua_pop(L, 1);
    }
    k++;
  }
  if (small) {   /* insertion sort: a few keys, no call per comparison */
    for (size_t i = 1; i < count; i++) {
      jkey x = keys[i];
      size_t j = i;
      for (; j > 0 && jkey_cmp(&keys[j - 1], &x) > 0; j--) keys[j] = keys[j - 1];
      keys[j] = x;
    }
  } else {
    qsort(keys, count, sizeof *keys, jkey_cmp);
  }
  jb_char(L, b, '{');
  for (size_t i = 0; i < count; i++) {
    if (i > 0) jb_char(L, b, ',');
    jb_quote(L, b, keys[i].s, keys[i].len);
    jb_char(L, b, ':');
    if (keys[i].vidx) {
      jb_value(L, b, keys[i].vidx, depth + 1);
    } else {
      lua_pushlstring(L, keys[i].s, keys[i].len);
      lua_rawget(L, idx);
      jb_value(L, b, -1, depth + 1);
      lua_pop(L, 1);
    }
  }
  jb_char(L, b, '}');
  lua_settop(L, small ? base : base - 1);   /* the values, or the keys' userdata */
}

/* the canonical text of argument 1, in the state's buffer */
static jbuf *encode_arg(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  jbuf *b = scratch(L);
  jb_value(L, b, 1, 0);
  return b;
}

static int l_canonical_json(lua_State *L) {
  jbuf *b = encode_arg(L);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  scratch_trim(b);
  return 1;
}

static int l_canonical_sha256(lua_State *L) {
  jbuf *b = encode_arg(L);
  char hex[65];
  sha256_hex(b->p ? b->p : "", b->n, hex);
  lua_pushlstring(L, hex, 64);
  scratch_trim(b);
  return 1;
}

static const luaL_Reg funcs[] = {{"sha256", l_sha256},
                                 {"json_quote", l_json_quote},
                                 {"canonical_json", l_canonical_json},
                                 {"canonical_sha256", l_canonical_sha256},
                                 {NULL, NULL}};

int luaopen_opro_core_hash(lua_State *L) {
  luaL_newlibtable(L, funcs);
  jbuf *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, "opro.core.hash.jbuf")) {
    lua_pushcfunction(L, jbuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  luaL_setfuncs(L, funcs, 1);   /* the buffer: every function's upvalue */
  return 1;
}
