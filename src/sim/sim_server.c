/* server: libmicrohttpd, one thread per connection, so simulated latency is
 * a plain (interruptible) sleep in the connection's own thread. Routes
 * /stats here; everything else goes through faults, then the persona. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sim.h"

#define MAX_BODY (32u << 20)
#define MAX_KV 128

static struct MHD_Daemon *daemon_;
static const sim_options *opts;

typedef struct conn {
  char *body;
  size_t len, cap;
  int too_big;
  long inflight_at_start;
} conn;

typedef struct stream {
  sim_reply reply;
  int next;
  size_t off;
  int delayed;
  double per_token_ms;
} stream;

atomic_int sim_stopping;

int sim_sleep_ms(double ms) {
  while (ms > 0) {
    if (sim_stopping) return 1;
    double step = ms > 50 ? 50 : ms;
    struct timespec ts = {(time_t)(step / 1000), (long)((step - (double)(time_t)(step / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    ms -= step;
  }
  return sim_stopping;
}

typedef struct kv_list {
  sim_kv kv[MAX_KV];
  char *owned[MAX_KV];
  int n;
} kv_list;

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  kv_list *l = cls;
  if (l->n == MAX_KV || !key) return MHD_YES;
  char *k = strdup(key);
  if (!k) return MHD_NO;
  if (kind == MHD_HEADER_KIND)
    for (char *p = k; *p; p++) *p = (char)tolower((unsigned char)*p);
  l->owned[l->n] = k;
  l->kv[l->n].key = k;
  l->kv[l->n].value = value ? value : "";
  l->n++;
  return MHD_YES;
}

static void kv_free(kv_list *l) {
  for (int i = 0; i < l->n; i++) free(l->owned[i]);
  l->n = 0;
}

static enum MHD_Result queue(struct MHD_Connection *c, int status, const char *ctype, const char *body,
                             size_t len, const char *request_id) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", ctype);
  if (request_id) MHD_add_response_header(r, "x-request-id", request_id);
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  stats_status(status);
  return ret;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  stream *s = cls;
  (void)pos;
  while (s->next < s->reply.nchunks) {
    if (!s->delayed) {
      s->delayed = 1;
      int tok = s->reply.chunk_tokens ? s->reply.chunk_tokens[s->next] : 0;
      if (tok > 0 && s->per_token_ms > 0 && sim_sleep_ms(s->per_token_ms * tok))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t len = s->reply.chunk_lens[s->next];
    if (s->off >= len) {
      s->next++;
      s->off = 0;
      s->delayed = 0;
      continue;
    }
    size_t n = len - s->off < max ? len - s->off : max;
    memcpy(buf, s->reply.chunks[s->next] + s->off, n);
    s->off += n;
    return (ssize_t)n;
  }
  return MHD_CONTENT_READER_END_OF_STREAM;
}

/* reset: the status line and headers go out, then the connection closes
 * after a byte of a promised larger body. A connection closed before any
 * byte would be retried silently by HTTP clients on reused connections
 * (curl does), hiding the fault; this one every client sees. */
static ssize_t reset_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  if (pos == 0 && max > 0) {
    buf[0] = '{';
    return 1;
  }
  return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result send_reset(struct MHD_Connection *c, const char *request_id) {
  struct MHD_Response *r = MHD_create_response_from_callback(4096, 1, reset_read, NULL, NULL);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "x-request-id", request_id);
  enum MHD_Result ret = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  return ret;
}

static void stream_free(void *cls) {
  stream *s = cls;
  reply_free(&s->reply);
  free(s);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, sim_reply *rep, const char *request_id) {
  struct MHD_Response *r;
  stream *s = NULL;
  if (rep->chunks) {
    s = calloc(1, sizeof *s);
    if (!s) { reply_free(rep); return MHD_NO; }
    s->reply = *rep;
    s->per_token_ms = opts->latency_per_token_ms;
    memset(rep, 0, sizeof *rep);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!r) { stream_free(s); return MHD_NO; }
    rep = &s->reply;
  } else {
    r = MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_COPY);
    if (!r) { reply_free(rep); return MHD_NO; }
  }
  int has_ctype = 0;
  for (int i = 0; i < rep->nheaders; i++) {
    if (strcasecmp(rep->hnames[i], "content-type") == 0) has_ctype = 1;
    if (strcasecmp(rep->hnames[i], "x-request-id") == 0) continue;
    MHD_add_response_header(r, rep->hnames[i], rep->hvalues[i]);
  }
  if (!has_ctype) MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "x-request-id", request_id);
  int status = rep->status;
  if (rep->model) stats_model(rep->model);
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  stats_status(status);
  if (!s) reply_free(rep);
  return ret;
}

static enum MHD_Result handle_stats(struct MHD_Connection *c, const char *url, const char *method) {
  if (strcmp(url, "/stats") == 0 && strcmp(method, "GET") == 0) {
    char *j = stats_json();
    if (!j) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(j), j, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(j); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "x-request-id", "req_stats");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (strcmp(url, "/stats/reset") == 0 && strcmp(method, "POST") == 0) {
    stats_reset();
    static const char ok[] = "{\"ok\":true}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "x-request-id", "req_stats");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  static const char bad[] = "{\"error\":{\"message\":\"use GET /stats or POST /stats/reset\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";
  struct MHD_Response *r = MHD_create_response_from_buffer(sizeof bad - 1, (void *)bad, MHD_RESPMEM_PERSISTENT);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "x-request-id", "req_stats");
  enum MHD_Result ret = MHD_queue_response(c, 405, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, conn *k, const char *url, const char *method) {
  kv_list headers = {0}, query = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect_kv, &headers);
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_kv, &query);

