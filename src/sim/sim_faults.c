/* faults: the --faults spec and the deterministic per-request draw.
 * SPEC is comma-separated CLASS:RATE[:k=v...] items, e.g.
 *   429:0.1:retry-after=1,500:0.05,reset:0.02,badjson:0.01,hang:0.01:after=5
 * and the standalone item timeout-after=SECONDS (how long a hang lasts).
 * A request's fault is decided by a hash of the seed, its content and how
 * many times that content was seen before, so runs with the same --seed and
 * the same requests see the same faults whatever the interleaving. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_FAULTS 32

static sim_fault faults[MAX_FAULTS];
static int nfaults;

/* occurrence counts: open addressing on 64-bit content hashes */
static pthread_mutex_t occ_lock = PTHREAD_MUTEX_INITIALIZER;
static struct occ { uint64_t h; uint64_t n; } *occ_tab;
static size_t occ_cap, occ_used;

uint64_t sim_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t sim_hash(uint64_t seed, const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ULL ^ sim_mix(seed);
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return sim_mix(h ^ len);
}

double sim_unit(uint64_t h) { return (double)(sim_mix(h) >> 11) * (1.0 / 9007199254740992.0); }

static int parse_num(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

static int parse_item(char *item, double *hang_default, char *err, size_t errlen) {
  if (strncmp(item, "timeout-after=", 14) == 0) {
    if (parse_num(item + 14, hang_default) || *hang_default < 0) {
      snprintf(err, errlen, "--faults: bad timeout-after value in '%s' (seconds expected)", item);
      return -1;
    }
    return 0;
  }
  if (nfaults == MAX_FAULTS) {
    snprintf(err, errlen, "--faults: more than %d items", MAX_FAULTS);
    return -1;
  }
  sim_fault *f = &faults[nfaults];
  memset(f, 0, sizeof *f);
  f->retry_after = -1;
  f->hang_s = -1;
  char *save = NULL;
  char *cls = strtok_r(item, ":", &save);
  char *rate = strtok_r(NULL, ":", &save);
  if (!cls || !rate) {
    snprintf(err, errlen, "--faults: item '%s' must be CLASS:RATE[:k=v...]", cls ? cls : "");
    return -1;
  }
  if (strcmp(cls, "reset") == 0) f->kind = FAULT_RESET;
  else if (strcmp(cls, "badjson") == 0) f->kind = FAULT_BADJSON;
  else if (strcmp(cls, "hang") == 0) f->kind = FAULT_HANG;
  else {
    char *end;
    long st = strtol(cls, &end, 10);
    if (*end || st < 400 || st > 599) {
      snprintf(err, errlen, "--faults: unknown class '%s' (an HTTP status 400-599, reset, badjson or hang)", cls);
      return -1;
    }
    f->kind = FAULT_STATUS;
    f->status = (int)st;
  }
  snprintf(f->name, sizeof f->name, "%s", cls);
  if (parse_num(rate, &f->rate) || f->rate < 0 || f->rate > 1) {
    snprintf(err, errlen, "--faults: rate of '%s' must be a number in [0, 1], got '%s'", cls, rate);
    return -1;
  }
  for (char *kv; (kv = strtok_r(NULL, ":", &save));) {
    char *eq = strchr(kv, '=');
    double v;
    if (!eq || parse_num(eq + 1, &v) || v < 0) {
      snprintf(err, errlen, "--faults: option '%s' of '%s' must be k=NUMBER", kv, cls);
      return -1;
    }
    *eq = 0;
    if (strcmp(kv, "retry-after") == 0) f->retry_after = v;
    else if (strcmp(kv, "after") == 0 || strcmp(kv, "timeout-after") == 0) f->hang_s = v;
    else {
      snprintf(err, errlen, "--faults: unknown option '%s' of '%s' (retry-after, after)", kv, cls);
      return -1;
    }
  }
  nfaults++;
  return 0;
}

int faults_init(const char *spec, char *err, size_t errlen) {
  nfaults = 0;
  occ_cap = 1 << 12;
  occ_used = 0;
  occ_tab = calloc(occ_cap, sizeof *occ_tab);
  if (!occ_tab) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (!spec || !*spec) return 0;
  char *copy = strdup(spec);
  if (!copy) return -1;
  double hang_default = 30;
  int rc = 0;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    if (parse_item(item, &hang_default, err, errlen)) { rc = -1; break; }
  }
  free(copy);
  if (rc) return rc;
  double total = 0;
  for (int i = 0; i < nfaults; i++) {
    total += faults[i].rate;
    if (faults[i].hang_s < 0) faults[i].hang_s = hang_default;
  }
  if (total > 1 + 1e-9) {
    snprintf(err, errlen, "--faults: the rates add up to %g (at most 1)", total);
    return -1;
  }
  return 0;
}

void faults_free(void) {
  free(occ_tab);
  occ_tab = NULL;
  occ_cap = occ_used = 0;
}

const sim_fault *faults_decide(uint64_t key) {
  if (!nfaults) return NULL;
  double u = sim_unit(key ^ 0x6661756c74ULL), acc = 0;
  for (int i = 0; i < nfaults; i++) {
    acc += faults[i].rate;
    if (u < acc) return &faults[i];
  }
  return NULL;
}

static int occ_grow(void) {
  size_t ncap = occ_cap * 2;
  struct occ *nt = calloc(ncap, sizeof *nt);
  if (!nt) return -1;
  for (size_t i = 0; i < occ_cap; i++) {
    if (!occ_tab[i].n) continue;
    size_t j = occ_tab[i].h & (ncap - 1);
    while (nt[j].n) j = (j + 1) & (ncap - 1);
    nt[j] = occ_tab[i];
  }
  free(occ_tab);
  occ_tab = nt;
  occ_cap = ncap;
  return 0;
}

/* the count stored for h; bump: count this one too (returns the count before) */
static uint64_t occ_count(uint64_t h, int bump) {
  pthread_mutex_lock(&occ_lock);
  uint64_t seen = 0;
  if (bump && occ_used * 2 >= occ_cap && occ_cap < ((size_t)1 << 24)) occ_grow();
  if (bump && occ_used * 2 >= occ_cap) {  /* full at the cap: start counting afresh */
    memset(occ_tab, 0, occ_cap * sizeof *occ_tab);
    occ_used = 0;
  }
  size_t j = h & (occ_cap - 1);
  while (occ_tab[j].n && occ_tab[j].h != h) j = (j + 1) & (occ_cap - 1);
  if (occ_tab[j].n) {
    seen = bump ? occ_tab[j].n++ : occ_tab[j].n;
  } else if (bump) {
    occ_tab[j].h = h;
    occ_tab[j].n = 1;
    occ_used++;
  }
  pthread_mutex_unlock(&occ_lock);
  return seen;
}

uint64_t faults_occurrence(uint64_t h) { return occ_count(h, 1); }

/* answers are counted apart from arrivals: another key in the same table */
uint64_t faults_answered(uint64_t h, int answered) { return occ_count(sim_mix(h ^ 0x616e7377657273ULL), answered); }
