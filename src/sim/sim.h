/* opro-sim: a deterministic LLM simulator on loopback (see docs/simulator.md).
 * Shared declarations between the simulator's parts:
 *   sim_main.c     command line, signals, start/stop
 *   sim_server.c   the HTTP server (libmicrohttpd, thread per connection)
 *   sim_faults.c   the fault spec and the deterministic per-request draw
 *   sim_stats.c    atomic counters behind GET /stats
 *   sim_persona.c  the pool of Lua states that shape replies (lua/opro/sim/) */
#ifndef OPRO_SIM_H
#define OPRO_SIM_H
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- options (sim_main.c) ---- */
typedef struct sim_options {
  const char *host;
  int port;
  const char *port_file;
  uint64_t seed;
  const char *persona;       /* user persona file or NULL */
  const char *data;          /* dataset file or NULL */
  double latency_ms, latency_per_token_ms, jitter_ms;
  long max_inflight;         /* 0 = no cap */
  const char *faults;        /* spec or NULL */
  int threads;               /* Lua states in the pool */
  int quiet;
} sim_options;

/* Set by the signal thread; long sleeps poll it so shutdown is prompt. */
extern atomic_int sim_stopping;
/* Sleeps ms milliseconds in short slices; returns early (nonzero) on stop. */
int sim_sleep_ms(double ms);

/* ---- hashing (sim_faults.c) ---- */
uint64_t sim_hash(uint64_t seed, const void *data, size_t len);
uint64_t sim_mix(uint64_t x);
/* uniform double in [0, 1) from a 64-bit hash */
double sim_unit(uint64_t h);

/* ---- faults (sim_faults.c) ---- */
typedef enum { FAULT_NONE, FAULT_STATUS, FAULT_RESET, FAULT_BADJSON, FAULT_HANG } fault_kind;

typedef struct sim_fault {
  fault_kind kind;
  int status;                /* FAULT_STATUS */
  char name[16];             /* "429", "reset", ... (the /stats key) */
  double rate;
  double retry_after;        /* seconds, < 0 when not given */
  double hang_s;             /* FAULT_HANG: how long before the connection is closed */
} sim_fault;

/* Parses SPEC; on error writes a message to err and returns -1. */
int faults_init(const char *spec, char *err, size_t errlen);
void faults_free(void);
/* The fault for a request whose deterministic key is `key`, or NULL. */
const sim_fault *faults_decide(uint64_t key);
/* How many times a request with this content hash was seen before (0, 1, ...). */
uint64_t faults_occurrence(uint64_t content_hash);
/* How many requests with this content hash were answered before (no fault,
 * not over --max-inflight); `answered`: count this one as answered too. */
uint64_t faults_answered(uint64_t content_hash, int answered);

/* ---- stats (sim_stats.c) ---- */
int stats_init(void);
void stats_free(void);
long stats_begin(void);                 /* returns in-flight count including this one */
void stats_end(void);
void stats_request(const char *path);
void stats_status(int status);
void stats_model(const char *model);
void stats_fault(const char *name);
void stats_reset(void);
char *stats_json(void);                 /* malloc'd */

/* ---- persona bridge (sim_persona.c) ---- */
typedef struct sim_kv { const char *key, *value; } sim_kv;

typedef struct sim_request {
  const char *method, *path;
  const sim_kv *headers; int nheaders;   /* names lower-cased */
  const sim_kv *query; int nquery;
  const char *body; size_t body_len;
  const char *request_id;
  uint64_t key;                          /* deterministic per request content and occurrence */
  uint64_t occurrence;                   /* earlier answers to the same content (the sample without a seed) */
  const sim_fault *fault;                /* FAULT_STATUS / FAULT_BADJSON or NULL */
  int inflight_cap;                      /* answering 429 for --max-inflight */
  double retry_after;
} sim_request;

typedef struct sim_reply {
  int status;
  char **hnames, **hvalues; int nheaders;
  char *body; size_t body_len;           /* when not streaming */
  char **chunks; size_t *chunk_lens; int *chunk_tokens; int nchunks;   /* SSE stream */
  char *model;
  int output_tokens;
} sim_reply;

int persona_init(const sim_options *o, char *err, size_t errlen);
void persona_free(void);
/* Fills *out (free with reply_free). Never fails: Lua errors become a 500. */
void persona_handle(const sim_request *req, sim_reply *out);
void reply_free(sim_reply *r);

/* ---- server (sim_server.c) ---- */
/* Starts listening; returns the bound port or -1 (message in err). */
int server_start(const sim_options *o, char *err, size_t errlen);
void server_stop(void);

#endif