  /* the request's deterministic key: its content and how often it was seen */
  uint64_t h = sim_hash(opts->seed, method, strlen(method));
  h = sim_hash(h, url, strlen(url));
  for (int i = 0; i < query.n; i++) {
    h = sim_hash(h, query.kv[i].key, strlen(query.kv[i].key));
    h = sim_hash(h, query.kv[i].value, strlen(query.kv[i].value));
  }
  h = sim_hash(h, k->body ? k->body : "", k->len);
  uint64_t occ = faults_occurrence(h);
  uint64_t key = sim_mix(h ^ sim_mix(occ + 1));
  char request_id[40];
  snprintf(request_id, sizeof request_id, "req_%016llx%08llx", (unsigned long long)key,
           (unsigned long long)(sim_mix(key) >> 32));

  stats_request(url);
  enum MHD_Result ret;
  if (k->too_big) {
    static const char msg[] = "{\"error\":{\"message\":\"request body too large\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";
    ret = queue(c, 413, "application/json", msg, sizeof msg - 1, request_id);
    goto done;
  }

  sim_request req = {0};
  req.method = method;
  req.path = url;
  req.headers = headers.kv;
  req.nheaders = headers.n;
  req.query = query.kv;
  req.nquery = query.n;
  req.body = k->body;
  req.body_len = k->len;
  req.request_id = request_id;
  req.key = key;
  req.retry_after = -1;

  if (opts->max_inflight > 0 && k->inflight_at_start > opts->max_inflight) {
    req.inflight_cap = 1;
    req.retry_after = 1;
    stats_fault("max-inflight");
  } else {
    const sim_fault *f = faults_decide(key);
    if (f) {
      stats_fault(f->name);
      if (f->kind == FAULT_RESET) { ret = send_reset(c, request_id); goto done; }
      if (f->kind == FAULT_HANG) {
        /* after the bound, a cut-off answer (as reset) unless stopping */
        ret = sim_sleep_ms(f->hang_s * 1000) ? MHD_NO : send_reset(c, request_id);
        goto done;
      }
      req.fault = f;
      req.retry_after = f->retry_after;
    }
  }
  /* the sample of a request without a seed: how often the same request was
   * answered before. A faulted attempt is no sample, so the client's retry
   * gets the answer the request would have had without the fault. */
  req.occurrence = faults_answered(h, !req.fault && !req.inflight_cap);

  sim_reply rep;
  persona_handle(&req, &rep);
  double delay = opts->latency_ms + opts->jitter_ms * sim_unit(key ^ 0x6a6974ULL);
  if (!rep.chunks) delay += opts->latency_per_token_ms * rep.output_tokens;
  if (delay > 0 && sim_sleep_ms(delay)) {
    reply_free(&rep);
    ret = MHD_NO;
    goto done;
  }
  ret = send_reply(c, &rep, request_id);
done:
  kv_free(&headers);
  kv_free(&query);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)cls;
  (void)version;
  if (strncmp(url, "/stats", 6) == 0 && (url[6] == 0 || url[6] == '/')) {
    if (*upload_data_size) { *upload_data_size = 0; return MHD_YES; }
    if (!*con_cls) { *con_cls = (void *)1; return MHD_YES; }
    return handle_stats(c, url, method);
  }
  conn *k = *con_cls;
  if (!k) {
    k = calloc(1, sizeof *k);
    if (!k) return MHD_NO;
    k->inflight_at_start = stats_begin();
    *con_cls = k;
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (k->too_big || k->len + n > MAX_BODY) { k->too_big = 1; return MHD_YES; }
    if (k->len + n + 1 > k->cap) {
      size_t ncap = k->cap ? k->cap : 4096;
      while (ncap < k->len + n + 1) ncap *= 2;
      char *nb = realloc(k->body, ncap);
      if (!nb) return MHD_NO;
      k->body = nb;
      k->cap = ncap;
    }
    memcpy(k->body + k->len, upload_data, n);
    k->len += n;
    k->body[k->len] = 0;
    return MHD_YES;
  }
  return dispatch(c, k, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  conn *k = *con_cls;
  if (k && k != (void *)1) {
    stats_end();
    free(k->body);
    free(k);
  }
  *con_cls = NULL;
}

static void log_error(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  if (opts->quiet) return;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (strstr(msg, "application reported error")) return;   /* our own resets */
  fprintf(stderr, "opro-sim: %s", msg);
}

int server_start(const sim_options *o, char *err, size_t errlen) {
  opts = o;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)o->port);
  if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1) {
    snprintf(err, errlen, "--host: '%s' is not an IPv4 address", o->host);
    return -1;
  }
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
  daemon_ = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, NULL,
                             MHD_OPTION_EXTERNAL_LOGGER, log_error, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                             MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)4096,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_END);
  if (!daemon_) {
    snprintf(err, errlen, "cannot listen on %s:%d", o->host, o->port);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : o->port;
}

void server_stop(void) {
  sim_stopping = 1;
  if (daemon_) MHD_stop_daemon(daemon_);
  daemon_ = NULL;
}
