/* extract.c: the OPRO reference's answer normalization and accuracy rules
 * (see extract.h), written for speed: one indexing pass finds every place a
 * marker can start (see index_text), the rules look only there, over byte
 * slices, and text is copied only where a rule rewrites it (an all-ASCII
 * response is not even lower-cased: see normalize). Python str semantics
 * come from the tables in unitab.h. */
#include "extract.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unitab.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BAD_CP 0xFFFFFFFFu

/* ---------------------------------------------------------------- buffers */

void ex_buf_free(ex_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* Set when some buffer grew past the size the scratch space keeps (see
 * scratch_trim): checking every buffer after each call would cost more than
 * scoring a short answer. */
static int S_grown;

static __attribute__((noinline)) int buf_grow(ex_buf *b, size_t extra) {
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->n + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return -1;
  b->p = p;
  b->cap = cap;
  if (cap > (1u << 20)) S_grown = 1;
  return 0;
}

static inline int buf_reserve(ex_buf *b, size_t extra) {
  if (b->n + extra + 1 <= b->cap) return 0;
  return buf_grow(b, extra);
}

static int buf_add(ex_buf *b, const char *s, size_t n) {
  if (buf_reserve(b, n)) return -1;
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
  return 0;
}

/* s must not point into b */
static int buf_set(ex_buf *b, const char *s, size_t n) {
  b->n = 0;
  return buf_add(b, s, n);
}

/* ------------------------------------------------------------- code points */

static size_t u8dec(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
  unsigned c = s[i];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *cp = BAD_CP;
    return 1;
  }
  if (i + len > n) {
    *cp = BAD_CP;
    return 1;
  }
  for (size_t k = 1; k < len; k++) {
    unsigned d = s[i + k];
    if ((d & 0xC0) != 0x80) {
      *cp = BAD_CP;
      return 1;
    }
    v = (v << 6) | (d & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = BAD_CP;
    return 1;
  }
  *cp = v;
  return len;
}

/* start of the character that ends at i (i > 0) */
static size_t u8prev(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
  size_t j = i - 1, lim = i >= 4 ? i - 4 : 0;
  while (j > lim && (s[j] & 0xC0) == 0x80) j--;
  uint32_t v;
  size_t l = u8dec(s, n, j, &v);
  if (j + l == i) {
    *cp = v;
    return j;
  }
  *cp = BAD_CP;
  return i - 1;
}

static size_t u8enc(uint32_t c, char *o) {
  if (c < 0x80) {
    o[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (char)(0xC0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = (char)(0xE0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (c >> 18));
  o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  o[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

static int in_ranges(const uint32_t (*t)[2], size_t n, uint32_t c) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < t[mid][0]) hi = mid;
    else if (c > t[mid][1]) lo = mid + 1;
    else return 1;
  }
  return 0;
}

static int is_space(uint32_t c) {
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  return c != BAD_CP && in_ranges(uni_space, NELEM(uni_space), c);
}

static int is_alpha(uint32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return c != BAD_CP && in_ranges(uni_alpha, NELEM(uni_alpha), c);
}

/* decimal digit value (Python's \d, float()), or -1 */
static int decimal_value(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9' ? (int)(c - '0') : -1;
  if (c == BAD_CP) return -1;
  size_t lo = 0, hi = NELEM(uni_decimal);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < uni_decimal[mid][0]) hi = mid;
    else if (c > uni_decimal[mid][1]) lo = mid + 1;
    else return (int)(uni_decimal[mid][2] + (c - uni_decimal[mid][0]));
  }
  return -1;
}

static int is_numeric_cp(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return c != BAD_CP && in_ranges(uni_numeric, NELEM(uni_numeric), c);
}

static int is_ignorable(uint32_t c) {
  return c != BAD_CP && in_ranges(uni_case_ignorable, NELEM(uni_case_ignorable), c);
}

static int is_cased(uint32_t c) {
  return c != BAD_CP && in_ranges(uni_cased, NELEM(uni_cased), c);
}

static const uint32_t *map_lookup(const uint32_t *t, size_t rows, size_t width, uint32_t c) {
  size_t lo = 0, hi = rows;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uint32_t k = t[mid * width];
    if (c < k) hi = mid;
    else if (c > k) lo = mid + 1;
    else return t + mid * width + 1;
  }
  return NULL;
}

/* ------------------------------------------------------ Python str methods */

/* Python's Final_Sigma context for the capital sigma at [i, i+2) */
static int final_sigma(const unsigned char *s, size_t n, size_t i) {
  uint32_t c = 0;
  size_t j = i;
  int found = 0;
  while (j > 0) {
    j = u8prev(s, n, j, &c);
    if (!is_ignorable(c)) {
      found = 1;
      break;
    }
  }
  if (!found || !is_cased(c)) return 0;
  j = i + 2;
  while (j < n) {
    j += u8dec(s, n, j, &c);
    if (!is_ignorable(c)) return !is_cased(c);
  }
  return 1;
}

/* ------------------------------------------------------------ ASCII runs */

#if defined(__SSE2__)
static inline __m128i lower16(__m128i x) {
  const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1), b5 = _mm_set1_epi8(0x20);
  __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, a1), _mm_cmplt_epi8(x, z1)); /* bytes >= 0x80 are negative */
  return _mm_or_si128(x, _mm_and_si128(up, b5));
}
#endif

/* d = s with A-Z lowered (every other byte kept as it is); d and s do not overlap */
static void lower_ascii(char *d, const unsigned char *s, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  if (n >= 16) {
    for (; i + 16 <= n; i += 16)
      _mm_storeu_si128((__m128i *)(void *)(d + i), lower16(_mm_loadu_si128((const __m128i *)(const void *)(s + i))));
    if (i < n) /* the last 16, again in part */
      _mm_storeu_si128((__m128i *)(void *)(d + n - 16),
                       lower16(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16))));
    return;
  }
#endif
  for (; i < n; i++) {
    unsigned c = s[i];
    d[i] = (char)(c - 'A' < 26u ? c + 32 : c);
  }
}

/* lower the leading bytes of s below 0x80 into d, which has room for
 * n + 16 bytes (what is written after them is junk); returns their number */
static size_t lower_ascii_run(char *d, const unsigned char *s, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    _mm_storeu_si128((__m128i *)(void *)(d + i), lower16(x));
    unsigned m = (unsigned)_mm_movemask_epi8(x);
    if (m) return i + (size_t)__builtin_ctz(m);
  }
#endif
  for (; i < n && s[i] < 0x80; i++) {
    unsigned c = s[i];
    d[i] = (char)(c - 'A' < 26u ? c + 32 : c);
  }
  return i;
}

static int ascii_space(unsigned c) { return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20); }

/* some character of cp's block of 256 has a lower-case mapping */
static int lower_page(uint32_t cp) {
  static uint64_t pages[0x200 / 64];
  static int ready;
  if (!ready) {
    for (size_t k = 0; k < NELEM(uni_lower); k++) pages[uni_lower[k][0] >> 14] |= 1ull << ((uni_lower[k][0] >> 8) & 63);
    ready = 1;
  }
  return cp < 0x20000 && (pages[cp >> 14] >> ((cp >> 8) & 63) & 1);
}

/* str.lower() of s appended to out; ASCII runs are lowered 16 bytes at a time */
static int lower_append_moved(const unsigned char *s, size_t n, ex_buf *out, int *moved) {
  size_t i = 0, base = out->n;
  *moved = 0;
  while (i < n) {
    if (buf_reserve(out, n - i + 16)) return -1;
    size_t k = lower_ascii_run(out->p + out->n, s + i, n - i);
    out->n += k;
    i += k;
    if (i == n) break;
    if (buf_reserve(out, 8)) return -1;
    uint32_t cp;
    size_t l = u8dec(s, n, i, &cp);
    if (cp == 0x3A3) {
      out->n += u8enc(final_sigma(s, n, i) ? 0x3C2 : 0x3C3, out->p + out->n);
    } else {
      const uint32_t *m = cp == BAD_CP || !lower_page(cp) ? NULL : map_lookup(&uni_lower[0][0], NELEM(uni_lower), 3, cp);
      if (m) {
        out->n += u8enc(m[0], out->p + out->n);
        if (m[1]) out->n += u8enc(m[1], out->p + out->n);
      } else {
        memcpy(out->p + out->n, s + i, l);
        out->n += l;
      }
    }
    i += l;
    if (out->n - base != i) *moved = 1; /* a character changed length */
  }
  if (buf_reserve(out, 0)) return -1;
  out->p[out->n] = '\0';
  return 0;
}

static int lower_append(const unsigned char *s, size_t n, ex_buf *out) {
  int moved;
  return lower_append_moved(s, n, out, &moved);
}

int ex_lower(const char *str, size_t n, ex_buf *out) {
  out->n = 0;
  return lower_append((const unsigned char *)str, n, out);
}

int ex_upper(const char *str, size_t n, ex_buf *out) {
  const unsigned char *s = (const unsigned char *)str;
  out->n = 0;
  if (buf_reserve(out, n + 8)) return -1;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t l = u8dec(s, n, i, &cp);
    if (buf_reserve(out, 12)) return -1;
    const uint32_t *m = cp == BAD_CP ? NULL : map_lookup(&uni_upper[0][0], NELEM(uni_upper), 4, cp);
    if (m) {
      for (int k = 0; k < 3 && m[k]; k++) out->n += u8enc(m[k], out->p + out->n);
    } else {
      memcpy(out->p + out->n, s + i, l);
      out->n += l;
    }
    i += l;
  }
  out->p[out->n] = '\0';
  return 0;
}

