/* extract.c: the OPRO reference's answer normalization and accuracy rules
 * (see extract.h), written for speed: one pass per rule over byte slices,
 * copies only where a rule rewrites the text. Python str semantics come
 * from the tables in unitab.h. */
#include "extract.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unitab.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BAD_CP 0xFFFFFFFFu

/* ---------------------------------------------------------------- buffers */

void ex_buf_free(ex_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

static int buf_reserve(ex_buf *b, size_t extra) {
  if (b->n + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->n + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) return -1;
  b->p = p;
  b->cap = cap;
  return 0;
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

int ex_lower(const char *str, size_t n, ex_buf *out) {
  const unsigned char *s = (const unsigned char *)str;
  out->n = 0;
  if (buf_reserve(out, n + 8)) return -1;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (out->n + 1 >= out->cap && buf_reserve(out, 1)) return -1;
      out->p[out->n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
      i++;
      continue;
    }
    uint32_t cp;
    size_t l = u8dec(s, n, i, &cp);
    if (buf_reserve(out, 8)) return -1;
    if (cp == 0x3A3) {
      out->n += u8enc(final_sigma(s, n, i) ? 0x3C2 : 0x3C3, out->p + out->n);
    } else {
      const uint32_t *m = cp == BAD_CP ? NULL : map_lookup(&uni_lower[0][0], NELEM(uni_lower), 3, cp);
      if (m) {
        out->n += u8enc(m[0], out->p + out->n);
        if (m[1]) out->n += u8enc(m[1], out->p + out->n);
      } else {
        memcpy(out->p + out->n, s + i, l);
        out->n += l;
      }
    }
    i += l;
  }
  out->p[out->n] = '\0';
  return 0;
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
    uint32_t c;
    size_t l = u8dec(s, n, a, &c);
    if (!is_space(c)) break;
    a += l;
  }
  while (b > a) {
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

static const char *find(sl h, const char *nd, size_t nn) {
  if (nn == 0) return h.p;
  if (nn > h.n) return NULL;
  return memmem(h.p, h.n, nd, nn);
}

static int contains(sl h, const char *nd) { return find(h, nd, strlen(nd)) != NULL; }

/* s.split(nd)[0] */
static sl before_first(sl h, const char *nd) {
  const char *f = find(h, nd, strlen(nd));
  if (f) h.n = (size_t)(f - h.p);
  return h;
}

/* s.split(nd)[-1]: after the last of the occurrences found left to right */
static sl after_last(sl h, const char *nd) {
  size_t nn = strlen(nd);
  sl rest = h;
  const char *f;
  while ((f = find(rest, nd, nn)) != NULL) {
    size_t skip = (size_t)(f - rest.p) + nn;
    rest.p += skip;
    rest.n -= skip;
  }
  return rest;
}

static sl strip(sl s) {
  ex_strip(&s.p, &s.n);
  return s;
}

static int eq(sl a, const char *b) {
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

static sl of(const ex_buf *b) { return (sl){b->p ? b->p : "", b->n}; }

/* ------------------------------------------------- get_normalized_prediction */

/* NEXT_QUESTION_DELIMITERS, stripped and lower-cased, duplicates dropped */
static const char *const next_question[] = {
    "\xe0\xa6\xaa\xe0\xa7\x8d\xe0\xa6\xb0\xe0\xa6\xb6\xe0\xa7\x8d\xe0\xa6\xa8:",
    "frage:",
    "question:",
    "pregunta:",
    "question :",
    "\xe5\x95\x8f\xe9\xa1\x8c\xef\xbc\x9a",
    "\xd0\xb7\xd0\xb0\xd0\xb4\xd0\xb0\xd1\x87\xd0\xb0:",
    "swali:",
    "\xe0\xb0\xaa\xe0\xb1\x8d\xe0\xb0\xb0\xe0\xb0\xb6\xe0\xb1\x8d\xe0\xb0\xa8:",
    "\xe0\xb9\x82\xe0\xb8\x88\xe0\xb8\x97\xe0\xb8\xa2\xe0\xb9\x8c:",
    "\xe9\x97\xae\xe9\xa2\x98\xef\xbc\x9a",
    "q:",
};

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
static const char *const behind_primary[] = {"answer is ", "answer: ", "answer is: "};
static const char *const behind_secondary[] = {"is: ", "are: "};
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
static const char *const boolean_symbols[3][2] = {{"false", "true"}, {"no", "yes"}, {"invalid", "valid"}};

static int is_boolean_symbol(sl s) {
  for (size_t g = 0; g < 3; g++)
    for (size_t k = 0; k < 2; k++)
      if (eq(s, boolean_symbols[g][k])) return 1;
  return 0;
}

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

/* re.findall(r'\(.*?\)', s)[0] when exactly one distinct "(a)".."(z)" occurs */
static sl bracketed_choice(sl s) {
  uint32_t seen = 0;
  for (size_t i = 0; i + 2 < s.n; i++)
    if (s.p[i] == '(' && s.p[i + 2] == ')' && s.p[i + 1] >= 'a' && s.p[i + 1] <= 'z')
      seen |= 1u << (s.p[i + 1] - 'a');
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

typedef struct {
  ex_buf a, b; /* scratch */
} scratch;

static void scratch_free(scratch *t) {
  ex_buf_free(&t->a);
  ex_buf_free(&t->b);
}

/* _parse_with_treating_as_number */
static int parse_number(sl s, int indicated, int nd, scratch *t, ex_buf *out) {
  s = after_last(s, "=");
  /* drop $ , % € £ */
  ex_buf *cur = &t->a, *alt = &t->b;
  cur->n = 0;
  if (buf_reserve(cur, s.n)) return -1;
  for (size_t i = 0; i < s.n;) {
    unsigned char c = (unsigned char)s.p[i];
    if (c == '$' || c == ',' || c == '%') {
      i++;
      continue;
    }
    if (c == 0xE2 && i + 2 < s.n && (unsigned char)s.p[i + 1] == 0x82 && (unsigned char)s.p[i + 2] == 0xAC) {
      i += 3;
      continue;
    }
    if (c == 0xC2 && i + 1 < s.n && (unsigned char)s.p[i + 1] == 0xA3) {
      i += 2;
      continue;
    }
    cur->p[cur->n++] = (char)c;
    i++;
  }
  cur->p[cur->n] = '\0';
  sl w = strip(before_first(of(cur), ":"));
  /* 'eight' -> '8', every word in the reference's order */
  for (size_t k = 0; k < NELEM(number_words); k++) {
    if (!contains(w, number_words[k])) continue;
    if (replace_all(w, number_words[k], strlen(number_words[k]), number_values[k], strlen(number_values[k]), alt))
      return -1;
    ex_buf *x = cur;
    cur = alt;
    alt = x;
    w = of(cur);
  }
  /* the first (answer indicated) or last token that is not all letters */
  sl tok = {w.p, 0}, first = {0, 0};
  int have_first = 0, found = 0;
  size_t start = 0;
  for (size_t i = 0; i <= w.n; i++) {
    if (i < w.n && w.p[i] != ' ') continue;
    sl part = {w.p + start, i - start};
    start = i + 1;
    if (!have_first) first = part, have_first = 1;
    if (!ex_is_alpha(part.p, part.n)) {
      tok = part;
      found = 1;
      if (indicated) break;
    }
  }
  if (!found) {
    if (indicated) tok = first;
    else {
      /* the last part */
      const char *sp = w.n ? memrchr(w.p, ' ', w.n) : NULL;
      tok = sp ? (sl){sp + 1, w.n - (size_t)(sp + 1 - w.p)} : w;
    }
  }
  /* '156kgs' -> '156', '823-yard' -> '823' */
  while (tok.n) {
    uint32_t c;
    size_t j = u8prev((const unsigned char *)tok.p, tok.n, tok.n, &c);
    if (!is_alpha(c)) break;
    tok.n = j;
  }
  if (tok.n && tok.p[tok.n - 1] == '-') tok.n--;
  double v;
  int f = ex_is_float(tok.p, tok.n, &v);
  if (f < 0) return -1;
  if (f) return format_number(v, nd, out);
  sl d;
  if (last_digits_first_line(tok, &d)) tok = d;
  return buf_set(out, tok.p, tok.n);
}

int ex_normalize(const char *s, size_t n, const ex_norm_opts *o, ex_buf *out) {
  ex_buf low = {0}, num = {0}, tmp = {0};
  scratch t = {{0}, {0}};
  int rc = -1;
  if (ex_lower(s, n, &low)) goto done;
  sl p = strip(of(&low));
  sl orig = {s, n};
  int primary = 0;
  for (size_t k = 0; k < NELEM(behind_primary); k++)
    if (contains(orig, behind_primary[k])) primary = 1;
  /* a follow-on question the model made up: keep what comes before it */
  for (size_t k = 0; k < NELEM(next_question); k++) p = before_first(p, next_question[k]);
  int indicated = 0;
  for (size_t k = 0; k < NELEM(answer_behind_lang); k++)
    if (contains(p, answer_behind_lang[k])) p = after_last(p, answer_behind_lang[k]), indicated = 1;
  const char *const *pats = primary ? behind_primary : behind_secondary;
  size_t npats = primary ? NELEM(behind_primary) : NELEM(behind_secondary);
  for (size_t k = 0; k < npats; k++)
    if (contains(p, pats[k])) p = after_last(p, pats[k]), indicated = 1;
  for (size_t k = 0; k < NELEM(answer_ahead); k++)
    if (contains(p, answer_ahead[k])) p = before_first(p, answer_ahead[k]), indicated = 1;
  p = strip(p);
  p = before_first(p, "this is the solution:");
  while (p.n && p.p[p.n - 1] == '.') p.n--;
  while (p.n && p.p[p.n - 1] == '\'') p.n--;
  p = bracketed_choice(p);
  if (!o->as_bool) {
    if (!o->as_number) rc = buf_set(out, p.p, before_first(p, ".").n);
    else rc = parse_number(p, indicated, o->num_decimals, &t, out);
    goto done;
  }
  sl notnum = before_first(p, ".");
  if (parse_number(p, indicated, o->num_decimals, &t, &num)) goto done;
  sl res = p;
  if (!is_boolean_symbol(notnum)) {
    if (eq(of(&num), "0") || eq(of(&num), "1")) res = (sl){num.p[0] == '1' ? "true" : "false", num.p[0] == '1' ? 4 : 5};
    if (eq(notnum, "0") || eq(notnum, "1")) res = (sl){notnum.p[0] == '1' ? "true" : "false", notnum.p[0] == '1' ? 4 : 5};
  } else {
    res = notnum;
  }
  if (ex_remove_punct(res.p, res.n, 0, &tmp)) goto done;
  res = strip(of(&tmp));
  rc = buf_set(out, res.p, res.n);
done:
  ex_buf_free(&low);
  ex_buf_free(&num);
  ex_buf_free(&tmp);
  scratch_free(&t);
  return rc;
}

int ex_post(const char *s, size_t n, ex_buf *out) {
  sl p = {s, n};
  while (p.n && p.p[0] == ':') p.p++, p.n--;
  while (p.n && p.p[p.n - 1] == ':') p.n--;
  p = strip(p);
  p = before_first(p, "\n");
  p = before_first(p, "Q:");
  if (s == out->p) { /* in place */
    if (p.n) memmove(out->p, p.p, p.n);
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
  ex_buf tb = {0}, pb = {0}, pbx = {0}, tat = {0}, x = {0}, y = {0}, others[26];
  int nothers = 0, rc = -1, acc = 0;
  char tbr[4], pbr[4];
  memset(others, 0, sizeof others);
  if (ex_lower(target, tn, &tb) || ex_lower(pred, pn, &pb)) goto done;
  sl t = of(&tb), p = of(&pb);
  int included = find(p, t.p, t.n) != NULL;
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
    if (ex_remove_punct(p.p, p.n, 0, &x) || ex_remove_punct(t.p, t.n, 0, &y)) goto done;
    exact = sl_eq(strip(of(&x)), strip(of(&y)));
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
  int bool_match = 0;
  for (int g = 0; g < 3; g++)
    for (int k = 0; k < 2; k++)
      if (eq(t, boolean_symbols[g][k])) {
        const char *want = k ? "true" : "false";
        sl q = p;
        if (eq(q, "0")) q = (sl){"false", 5};
        else if (eq(q, "1")) q = (sl){"true", 4};
        bool_match = eq(q, want) || eq(strip(q), want);
        g = 3;
        break;
      }
  acc = exact || text_exact || text_included || bool_match;
  if (include_ok) acc = acc || included;
  rc = acc;
done:
  ex_buf_free(&tb);
  ex_buf_free(&pb);
  ex_buf_free(&pbx);
  ex_buf_free(&tat);
  ex_buf_free(&x);
  ex_buf_free(&y);
  for (int k = 0; k < 26; k++) ex_buf_free(&others[k]);
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
  if (o->post && ex_post(pred->p, pred->n, pred)) return -1;
  return ex_accuracy(target, tn, pred->p ? pred->p : "", pred->n, input, in, o->include_ok);
}
