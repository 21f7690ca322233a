/* libFuzzer target for the embedding-JSON scanner (src/vec_json.c, behind
 * opro.vec.from_json). Input: one byte choosing the member name
 * ("embedding", "values", or the 1-8 bytes that follow), then the JSON
 * text. Checked for any bytes: the result is either a failure with a
 * message and no data, or rows x dim finite float32 values; and the rows,
 * written back as JSON arrays (%.9g round-trips a float32), scan to the
 * same bits. Run with `make fuzz FUZZ=fuzz_vec_json`. */
#include <math.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec_json.h"

static char *dup0(const char *s, size_t n) {
  char *b = malloc(n + 1);   /* the scanner may read the NUL after the text */
  if (!b) abort();
  memcpy(b, s, n);
  b[n] = 0;
  return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *key = "embedding";
  size_t keylen = 9;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  if (data[0] % 3 == 1) {
    key = "values";
    keylen = 6;
  } else if (data[0] % 3 == 2) {
    keylen = (size_t)(data[0] / 3) % 8 + 1;
    if (keylen > n) return 0;
    key = (const char *)p;
    p += keylen;
    n -= keylen;
  }
  char *text = dup0((const char *)p, n);
  char *k = dup0(key, keylen);
  vec_json_result r;
  int rc = vec_json_extract(text, n, k, keylen, &r);
  if (rc != 0) {
    if (rc != -1 || r.data || r.rows || r.dim || r.err[0] == 0) abort();
    if (!memchr(r.err, 0, sizeof r.err)) abort();
    free(text);
    free(k);
    return 0;
  }
  if ((r.rows == 0) != (r.dim == 0)) abort();
  if (r.rows > 0 && !r.data) abort();
  for (size_t i = 0; i < r.rows * r.dim; i++)
    if (!isfinite(r.data[i]) || fabsf(r.data[i]) > FLT_MAX) abort();

  /* round trip: the same rows written as {"KEY":[...]} objects in an array */
  if (r.rows > 0 && memchr(k, '"', keylen) == NULL && memchr(k, '\\', keylen) == NULL) {
    int ctl = 0;
    for (size_t i = 0; i < keylen; i++) ctl |= (unsigned char)k[i] < 0x20;
    if (!ctl) {
      size_t cap = 16 + r.rows * (keylen + 8 + r.dim * 18), len = 0;
      char *out = malloc(cap);
      if (!out) abort();
      out[len++] = '[';
      for (size_t i = 0; i < r.rows; i++) {
        len += (size_t)snprintf(out + len, cap - len, "%s{\"%s\":[", i ? "," : "", k);
        for (size_t j = 0; j < r.dim; j++)
          len += (size_t)snprintf(out + len, cap - len, "%s%.9g", j ? "," : "", (double)r.data[i * r.dim + j]);
        len += (size_t)snprintf(out + len, cap - len, "]}");
      }
      len += (size_t)snprintf(out + len, cap - len, "]");
      if (len >= cap) abort();
      vec_json_result r2;
      if (vec_json_extract(out, len, k, keylen, &r2) != 0) {
        fprintf(stderr, "round trip failed: %s\n%s\n", r2.err, out);
        abort();
      }
      if (r2.rows != r.rows || r2.dim != r.dim || memcmp(r2.data, r.data, r.rows * r.dim * sizeof(float)) != 0) {
        fprintf(stderr, "round trip differs\n");
        abort();
      }
      free(r2.data);
      free(out);
    }
  }
  free(r.data);
  free(text);
  free(k);
  return 0;
}