void ex_strip(const char **sp, size_t *np) {
  if (*np == 0) return;
  const unsigned char *s = (const unsigned char *)*sp;
  size_t n = *np, a = 0, b = n;
  while (a < b) {
    if (s[a] < 0x80) {
      if (!ascii_space(s[a])) break;
      a++;
      continue;
    }
    uint32_t c;
    size_t l = u8dec(s, n, a, &c);
    if (!is_space(c)) break;
    a += l;
  }
  while (b > a) {
    if (s[b - 1] < 0x80) {
      if (!ascii_space(s[b - 1])) break;
      b--;
      continue;
    }
    uint32_t c;
    size_t j = u8prev(s, n, b, &c);
    if (!is_space(c)) break;
    b = j;
  }
  *sp = (const char *)s + a;
  *np = b - a;
}

size_t ex_len(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, k = 0;
  while (i < n) {
    uint32_t c;
    i += u8dec(s, n, i, &c);
    k++;
  }
  return k;
}

int ex_is_alpha(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  if (n == 0) return 0;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      if ((unsigned)(s[i] | 0x20) - 'a' >= 26u) return 0;
      i++;
      continue;
    }
    uint32_t c;
    i += u8dec(s, n, i, &c);
    if (!is_alpha(c)) return 0;
  }
  return 1;
}

int ex_is_numeric(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  if (n == 0) return 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += u8dec(s, n, i, &c);
    if (!is_numeric_cp(c)) return 0;
  }
  return 1;
}

static locale_t c_locale(void) {
  static locale_t loc;
  if (!loc) loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  return loc;
}

/* float(s): Python maps non-ASCII spaces to ' ' and non-ASCII decimal
 * digits to ASCII, drops '_' between digits, strips ASCII whitespace and
 * accepts [sign] (digits [. digits] | . digits) [e [sign] digits] or
 * inf/infinity/nan (any case). */
int ex_is_float(const char *str, size_t n, double *v) {
  const unsigned char *s = (const unsigned char *)str;
  char small[128], *a = small;
  if (n + 1 > sizeof small && !(a = malloc(n + 1))) return -1;
  size_t k = 0;
  int ok = 1, has_us = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    size_t l = u8dec(s, n, i, &c);
    i += l;
    if (c < 127) {
      a[k++] = (char)c;
      if (c == '_') has_us = 1;
    } else if (is_space(c)) {
      a[k++] = ' ';
    } else {
      int d = decimal_value(c);
      if (d < 0) {
        ok = 0;
        break;
      }
      a[k++] = (char)('0' + d);
    }
  }
  if (ok && has_us) { /* underscores only between digits */
    size_t w = 0;
    char prev = 0;
    for (size_t i = 0; i < k; i++) {
      char c = a[i];
      if (c == '_') {
        if (!(prev >= '0' && prev <= '9')) ok = 0;
      } else {
        if (prev == '_' && !(c >= '0' && c <= '9')) ok = 0;
        a[w++] = c;
      }
      prev = c;
    }
    if (prev == '_') ok = 0;
    k = w;
  }
  if (ok) {
    size_t b = 0, e = k;
    while (b < e && (a[b] == ' ' || (a[b] >= 9 && a[b] <= 13))) b++;
    while (e > b && (a[e - 1] == ' ' || (a[e - 1] >= 9 && a[e - 1] <= 13))) e--;
    const char *p = a + b, *end = a + e;
    const char *q = p;
    if (q < end && (*q == '+' || *q == '-')) q++;
    size_t rest = (size_t)(end - q);
    if ((rest == 3 && strncasecmp(q, "inf", 3) == 0) || (rest == 8 && strncasecmp(q, "infinity", 8) == 0)) {
      if (v) *v = *p == '-' ? -HUGE_VAL : HUGE_VAL;
    } else if (rest == 3 && strncasecmp(q, "nan", 3) == 0) {
      if (v) *v = NAN;
    } else {
      int digits = 0;
      while (q < end && *q >= '0' && *q <= '9') q++, digits++;
      if (q < end && *q == '.') {
        q++;
        while (q < end && *q >= '0' && *q <= '9') q++, digits++;
      }
      if (!digits) ok = 0;
      if (ok && q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        int ed = 0;
        while (q < end && *q >= '0' && *q <= '9') q++, ed++;
        if (!ed) ok = 0;
      }
      if (ok && q != end) ok = 0;
      if (ok && v) {
        a[e] = '\0';
        *v = strtod_l(p, NULL, c_locale());
      }
    }
  }
  if (a != small) free(a);
  return ok;
}

/* '{:.{nd}f}'.format(round(v, nd)) */
static int format_number(double v, int nd, ex_buf *out) {
  if (isnan(v)) return buf_set(out, "nan", 3);
  if (isinf(v)) return v < 0 ? buf_set(out, "-inf", 4) : buf_set(out, "inf", 3);
  if (v == floor(v) && fabs(v) < 1e15 && nd <= 64) { /* integers: no printf */
    char tmp[96], *e = tmp + sizeof tmp, *q = e;
    long long x = (long long)fabs(v);
    if (buf_reserve(out, 100)) return -1;
    do *--q = (char)('0' + x % 10), x /= 10;
    while (x);
    if (signbit(v)) *--q = '-'; /* Python prints round(-0.4) as "-0" */
    out->n = 0;
    memcpy(out->p, q, (size_t)(e - q));
    out->n = (size_t)(e - q);
    if (nd > 0) {
      out->p[out->n++] = '.';
      memset(out->p + out->n, '0', (size_t)nd);
      out->n += (size_t)nd;
    }
    out->p[out->n] = '\0';
    return 0;
  }
  locale_t old = uselocale(c_locale());
  int len = snprintf(NULL, 0, "%.*f", nd, v);
  int rc = -1;
  if (len >= 0 && buf_reserve(out, (size_t)len + 1) == 0) {
    out->n = 0;
    snprintf(out->p, (size_t)len + 1, "%.*f", nd, v);
    out->n = (size_t)len;
    rc = 0;
  }
  uselocale(old);
  return rc;
}

/* string.punctuation */
static int is_punct(unsigned c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/* no byte of s[0..n) is in string.punctuation (remove_punct would keep s) */
static int punct_free_bytes(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_punct((unsigned char)s[i])) return 0;
  return 1;
}

int ex_remove_punct(const char *s, size_t n, int is_filename, ex_buf *out) {
  out->n = 0;
  if (buf_reserve(out, n)) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned c = (unsigned char)s[i];
    if (!is_punct(c)) {
      if (out->n + 1 >= out->cap && buf_reserve(out, 1)) return -1;
      out->p[out->n++] = (char)c;
      continue;
    }
    if (!is_filename) continue;
    const char *r = c == '!' ? "<EXCLAMATION>" : c == '?' ? "<QUESTION>" : c == '.' ? "<PERIOD>" : NULL;
    if (r && buf_add(out, r, strlen(r))) return -1;
  }
  out->p[out->n] = '\0';
  return 0;
}

/* ------------------------------------------------------------------ slices */

typedef struct {
  const char *p;
  size_t n;
} sl;

/* Short needles are searched with memchr on their least frequent byte
 * (a rough English letter-frequency rank), which beats memmem on the short,
 * mostly-ASCII texts answers are. */
static int byte_rank(unsigned char c) {
  static unsigned char rank[256];
  static int ready;
  if (!ready) {
    static const char common[] = " etaoinshrdlcumwfgypbvkjxqz";
    for (size_t i = 0; common[i]; i++) rank[(unsigned char)common[i]] = (unsigned char)(sizeof common - i);
    ready = 1;
  }
  return rank[c];
}

static size_t anchor_of(const char *nd, size_t nn) {
  size_t best = 0;
  int br = 1000;
  for (size_t i = 0; i < nn; i++) {
    int r = byte_rank((unsigned char)nd[i]);
    if (r < br) br = r, best = i;
  }
  return best;
}

/* the anchor of the last needles seen at each address (any index < nn
 * gives correct results; a stale one is only slower) */
static size_t anchor_cached(const char *nd, size_t nn) {
  static const char *key[16];
  static size_t klen[16], val[16];
  size_t h = ((uintptr_t)nd >> 3) & 15;
  if (key[h] == nd && klen[h] == nn) return val[h];
  key[h] = nd, klen[h] = nn, val[h] = anchor_of(nd, nn);
  return val[h];
}

static const char *find(sl h, const char *nd, size_t nn) {
  if (nn == 0) return h.p;
  if (nn > h.n) return NULL;
  if (nn == 1) return memchr(h.p, nd[0], h.n);
  if (nn > 32) return memmem(h.p, h.n, nd, nn);
  size_t a = anchor_cached(nd, nn);
  const char *q = h.p + a, *end = h.p + h.n - (nn - 1 - a);
  while (q < end) {
    const char *f = memchr(q, nd[a], (size_t)(end - q));
    if (!f) return NULL;
    if (memcmp(f - a, nd, nn) == 0) return f - a;
    q = f + 1;
  }
  return NULL;
}

static int contains(sl h, const char *nd) { return find(h, nd, strlen(nd)) != NULL; }

/* s.split(nd)[0] */
static sl before_first(sl h, const char *nd) {
  const char *f = nd[0] && !nd[1] ? (h.n ? memchr(h.p, nd[0], h.n) : NULL) : find(h, nd, strlen(nd));
  if (f) h.n = (size_t)(f - h.p);
  return h;
}

