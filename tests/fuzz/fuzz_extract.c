/* libFuzzer target for the answer extractor (src/extract.c).
 * Input: one flag byte, then response \0 target \0 input (missing parts are
 * empty). Every entry point runs on the data; invariants that must hold for
 * any bytes abort on violation. Run with `make fuzz FUZZ=fuzz_extract`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

static void part(const uint8_t **p, size_t *n, const char **s, size_t *len) {
  const uint8_t *z = memchr(*p, 0, *n);
  *s = (const char *)*p;
  *len = z ? (size_t)(z - *p) : *n;
  size_t used = z ? *len + 1 : *n;
  *p += used;
  *n -= used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0];
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  const char *resp, *target, *input;
  size_t rn, tn, in;
  part(&p, &n, &resp, &rn);
  part(&p, &n, &target, &tn);
  part(&p, &n, &input, &in);

  ex_buf a = {0}, b = {0};
  ex_norm_opts o = {(int)(flags & 1), (int)((flags >> 1) & 1), (int)((flags >> 2) & 3)};
  if (ex_normalize(resp, rn, &o, &a)) abort();
  if (ex_post(a.p, a.n, &a)) abort();

  /* lower() is idempotent, as Python's is */
  if (ex_lower(resp, rn, &a) || ex_lower(a.p, a.n, &b)) abort();
  if (a.n != b.n || memcmp(a.p, b.p, a.n) != 0) abort();
  if (ex_upper(resp, rn, &b)) abort();

  /* strip() leaves a sub-range that starts and ends with no space */
  const char *s = resp;
  size_t sn = rn;
  ex_strip(&s, &sn);
  if (s < resp || s + sn > resp + rn) abort();
  const char *s2 = s;
  size_t sn2 = sn;
  ex_strip(&s2, &sn2);
  if (s2 != s || sn2 != sn) abort();

  double v;
  if (ex_is_float(resp, rn, &v) < 0) abort();
  (void)ex_is_numeric(resp, rn);
  (void)ex_is_alpha(resp, rn);
  (void)ex_len(resp, rn);

  size_t off, len;
  for (int bal = 0; bal < 2; bal++) {
    int r = ex_boxed(resp, rn, bal, &off, &len);
    if (r == 1 && (off > rn || len > rn - off)) abort();
  }

  int acc = ex_accuracy(target, tn, resp, rn, input, in, (int)((flags >> 4) & 1));
  if (acc < 0 || acc > 1) abort();
  /* a prediction equal to the target is always correct without options */
  if (in == 0 && ex_accuracy(target, tn, target, tn, "", 0, 0) != 1) abort();

  if (ex_answer_text(input, in, (int)(flags % 26), &b) < 0) abort();

  ex_score_opts so = {o, (int)((flags >> 5) % 3), 1, (int)((flags >> 4) & 1)};
  int sc = ex_score(resp, rn, target, tn, input, in, &so, &a);
  if (sc < 0 || sc > 1) abort();

  ex_buf_free(&a);
  ex_buf_free(&b);
  return 0;
}
