/* vec: float32 vector maths with double accumulation; see vec.h. */
#include "vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define VEC_X86 1
#include <immintrin.h>
#endif

/* ---- portable kernels: four independent accumulators, so the loop has
 * no serial dependency (gcc -O2 vectorises the body as SLP) ---- */

static double dot_ff_generic(const float *a, const float *b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += (double)a[i] * b[i];
    s1 += (double)a[i + 1] * b[i + 1];
    s2 += (double)a[i + 2] * b[i + 2];
    s3 += (double)a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += (double)a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

static double dot_fd_generic(const float *a, const double *q, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * q[i];
    s1 += a[i + 1] * q[i + 1];
    s2 += a[i + 2] * q[i + 2];
    s3 += a[i + 3] * q[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * q[i];
  return (s0 + s1) + (s2 + s3);
}

static double sum_generic(const float *a, size_t n) {
  float s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) s[j] += a[i + j];
  double t = 0;
  for (int j = 0; j < 8; j++) t += s[j];
  for (; i < n; i++) t += a[i];
  return t;
}

#ifdef VEC_X86
/* ---- AVX2 + FMA: floats widened to double, 16 elements per iteration ---- */

__attribute__((target("avx2,fma"))) static double hsum256d(__m256d v) {
  __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
  lo = _mm_add_pd(lo, hi);
  return _mm_cvtsd_f64(lo) + _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
}

__attribute__((target("avx2,fma"))) static double dot_ff_avx2(const float *a, const float *b, size_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  __m256d s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)), s1);
    s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)), s2);
    s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)), s3);
  }
  for (; i + 4 <= n; i += 4)
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
  double t = hsum256d(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
  for (; i < n; i++) t += (double)a[i] * b[i];
  return t;
}

__attribute__((target("avx2,fma"))) static double dot_fd_avx2(const float *a, const double *q, size_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  __m256d s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_loadu_pd(q + i), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_loadu_pd(q + i + 4), s1);
    s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_loadu_pd(q + i + 8), s2);
    s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_loadu_pd(q + i + 12), s3);
  }
  for (; i + 4 <= n; i += 4)
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_loadu_pd(q + i), s0);
  double t = hsum256d(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
  for (; i < n; i++) t += a[i] * q[i];
  return t;
}

__attribute__((target("avx2,fma"))) static double sum_avx2(const float *a, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
  }
  float tmp[8];
  _mm256_storeu_ps(tmp, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  double t = 0;
  for (int j = 0; j < 8; j++) t += tmp[j];
  for (; i < n; i++) t += a[i];
  return t;
}
#endif

/* ---- dispatch ---- */

typedef struct {
  const char *name;
  double (*dot_ff)(const float *, const float *, size_t);
  double (*dot_fd)(const float *, const double *, size_t);
  double (*sum)(const float *, size_t);
} kernels;

static const kernels generic_k = {"generic", dot_ff_generic, dot_fd_generic, sum_generic};
#ifdef VEC_X86
static const kernels avx2_k = {"avx2", dot_ff_avx2, dot_fd_avx2, sum_avx2};
#endif
static const kernels *active;
static int forced_generic;

static const kernels *K(void) {
  if (active) return active;
  active = &generic_k;
#ifdef VEC_X86
  __builtin_cpu_init();
  if (!forced_generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) active = &avx2_k;
#endif
  return active;
}

void vec_force_generic(int on) {
  forced_generic = on;
  active = NULL;
}

const char *vec_kernel_name(void) { return K()->name; }

/* ---- vectors ---- */

double vec_dot(const float *a, const float *b, size_t n) { return K()->dot_ff(a, b, n); }

double vec_norm(const float *a, size_t n) { return sqrt(K()->dot_ff(a, a, n)); }

static double clamp1(double c) { return c > 1 ? 1 : c < -1 ? -1 : c; }

double vec_cosine(const float *a, const float *b, size_t n) {
  double na = vec_norm(a, n), nb = vec_norm(b, n);
  if (na == 0 || nb == 0) return 0;
  return clamp1(vec_dot(a, b, n) / (na * nb));
}

