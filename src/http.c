/* http: libcurl transfers driven by the scheduler's multi handle. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

static int inflight_now, inflight_peak;

/* Easy handles are kept for reuse: connection state stays with the multi
 * handle, and a reset handle costs far less than a new one. */
#define POOL_MAX 256
static CURL *pool[POOL_MAX];
static int npool;

static CURL *easy_get(void) {
  if (npool > 0) {
    CURL *e = pool[--npool];
    curl_easy_reset(e);
    return e;
  }
  return curl_easy_init();
}

static void easy_put(CURL *e) {
  if (!e) return;
  if (npool < POOL_MAX) pool[npool++] = e;
  else curl_easy_cleanup(e);
}

static void pool_drain(void) {
  while (npool > 0) curl_easy_cleanup(pool[--npool]);
}

static int buf_append(http_buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  http_request *r = ud;
  return buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  http_request *r = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) r->head.len = 0;  /* a new response (after 1xx) */
  return buf_append(&r->head, p, len) == 0 ? len : 0;
}

static void on_transfer_done(sched_transfer *x, CURLcode rc) {
  http_request *r = (http_request *)x;
  r->rc = rc;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  r->elapsed = sched_now() - r->started;
  curl_multi_remove_handle(sched_curl(r->S), r->easy);
  sched_transfer_removed(r->S);
  inflight_now--;
  r->running = 0;
  r->finished = 1;
  if (r->on_done) r->on_done(r, r->ud);
}

http_request *http_new(sched *S, const char *url) {
  http_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->S = S;
  r->xfer.done = on_transfer_done;
  r->easy = easy_get();
  size_t qlen = strcspn(url, "?#");
  r->url_for_errors = malloc(qlen + 1);
  if (!r->easy || !r->url_for_errors) { http_free(r); return NULL; }
  memcpy(r->url_for_errors, url, qlen);
  r->url_for_errors[qlen] = '\0';
  curl_easy_setopt(r->easy, CURLOPT_URL, url);
  curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)&r->xfer);
  curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  sched_curl_setup(S, r->easy);
  /* no "Expect: 100-continue" round trip before large bodies */
  r->headers = curl_slist_append(NULL, "Expect:");
  return r;
}

int http_set_method(http_request *r, const char *method) {
  if (strcmp(method, "GET") == 0) return curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
  if (strcmp(method, "POST") == 0) return curl_easy_setopt(r->easy, CURLOPT_POST, 1L) == CURLE_OK ? 0 : -1;
  return curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK ? 0 : -1;
}

int http_add_header(http_request *r, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  char *line = malloc(n + v + 3);
  if (!line) return -1;
  memcpy(line, name, n);
  memcpy(line + n, ": ", 2);
  memcpy(line + n + 2, value, v + 1);
  struct curl_slist *h = curl_slist_append(r->headers, line);
  free(line);
  if (!h) return -1;
  r->headers = h;
  return 0;
}

int http_set_body(http_request *r, const char *body, size_t len) {
  if (curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK) return -1;
  return curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK ? 0 : -1;
}

void http_set_timeouts(http_request *r, long total_ms, long connect_ms) {
  if (total_ms > 0) curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, total_ms);
  if (connect_ms > 0) curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
}

int http_start(http_request *r, void (*on_done)(http_request *, void *), void *ud) {
  r->on_done = on_done;
  r->ud = ud;
  curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
  r->started = sched_now();
  if (curl_multi_add_handle(sched_curl(r->S), r->easy) != CURLM_OK) return -1;
  r->running = 1;
  sched_transfer_added(r->S);
  if (++inflight_now > inflight_peak) inflight_peak = inflight_now;
  return 0;
}

void http_abort(http_request *r) {
  if (!r->running) return;
  curl_multi_remove_handle(sched_curl(r->S), r->easy);
  sched_transfer_removed(r->S);
  inflight_now--;
  r->running = 0;
}

void http_free(http_request *r) {
  if (!r) return;
  http_abort(r);
  if (r->easy) {
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL);  /* errbuf goes with r */
    easy_put(r->easy);
  }
  curl_slist_free_all(r->headers);
  free(r->body.data);
  free(r->head.data);
  free(r->url_for_errors);
  free(r);
}

const char *http_error_code(const http_request *r) {
  switch (r->rc) {
    case CURLE_OK: return NULL;
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "connect";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: return "reset";
    default: return "transport";
  }
}

void http_counts(int *inflight, int *peak) {
  *inflight = inflight_now;
  *peak = inflight_peak;
}

void http_shutdown(void) { pool_drain(); }
