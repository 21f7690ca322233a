/* stats: counters behind GET /stats (atomic; the name tables take a lock). */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_NAMES 128

typedef struct {
  char *name[MAX_NAMES];
  atomic_long count[MAX_NAMES];
  int n;
} name_table;

static atomic_long requests, inflight, inflight_peak;
static atomic_long status_count[600];
static name_table models, paths, fault_names;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

int stats_init(void) { return 0; }

static void table_free(name_table *t) {
  for (int i = 0; i < t->n; i++) free(t->name[i]);
  t->n = 0;
}

void stats_free(void) {
  table_free(&models);
  table_free(&paths);
  table_free(&fault_names);
}

long stats_begin(void) {
  long now = atomic_fetch_add(&inflight, 1) + 1;
  long peak = atomic_load(&inflight_peak);
  while (now > peak && !atomic_compare_exchange_weak(&inflight_peak, &peak, now)) {}
  return now;
}

void stats_end(void) { atomic_fetch_sub(&inflight, 1); }

static void table_add(name_table *t, const char *name) {
  if (!name || !*name) return;
  pthread_mutex_lock(&names_lock);
  int i;
  for (i = 0; i < t->n; i++)
    if (strcmp(t->name[i], name) == 0) break;
  if (i == t->n) {
    if (t->n == MAX_NAMES) i = -1;    /* too many distinct names: not counted */
    else {
      char *copy = strdup(name);
      if (copy) {
        t->name[i] = copy;
        atomic_store(&t->count[i], 0);
        t->n++;
      } else i = -1;
    }
  }
  if (i >= 0) atomic_fetch_add(&t->count[i], 1);
  pthread_mutex_unlock(&names_lock);
}

void stats_request(const char *path) {
  atomic_fetch_add(&requests, 1);
  table_add(&paths, path);
}

void stats_status(int status) {
  if (status >= 100 && status < 600) atomic_fetch_add(&status_count[status], 1);
}

void stats_model(const char *model) { table_add(&models, model); }
void stats_fault(const char *name) { table_add(&fault_names, name); }

void stats_reset(void) {
  pthread_mutex_lock(&names_lock);
  atomic_store(&requests, 0);
  atomic_store(&inflight_peak, atomic_load(&inflight));
  for (int i = 0; i < 600; i++) atomic_store(&status_count[i], 0);
  table_free(&models);
  table_free(&paths);
  table_free(&fault_names);
  pthread_mutex_unlock(&names_lock);
}

typedef struct { char *p; size_t len, cap; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
    size_t ncap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
    char *np = realloc(b->p, ncap);
    if (!np) return;
    b->p = np;
    b->cap = ncap;
  }
}

/* names come from request paths and model fields: escape for JSON */
static void sb_json_string(sbuf *b, const char *s) {
  sb_printf(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
    else if (c < 0x20) sb_printf(b, "\\u%04x", c);
    else sb_printf(b, "%c", c);
  }
  sb_printf(b, "\"");
}

static void sb_table(sbuf *b, const char *key, name_table *t) {
  sb_printf(b, ",\"%s\":{", key);
  for (int i = 0; i < t->n; i++) {
    if (i) sb_printf(b, ",");
    sb_json_string(b, t->name[i]);
    sb_printf(b, ":%ld", atomic_load(&t->count[i]));
  }
  sb_printf(b, "}");
}

char *stats_json(void) {
  sbuf b = {0};
  pthread_mutex_lock(&names_lock);
  sb_printf(&b, "{\"requests\":%ld,\"inflight\":%ld,\"inflight_peak\":%ld,\"status\":{",
            atomic_load(&requests), atomic_load(&inflight), atomic_load(&inflight_peak));
  int first = 1;
  for (int i = 100; i < 600; i++) {
    long n = atomic_load(&status_count[i]);
    if (!n) continue;
    sb_printf(&b, "%s\"%d\":%ld", first ? "" : ",", i, n);
    first = 0;
  }
  sb_printf(&b, "}");
  sb_table(&b, "models", &models);
  sb_table(&b, "paths", &paths);
  sb_table(&b, "faults", &fault_names);
  sb_printf(&b, "}");
  pthread_mutex_unlock(&names_lock);
  return b.p;
}
