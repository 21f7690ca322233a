/* libFuzzer target for the PCRE2 wrapper (src/regex.c): the input is
 * flags byte, pattern \0 subject. Every match runs under low limits so a
 * pathological pattern ends quickly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0] & 0x7F;
  const char *pat = (const char *)data + 1;
  size_t rest = size - 1;
  const char *z = memchr(pat, 0, rest);
  size_t pn = z ? (size_t)(z - pat) : rest;
  const char *subj = z ? z + 1 : "";
  size_t sn = z ? rest - pn - 1 : 0;
  char err[256];
  size_t eo;
  rx_limits lim = {100000, 1000, 1024};
  rx *r = rx_compile(pat, pn, flags, &lim, err, sizeof err, &eo);
  if (!r) {
    if (eo > pn) abort();
    return 0;
  }
  rx_match *m = rx_match_new(r);
  if (!m) abort();
  size_t pos = 0;
  unsigned opts = 0;
  for (int k = 0; k < 64 && pos <= sn; k++) {
    int rc = rx_exec(r, subj, sn, pos, opts, m, err, sizeof err);
    if (rc != RX_MATCH) break;
    size_t off, len;
    if (!rx_group(m, 0, &off, &len)) abort();
    if (off > sn || len > sn - off) abort();
    for (int g = 1; g <= rx_captures(r); g++)
      if (rx_group(m, g, &off, &len) && (off > sn || len > sn - off)) abort();
    pos = off + len > pos ? off + len : pos;
    opts = RX_NOTEMPTY_ATSTART;
  }
  int g;
  for (int k = 0; rx_name(r, k, &g); k++)
    if (g < 1 || g > rx_captures(r)) abort();
  rx_match_free(m);
  rx_free(r);
  return 0;
}