static inline __attribute__((always_inline)) sl strip(sl s) {
  /* nothing to strip when both ends are ASCII and no space */
  if (s.n && (unsigned char)s.p[0] - 0x21u < 0x5Fu && (unsigned char)s.p[s.n - 1] - 0x21u < 0x5Fu) return s;
  /* ASCII spaces here; ex_strip when an end is not ASCII */
  while (s.n && ascii_space((unsigned char)s.p[0])) s.p++, s.n--;
  while (s.n && ascii_space((unsigned char)s.p[s.n - 1])) s.n--;
  if (s.n && ((unsigned char)s.p[0] >= 0x80 || (unsigned char)s.p[s.n - 1] >= 0x80)) ex_strip(&s.p, &s.n);
  return s;
}

static int eq(sl a, const char *b) {
  if (a.n > 7) return 0; /* only used with short words */
  if (a.n == 0 || a.p[0] != b[0]) return a.n == 0 && b[0] == '\0';
  size_t bn = strlen(b);
  return a.n == bn && memcmp(a.p, b, bn) == 0;
}

static int sl_eq(sl a, sl b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

/* s.replace(old, new) into out */
static int replace_all(sl s, const char *old, size_t on, const char *nw, size_t nwn, ex_buf *out) {
  out->n = 0;
  if (buf_reserve(out, s.n)) return -1;
  sl rest = s;
  const char *f;
  if (on == 0) return buf_add(out, s.p, s.n); /* only used with "" -> "" */
  while ((f = find(rest, old, on)) != NULL) {
    if (buf_add(out, rest.p, (size_t)(f - rest.p)) || buf_add(out, nw, nwn)) return -1;
    size_t skip = (size_t)(f - rest.p) + on;
    rest.p += skip;
    rest.n -= skip;
  }
  return buf_add(out, rest.p, rest.n);
}

static int punct_free(sl s) { return punct_free_bytes(s.p, s.n); }

static sl of(const ex_buf *b) { return (sl){b->p ? b->p : "", b->n}; }

/* ------------------------------------------------- get_normalized_prediction */

/* the step-by-step answer delimiters of every language, lower-cased */
static const char *const answer_behind_lang[] = {
    "\xe0\xa6\xa7\xe0\xa6\xbe\xe0\xa6\xaa\xe0\xa7\x87 \xe0\xa6\xa7\xe0\xa6\xbe\xe0\xa6\xaa\xe0\xa7\x87 "
    "\xe0\xa6\x89\xe0\xa6\xa4\xe0\xa7\x8d\xe0\xa6\xa4\xe0\xa6\xb0: ",
    "schritt-f\xc3\xbc"
    "r-schritt-antwort: ",
    "step-by-step answer: ",
    "respuesta paso a paso: ",
    "r\xc3\xa9ponse \xc3\xa9tape par \xc3\xa9tape : ",
    "\xe3\x82\xb9\xe3\x83\x86\xe3\x83\x83\xe3\x83\x97\xe3\x81\x94\xe3\x81\xa8\xe3\x81\xae\xe7\xad\x94\xe3\x81\x88\xef\xbc\x9a",
    "\xd0\xbf\xd0\xbe\xd1\x88\xd0\xb0\xd0\xb3\xd0\xbe\xd0\xb2\xd0\xbe\xd0\xb5 \xd1\x80\xd0\xb5\xd1\x88\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5: ",
    "jibu la hatua kwa hatua: ",
    "\xe0\xb0\xa6\xe0\xb0\xb6\xe0\xb0\xb2\xe0\xb0\xb5\xe0\xb0\xbe\xe0\xb0\xb0\xe0\xb1\x80\xe0\xb0\x97\xe0\xb0\xbe "
    "\xe0\xb0\xb8\xe0\xb0\xae\xe0\xb0\xbe\xe0\xb0\xa7\xe0\xb0\xbe\xe0\xb0\xa8\xe0\xb0\x82: ",
    "\xe0\xb8\x84\xe0\xb8\xb3\xe0\xb8\x95\xe0\xb8\xad\xe0\xb8\x9a\xe0\xb8\x97\xe0\xb8\xb5\xe0\xb8\xa5\xe0\xb8\xb0\xe0\xb8\x82"
    "\xe0\xb8\xb1\xe0\xb9\x89\xe0\xb8\x99\xe0\xb8\x95\xe0\xb8\xad\xe0\xb8\x99: ",
    "\xe9\x80\x90\xe6\xad\xa5\xe8\xa7\xa3\xe7\xad\x94\xef\xbc\x9a",
    "#### ", /* GSM8K_ANSWER */
};
/* FINAL_ANSWER_BEHIND_PATTERNS_PRIMARY is {"answer is ", "answer: ",
 * "answer is: "}, _SECONDARY {"is: ", "are: "}: see normalize() */
static const char *const answer_ahead[] = {
    " is the correct answer",
    " is the right answer",
    " is the final answer",
    " is the answer",
};
static const char *const number_words[] = {
    "zero",   "one",     "two",       "three",    "four",     "five",    "six",
    "seven",  "eight",   "nine",      "ten",      "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty",   "fifty",     "sixty",    "seventy",  "eighty",  "ninety",
};
static const char *const number_values[] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11", "12", "13",
    "14", "15", "16", "17", "18", "19", "20", "30", "40", "50", "60", "70", "80", "90",
};
/* BOOLEAN_SYMBOLS is [['false', 'true'], ['no', 'yes'], ['invalid', 'valid']] */

/* BOOLEAN_SYMBOLS: 0 for false, no, invalid; 1 for true, yes, valid; else -1 */
static int bool_symbol(sl s) {
  switch (s.n) {
  case 2: return memcmp(s.p, "no", 2) == 0 ? 0 : -1;
  case 3: return memcmp(s.p, "yes", 3) == 0 ? 1 : -1;
  case 4: return memcmp(s.p, "true", 4) == 0 ? 1 : -1;
  case 5: return memcmp(s.p, "false", 5) == 0 ? 0 : memcmp(s.p, "valid", 5) == 0 ? 1 : -1;
  case 7: return memcmp(s.p, "invalid", 7) == 0 ? 0 : -1;
  default: return -1;
  }
}

static int is_boolean_symbol(sl s) { return bool_symbol(s) >= 0; }

/* re.search(r'(\d+)(?!.*\d)', s): the last run of digits on the first line
 * that has digits ('.' does not cross a newline) */
static int last_digits_first_line(sl s, sl *out) {
  const unsigned char *u = (const unsigned char *)s.p;
  size_t i = 0, ra = 0, rb = 0;
  int have = 0, inrun = 0;
  while (i < s.n) {
    uint32_t c;
    size_t l = u8dec(u, s.n, i, &c);
    if (c == '\n') {
      if (have) break;
      inrun = 0;
    } else if (decimal_value(c) >= 0) {
      if (!inrun) ra = i, inrun = 1;
      rb = i + l;
      have = 1;
    } else {
      inrun = 0;
    }
    i += l;
  }
  if (!have) return 0;
  out->p = s.p + ra;
  out->n = rb - ra;
  return 1;
}

/* re.findall(r'\(.*?\)', s)[0] when exactly one distinct "(a)".."(z)"
 * occurs in s lower-cased (s itself may still have A-Z) */
static sl bracketed_choice(sl s) {
  uint32_t seen = 0;
  if (s.n < 3) return s;
  for (const char *q = s.p, *last = s.p + s.n - 2; q < last && (q = memchr(q, '(', (size_t)(last - q))); q++)
    if (q[2] == ')' && (unsigned)((q[1] | 0x20) - 'a') < 26u) seen |= 1u << ((q[1] | 0x20) - 'a');
  if (!seen || (seen & (seen - 1))) return s;
  size_t i = 0;
  while (i < s.n) {
    const char *o = memchr(s.p + i, '(', s.n - i);
    if (!o) break;
    size_t j = (size_t)(o - s.p) + 1;
    while (j < s.n && s.p[j] != ')' && s.p[j] != '\n') j++;
    if (j < s.n && s.p[j] == ')') return (sl){o, j + 1 - (size_t)(o - s.p)};
    i = j; /* every '(' before this newline fails too */
  }
  return s; /* unreachable: "(x)" exists */
}

/* Scratch space reused between calls (the host runs one thread); buffers
 * that grew past 1 MiB are released after the call. */
typedef struct {
  size_t *v;
  size_t n, cap;
} posv;

typedef struct {
  ex_buf low, win, num, tmp, a, b;
  /* where, in the text the rules search, ':' and U+FF1A (fullwidth colon)
   * start, where '#' is and where "answer" starts (in any case) */
  posv colons, hashes, answers;
  int paren; /* the text has a '(' */
} scratch;
static scratch S;

static void trim_buf(ex_buf *b) {
  if (b->cap > (1u << 20)) ex_buf_free(b);
}

static void trim_posv(posv *v) {
  if (v->cap > 65536) {
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
  }
}

static void scratch_trim(void) {
  if (!S_grown) return;
  S_grown = 0;
  trim_buf(&S.low);
  trim_buf(&S.win);
  trim_buf(&S.num);
  trim_buf(&S.tmp);
  trim_buf(&S.a);
  trim_buf(&S.b);
  trim_posv(&S.colons);
  trim_posv(&S.hashes);
  trim_posv(&S.answers);
}

static __attribute__((noinline)) int posv_grow(posv *v) {
  size_t nc = v->cap ? v->cap * 2 : 16;
  size_t *nv = realloc(v->v, nc * sizeof *nv);
  if (!nv) return -1;
  v->v = nv, v->cap = nc;
  if (nc > 65536) S_grown = 1;
  return 0;
}

static inline int posv_push(posv *v, size_t x) {
  if (v->n == v->cap && posv_grow(v)) return -1;
  v->v[v->n++] = x;
  return 0;
}

/* t[0..n) equals the lower-case ASCII/UTF-8 d once A-Z in t are lowered.
 * The rules search either the lower-cased text or, when the response is
 * all ASCII, the response itself: this compare serves both. */
