/* regex.c: the PCRE2 wrapper described in regex.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "regex.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#include <stdlib.h>
#include <string.h>

struct rx {
  pcre2_code *code;
  pcre2_match_context *mctx;
  int jit;
};

struct rx_match {
  pcre2_match_data *md;
};

/* JIT unless OPRO_REGEX_JIT=0 or under valgrind (JIT code reads whole
 * vectors past the subject's end, which valgrind reports). */
static int use_jit(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("OPRO_REGEX_JIT");
    v = !(e && strcmp(e, "0") == 0) && !RUNNING_ON_VALGRIND;
  }
  return v;
}

/* One JIT stack for the process (the host is single-threaded). JIT code
 * ignores the depth and heap limits and its match limit does not bound its
 * time: a recursion such as `|(?0)` with RX_NOTEMPTY_ATSTART runs in time
 * quadratic in the stack it may use (27 s at 4 MiB; found by
 * tests/fuzz/fuzz_regex). So the stack is small (PCRE2's own default is
 * 32 KiB) and a match that outgrows it is run again by the interpreter,
 * which keeps to all three limits (rx_exec). */
#define RX_JIT_STACK_START (32 * 1024)
#define RX_JIT_STACK_MAX (256 * 1024)
static pcre2_jit_stack *jit_stack(void) {
  static pcre2_jit_stack *st;
  if (!st) st = pcre2_jit_stack_create(RX_JIT_STACK_START, RX_JIT_STACK_MAX, NULL);
  return st;
}

/* Whether a pattern may recurse or call a group as a subroutine: (?R),
 * (?1), (?+1), (?-1), (?&name), (?P>name), \g<...>, \g'...'. JIT code
 * copies its frames on every such call, so its time grows with the square
 * of the depth and no limit bounds it (a 300-byte '|||...(?0)' took 25 s
 * per input under fuzz_regex); the interpreter keeps to the match, depth
 * and heap limits. Text that only looks like a call (in a class or
 * \Q...\E) merely goes without JIT. */
static int calls_groups(const char *p, size_t n) {
  for (size_t i = 0; i + 2 < n; i++) {
    if (p[i] == '\\') {
      if (p[i + 1] == 'g' && (p[i + 2] == '<' || p[i + 2] == '\'')) return 1;
      i++;
      continue;
    }
    if (p[i] != '(' || p[i + 1] != '?') continue;
    unsigned char c = (unsigned char)p[i + 2];
    if (c == 'R' || c == '&' || isdigit(c)) return 1;
    if (i + 3 < n && (c == '+' || c == '-') && isdigit((unsigned char)p[i + 3])) return 1;
    if (i + 3 < n && c == 'P' && p[i + 3] == '>') return 1;
  }
  return 0;
}

rx *rx_compile(const char *pat, size_t n, unsigned flags, const rx_limits *lim, char *err, size_t errlen,
               size_t *erroff) {
  uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (flags & RX_CASELESS) opts |= PCRE2_CASELESS;
  if (flags & RX_MULTILINE) opts |= PCRE2_MULTILINE;
  if (flags & RX_DOTALL) opts |= PCRE2_DOTALL;
  if (flags & RX_EXTENDED) opts |= PCRE2_EXTENDED;
  if (flags & RX_UNGREEDY) opts |= PCRE2_UNGREEDY;
  if (flags & RX_ANCHORED) opts |= PCRE2_ANCHORED;
  if (flags & RX_UCP) opts |= PCRE2_UCP;
  rx *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    *erroff = 0;
    return NULL;
  }
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  if (cctx) pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
  int ec;
  PCRE2_SIZE eo;
  r->code = pcre2_compile((PCRE2_SPTR)pat, n, opts, &ec, &eo, cctx);
  pcre2_compile_context_free(cctx);
  if (!r->code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(ec, buf, sizeof buf);
    snprintf(err, errlen, "%s at offset %zu", (const char *)buf, (size_t)eo);
    *erroff = eo;
    free(r);
    return NULL;
  }
  r->jit = use_jit() && !calls_groups(pat, n) && pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
  r->mctx = pcre2_match_context_create(NULL);
  if (!r->mctx) {
    snprintf(err, errlen, "out of memory");
    *erroff = 0;
    rx_free(r);
    return NULL;
  }
  pcre2_set_match_limit(r->mctx, lim && lim->match_limit ? lim->match_limit : RX_DEFAULT_MATCH_LIMIT);
  pcre2_set_depth_limit(r->mctx, lim && lim->depth_limit ? lim->depth_limit : RX_DEFAULT_DEPTH_LIMIT);
  pcre2_set_heap_limit(r->mctx, lim && lim->heap_limit ? lim->heap_limit : RX_DEFAULT_HEAP_LIMIT);
  if (r->jit && jit_stack()) pcre2_jit_stack_assign(r->mctx, NULL, jit_stack());
  return r;
}

void rx_free(rx *r) {
  if (!r) return;
  pcre2_match_context_free(r->mctx);
  pcre2_code_free(r->code);
  free(r);
}

int rx_captures(const rx *r) {
  uint32_t c = 0;
  pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &c);
  return (int)c;
}

int rx_jit(const rx *r) { return r->jit; }

const char *rx_name(const rx *r, int i, int *group) {
  uint32_t count = 0, size = 0;
  PCRE2_SPTR table;
  pcre2_pattern_info(r->code, PCRE2_INFO_NAMECOUNT, &count);
  if (i < 0 || (uint32_t)i >= count) return NULL;
  pcre2_pattern_info(r->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
  pcre2_pattern_info(r->code, PCRE2_INFO_NAMETABLE, &table);
  const unsigned char *e = table + (size_t)i * size;
  *group = (e[0] << 8) | e[1];
  return (const char *)e + 2;
}

rx_match *rx_match_new(const rx *r) {
  rx_match *m = malloc(sizeof *m);
  if (!m) return NULL;
  m->md = pcre2_match_data_create_from_pattern(r->code, NULL);
  if (!m->md) {
    free(m);
    return NULL;
  }
  return m;
}

void rx_match_free(rx_match *m) {
  if (!m) return;
  pcre2_match_data_free(m->md);
  free(m);
}

int rx_exec(const rx *r, const char *s, size_t n, size_t start, unsigned opts, rx_match *m, char *err,
            size_t errlen) {
  uint32_t o = (opts & RX_NOTEMPTY_ATSTART) ? PCRE2_NOTEMPTY_ATSTART : 0;
  int rc = pcre2_match(r->code, (PCRE2_SPTR)(s ? s : ""), n, start, o, m->md, r->mctx);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter: no JIT stack, every limit kept */
    rc = pcre2_match(r->code, (PCRE2_SPTR)(s ? s : ""), n, start, o | PCRE2_NO_JIT, m->md, r->mctx);
  if (rc >= 0) return RX_MATCH;
  if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL) return RX_NOMATCH;
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(rc, buf, sizeof buf);
  snprintf(err, errlen, "%s", (const char *)buf);
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
      rc == PCRE2_ERROR_JIT_STACKLIMIT)
    return RX_LIMIT;
  if (rc == PCRE2_ERROR_NOMEMORY) return RX_NOMEM;
  return RX_ERROR;
}

int rx_group(const rx_match *m, int i, size_t *off, size_t *len) {
  if ((uint32_t)i >= pcre2_get_ovector_count(m->md)) return 0;
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
  if (ov[2 * i] == PCRE2_UNSET) return 0;
  *off = ov[2 * i];
  *len = ov[2 * i + 1] - ov[2 * i];
  if (ov[2 * i + 1] < ov[2 * i]) *len = 0; /* \K in a lookahead */
  return 1;
}
