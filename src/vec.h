/* vec: float32 vectors and row-major matrices (no Lua).
 * Elements are stored as float; every reduction accumulates in double, so
 * dot products, norms and cosines are exact to within double rounding of
 * the sum (results are returned as double). The inner loops use AVX2+FMA
 * when the CPU has them (chosen at run time), and a portable
 * loop otherwise. */
#ifndef OPRO_VEC_H
#define OPRO_VEC_H
#include <stddef.h>

/* sum of a[i]*b[i] */
double vec_dot(const float *a, const float *b, size_t n);
/* Euclidean norm */
double vec_norm(const float *a, size_t n);
/* cosine similarity; 0 when either vector is all zeros */
double vec_cosine(const float *a, const float *b, size_t n);
/* scales a to unit length in place; returns the norm it had (a is left
 * unchanged when the norm is 0) */
double vec_normalize(float *a, size_t n);
/* index of the first element that is NaN or infinite, or n */
size_t vec_find_nonfinite(const float *a, size_t n);

/* A matrix is `rows` rows of `dim` floats, row-major, plus each row's norm
 * (rownorm[i] = vec_norm(row i)); the caller keeps the norms up to date. */
typedef struct vec_matrix {
  float *data;
  double *rownorm;
  size_t rows, dim;
} vec_matrix;

typedef enum { VEC_COSINE = 0, VEC_DOT = 1 } vec_metric;

/* The k best rows for query q (dim floats) by metric, best first (ties:
 * lower index first). Writes min(k, rows) entries to idx/score (0-based
 * row indices) and returns that count. Cosine with a zero row or a zero
 * query is 0. `work` must hold dim doubles (the query in double). */
size_t vec_topk(const vec_matrix *m, const float *q, size_t k, vec_metric metric,
                size_t *idx, double *score, double *work);
/* The largest cosine between q and any row, and that row (first of ties);
 * returns 0 (and leaves best and where alone) when the matrix has no rows. */
int vec_max_cosine(const vec_matrix *m, const float *q, double *best, size_t *where, double *work);
/* Mean and maximum cosine over all pairs i < j of rows; returns the number
 * of pairs (0 when rows < 2; then *mean = *max = 0). */
size_t vec_pairwise_cosine(const vec_matrix *m, double *mean, double *max, double *work);

/* Which inner loop is in use: "avx2" or "generic". */
const char *vec_kernel_name(void);
/* Forces the portable loop (for tests comparing kernels); 0 restores the
 * automatic choice. */
void vec_force_generic(int on);

/* Read bandwidth probe for benchmarks: sums n floats with the widest loop
 * available (a plain streaming read); returns the sum. */
double vec_sum(const float *a, size_t n);

#endif