static inline uint64_t load8(const char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* the 8 bytes w with A-Z lowered (every other byte kept): bit 7 of up is
 * set in the bytes below 0x80 that are >= 'A' and not > 'Z' (no sum carries
 * into the next byte) */
static inline uint64_t fold8(uint64_t w) {
  const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
  uint64_t x = w & lo7;
  uint64_t up = (x + 0x3f3f3f3f3f3f3f3full) & ~(x + 0x2525252525252525ull) & ~w & hi;
  return w | (up >> 2);
}

static int fold_eq(const char *t, const char *d, size_t n) {
  if (n >= 8) { /* 8 bytes at a time, the last 8 again in part */
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
      if (fold8(load8(t + k)) != load8(d + k)) return 0;
    return k == n || fold8(load8(t + n - 8)) == load8(d + n - 8);
  }
  for (size_t k = 0; k < n; k++) {
    unsigned c = (unsigned char)t[k];
    if (c - 'A' < 26u) c += 32;
    if (c != (unsigned char)d[k]) return 0;
  }
  return 1;
}

/* "answer" (any case) starts at t[j] */
static inline int answer_at(const unsigned char *t, size_t n, size_t j) {
  if (j + 8 <= n) { /* all six are letters: one compare with bit 5 set in each */
    uint64_t w, want, six = 0, bit5 = 0;
    memcpy(&w, t + j, 8);
    memcpy(&want, "answer\0\0", 8);
    memcpy(&six, "\xff\xff\xff\xff\xff\xff\0\0", 8);
    memcpy(&bit5, "\x20\x20\x20\x20\x20\x20\0\0", 8);
    return ((w | bit5) & six) == want;
  }
  return j + 6 <= n && fold_eq((const char *)t + j, "answer", 6);
}

/* one candidate position of the index (see scratch) */
static int index_at(const unsigned char *t, size_t n, size_t j) {
  unsigned c = t[j];
  if (c == ':') return posv_push(&S.colons, j);
  if (c == '#') return posv_push(&S.hashes, j);
  if (c == 0xEF) return j + 2 < n && t[j + 1] == 0xBC && t[j + 2] == 0x9A ? posv_push(&S.colons, j) : 0;
  return (c | 0x20) == 'a' && answer_at(t, n, j) ? posv_push(&S.answers, j) : 0;
}

/* Index t (see scratch) in one pass; *high: some byte is >= 0x80. With
 * SSE2 (and AVX2 where the CPU has it), 16 (32) bytes at a time: a
 * position is a candidate when its byte is ':', '#' or 0xEF, or when it is
 * 'a' and the byte 3 on is 'w' (any case); the few candidates are looked
 * at as they turn up. The last bytes (fewer than a whole step plus the 3
 * the 'w' test reads ahead) go through a copy padded with zeros, which
 * match nothing. */
#if defined(__SSE2__)
static inline unsigned cand16(const unsigned char *p, __m128i *acc, __m128i *par) {
  const __m128i colon = _mm_set1_epi8(':'), hash = _mm_set1_epi8('#'), ef = _mm_set1_epi8((char)0xEF),
                la = _mm_set1_epi8('a'), lw = _mm_set1_epi8('w'), b5 = _mm_set1_epi8(0x20), paren = _mm_set1_epi8('(');
  __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 3));
  *acc = _mm_or_si128(*acc, x);
  *par = _mm_or_si128(*par, _mm_cmpeq_epi8(x, paren));
  __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, hash)), _mm_cmpeq_epi8(x, ef));
  m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(x, b5), la), _mm_cmpeq_epi8(_mm_or_si128(y, b5), lw)));
  return (unsigned)_mm_movemask_epi8(m);
}
#endif

#if defined(__SSE2__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(EXTRACT_NO_AVX2)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
/* the test of cand16 but for 0xEF (see index_text), 32 bytes at a time,
 * for count chunks of 32 (t[32 * count + 2] must be readable), two chunks
 * a step: the masks of chunks 2p and 2p + 1 into mk[p]; returns the set of
 * pairs with a candidate (no call in the loop, so the constants stay in
 * registers) */
enum { IX_BLOCK = 64 };
__attribute__((target("avx2"))) static inline uint32_t mask_avx2(const unsigned char *p, __m256i *acc, __m256i *par) {
  const __m256i colon = _mm256_set1_epi8(':'), hash = _mm256_set1_epi8('#'), la = _mm256_set1_epi8('a'),
                lw = _mm256_set1_epi8('w'), b5 = _mm256_set1_epi8(0x20), paren = _mm256_set1_epi8('(');
  __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(p + 3));
  *acc = _mm256_or_si256(*acc, x);
  *par = _mm256_or_si256(*par, _mm256_cmpeq_epi8(x, paren));
  __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(x, colon), _mm256_cmpeq_epi8(x, hash));
  m = _mm256_or_si256(m, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(x, b5), la),
                                          _mm256_cmpeq_epi8(_mm256_or_si256(y, b5), lw)));
  return (uint32_t)_mm256_movemask_epi8(m);
}

__attribute__((target("avx2"))) static uint32_t cand_avx2(const unsigned char *t, size_t count, uint64_t *mk,
                                                          unsigned *hi, unsigned *pa) {
  __m256i acc = _mm256_setzero_si256(), par = acc;
  uint32_t nz = 0;
  size_t c = 0;
  for (; c + 2 <= count; c += 2) {
    uint64_t m = mask_avx2(t + 32 * c, &acc, &par) | (uint64_t)mask_avx2(t + 32 * c + 32, &acc, &par) << 32;
    mk[c / 2] = m;
    nz |= (uint32_t)(m != 0) << (c / 2);
  }
  if (c < count) {
    uint64_t m = mask_avx2(t + 32 * c, &acc, &par);
    mk[c / 2] = m;
    nz |= (uint32_t)(m != 0) << (c / 2);
  }
  *hi |= (unsigned)_mm256_movemask_epi8(acc);
  *pa |= (unsigned)_mm256_movemask_epi8(par);
  return nz;
}

/* the last 35 bytes, p[0..35): bit k set when p + k is a candidate (the
 * byte test at every position, the 'w' test at the first 32, enough for
 * "answer" to fit) */
__attribute__((target("avx2"))) static uint64_t cand_tail_avx2(const unsigned char *p, unsigned *hi, unsigned *pa) {
  const __m256i colon = _mm256_set1_epi8(':'), hash = _mm256_set1_epi8('#'), la = _mm256_set1_epi8('a'),
                lw = _mm256_set1_epi8('w'), b5 = _mm256_set1_epi8(0x20), paren = _mm256_set1_epi8('(');
  __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
  __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(p + 3));
  __m256i aw = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_or_si256(x, b5), la),
                                _mm256_cmpeq_epi8(_mm256_or_si256(y, b5), lw));
  __m256i cx = _mm256_or_si256(_mm256_cmpeq_epi8(x, colon), _mm256_cmpeq_epi8(x, hash));
  __m256i cy = _mm256_or_si256(_mm256_cmpeq_epi8(y, colon), _mm256_cmpeq_epi8(y, hash));
  *hi |= (unsigned)_mm256_movemask_epi8(_mm256_or_si256(x, y));
  *pa |= (unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(x, paren), _mm256_cmpeq_epi8(y, paren)));
  return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(aw, cx)) |
         (uint64_t)(uint32_t)_mm256_movemask_epi8(cy) << 3;
}

static int have_avx2(void) {
  static int have = -1;
  if (have < 0) have = __builtin_cpu_supports("avx2") ? 1 : 0;
  return have;
}
#endif

/* add the U+FF1A (fullwidth colon) positions of t to S.colons, in order */
static int add_fullwidth_colons(const unsigned char *t, size_t n) {
  static posv fw;
  fw.n = 0;
  for (const unsigned char *q = t, *end = t + n; end - q >= 3 && (q = memchr(q, 0xEF, (size_t)(end - q) - 2)); q++)
    if (q[1] == 0xBC && q[2] == 0x9A && posv_push(&fw, (size_t)(q - t))) return -1;
  if (!fw.n) return 0;
  posv *cv = &S.colons;
  while (cv->cap < cv->n + fw.n)
    if (posv_grow(cv)) return -1;
  size_t i = cv->n, j = fw.n, k = cv->n + fw.n; /* merge from the back */
  while (j) cv->v[--k] = i && cv->v[i - 1] > fw.v[j - 1] ? cv->v[--i] : fw.v[--j];
  cv->n += fw.n;
  if (fw.cap > 65536) {
    free(fw.v);
    fw.v = NULL, fw.n = fw.cap = 0;
  }
  return 0;
}

