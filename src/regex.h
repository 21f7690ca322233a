/* regex.h: compiled PCRE2 (8-bit, UTF) patterns with match limits, no Lua.
 * Patterns are compiled in UTF mode with PCRE2_MATCH_INVALID_UTF (subjects
 * may hold any bytes; invalid sequences never match a character), JIT
 * compiled when the library supports it. Every match runs under a match
 * limit, a depth limit and a heap limit, so a pathological pattern fails
 * with RX_LIMIT instead of hanging the run. */
#ifndef OPRO_REGEX_H
#define OPRO_REGEX_H
#include <stddef.h>
#include <stdint.h>

typedef struct rx rx;
typedef struct rx_match rx_match;

enum {
  RX_CASELESS = 1,  /* i */
  RX_MULTILINE = 2, /* m */
  RX_DOTALL = 4,    /* s */
  RX_EXTENDED = 8,  /* x */
  RX_UNGREEDY = 16, /* U */
  RX_ANCHORED = 32, /* A */
  RX_UCP = 64,      /* u: \d \w \s and POSIX classes use Unicode properties */
};

typedef struct {
  uint32_t match_limit; /* 0: RX_DEFAULT_MATCH_LIMIT */
  uint32_t depth_limit; /* 0: RX_DEFAULT_DEPTH_LIMIT */
  uint32_t heap_limit;  /* KiB; 0: RX_DEFAULT_HEAP_LIMIT */
} rx_limits;
#define RX_DEFAULT_MATCH_LIMIT 10000000u
#define RX_DEFAULT_DEPTH_LIMIT 100000u
#define RX_DEFAULT_HEAP_LIMIT 65536u

/* Compiles; on failure returns NULL and writes "message at offset N" to
 * err (and the offset to *erroff). */
rx *rx_compile(const char *pat, size_t n, unsigned flags, const rx_limits *lim, char *err, size_t errlen,
               size_t *erroff);
void rx_free(rx *r);
int rx_captures(const rx *r);  /* number of capture groups */
int rx_jit(const rx *r);       /* 1 when JIT compiled */
/* i-th named group (0-based): its name, and its group number in *group;
 * NULL past the end */
const char *rx_name(const rx *r, int i, int *group);

rx_match *rx_match_new(const rx *r);
void rx_match_free(rx_match *m);

/* match results */
enum { RX_NOMATCH = 0, RX_MATCH = 1, RX_LIMIT = -1, RX_ERROR = -2, RX_NOMEM = -3 };
#define RX_NOTEMPTY_ATSTART 1u /* no empty match at the start offset */
/* Searches s[start..n). On RX_LIMIT/RX_ERROR a message goes to err. */
int rx_exec(const rx *r, const char *s, size_t n, size_t start, unsigned opts, rx_match *m, char *err,
            size_t errlen);
/* group i of the last match: 1 with [*off, *off + *len), 0 when unset */
int rx_group(const rx_match *m, int i, size_t *off, size_t *len);

#endif