double vec_normalize(float *a, size_t n) {
  double nrm = vec_norm(a, n);
  if (nrm == 0) return 0;
  double inv = 1.0 / nrm;
  for (size_t i = 0; i < n; i++) a[i] = (float)(a[i] * inv);
  return nrm;
}

size_t vec_find_nonfinite(const float *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(a[i])) return i;
  return n;
}

double vec_sum(const float *a, size_t n) { return K()->sum(a, n); }

/* ---- matrices ---- */

/* query as doubles into work; returns its norm */
static double widen(const float *q, size_t dim, double *work) {
  for (size_t i = 0; i < dim; i++) work[i] = q[i];
  return vec_norm(q, dim);
}

static double row_score(const vec_matrix *m, size_t r, const double *qd, double qnorm, vec_metric metric,
                        double (*dot_fd)(const float *, const double *, size_t)) {
  double d = dot_fd(m->data + r * m->dim, qd, m->dim);
  if (metric == VEC_DOT) return d;
  double nr = m->rownorm[r];
  if (nr == 0 || qnorm == 0) return 0;
  return clamp1(d / (nr * qnorm));
}

/* heap order: the root is the worst entry (lowest score, then highest index) */
static int worse(double sa, size_t ia, double sb, size_t ib) {
  return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(size_t *idx, double *sc, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && worse(sc[l], idx[l], sc[w], idx[w])) w = l;
    if (r < n && worse(sc[r], idx[r], sc[w], idx[w])) w = r;
    if (w == i) return;
    double ts = sc[i]; sc[i] = sc[w]; sc[w] = ts;
    size_t ti = idx[i]; idx[i] = idx[w]; idx[w] = ti;
    i = w;
  }
}

static void sift_up(size_t *idx, double *sc, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!worse(sc[i], idx[i], sc[p], idx[p])) return;
    double ts = sc[i]; sc[i] = sc[p]; sc[p] = ts;
    size_t ti = idx[i]; idx[i] = idx[p]; idx[p] = ti;
    i = p;
  }
}

size_t vec_topk(const vec_matrix *m, const float *q, size_t k, vec_metric metric,
                size_t *idx, double *score, double *work) {
  if (k > m->rows) k = m->rows;
  if (k == 0) return 0;
  double qnorm = widen(q, m->dim, work);
  double (*dot_fd)(const float *, const double *, size_t) = K()->dot_fd;
  size_t n = 0;
  for (size_t r = 0; r < m->rows; r++) {
    double s = row_score(m, r, work, qnorm, metric, dot_fd);
    if (n < k) {
      idx[n] = r; score[n] = s;
      sift_up(idx, score, n++);
    } else if (s > score[0]) {   /* r is the highest index so far: ties lose */
      idx[0] = r; score[0] = s;
      sift_down(idx, score, n, 0);
    }
  }
  /* heap sort: move the worst to the end until the heap is empty */
  for (size_t end = n; end > 1; end--) {
    double ts = score[0]; score[0] = score[end - 1]; score[end - 1] = ts;
    size_t ti = idx[0]; idx[0] = idx[end - 1]; idx[end - 1] = ti;
    sift_down(idx, score, end - 1, 0);
  }
  return n;
}

int vec_max_cosine(const vec_matrix *m, const float *q, double *best, size_t *where, double *work) {
  if (m->rows == 0) return 0;
  size_t i;
  double s;
  vec_topk(m, q, 1, VEC_COSINE, &i, &s, work);
  *best = s;
  *where = i;
  return 1;
}

size_t vec_pairwise_cosine(const vec_matrix *m, double *mean, double *max, double *work) {
  *mean = 0;
  *max = 0;
  if (m->rows < 2) return 0;
  double (*dot_fd)(const float *, const double *, size_t) = K()->dot_fd;
  double sum = 0, mx = -INFINITY;
  size_t pairs = 0;
  for (size_t i = 0; i + 1 < m->rows; i++) {
    double qn = widen(m->data + i * m->dim, m->dim, work);
    for (size_t j = i + 1; j < m->rows; j++) {
      double s = row_score(m, j, work, qn, VEC_COSINE, dot_fd);
      sum += s;
      if (s > mx) mx = s;
      pairs++;
    }
  }
  *mean = sum / (double)pairs;
  *max = mx;
  return pairs;
}
