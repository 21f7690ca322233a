/* Unit tests of src/vec.c, src/vec_json.c and src/embed_hash.c (no Lua):
 * every kernel against a plain double loop, dims around the SIMD width,
 * top-k against a full sort, empty inputs, JSON extraction. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed_hash.h"
#include "tap.h"
#include "vec.h"
#include "vec_json.h"

static uint64_t rng = 88172645463325252ULL;
static float frand(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double ref_dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

static int close_rel(double got, double want) { return fabs(got - want) <= 1e-5 * fabs(want) + 1e-12; }

static const size_t dims[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 767, 768, 769};
#define NDIMS (sizeof dims / sizeof dims[0])

static void test_vectors(const char *kname) {
  int bad = 0;
  for (size_t d = 0; d < NDIMS; d++) {
    size_t n = dims[d];
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    for (int rep = 0; rep < 20; rep++) {
      for (size_t i = 0; i < n; i++) { a[i] = frand(); b[i] = frand(); }
      double dot = ref_dot(a, b, n), na = sqrt(ref_dot(a, a, n)), nb = sqrt(ref_dot(b, b, n));
      if (!close_rel(vec_dot(a, b, n), dot)) bad++;
      if (!close_rel(vec_norm(a, n), na)) bad++;
      if (!close_rel(vec_cosine(a, b, n), dot / (na * nb))) bad++;
    }
    free(a);
    free(b);
  }
  TAP_OK(bad == 0, "%s: dot, norm, cosine within 1e-5 of the reference for %zu dims (%d bad)", kname, NDIMS, bad);
}

typedef struct { size_t i; double s; } pair;
static int by_score(const void *x, const void *y) {
  const pair *a = x, *b = y;
  if (a->s != b->s) return a->s < b->s ? 1 : -1;
  return a->i < b->i ? -1 : a->i > b->i;
}

static void test_topk(const char *kname) {
  int bad = 0;
  for (size_t d = 0; d < NDIMS; d++) {
    size_t dim = dims[d], rows = 57;
    vec_matrix m = {malloc(rows * dim * sizeof(float)), malloc(rows * sizeof(double)), rows, dim};
    float *q = malloc(dim * sizeof(float));
    double *work = malloc(dim * sizeof(double));
    for (size_t i = 0; i < rows * dim; i++) m.data[i] = frand();
    for (size_t r = 0; r < rows; r++) m.rownorm[r] = vec_norm(m.data + r * dim, dim);
    for (size_t i = 0; i < dim; i++) q[i] = frand();
    double qn = sqrt(ref_dot(q, q, dim));
    pair ref[57];
    for (size_t r = 0; r < rows; r++) {
      const float *row = m.data + r * dim;
      ref[r].i = r;
      ref[r].s = ref_dot(row, q, dim) / (sqrt(ref_dot(row, row, dim)) * qn);
    }
    qsort(ref, rows, sizeof ref[0], by_score);
    size_t idx[60];
    double sc[60];
    size_t ks[] = {0, 1, 10, 57, 60};
    for (size_t t = 0; t < 5; t++) {
      size_t got = vec_topk(&m, q, ks[t], VEC_COSINE, idx, sc, work);
      size_t want = ks[t] < rows ? ks[t] : rows;
      if (got != want) bad++;
      for (size_t j = 0; j < got && j < want; j++)
        if (idx[j] != ref[j].i || !close_rel(sc[j], ref[j].s)) bad++;
    }
    double best;
    size_t where;
    if (!vec_max_cosine(&m, q, &best, &where, work) || where != ref[0].i || !close_rel(best, ref[0].s)) bad++;
    free(m.data);
    free(m.rownorm);
    free(q);
    free(work);
  }
  TAP_OK(bad == 0, "%s: top-k (k = 0, 1, 10, rows, > rows) and max_cosine match a full sort (%d bad)", kname, bad);
}

static void test_empty(void) {
  vec_matrix m = {NULL, NULL, 0, 4};
  float q[4] = {1, 2, 3, 4};
  double work[4], best = -7, mean, max;
  size_t idx[1], where = 99;
  double sc[1];
  TAP_OK(vec_topk(&m, q, 5, VEC_COSINE, idx, sc, work) == 0, "top-k of an empty matrix is empty");
  TAP_OK(vec_max_cosine(&m, q, &best, &where, work) == 0 && best == -7 && where == 99,
         "max_cosine of an empty matrix reports none and writes nothing");
  TAP_OK(vec_pairwise_cosine(&m, &mean, &max, work) == 0 && mean == 0 && max == 0, "no pairs in an empty matrix");
  float z[3] = {0, 0, 0}, o[3] = {1, 2, 3};
  TAP_OK(vec_cosine(z, o, 3) == 0 && vec_normalize(z, 3) == 0 && z[0] == 0, "zero vectors: cosine 0, normalize no-op");
  TAP_OK(vec_dot(o, o, 0) == 0, "dimension 0: dot is 0");
  float nan3[3] = {1, NAN, 2};
  TAP_OK(vec_find_nonfinite(nan3, 3) == 1 && vec_find_nonfinite(o, 3) == 3, "find_nonfinite");
}

static void test_json(void) {
  const char *ok = "{\"data\":[{\"embedding\":[1,-2.5,3e2],\"index\":0},{\"embedding\":[0,0.5,-1E-1]}],"
                   "\"note\":\"\\\"embedding\\\":[7]\"}";
  vec_json_result r;
  int rc = vec_json_extract(ok, strlen(ok), "embedding", 9, &r);
  TAP_OK(rc == 0 && r.rows == 2 && r.dim == 3 && r.data[0] == 1 && r.data[1] == -2.5f && r.data[2] == 300 &&
             r.data[5] == -0.1f,
         "two arrays in order; a key inside a string value is not a key");
  free(r.data);
  const char *bad[] = {"{\"embedding\":[1,2", "{\"embedding\":[1,2],\"x\":{\"embedding\":[1]}}", "[1,2,]",
                       "{\"embedding\":[1e40]}", "{\"embedding\":{}}", "nul"};
  int nbad = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rc = vec_json_extract(bad[i], strlen(bad[i]), "embedding", 9, &r);
    if (rc != -1 || r.data != NULL || strstr(r.err, "at byte ") == NULL) nbad++;
  }
  TAP_OK(nbad == 0, "malformed texts fail with a located message and no data");
  rc = vec_json_extract("{}", 2, "embedding", 9, &r);
  TAP_OK(rc == 0 && r.rows == 0 && r.data == NULL, "no match: zero rows");
}

static void test_hash(void) {
  enum { D = 256 };
  float a[D], b[D], c[D], work[D];
  char scratch[256];
  const char *t1 = "Let's think step by step.", *t2 = "LET'S THINK, step by step!", *t3 = "Answer in French.";
  size_t f1 = embed_hash(t1, strlen(t1), a, D, work, scratch);
  embed_hash(t2, strlen(t2), b, D, work, scratch);
  embed_hash(t3, strlen(t3), c, D, work, scratch);
  TAP_OK(f1 > 0 && memcmp(a, b, sizeof a) == 0, "hashing ignores case and punctuation");
  TAP_OK(fabs(vec_norm(a, D) - 1) < 1e-6 && vec_cosine(a, c, D) < 0.5, "unit length; unrelated text far");
  TAP_OK(embed_hash("!!", 2, a, D, work, scratch) == 0 && vec_norm(a, D) == 0, "no words: zero vector");
}

int main(void) {
  test_vectors(vec_kernel_name());
  test_topk(vec_kernel_name());
  vec_force_generic(1);
  test_vectors(vec_kernel_name());
  test_topk(vec_kernel_name());
  vec_force_generic(0);
  test_empty();
  test_json();
  test_hash();
  return tap_done();
}
