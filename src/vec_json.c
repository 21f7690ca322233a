/* vec_json: a validating JSON scanner that keeps only the numeric arrays
 * found under one member name; see vec_json.h. */
#include "vec_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

typedef struct {
  const char *s, *end, *base;
  const char *key;
  size_t keylen;
  vec_json_result *out;
  size_t cap;          /* floats allocated in out->data */
  size_t cur;          /* floats in the row being read */
  int failed;
} parser;

static int fail(parser *p, const char *at, const char *fmt, ...) {
  if (p->failed) return -1;
  p->failed = 1;
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(p->out->err, sizeof p->out->err, "%s%s at byte %zu", at >= p->end ? "unexpected end of text: " : "", msg,
           (size_t)(at - p->base) + 1);
  return -1;
}

static void ws(parser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4(parser *p, const char *at, unsigned *v) {
  if (p->end - at < 4) return fail(p, at, "truncated \\u escape");
  unsigned x = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(at[i]);
    if (h < 0) return fail(p, at + i, "bad hex digit in \\u escape");
    x = x * 16 + (unsigned)h;
  }
  *v = x;
  return 0;
}

/* Scans a string starting at the opening quote; when `cmp` is set, also
 * tells whether its decoded bytes equal cmp[0..cmplen) (*equal). */
static int string(parser *p, const char *cmp, size_t cmplen, int *equal) {
  const char *s = p->s + 1;
  size_t pos = 0;
  int eq = 1;
#define PUT(byte) do { if (cmp) { if (pos >= cmplen || (unsigned char)cmp[pos] != (unsigned char)(byte)) eq = 0; pos++; } } while (0)
  for (;;) {
    if (s >= p->end) return fail(p, s, "unterminated string");
    unsigned char c = (unsigned char)*s;
    if (c == '"') break;
    if (c < 0x20) return fail(p, s, "control character in string");
    if (c != '\\') { PUT(c); s++; continue; }
    if (s + 1 >= p->end) return fail(p, s, "unterminated string");
    char e = s[1];
    switch (e) {
      case '"': PUT('"'); break;
      case '\\': PUT('\\'); break;
      case '/': PUT('/'); break;
      case 'b': PUT('\b'); break;
      case 'f': PUT('\f'); break;
      case 'n': PUT('\n'); break;
      case 'r': PUT('\r'); break;
      case 't': PUT('\t'); break;
      case 'u': {
        unsigned u;
        if (hex4(p, s + 2, &u)) return -1;
        s += 4;
        if (u >= 0xD800 && u <= 0xDBFF && s + 7 < p->end && s[2] == '\\' && s[3] == 'u') {
          unsigned lo;
          if (hex4(p, s + 4, &lo)) return -1;
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
          }
        }
        if (u < 0x80) { PUT(u); }
        else if (u < 0x800) { PUT(0xC0 | (u >> 6)); PUT(0x80 | (u & 0x3F)); }
        else if (u < 0x10000) { PUT(0xE0 | (u >> 12)); PUT(0x80 | ((u >> 6) & 0x3F)); PUT(0x80 | (u & 0x3F)); }
        else { PUT(0xF0 | (u >> 18)); PUT(0x80 | ((u >> 12) & 0x3F)); PUT(0x80 | ((u >> 6) & 0x3F)); PUT(0x80 | (u & 0x3F)); }
        break;
      }
      default: return fail(p, s, "bad escape '\\%c' in string", e);
    }
    s += 2;
  }
#undef PUT
  if (equal) *equal = eq && pos == cmplen;
  p->s = s + 1;
  return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Checks the JSON number grammar; *out gets its value when out is set. */
static int number(parser *p, double *out) {
  const char *s = p->s, *start = s;
  if (s < p->end && *s == '-') s++;
  if (s >= p->end || !is_digit(*s)) return fail(p, start, "invalid number");
  if (*s == '0') s++;
  else while (s < p->end && is_digit(*s)) s++;
  if (s < p->end && *s == '.') {
    s++;
    if (s >= p->end || !is_digit(*s)) return fail(p, start, "invalid number");
    while (s < p->end && is_digit(*s)) s++;
  }
  if (s < p->end && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < p->end && (*s == '+' || *s == '-')) s++;
    if (s >= p->end || !is_digit(*s)) return fail(p, start, "invalid number");
    while (s < p->end && is_digit(*s)) s++;
  }
  if (out) {
    char *e;
    *out = strtod(start, &e);
    if (e != s) return fail(p, start, "invalid number");
  }
  p->s = s;
  return 0;
}

static int push_float(parser *p, double v, const char *at) {
  if (!isfinite(v) || fabs(v) > FLT_MAX) return fail(p, at, "number out of float32 range");
  vec_json_result *o = p->out;
  size_t need = o->rows * o->dim + p->cur + 1;
  if (o->rows > 0 && p->cur + 1 > o->dim)
    return fail(p, at, "vector %zu has more than %zu numbers (the first had %zu)", o->rows + 1, o->dim, o->dim);
  if (need > p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 1024;
    if (nc > SIZE_MAX / sizeof(float)) return fail(p, at, "out of memory");
    float *nd = realloc(o->data, nc * sizeof(float));
    if (!nd) return fail(p, at, "out of memory");
    o->data = nd;
    p->cap = nc;
  }
  o->data[need - 1] = (float)v;
  p->cur++;
  return 0;
}