static int index_text(const char *str, size_t n, int *high) {
  const unsigned char *t = (const unsigned char *)str;
  S.colons.n = S.hashes.n = S.answers.n = 0;
  size_t i = 0;
  unsigned hi = 0, pa = 0;
#if defined(__SSE2__)
  __m128i acc = _mm_setzero_si128(), par = acc;
#if defined(HAVE_AVX2_PATH)
  if (n >= 35 && have_avx2()) {
    uint64_t mk[IX_BLOCK / 2];
    while (n - i >= 35) {
      size_t count = (n - i - 3) / 32;
      if (count > IX_BLOCK) count = IX_BLOCK;
      for (uint32_t nz = cand_avx2(t + i, count, mk, &hi, &pa); nz; nz &= nz - 1) {
        size_t c = (size_t)__builtin_ctz(nz);
        for (uint64_t bits = mk[c]; bits; bits &= bits - 1)
          if (index_at(t, n, i + 64 * c + (size_t)__builtin_ctzll(bits))) return -1;
      }
      i += 32 * count;
    }
    /* 3 to 34 bytes left: the last 35 bytes, minus those done */
    uint64_t bits = cand_tail_avx2(t + n - 35, &hi, &pa) & (~0ull << (i - (n - 35)));
    for (; bits; bits &= bits - 1)
      if (index_at(t, n, n - 35 + (size_t)__builtin_ctzll(bits))) return -1;
    i = n;
    /* fullwidth colons, left out above: only in a text with bytes >= 0x80 */
    if (hi && add_fullwidth_colons(t, n)) return -1;
  } else
#endif
    for (; n - i >= 19; i += 16)
      for (unsigned bits = cand16(t + i, &acc, &par); bits; bits &= bits - 1)
        if (index_at(t, n, i + (size_t)__builtin_ctz(bits))) return -1;
  if (i < n) { /* under 35 bytes left */
    unsigned char pad[64] = {0};
    memcpy(pad, t + i, n - i);
    for (size_t k = 0; k < n - i; k += 16)
      for (unsigned bits = cand16(pad + k, &acc, &par); bits; bits &= bits - 1)
        if (index_at(t, n, i + k + (size_t)__builtin_ctz(bits))) return -1;
  }
  hi |= (unsigned)_mm_movemask_epi8(acc);
  pa |= (unsigned)_mm_movemask_epi8(par);
#else
  for (; i < n; i++) {
    unsigned c = t[i];
    hi |= c & 0x80;
    pa |= c == '(';
    if ((c == ':' || c == '#' || c == 0xEF || (c | 0x20) == 'a') && index_at(t, n, i)) return -1;
  }
#endif
  S.paren = pa != 0;
  if (high) *high = hi != 0;
  return 0;
}

typedef struct {
  const char *s;
  size_t n, colon; /* colon: offset of the (last) ':' or U+FF1A in s */
} delim;
#define D(x) {x, sizeof(x) - 1, 0}

static void delim_init(delim *d, size_t count) {
  for (size_t k = 0; k < count; k++) {
    if (d[k].colon) continue;
    const char *c = NULL;
    for (size_t i = d[k].n; i-- > 0;)
      if (d[k].s[i] == ':' || (i + 2 < d[k].n && memcmp(d[k].s + i, "\xef\xbc\x9a", 3) == 0)) {
        c = d[k].s + i;
        break;
      }
    d[k].colon = c ? (size_t)(c - d[k].s) : 0;
  }
}

/* Occurrences of a delimiter that contains a colon are found from the
 * colon positions: d occurs in t[a..b) at c - d.colon for some colon c. */
static int delim_at(const char *t, size_t a, size_t b, const delim *d, size_t c, size_t *start) {
  if (c < d->colon) return 0;
  unsigned before = (unsigned char)t[c - 1]; /* every delimiter has something before its colon */
  if (before - 'A' < 26u) before += 32;
  if (before != (unsigned char)d->s[d->colon - 1]) return 0;
  size_t st = c - d->colon;
  if (st < a || st + d->n > b) return 0;
  if (!fold_eq(t + st, d->s, d->n)) return 0;
  *start = st;
  return 1;
}

/* Every delimiter with a colon, in one table so that a colon position is
 * tested only against the delimiters with the right byte before it:
 * bit k of by_before[c] is set when colon_d[k] has c (lower-case) before
 * its colon. The bits of each rule, in the reference's order: */
enum {
  CD_NEXT = 0,     /* 12 NEXT_QUESTION_DELIMITERS */
  CD_LANG = 12,    /* 11 step-by-step answer delimiters ("#### " has no colon) */
  CD_PRIMARY = 23, /* "answer: ", "answer is: " */
  CD_SECONDARY = 25,
  CD_SOLUTION = 27,
  CD_COUNT = 28
};
#define CD_MASK(first, count) ((((uint32_t)1 << (count)) - 1) << (first))
static const delim *colon_d[CD_COUNT];
static uint32_t by_before[256];

static inline unsigned fold_byte(unsigned char c) { return (unsigned)c - 'A' < 26u ? c + 32u : c; }

/* leftmost occurrence in t[a..b) of any delimiter of mask (the ones that
 * end at the first colon where some does; none has a second colon inside,
 * so no occurrence ending at a later colon starts before) */
static int colon_first(const char *t, size_t a, size_t b, uint32_t mask, size_t *start) {
  const posv *cv = &S.colons;
  for (size_t k = 0; k < cv->n; k++) {
    size_t c = cv->v[k];
    if (c < a || c == 0) continue;
    if (c >= b) break;
    for (uint32_t m = by_before[fold_byte((unsigned char)t[c - 1])] & mask; m; m &= m - 1)
      if (delim_at(t, a, b, colon_d[__builtin_ctz(m)], c, start)) return 1;
  }
  return 0;
}

/* for each delimiter k of mask, its rightmost occurrence in t[a..b) (==
 * after the last of the left-to-right occurrences, as no delimiter overlaps
 * itself) into last[k]; returns the set of those found. That occurrence is
 * also the rightmost in any t[a2..b) with a2 >= a that has one. */
static uint32_t colon_last_each(const char *t, size_t a, size_t b, uint32_t mask, size_t *last) {
  const posv *cv = &S.colons;
  uint32_t found = 0;
  for (size_t k = cv->n; k-- > 0;) {
    size_t c = cv->v[k];
    if (c >= b) continue;
    if (c < a || c == 0) break;
    for (uint32_t m = by_before[fold_byte((unsigned char)t[c - 1])] & mask & ~found; m; m &= m - 1) {
      unsigned j = (unsigned)__builtin_ctz(m);
      if (delim_at(t, a, b, colon_d[j], c, &last[j])) found |= (uint32_t)1 << j;
    }
    if (found == mask) break;
  }
  return found;
}

/* rightmost "#### " in t[a..b) */
static int hashes_last(const char *t, size_t a, size_t b, size_t *start) {
  const posv *hv = &S.hashes;
  for (size_t k = hv->n; k-- > 0;) {
    size_t h = hv->v[k];
    if (h < a) break;
    if (h + 5 <= b && memcmp(t + h, "#### ", 5) == 0) {
      *start = h;
      return 1;
    }
  }
  return 0;
}

/* rightmost "answer" + tail in t[a..b) */
static int answer_last(const char *t, size_t a, size_t b, const char *tail, size_t tn, size_t *start) {
  const posv *av = &S.answers;
  for (size_t k = av->n; k-- > 0;) {
    size_t j = av->v[k];
    if (j < a) break;
    if (j + 6 + tn <= b && fold_eq(t + j + 6, tail, tn)) {
      *start = j;
      return 1;
    }
  }
  return 0;
}

/* FINAL_ANSWER_AHEAD_PATTERNS without their "answer" */
static const size_t ahead_len[] = {sizeof " is the correct " - 1, sizeof " is the right " - 1,
                                   sizeof " is the final " - 1, sizeof " is the " - 1};

/* where each of answer_ahead first occurs in t[a..b) (SIZE_MAX: not at
 * all), in one pass over the "answer"s; 0 when none does */
static int answer_ahead_first(const char *t, size_t a, size_t b, size_t *first) {
  const posv *av = &S.answers;
  int found = 0;
  uint64_t is_the = load8(" is the "), correct = load8("correct "), right = load8("  right ") >> 16,
           final = load8("  final ") >> 16;
  for (size_t k = 0; k < NELEM(answer_ahead); k++) first[k] = SIZE_MAX;
  for (size_t i = 0; i < av->n; i++) {
    size_t j = av->v[i];
    if (j + 6 > b) break;
    if (j < a + ahead_len[3] || t[j - 1] != ' ') continue;
    /* the 8 bytes before "answer" tell which one it can be */
    uint64_t w = fold8(load8(t + j - 8));
    size_t k;
    if (w == is_the) k = 3;
    else if (w == correct && j >= a + ahead_len[0] && fold8(load8(t + j - ahead_len[0])) == is_the) k = 0;
    else if ((w >> 16 == right || w >> 16 == final) && j >= a + ahead_len[1] && fold8(load8(t + j - ahead_len[1])) == is_the)
      k = w >> 16 == right ? 1 : 2;
    else continue;
    if (first[k] == SIZE_MAX) first[k] = j - ahead_len[k], found = 1;
  }
  return found;
}

/* "answer" followed by " is ", ": " or " is: ", case-sensitively, in the
 * response s, from its index */
static int has_primary_indexed(const char *s, size_t n) {
  const posv *av = &S.answers;
  for (size_t k = 0; k < av->n; k++) {
    size_t i = av->v[k];
    if (memcmp(s + i, "answer", 6) != 0) continue;
    i += 6;
    size_t rest = n - i;
    if ((rest >= 4 && memcmp(s + i, " is ", 4) == 0) || (rest >= 2 && memcmp(s + i, ": ", 2) == 0) ||
        (rest >= 5 && memcmp(s + i, " is: ", 5) == 0))
      return 1;
  }
  return 0;
}

/* NEXT_QUESTION_DELIMITERS, stripped and lower-cased, duplicates dropped */
static delim next_question_d[] = {
    D("\xe0\xa6\xaa\xe0\xa7\x8d\xe0\xa6\xb0\xe0\xa6\xb6\xe0\xa7\x8d\xe0\xa6\xa8:"),
    D("frage:"),
    D("question:"),
    D("pregunta:"),
    D("question :"),
    D("\xe5\x95\x8f\xe9\xa1\x8c\xef\xbc\x9a"),
    D("\xd0\xb7\xd0\xb0\xd0\xb4\xd0\xb0\xd1\x87\xd0\xb0:"),
    D("swali:"),
    D("\xe0\xb0\xaa\xe0\xb1\x8d\xe0\xb0\xb0\xe0\xb0\xb6\xe0\xb1\x8d\xe0\xb0\xa8:"),
    D("\xe0\xb9\x82\xe0\xb8\x88\xe0\xb8\x97\xe0\xb8\xa2\xe0\xb9\x8c:"),
    D("\xe9\x97\xae\xe9\xa2\x98\xef\xbc\x9a"),
    D("q:"),
};
static delim lang_d[NELEM(answer_behind_lang) - 1];
static delim primary_colon_d[] = {D("answer: "), D("answer is: ")};
static delim secondary_d[] = {D("is: "), D("are: ")};
static delim solution_d[] = {D("this is the solution:")};
static int delims_ready;

