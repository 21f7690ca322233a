/* tsp: the travelling salesman helpers of the paper's §3.2 (no Lua).
 * Points are in the plane, distances Euclidean, tours closed and given as
 * 0-based node indices. Lengths are summed in tour order, as the reference
 * code (opro/optimization/optimize_tsp.py) does. */
#ifndef OPRO_TSP_H
#define OPRO_TSP_H
#include <stddef.h>
#include <stdint.h>

typedef struct { double x, y; } tsp_point;

#define TSP_HELD_KARP_MAX 20

/* Euclidean distance between points a and b */
double tsp_dist(const tsp_point *p, int a, int b);
/* length of the closed tour tour[0..len) (indices must be < n) */
double tsp_length(const tsp_point *p, const int *tour, size_t len);
/* The reference's rounding of a length: decimals 0 truncates toward zero
 * (Python int()), decimals > 0 rounds half to even (numpy.round). */
double tsp_round(double x, int decimals);

/* Exact optimum by Held–Karp dynamic programming, starting at node 0
 * (ties: the lowest node first). n in 1..TSP_HELD_KARP_MAX. Writes n nodes
 * to tour and the length to *len; returns 0, or -1 when n is out of range
 * or memory runs out. */
int tsp_held_karp(const tsp_point *p, size_t n, int *tour, double *len);
/* Nearest-neighbour tour from `start` (ties: the lowest node); returns its
 * length. */
double tsp_nearest_neighbour(const tsp_point *p, size_t n, int start, int *tour);
/* The reference's farthest insertion: from [0], repeatedly take the node
 * whose cheapest insertion (positions after the first node) yields the
 * longest tour, and insert it there (ties: the first node, the first
 * position). decimals < 0 compares exact lengths; decimals >= 0 compares
 * lengths rounded as the reference does (tsp_round), which reproduces its
 * tie-breaking exactly. Returns the exact length of the tour. */
double tsp_farthest_insertion(const tsp_point *p, size_t n, int decimals, int *tour);

/* Deterministic generator (splitmix64) for instances and tours. */
typedef struct { uint64_t s; } tsp_rng;
void tsp_rng_seed(tsp_rng *r, uint64_t seed);
double tsp_rng_uniform(tsp_rng *r);            /* [0, 1) */
uint64_t tsp_rng_below(tsp_rng *r, uint64_t n); /* [0, n), unbiased */
/* n points: all x then all y drawn uniformly from [-scale, scale) and
 * rounded with tsp_round(., decimals), as the reference draws them. */
void tsp_random_instance(tsp_rng *r, size_t n, double scale, int decimals, tsp_point *out);
/* a uniformly random permutation of 0..n-1 that starts with 0 */
void tsp_random_tour(tsp_rng *r, size_t n, int *tour);

#endif
