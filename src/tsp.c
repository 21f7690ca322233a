/* tsp: exact and heuristic tours for small TSP instances; see tsp.h. */
#include "tsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double tsp_dist(const tsp_point *p, int a, int b) {
  double dx = p[a].x - p[b].x, dy = p[a].y - p[b].y;
  return sqrt(dx * dx + dy * dy);
}

double tsp_length(const tsp_point *p, const int *tour, size_t len) {
  if (len == 0) return 0;
  double s = 0;
  for (size_t i = 0; i + 1 < len; i++) s += tsp_dist(p, tour[i], tour[i + 1]);
  return s + tsp_dist(p, tour[len - 1], tour[0]);
}

double tsp_round(double x, int decimals) {
  if (decimals < 0) return x;
  if (decimals == 0) return trunc(x);
  double f = pow(10.0, decimals);
  return nearbyint(x * f) / f;   /* default rounding mode: half to even */
}

int tsp_held_karp(const tsp_point *p, size_t n, int *tour, double *len) {
  if (n < 1 || n > TSP_HELD_KARP_MAX) return -1;
  if (n == 1) { tour[0] = 0; *len = 0; return 0; }
  if (n == 2) { tour[0] = 0; tour[1] = 1; *len = tsp_length(p, tour, 2); return 0; }
  size_t m = n - 1;                       /* nodes 1..n-1 are bits 0..m-1 */
  size_t nsets = (size_t)1 << m;
  double *d = malloc(n * n * sizeof(double));
  double *dp = malloc(nsets * m * sizeof(double));
  unsigned char *par = malloc(nsets * m);
  if (!d || !dp || !par) { free(d); free(dp); free(par); return -1; }
  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++) d[a * n + b] = tsp_dist(p, (int)a, (int)b);
  /* dp[S*m + j]: shortest path 0 -> ... -> j+1 visiting exactly set S (j in S) */
  for (size_t S = 1; S < nsets; S++) {
    for (size_t j = 0; j < m; j++) {
      if (!(S & ((size_t)1 << j))) continue;
      size_t R = S & ~((size_t)1 << j);
      if (R == 0) {
        dp[S * m + j] = d[0 * n + (j + 1)];
        par[S * m + j] = 0xFF;
        continue;
      }
      double best = INFINITY;
      unsigned char bk = 0;
      for (size_t k = 0; k < m; k++) {
        if (!(R & ((size_t)1 << k))) continue;
        double c = dp[R * m + k] + d[(k + 1) * n + (j + 1)];
        if (c < best) { best = c; bk = (unsigned char)k; }
      }
      dp[S * m + j] = best;
      par[S * m + j] = bk;
    }
  }
  size_t full = nsets - 1;
  double best = INFINITY;
  size_t bj = 0;
  for (size_t j = 0; j < m; j++) {
    double c = dp[full * m + j] + d[(j + 1) * n + 0];
    if (c < best) { best = c; bj = j; }
  }
  /* walk back from the last node */
  size_t S = full, j = bj;
  for (size_t pos = n - 1; pos >= 1; pos--) {
    tour[pos] = (int)(j + 1);
    unsigned char k = par[S * m + j];
    S &= ~((size_t)1 << j);
    if (k == 0xFF) break;
    j = k;
  }
  tour[0] = 0;
  free(d);
  free(dp);
  free(par);
  *len = tsp_length(p, tour, n);   /* summed in tour order, like every other length */
  return 0;
}

double tsp_nearest_neighbour(const tsp_point *p, size_t n, int start, int *tour) {
  if (n == 0) return 0;
  unsigned char *used = calloc(n, 1);
  if (!used) return -1;
  tour[0] = start;
  used[start] = 1;
  for (size_t k = 1; k < n; k++) {
    int last = tour[k - 1], bi = -1;
    double bd = 0;
    for (size_t i = 0; i < n; i++) {
      if (used[i]) continue;
      double c = tsp_dist(p, last, (int)i);
      if (bi < 0 || c < bd) { bi = (int)i; bd = c; }
    }
    tour[k] = bi;
    used[bi] = 1;
  }
  free(used);
  return tsp_length(p, tour, n);
}

/* length of tour[0..len) with node v inserted before position pos */
static double length_with(const tsp_point *p, const int *tour, size_t len, size_t pos, int v) {
  double s = 0;
  int prev = tour[0], first = tour[0];
  for (size_t i = 1; i <= len; i++) {
    int cur = i == pos ? v : tour[i > pos ? i - 1 : i];
    s += tsp_dist(p, prev, cur);
    prev = cur;
  }
  return s + tsp_dist(p, prev, first);
}

double tsp_farthest_insertion(const tsp_point *p, size_t n, int decimals, int *tour) {
  if (n == 0) return 0;
  unsigned char *used = calloc(n, 1);
  if (!used) return -1;
  tour[0] = 0;
  used[0] = 1;
  size_t len = 1;
  double cur = 0;   /* exact length of the current tour */
  while (len < n) {
    int bp = -1;
    size_t bpos = 0;
    double bval = 0, bexact = 0;
    for (size_t v = 0; v < n; v++) {
      if (used[v]) continue;
      double mval = 0, mexact = 0;
      size_t mpos = 0;
      for (size_t pos = 1; pos <= len; pos++) {
        double exact;
        if (decimals >= 0) {
          exact = length_with(p, tour, len, pos, (int)v);
        } else {
          int a = tour[pos - 1], b = tour[pos % len];
          exact = cur + tsp_dist(p, a, (int)v) + tsp_dist(p, (int)v, b) - tsp_dist(p, a, b);
        }
        double val = tsp_round(exact, decimals);
        if (pos == 1 || val < mval) { mval = val; mexact = exact; mpos = pos; }
      }
      if (bp < 0 || mval > bval) { bp = (int)v; bval = mval; bexact = mexact; bpos = mpos; }
    }
    memmove(tour + bpos + 1, tour + bpos, (len - bpos) * sizeof(int));
    tour[bpos] = bp;
    used[bp] = 1;
    len++;
    cur = bexact;
  }
  free(used);
  return tsp_length(p, tour, n);
}

void tsp_rng_seed(tsp_rng *r, uint64_t seed) { r->s = seed; }

static uint64_t next64(tsp_rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double tsp_rng_uniform(tsp_rng *r) { return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t tsp_rng_below(tsp_rng *r, uint64_t n) {
  uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
  do x = next64(r); while (x >= lim);
  return x % n;
}

void tsp_random_instance(tsp_rng *r, size_t n, double scale, int decimals, tsp_point *out) {
  for (size_t i = 0; i < n; i++) out[i].x = tsp_round(-scale + 2 * scale * tsp_rng_uniform(r), decimals);
  for (size_t i = 0; i < n; i++) out[i].y = tsp_round(-scale + 2 * scale * tsp_rng_uniform(r), decimals);
}

void tsp_random_tour(tsp_rng *r, size_t n, int *tour) {
  for (size_t i = 0; i < n; i++) tour[i] = (int)i;
  for (size_t i = n - 1; i >= 2 && i < n; i--) {   /* Fisher–Yates over positions 1..n-1 */
    size_t j = 1 + (size_t)tsp_rng_below(r, i);
    int t = tour[i]; tour[i] = tour[j]; tour[j] = t;
  }
}