static void delims_init(void) {
  if (delims_ready) return;
  for (size_t k = 0; k + 1 < NELEM(answer_behind_lang); k++) /* all but "#### " */
    lang_d[k] = (delim){answer_behind_lang[k], strlen(answer_behind_lang[k]), 0};
  delim_init(next_question_d, NELEM(next_question_d));
  delim_init(lang_d, NELEM(lang_d));
  delim_init(primary_colon_d, NELEM(primary_colon_d));
  delim_init(secondary_d, NELEM(secondary_d));
  delim_init(solution_d, 1);
  size_t k = 0;
  for (size_t i = 0; i < NELEM(next_question_d); i++) colon_d[k++] = &next_question_d[i];
  for (size_t i = 0; i < NELEM(lang_d); i++) colon_d[k++] = &lang_d[i];
  for (size_t i = 0; i < NELEM(primary_colon_d); i++) colon_d[k++] = &primary_colon_d[i];
  for (size_t i = 0; i < NELEM(secondary_d); i++) colon_d[k++] = &secondary_d[i];
  colon_d[k++] = &solution_d[0];
  for (size_t i = 0; i < k; i++) by_before[(unsigned char)colon_d[i]->s[colon_d[i]->colon - 1]] |= (uint32_t)1 << i;
  delims_ready = 1;
}

/* any number word present? (cheap test before the reference's 28 replaces):
 * bit k of first[c] & second[d] & third[e] is set when number_words[k]
 * starts with the letters c d e */
static int has_number_word(sl w) {
  static uint32_t first[256], second[256], third[256];
  static unsigned char len[NELEM(number_words)];
  static int ready;
  if (!ready) {
    for (size_t k = 0; k < NELEM(number_words); k++) {
      const unsigned char *x = (const unsigned char *)number_words[k];
      len[k] = (unsigned char)strlen(number_words[k]);
      first[x[0]] |= 1u << k, second[x[1]] |= 1u << k, third[x[2]] |= 1u << k;
    }
    ready = 1;
  }
  const unsigned char *u = (const unsigned char *)w.p;
  for (size_t i = 0; i + 3 <= w.n; i++) {
    uint32_t m = first[u[i]] & second[u[i + 1]] & third[u[i + 2]];
    for (; m; m &= m - 1) {
      unsigned k = (unsigned)__builtin_ctz(m);
      if (i + len[k] <= w.n && memcmp(w.p + i, number_words[k], len[k]) == 0) return 1;
    }
  }
  return 0;
}

/* '{:.{nd}f}'.format(round(float(tok), nd)) when tok is [+-]digits[.0*]
 * (at most 15 digits before the point, so exact in a double): 1 when done,
 * 0 when tok is not that, -1 */
static int plain_integer(sl tok, int nd, ex_buf *out) {
  size_t i = tok.n && (tok.p[0] == '-' || tok.p[0] == '+'), e = i;
  while (e < tok.n && (unsigned)(tok.p[e] - '0') <= 9u) e++;
  if (e == i || e - i > 15) return 0;
  if (e < tok.n) {
    if (tok.p[e] != '.') return 0;
    for (size_t k = e + 1; k < tok.n; k++)
      if (tok.p[k] != '0') return 0;
  }
  size_t z = i;
  while (z + 1 < e && tok.p[z] == '0') z++; /* float() drops leading zeros */
  out->n = 0;
  if (buf_reserve(out, e - z + 2 + (size_t)nd)) return -1;
  if (tok.p[0] == '-') out->p[out->n++] = '-'; /* "-0" too, as Python prints -0.0 */
  memcpy(out->p + out->n, tok.p + z, e - z);
  out->n += e - z;
  if (nd > 0) {
    out->p[out->n++] = '.';
    memset(out->p + out->n, '0', (size_t)nd);
    out->n += (size_t)nd;
  }
  out->p[out->n] = '\0';
  return 1;
}

/* _parse_with_treating_as_number */
/* parse_number's byte tables: tok_class[c] says whether c is an ASCII
 * letter (1), another ASCII byte (2) or not ASCII (4); pn_keep[c] is the
 * byte the filter keeps for c (A-Z lowered), 0 for one to look at ($ , %
 * ':', the lead bytes of € and £, NUL) */
static unsigned char tok_class[256], pn_keep[256];

static void parse_tables(void) {
  if (pn_keep['a']) return;
  for (unsigned c = 0; c < 256; c++) {
    int letter = (c | 0x20) - 'a' < 26u;
    tok_class[c] = (unsigned char)(c >= 0x80 ? 4 : letter ? 1 : 2);
    pn_keep[c] = (unsigned char)(c - 'A' < 26u ? c + 32 : c);
  }
  pn_keep['$'] = pn_keep[','] = pn_keep['%'] = pn_keep[':'] = pn_keep[0xE2] = pn_keep[0xC2] = 0;
}

/* how parse_number sees a token: 1 when it is the one to take (it is not
 * all letters once number words are replaced), with *words set when it
 * has a number word */
static inline int take_token(sl part, int *words) {
  unsigned cls = 0;
  for (size_t i = 0; i < part.n; i++) cls |= tok_class[(unsigned char)part.p[i]];
  /* number words are lower-case ASCII letters, three or more */
  if ((*words = (cls & 1) && part.n >= 3 && has_number_word(part))) return 1;
  return !part.n || (cls & 2) || ((cls & 4) && !ex_is_alpha(part.p, part.n));
}

/* last c in p[0..n) */
static inline const char *rchr(const char *p, size_t n, char c) {
  if (n > 32) return memrchr(p, c, n);
  while (n--)
    if (p[n] == c) return p + n;
  return NULL;
}

/* _parse_with_treating_as_number */
static int parse_number(sl s, int indicated, int nd, ex_buf *out) {
  parse_tables();
  const char *eq_sign = rchr(s.p, s.n, '=');
  if (eq_sign) s = (sl){eq_sign + 1, s.n - (size_t)(eq_sign + 1 - s.p)};
  /* drop $ , % € £ and lower A-Z (p may still have them), up to the first
   * ':' (the reference splits on ':' after this; ':' is neither dropped
   * here nor part of what is) */
  ex_buf *cur = &S.a, *alt = &S.b;
  cur->n = 0;
  if (buf_reserve(cur, s.n)) return -1;
  const unsigned char *u = (const unsigned char *)s.p;
  char *dst = cur->p;
  size_t dn = 0, i = 0;
  for (;;) {
#if defined(__SSE2__)
    /* 16 bytes at a time up to the next byte to look at */
    const __m128i dollar = _mm_set1_epi8('$'), comma = _mm_set1_epi8(','), pct = _mm_set1_epi8('%'),
                  colon = _mm_set1_epi8(':'), e2 = _mm_set1_epi8((char)0xE2), c2 = _mm_set1_epi8((char)0xC2),
                  zero = _mm_setzero_si128();
    while (s.n - i >= 16) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
      __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, dollar), _mm_cmpeq_epi8(x, comma)),
                                _mm_or_si128(_mm_cmpeq_epi8(x, pct), _mm_cmpeq_epi8(x, colon)));
      sp = _mm_or_si128(sp, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, e2), _mm_cmpeq_epi8(x, c2)),
                                         _mm_cmpeq_epi8(x, zero)));
      unsigned m = (unsigned)_mm_movemask_epi8(sp);
      _mm_storeu_si128((__m128i *)(void *)(dst + dn), lower16(x)); /* dn <= i: room for it */
      if (m) {
        unsigned k = (unsigned)__builtin_ctz(m);
        i += k, dn += k;
        break;
      }
      i += 16, dn += 16;
    }
