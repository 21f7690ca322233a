/* opro.core.json: a JSON decoder for server replies and cache entries.
 *   value = json.decode(s)   or nil, message
 * It makes the values lua-cjson's decode makes (objects and arrays are
 * tables, null is cjson.null, a NULL light userdata, every number is a
 * float) and is as lenient as cjson: control characters inside strings,
 * leading zeros, "1.", "-.5", NaN, Infinity and -Infinity (Python's
 * json module writes them) are accepted, and a NUL byte is read as any
 * other byte (cjson stops the text there). A UTF-16 surrogate escape without its pair
 * becomes U+FFFD instead of failing the reply. Nesting deeper than 1000
 * is an error, as in cjson.
 *
 * Why not cjson: decoding is most of an LLM call's client-side work, and
 * cjson grows each table key by key (a rehash at 1, 2, 4, 8... entries).
 * Here the members of an object or array are gathered on the Lua stack and
 * the table is created at its final size.
 *
 *   value = json.decode(s, skip)
 * leaves out of every object the members whose names are keys of the table
 * `skip` (a reply's fields that nobody reads: no Lua value is made for
 * them). Their values are still checked: a text decodes with `skip` if and
 * only if it decodes without it, with the same message when it does not. */
#include <lauxlib.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 1000
#define JSON_CHUNK 2048      /* members one table gathers on the stack before a flush */
#define JSON_PENDING 16384   /* stack slots all tables together may gather (the
                                Lua stack must stay far from LUAI_MAXSTACK: a
                                thread that reaches it cannot grow its stack
                                again until the collector shrinks it) */

typedef struct {
  lua_State *L;
  const char *start, *p, *end;
  int skip;               /* stack index of the skip table, or 0 */
  int depth;
  int pending;            /* stack slots gathered by the open tables */
  char err[160];
} jparser;

static int fail(jparser *J, const char *at, const char *what) {
  size_t pos = (size_t)(at - J->start) + 1;
  if (at >= J->end) {
    snprintf(J->err, sizeof J->err, "unexpected end of input at byte %zu (%s)", pos, what);
  } else {
    unsigned char c = (unsigned char)*at;
    if (c >= 0x20 && c < 0x7f)
      snprintf(J->err, sizeof J->err, "%s at byte %zu, found '%c'", what, pos, c);
    else
      snprintf(J->err, sizeof J->err, "%s at byte %zu, found byte 0x%02x", what, pos, c);
  }
  return -1;
}

static void skip_ws(jparser *J) {
  const char *p = J->p, *e = J->end;
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  J->p = p;
}