static int end_row(parser *p, const char *at) {
  vec_json_result *o = p->out;
  if (p->cur == 0) return fail(p, at, "vector %zu is empty", o->rows + 1);
  if (o->rows == 0) o->dim = p->cur;
  else if (p->cur != o->dim)
    return fail(p, at, "vector %zu has %zu numbers, the first had %zu", o->rows + 1, p->cur, o->dim);
  o->rows++;
  p->cur = 0;
  return 0;
}

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* the value of a matching member: [numbers...] or "base64" */
static int matched_value(parser *p) {
  const char *at = p->s;
  if (p->s < p->end && *p->s == '[') {
    p->s++;
    ws(p);
    if (p->s < p->end && *p->s == ']') { p->s++; return end_row(p, at); }
    for (;;) {
      ws(p);
      const char *numat = p->s;
      if (p->s >= p->end || !(*p->s == '-' || is_digit(*p->s)))
        return fail(p, numat, "element %zu of \"%.*s\" is not a number", p->cur + 1, (int)p->keylen, p->key);
      double v;
      if (number(p, &v) || push_float(p, v, numat)) return -1;
      ws(p);
      if (p->s < p->end && *p->s == ',') { p->s++; continue; }
      if (p->s < p->end && *p->s == ']') { p->s++; break; }
      return fail(p, p->s, "expected ',' or ']' in array");
    }
    return end_row(p, at);
  }
  if (p->s < p->end && *p->s == '"') {
    const char *b = p->s + 1, *e = b;
    while (e < p->end && *e != '"') {
      if (*e == '\\') return fail(p, e, "escape in base64 vector of \"%.*s\"", (int)p->keylen, p->key);
      e++;
    }
    if (e >= p->end) return fail(p, b, "unterminated string");
    const char *ee = e;
    while (ee > b && ee[-1] == '=') ee--;
    if (e - ee > 2) return fail(p, ee, "bad base64 padding");
    uint32_t acc = 0;
    int bits = 0;
    unsigned char bytes[4];
    int nb = 0;
    for (const char *c = b; c < ee; c++) {
      int v = b64val(*c);
      if (v < 0) return fail(p, c, "bad base64 character in \"%.*s\"", (int)p->keylen, p->key);
      acc = (acc << 6) | (uint32_t)v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[nb++] = (unsigned char)(acc >> bits);
        if (nb == 4) {
          uint32_t u = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
          float f;
          memcpy(&f, &u, sizeof f);
          if (push_float(p, f, c)) return -1;
          nb = 0;
        }
      }
    }
    if (nb != 0) return fail(p, b, "base64 vector of \"%.*s\" is not a whole number of float32", (int)p->keylen, p->key);
    p->s = e + 1;
    return end_row(p, at);
  }
  return fail(p, at, "value of \"%.*s\" is not an array of numbers", (int)p->keylen, p->key);
}

static int value(parser *p, int depth);

static int object(parser *p, int depth) {
  p->s++;
  ws(p);
  if (p->s < p->end && *p->s == '}') { p->s++; return 0; }
  for (;;) {
    ws(p);
    if (p->s >= p->end || *p->s != '"') return fail(p, p->s, "expected a member name");
    int eq = 0;
    if (string(p, p->key, p->keylen, &eq)) return -1;
    ws(p);
    if (p->s >= p->end || *p->s != ':') return fail(p, p->s, "expected ':'");
    p->s++;
    ws(p);
    if (eq ? matched_value(p) : value(p, depth + 1)) return -1;
    ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == '}') { p->s++; return 0; }
    return fail(p, p->s, "expected ',' or '}' in object");
  }
}

static int array(parser *p, int depth) {
  p->s++;
  ws(p);
  if (p->s < p->end && *p->s == ']') { p->s++; return 0; }
  for (;;) {
    ws(p);
    if (value(p, depth + 1)) return -1;
    ws(p);
    if (p->s < p->end && *p->s == ',') { p->s++; continue; }
    if (p->s < p->end && *p->s == ']') { p->s++; return 0; }
    return fail(p, p->s, "expected ',' or ']' in array");
  }
}

static int literal(parser *p, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return fail(p, p->s, "unexpected character");
  p->s += n;
  return 0;
}

static int value(parser *p, int depth) {
  if (depth > MAX_DEPTH) return fail(p, p->s, "nesting deeper than %d", MAX_DEPTH);
  if (p->s >= p->end) return fail(p, p->s, "expected a value");
  switch (*p->s) {
    case '{': return object(p, depth);
    case '[': return array(p, depth);
    case '"': return string(p, NULL, 0, NULL);
    case 't': return literal(p, "true");
    case 'f': return literal(p, "false");
    case 'n': return literal(p, "null");
    default:
      if (*p->s == '-' || is_digit(*p->s)) return number(p, NULL);
      return fail(p, p->s, "unexpected character '%c'", *p->s);
  }
}

int vec_json_extract(const char *s, size_t len, const char *key, size_t keylen, vec_json_result *out) {
  memset(out, 0, sizeof *out);
  parser p = {s, s + len, s, key, keylen, out, 0, 0, 0};
  ws(&p);
  int rc = value(&p, 0);
  if (rc == 0) {
    ws(&p);
    if (p.s != p.end) rc = fail(&p, p.s, "unexpected text after the JSON value");
  }
  if (rc != 0) {
    free(out->data);
    out->data = NULL;
    out->rows = out->dim = 0;
    return -1;
  }
  return 0;
}