#endif
    for (unsigned v; i < s.n && (v = pn_keep[u[i]]) != 0; i++) dst[dn++] = (char)v;
    if (i >= s.n) break;
    unsigned c = u[i];
    if (c == ':') break;
    if (c == '$' || c == ',' || c == '%') i++;
    else if (c == 0xE2 && i + 2 < s.n && u[i + 1] == 0x82 && u[i + 2] == 0xAC) i += 3;
    else if (c == 0xC2 && i + 1 < s.n && u[i + 1] == 0xA3) i += 2;
    else dst[dn++] = (char)c, i++;
  }
  dst[dn] = '\0';
  cur->n = dn;
  sl w = strip(of(cur));
  /* The first (answer indicated) or last token that is not all letters once
   * number words are replaced ('eight' -> '8'); the first / last token when
   * all are. No word spans a space, so each token is looked at alone, and
   * only the token taken gets the reference's replaces, in its order. */
  sl tok = {NULL, 0};
  int words = 0;
  if (indicated) {
    sl rest = w;
    for (;;) {
      const char *e = rest.n ? memchr(rest.p, ' ', rest.n) : NULL;
      sl part = {rest.p, e ? (size_t)(e - rest.p) : rest.n};
      if (take_token(part, &words)) {
        tok = part;
        break;
      }
      if (!e) break;
      rest = (sl){e + 1, rest.n - part.n - 1};
    }
    if (!tok.p) { /* all letters: the first */
      const char *e = w.n ? memchr(w.p, ' ', w.n) : NULL;
      tok = (sl){w.p, e ? (size_t)(e - w.p) : w.n};
    }
  } else {
    size_t end = w.n;
    for (;;) {
      const char *e = rchr(w.p, end, ' ');
      size_t b0 = e ? (size_t)(e - w.p) + 1 : 0;
      sl part = {w.p + b0, end - b0};
      if (take_token(part, &words)) {
        tok = part;
        break;
      }
      if (!e) break;
      end = b0 - 1;
    }
    if (!tok.p) { /* all letters: the last */
      const char *e = rchr(w.p, w.n, ' ');
      tok = e ? (sl){e + 1, w.n - (size_t)(e + 1 - w.p)} : w;
    }
  }
  for (size_t k = 0; words && k < NELEM(number_words); k++) {
    if (!contains(tok, number_words[k])) continue;
    if (replace_all(tok, number_words[k], strlen(number_words[k]), number_values[k], strlen(number_values[k]), alt))
      return -1;
    ex_buf *x = cur;
    cur = alt;
    alt = x;
    tok = of(cur);
  }
  /* '156kgs' -> '156', '823-yard' -> '823' */
  while (tok.n) {
    unsigned last = (unsigned char)tok.p[tok.n - 1];
    if (last < 0x80) {
      if ((last | 0x20) - 'a' >= 26u) break;
      tok.n--;
      continue;
    }
    uint32_t c;
    size_t j = u8prev((const unsigned char *)tok.p, tok.n, tok.n, &c);
    if (!is_alpha(c)) break;
    tok.n = j;
  }
  if (tok.n && tok.p[tok.n - 1] == '-') tok.n--;
  int r = plain_integer(tok, nd, out);
  if (r) return r < 0 ? -1 : 0;
  double v;
  int f = ex_is_float(tok.p, tok.n, &v);
  if (f < 0) return -1;
  if (f) return format_number(v, nd, out);
  sl d;
  if (last_digits_first_line(tok, &d)) tok = d;
  return buf_set(out, tok.p, tok.n);
}

/* get_normalized_prediction. The rules search the lower-cased response
 * or, when it is all ASCII (lower-casing then keeps every offset), the
 * response itself with case folded in the compares; either way one indexing
 * pass finds every place a marker can start, and each rule looks only
 * there. Only the window that survives the markers is lower-cased. */
static int normalize(const char *s, size_t n, const ex_norm_opts *o, ex_buf *out) {
  delims_init();
  int high, moved;
  if (index_text(s, n, &high)) return -1;
  /* the primary markers are looked for case-sensitively in the raw response */
  int primary = has_primary_indexed(s, n);
  const char *t = s;
  size_t tn = n;
  if (high) {
    /* lower-case it; when no character changed length, every offset and so
     * the index stay the same */
    S.low.n = 0;
    if (lower_append_moved((const unsigned char *)s, n, &S.low, &moved)) return -1;
    t = S.low.p, tn = S.low.n;
    if (moved && index_text(t, tn, NULL)) return -1;
  }
  sl p = strip((sl){t, tn});
  size_t a = (size_t)(p.p - t), b = a + p.n, st;
  int indicated = 0, colons = S.colons.n != 0;
  uint32_t found = 0;
  size_t last[CD_COUNT];
  if (colons) {
    /* a follow-on question the model made up: keep what comes before it */
    if (colon_first(t, a, b, CD_MASK(CD_NEXT, 12), &st)) b = st;
    /* each delimiter of the rules below taken from the right: its rightmost
     * occurrence, when it starts at or after the a of its turn */
    found = colon_last_each(t, a, b, CD_MASK(CD_LANG, 11) | (primary ? CD_MASK(CD_PRIMARY, 2) : CD_MASK(CD_SECONDARY, 2)),
                            last);
    for (uint32_t m = found & CD_MASK(CD_LANG, 11); m; m &= m - 1) {
      unsigned k = (unsigned)__builtin_ctz(m);
      if (last[k] >= a) a = last[k] + colon_d[k]->n, indicated = 1;
    }
  }
  if (hashes_last(t, a, b, &st)) a = st + 5, indicated = 1;
  if (primary && answer_last(t, a, b, " is ", 4, &st)) a = st + 10, indicated = 1;
  for (uint32_t m = found & CD_MASK(CD_PRIMARY, 4); m; m &= m - 1) {
    unsigned k = (unsigned)__builtin_ctz(m);
    if (last[k] >= a) a = last[k] + colon_d[k]->n, indicated = 1;
  }
  if (S.answers.n) { /* all four end with " answer" */
    size_t first[NELEM(answer_ahead)];
    if (answer_ahead_first(t, a, b, first))
      for (size_t k = 0; k < NELEM(answer_ahead); k++)
        if (first[k] != SIZE_MAX && first[k] + ahead_len[k] + 6 <= b) b = first[k], indicated = 1;
  }
  p = strip((sl){t + a, b - a});
  a = (size_t)(p.p - t), b = a + p.n;
  if (colons && colon_first(t, a, b, CD_MASK(CD_SOLUTION, 1), &st)) b = st;
  while (b > a && t[b - 1] == '.') b--;
  while (b > a && t[b - 1] == '\'') b--;
  /* From here on p may still have A-Z (when t is the response itself):
   * what is kept is lowered as it is copied (a no-op on lowered text). */
  p = (sl){t + a, b - a};
  if (o->as_bool) {
    S.win.n = 0;
    if (buf_reserve(&S.win, p.n)) return -1;
    lower_ascii(S.win.p, (const unsigned char *)p.p, p.n);
    S.win.n = p.n;
    S.win.p[S.win.n] = '\0';
    p = of(&S.win);
  }
  if (S.paren) p = bracketed_choice(p); /* needs a '(' */
  if (!o->as_bool) {
    if (!o->as_number) {
      const char *dot = memchr(p.p, '.', p.n);
      size_t keep = dot ? (size_t)(dot - p.p) : p.n;
      if (buf_reserve(out, keep)) return -1;
      lower_ascii(out->p, (const unsigned char *)p.p, keep);
      out->n = keep;
      out->p[keep] = '\0';
      return 0;
    }
    return parse_number(p, indicated, o->num_decimals, out);
  }
  sl notnum = before_first(p, ".");
  if (parse_number(p, indicated, o->num_decimals, &S.num)) return -1;
  sl res = p;
  if (!is_boolean_symbol(notnum)) {
    if (eq(of(&S.num), "0") || eq(of(&S.num), "1"))
      res = (sl){S.num.p[0] == '1' ? "true" : "false", S.num.p[0] == '1' ? 4 : 5};
    if (eq(notnum, "0") || eq(notnum, "1"))
      res = (sl){notnum.p[0] == '1' ? "true" : "false", notnum.p[0] == '1' ? 4 : 5};
  } else {
    res = notnum;
  }
  if (ex_remove_punct(res.p, res.n, 0, &S.tmp)) return -1;
  res = strip(of(&S.tmp));
  return buf_set(out, res.p, res.n);
}

int ex_normalize(const char *s, size_t n, const ex_norm_opts *o, ex_buf *out) {
  int rc = normalize(s, n, o, out);
  scratch_trim();
  return rc;
}

/* ex_post would keep the short s as it is: no ':' or space at either end,
 * no '\n', no "Q:" */
static int post_keeps(const char *s, size_t n) {
  if (n == 0) return 1;
  if (n > 32) return 0;
  unsigned a = (unsigned char)s[0], z = (unsigned char)s[n - 1];
  if (a == ':' || z == ':' || a - 0x21u >= 0x5Fu || z - 0x21u >= 0x5Fu) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n' || s[i] == 'Q') return 0;
  return 1;
}

int ex_post(const char *s, size_t n, ex_buf *out) {
  sl p = {s, n};
  while (p.n && p.p[0] == ':') p.p++, p.n--;
  while (p.n && p.p[p.n - 1] == ':') p.n--;
  p = strip(p);
  const char *nl = p.n ? memchr(p.p, '\n', p.n) : NULL;
  if (nl) p.n = (size_t)(nl - p.p);
  for (const char *q = p.p, *end = p.p + p.n; end - q >= 2 && (q = memchr(q, 'Q', (size_t)(end - q) - 1)); q++)
    if (q[1] == ':') {
      p.n = (size_t)(q - p.p);
      break;
    }
  if (s == out->p) { /* in place */
    if (p.n && p.p != out->p) memmove(out->p, p.p, p.n);
    out->n = p.n;
    if (out->p) out->p[p.n] = '\0';
    return 0;
  }
  return buf_set(out, p.p, p.n);
}

int ex_boxed(const char *s, size_t n, int balanced, size_t *off, size_t *len) {
  static const char tag[] = "\\boxed";
  sl h = {s, n};
  if (!find(h, tag, 6)) return 0;
  if (balanced) {
    /* one pass with a stack of open braces; the last-opened \boxed{ that
     * closes wins */
    size_t *stack = NULL, depth = 0, cap = 0;
    int got = 0;
    for (size_t i = 0; i < n; i++) {
      if (s[i] == '{') {
        if (depth == cap) {
          size_t nc = cap ? cap * 2 : 16;
          size_t *ns = realloc(stack, nc * sizeof *ns);
          if (!ns) {
            free(stack);
            return -1;
          }
          stack = ns, cap = nc;
        }
        /* open position + 1, with bit 0 of the stored value set for \boxed{ */
        int isbox = i >= 6 && memcmp(s + i - 6, tag, 6) == 0;
        stack[depth++] = ((i + 1) << 1) | (size_t)isbox;
      } else if (s[i] == '}' && depth) {
        size_t top = stack[--depth];
        size_t open = (top >> 1) - 1;
        if ((top & 1) && (!got || open + 1 > *off)) {
          *off = open + 1;
          *len = i - open - 1;
          got = 1;
        }
      }
    }
    free(stack);
    return got ? 1 : -2;
  }
  size_t pos = 0;
  while (pos < n) {
    const char *f = find((sl){s + pos, n - pos}, "\\boxed{", 7);
    if (!f) return -2;
    size_t i = (size_t)(f - s) + 7, j = i;
    while (j < n && s[j] != '}' && s[j] != '\n') j++;
    if (j < n && s[j] == '}') {
      *off = i;
      *len = j - i;
      return 1;
    }
    if (j >= n) return -2;
    pos = j; /* every start before this newline fails too */
  }
  return -2;
}