static int literal(jparser *J, const char *word, size_t n) {
  if ((size_t)(J->end - J->p) < n || memcmp(J->p, word, n) != 0) return fail(J, J->p, "expected a value");
  J->p += n;
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* the 4 hex digits at p, or -1 */
static long hex4(const char *p, const char *end) {
  if (end - p < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval((unsigned char)p[i]);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

static char *put_utf8(char *o, unsigned long cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* J->p is at the opening quote; pushes the string (when keep). An escape
 * never decodes to more bytes than it is written with, so the result fits
 * in the quoted length. */
static int parse_string(jparser *J, int keep) {
  const char *s = J->p + 1, *p = s, *e = J->end, *q = NULL;
  int escapes = 0;
  /* the closing quote: the first '"' with no backslash before it in the
   * run; memchr for both (each byte is looked at a bounded number of
   * times: q is searched again only when an escape skipped over it) */
  for (;;) {
    if (!q || q < p) {
      q = p < e ? memchr(p, '"', (size_t)(e - p)) : NULL;
      if (!q) return fail(J, e, "unterminated string");
    }
    const char *b = memchr(p, '\\', (size_t)(q - p));
    if (!b) break;
    escapes = 1;
    p = b + 2;       /* the escaped character is checked below */
    if (p > e) return fail(J, e, "unterminated string");
  }
  if (!escapes) {
    if (keep) lua_pushlstring(J->L, s, (size_t)(q - s));
    J->p = q + 1;
    return 0;
  }
  const char *close = q;
  /* the decoded text: on the C stack, or in a plain userdata when long
   * (not a luaL_Buffer: its box is a to-be-closed slot, and closing one
   * with lua_settop on an error path is what Lua 5.4.4 gets wrong) */
  char small[1024];
  small[0] = 0;     /* (gcc cannot tell that only written bytes are read) */
  size_t cap = (size_t)(close - s);
  int boxed = cap > sizeof small;
  char *out = boxed ? lua_newuserdatauv(J->L, cap, 0) : small;
  char *o = out;
  for (p = s; p < close;) {
    if (*p != '\\') {      /* the run up to the next escape, at once */
      const char *b = memchr(p, '\\', (size_t)(close - p));
      size_t n = (size_t)((b ? b : close) - p);
      memcpy(o, p, n);
      o += n;
      p += n;
      continue;
    }
    const char *esc = p++;
    switch (*p++) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '/': *o++ = '/'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'u': {
        long cp = hex4(p, close);
        if (cp < 0) return fail(J, esc, "invalid \\u escape");
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {            /* a high surrogate: its pair should follow */
          long lo = (close - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, close) : -1;
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        o = put_utf8(o, (unsigned long)cp);
        break;
      }
      default:
        return fail(J, esc, "invalid escape in string");
    }
  }
  if (keep) lua_pushlstring(J->L, out, (size_t)(o - out));
  if (boxed) lua_remove(J->L, keep ? -2 : -1);
  J->p = close + 1;
  return 0;
}

/* A JSON number (leading zeros and "1." allowed, as cjson does), as a
 * float (pushed when keep). */
static int parse_number(jparser *J, int keep) {
  const char *p = J->p, *e = J->end, *s = p;
  int neg = 0;
  if (p < e && *p == '-') { neg = 1; p++; }
  if (p < e && *p == 'I') {
    if (literal(J, neg ? "-Infinity" : "Infinity", neg ? 9 : 8) != 0) return -1;
    if (keep) lua_pushnumber(J->L, neg ? -HUGE_VAL : HUGE_VAL);
    return 0;
  }
  /* cjson reads "-.5" (strtod does); a number must start with a digit otherwise */
  int frac_only = neg && e - p >= 2 && p[0] == '.' && p[1] >= '0' && p[1] <= '9';
  if (!frac_only && (p >= e || *p < '0' || *p > '9')) return fail(J, p, "invalid number");
  uint64_t mant = 0;
  int ndig = 0, plain = 1;
  while (p < e && *p >= '0' && *p <= '9') {
    mant = mant * 10 + (uint64_t)(*p - '0');
    ndig++;
    p++;
  }
  if (p < e && *p == '.') {
    plain = 0;
    p++;
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    plain = 0;
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || *p < '0' || *p > '9') return fail(J, p, "invalid number exponent");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  J->p = p;
  if (plain && ndig <= 15) {       /* exact as a double */
    double d = (double)mant;
    if (keep) lua_pushnumber(J->L, neg ? -d : d);
    return 0;
  }
  /* the rest by Lua's own conversion (strtod, with the locale's decimal point) */
  char buf[128];
  size_t n = (size_t)(p - s);
  int ok;
  if (n < sizeof buf) {
    memcpy(buf, s, n);
    buf[n] = '\0';
    ok = lua_stringtonumber(J->L, buf) != 0;
  } else {                         /* a long one: NUL-terminated as a Lua string */
    lua_pushlstring(J->L, s, n);
    ok = lua_stringtonumber(J->L, lua_tostring(J->L, -1)) != 0;
    lua_remove(J->L, ok ? -2 : -1);
  }
  if (!ok) return fail(J, s, "invalid number");
  if (!keep) {
    lua_pop(J->L, 1);
  } else if (lua_isinteger(J->L, -1)) {
    lua_Number d = (lua_Number)lua_tointeger(J->L, -1);
    lua_pop(J->L, 1);
    lua_pushnumber(J->L, d);
  }
  return 0;
}

static int parse_value(jparser *J, int keep);

/* Moves the n values above the table at tidx into it as elements
 * first+1..first+n. */
static void flush_array(lua_State *L, int tidx, lua_Integer first, int n) {
  for (int i = n; i >= 1; i--) lua_rawseti(L, tidx, first + i);   /* pops element i */
}

/* Moves the n key/value pairs above the table at tidx into it in order
 * (a repeated key keeps its last value, as in cjson). */
static void flush_object(lua_State *L, int tidx, int n) {
  int base = lua_gettop(L) - 2 * n;
  for (int i = 0; i < n; i++) {
    lua_pushvalue(L, base + 2 * i + 1);
    lua_pushvalue(L, base + 2 * i + 2);
    lua_rawset(L, tidx);
  }
  lua_settop(L, base);
}

/* Moves the n members gathered above the container's table (at base + 1,
 * made here first when *tidx is 0: sized for them, or for twice as many
 * when more may follow) into it: array elements done+1..done+n, or n
 * key/value pairs. */
static void flush_members(jparser *J, int base, int *tidx, int object, int n, lua_Integer done, int more) {
  lua_State *L = J->L;
  if (!*tidx) {
    int size = more ? n * 2 : n;
    lua_createtable(L, object ? 0 : size, object ? size : 0);
    lua_insert(L, base + 1);
    *tidx = base + 1;
  }
  if (object) {
    flush_object(L, *tidx, n);
    J->pending -= 2 * n;
  } else {
    flush_array(L, *tidx, done, n);
    J->pending -= n;
  }
}

static int parse_array(jparser *J, int keep) {
  lua_State *L = J->L;
  J->p++;
  skip_ws(J);
  if (J->p < J->end && *J->p == ']') {
    J->p++;
    if (keep) lua_createtable(L, 0, 0);
    return 0;
  }
  int base = lua_gettop(L), tidx = 0, n = 0;
  lua_Integer done = 0;
  for (;;) {
    if (keep && !lua_checkstack(L, 4)) return fail(J, J->p, "array too large for the Lua stack");
    if (parse_value(J, keep) != 0) return -1;
    if (keep) {
      n++;
      if (++J->pending >= JSON_PENDING || n == JSON_CHUNK) {
        flush_members(J, base, &tidx, 0, n, done, 1);
        done += n;
        n = 0;
      }
    }
    skip_ws(J);
    if (J->p < J->end && *J->p == ',') { J->p++; skip_ws(J); continue; }
    if (J->p < J->end && *J->p == ']') { J->p++; break; }
    return fail(J, J->p, "expected ',' or ']' in array");
  }
  if (keep) flush_members(J, base, &tidx, 0, n, done, 0);
  return 0;
}

static int parse_object(jparser *J, int keep) {
  lua_State *L = J->L;
  J->p++;
  skip_ws(J);
  if (J->p < J->end && *J->p == '}') {
    J->p++;
    if (keep) lua_createtable(L, 0, 0);
    return 0;
  }
  int base = lua_gettop(L), tidx = 0, n = 0;
  for (;;) {
    if (keep && !lua_checkstack(L, 6)) return fail(J, J->p, "object too large for the Lua stack");
    if (J->p >= J->end || *J->p != '"') return fail(J, J->p, "expected a string key in object");
    if (parse_string(J, keep) != 0) return -1;
    /* a member to leave out: its value is checked, not kept */
    int member = keep;
    if (keep && J->skip) {
      lua_pushvalue(L, -1);
      if (lua_rawget(L, J->skip) != LUA_TNIL) member = 0;
      lua_pop(L, member ? 1 : 2);
    }
    skip_ws(J);
    if (J->p >= J->end || *J->p != ':') return fail(J, J->p, "expected ':' after an object key");
    J->p++;
    skip_ws(J);
    if (parse_value(J, member) != 0) return -1;
    if (member) {
      n++;
      J->pending += 2;
      if (J->pending >= JSON_PENDING || n == JSON_CHUNK) {
        flush_members(J, base, &tidx, 1, n, 0, 1);
        n = 0;
      }
    }
    skip_ws(J);
    if (J->p < J->end && *J->p == ',') { J->p++; skip_ws(J); continue; }
    if (J->p < J->end && *J->p == '}') { J->p++; break; }
    return fail(J, J->p, "expected ',' or '}' in object");
  }
  if (keep) flush_members(J, base, &tidx, 1, n, 0, 0);
  return 0;
}

/* Parses one value and pushes it, or (keep == 0) only checks it. */
static int parse_value(jparser *J, int keep) {
  if (J->p >= J->end) return fail(J, J->p, "expected a value");
  switch (*J->p) {
    case '"': return parse_string(J, keep);
    case '{':
    case '[': {
      if (++J->depth > JSON_MAX_DEPTH) return fail(J, J->p, "nested deeper than 1000 levels");
      int r = *J->p == '{' ? parse_object(J, keep) : parse_array(J, keep);
      J->depth--;
      return r;
    }
    case 't':
      if (literal(J, "true", 4) != 0) return -1;
      if (keep) lua_pushboolean(J->L, 1);
      return 0;
    case 'f':
      if (literal(J, "false", 5) != 0) return -1;
      if (keep) lua_pushboolean(J->L, 0);
      return 0;
    case 'n':
      if (literal(J, "null", 4) != 0) return -1;
      if (keep) lua_pushlightuserdata(J->L, NULL);   /* cjson.null */
      return 0;
    case 'N':
      if (literal(J, "NaN", 3) != 0) return -1;
      if (keep) lua_pushnumber(J->L, NAN);
      return 0;
    default:
      if (*J->p == '-' || *J->p == 'I' || (*J->p >= '0' && *J->p <= '9')) return parse_number(J, keep);
      return fail(J, J->p, "expected a value");
  }
}

static int l_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  jparser J;
  J.L = L;
  J.start = J.p = s;
  J.end = s + len;
  J.skip = lua_istable(L, 2) ? 2 : 0;
  J.depth = 0;
  J.pending = 0;
  J.err[0] = '\0';
  int top = lua_gettop(L);
  skip_ws(&J);
  int r = parse_value(&J, 1);
  if (r == 0) {
    skip_ws(&J);
    if (J.p < J.end) r = fail(&J, J.p, "unexpected data after the JSON value");
  }
  if (r != 0) {
    lua_settop(L, top);
    lua_pushnil(L);
    lua_pushstring(L, J.err);
    return 2;
  }
  return 1;
}

static const luaL_Reg funcs[] = {{"decode", l_decode}, {NULL, NULL}};

int luaopen_opro_core_json(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