/* ------------------------------------------------------------ _get_accuracy */

/* x in "abcdefghijklmnopqrstuvwxyz" (a substring test, so "" and "bc" too) */
static int in_alphabet(sl x) {
  for (size_t i = 0; i < x.n; i++) {
    if (x.p[i] < 'a' || x.p[i] > 'z') return 0;
    if (i && x.p[i] != x.p[i - 1] + 1) return 0;
  }
  return 1;
}

/* s has no A-Z, no byte >= 0x80 and no punctuation: lower() and
 * remove_punctuation_from_string() would return it as it is */
static int plain(sl s) {
  /* bit c: ASCII c is neither A-Z nor in string.punctuation */
  static const uint64_t ok[2] = {0x03FF0001FFFFFFFFull, 0x87FFFFFE00000000ull};
  static unsigned char bad[256];
  if (!bad[0x80])
    for (unsigned c = 0; c < 256; c++) bad[c] = c >= 0x80 || !(ok[c >> 6] >> (c & 63) & 1);
  unsigned any = 0;
  for (size_t i = 0; i < s.n; i++) any |= bad[(unsigned char)s.p[i]];
  return !any;
}

/* s has no A-Z and no byte >= 0x80: lower() would return it as it is */
static int lower_is_same(sl s) {
  for (size_t i = 0; i < s.n; i++) {
    unsigned c = (unsigned char)s.p[i];
    if (c - 'A' < 26u || c >= 0x80) return 0;
  }
  return 1;
}

static int is_bracketed(sl x) { return x.n == 3 && x.p[0] == '(' && x.p[2] == ')' && x.p[1] >= 'a' && x.p[1] <= 'z'; }

/* length of a "(A)".."(Z)" or "A:" separator at i, else 0 */
static size_t separator_at(const char *s, size_t n, size_t i) {
  if (s[i] == '(' && i + 2 < n && s[i + 1] >= 'A' && s[i + 1] <= 'Z' && s[i + 2] == ')') return 3;
  if (s[i] == 'A' && i + 1 < n && s[i + 1] == ':') return 2;
  return 0;
}

int ex_answer_text(const char *s, size_t n, int index, ex_buf *out) {
  int count = 0;
  size_t start = 0, i = 0, end = n;
  int found = 0;
  while (i < n) {
    size_t l = separator_at(s, n, i);
    if (!l) {
      i++;
      continue;
    }
    if (found) {
      end = i;
      break;
    }
    if (count == index) {
      found = 1;
      start = i + l;
    }
    count++;
    i += l;
  }
  if (!found) return 1;
  sl item = strip((sl){s + start, end - start});
  if (ex_lower(item.p, item.n, out)) return -1;
  sl first = before_first(of(out), "\n");
  out->n = first.n;
  out->p[out->n] = '\0';
  return 0;
}

static int all_not_in(ex_buf *list, int n, sl target) {
  for (int k = 0; k < n; k++)
    if (find(target, list[k].p ? list[k].p : "", list[k].n)) return 0;
  return 1;
}

int ex_accuracy(const char *target, size_t tn, const char *pred, size_t pn, const char *input, size_t in,
                int include_ok) {
  if (!in) {
    sl t = {target, tn}, p = {pred, pn};
    /* nothing to lower, no brackets, no punctuation, no boolean meaning:
     * the rules below come down to this */
    if (plain(t) && plain(p) && bool_symbol(t) < 0)
      return sl_eq(strip(p), strip(t)) || (include_ok && find(p, t.p, t.n) != NULL);
  }
  static ex_buf tb, pb, pbx, tat, x, y, others[26]; /* reused between calls */
  int nothers = 0, rc = -1, acc = 0;
  char tbr[4], pbr[4];
  tb.n = pb.n = pbx.n = tat.n = x.n = y.n = 0;
  sl t = {target, tn}, p = {pred, pn};
  if (!lower_is_same(t) && (ex_lower(target, tn, &tb) || (t = of(&tb), 0))) goto done;
  if (!lower_is_same(p) && (ex_lower(pred, pn, &pb) || (p = of(&pb), 0))) goto done;
  int included = include_ok && find(p, t.p, t.n) != NULL;
  if (in) {
    if (in_alphabet(t) && t.n <= 1) {
      snprintf(tbr, sizeof tbr, "(%.*s)", (int)t.n, t.p);
      t = (sl){tbr, t.n + 2};
    } else if (in_alphabet(t)) {
      rc = 0; /* "(bc)" is no bracketed letter */
      goto done;
    }
    if (in_alphabet(p) && p.n <= 1) {
      snprintf(pbr, sizeof pbr, "(%.*s)", (int)p.n, p.p);
      p = (sl){pbr, p.n + 2};
    } else if (in_alphabet(p)) {
      /* "(bc)": matches nothing below but the reference keeps it */
      if (buf_add(&pbx, "(", 1) || buf_add(&pbx, p.p, p.n) || buf_add(&pbx, ")", 1)) goto done;
      p = of(&pbx);
    }
    if (!is_bracketed(t)) {
      rc = 0;
      goto done;
    }
    int r = ex_answer_text(input, in, t.p[1] - 'a', &tat);
    if (r < 0) goto done;
    if (r > 0) { /* IndexError in the reference */
      rc = 0;
      goto done;
    }
    uint32_t present = 0;
    for (size_t i = 0; i + 2 < in; i++)
      if (input[i] == '(' && input[i + 2] == ')' && input[i + 1] >= 'A' && input[i + 1] <= 'Z')
        present |= 1u << (input[i + 1] - 'A');
    for (int k = 0; k < 26 && (present & (1u << k)); k++) {
      if (k == t.p[1] - 'a') continue;
      r = ex_answer_text(input, in, k, &others[nothers]);
      if (r < 0) goto done;
      nothers++;
    }
  }
  if (is_bracketed(t)) t = (sl){t.p + 1, 1};
  if (is_bracketed(p)) p = (sl){p.p + 1, 1};
  int exact = sl_eq(p, t);
  if (!exact) {
    if (punct_free(p) && punct_free(t)) {
      exact = sl_eq(strip(p), strip(t));
    } else {
      if (ex_remove_punct(p.p, p.n, 0, &x) || ex_remove_punct(t.p, t.n, 0, &y)) goto done;
      exact = sl_eq(strip(of(&x)), strip(of(&y)));
    }
  }
  int text_exact = 0, text_included = 0;
  if (in) {
    sl ta = of(&tat);
    text_exact = sl_eq(p, ta);
    if (!text_exact) {
      if (ex_remove_punct(p.p, p.n, 1, &x)) goto done;
      text_exact = sl_eq(strip(of(&x)), ta);
    }
    if (find(p, ta.p, ta.n)) {
      int unique = 1; /* the true text is in no other option's text */
      for (int k = 0; k < nothers; k++)
        if (find(of(&others[k]), ta.p, ta.n)) unique = 0;
      if (unique) {
        if (replace_all(p, ta.p, ta.n, "", 0, &y)) goto done;
        text_included = all_not_in(others, nothers, of(&y));
      } else {
        text_included = all_not_in(others, nothers, p);
      }
    }
  }
  int bool_match = 0, truth = bool_symbol(t);
  if (truth >= 0) {
    const char *want = truth ? "true" : "false";
    sl q = p;
    if (eq(q, "0")) q = (sl){"false", 5};
    else if (eq(q, "1")) q = (sl){"true", 4};
    bool_match = eq(q, want) || eq(strip(q), want);
  }
  acc = exact || text_exact || text_included || bool_match;
  if (include_ok) acc = acc || included;
  rc = acc;
done:
  trim_buf(&tb);
  trim_buf(&pb);
  trim_buf(&x);
  trim_buf(&y);
  if (in) {
    trim_buf(&pbx);
    trim_buf(&tat);
    for (int k = 0; k < 26; k++) trim_buf(&others[k]);
  }
  return rc;
}

int ex_score(const char *resp, size_t rn, const char *target, size_t tn, const char *input, size_t in,
             const ex_score_opts *o, ex_buf *pred) {
  int done = 0;
  if (o->boxed != EX_BOXED_OFF) {
    size_t off, len;
    if (ex_boxed(resp, rn, o->boxed == EX_BOXED_NORMALIZE, &off, &len) == 1) {
      if (o->boxed == EX_BOXED_REFERENCE) {
        if (buf_set(pred, resp + off, len)) return -1;
      } else if (ex_normalize(resp + off, len, &o->norm, pred)) {
        return -1;
      }
      done = 1;
    }
  }
  if (!done && ex_normalize(resp, rn, &o->norm, pred)) return -1;
  if (o->post && !post_keeps(pred->p, pred->n) && ex_post(pred->p, pred->n, pred)) return -1;
  return ex_accuracy(target, tn, pred->p ? pred->p : "", pred->n, input, in, o->include_ok);
}
