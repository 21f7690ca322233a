/* http: libcurl transfers driven by the scheduler's multi handle. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

static int inflight_now, inflight_peak;

/* Easy handles are kept for reuse: connection state stays with the multi
 * handle, and a reused handle costs far less than a new one. A handle whose
 * last request had the same shape (a POST with a body, say) is reused as
 * it is: http_start sets every option such a request varies in. Any other
 * is reset first (curl_easy_reset) and given the fixed options again.
 *
 * The URL is given to curl parsed (CURLOPT_CURLU) and kept with the handle:
 * a request to the URL the handle's last request went to sets no URL
 * option, and curl copies the parsed URL instead of parsing and
 * rebuilding the text (which it does on every transfer given only
 * CURLOPT_URL). CURLOPT_URL is set beside it, so curl's own copy of the
 * text is the same URL. The buffers of the response's body and header lines
 * also stay with the handle (up to BUF_KEEP bytes each). */
#define POOL_MAX 256
enum {
  HTTP_SHAPE_FRESH,       /* new from curl_easy_init */
  HTTP_SHAPE_OTHER,       /* anything else: reset before the next use */
  HTTP_SHAPE_GET,         /* a GET without a body */
  HTTP_SHAPE_POST_BODY    /* a POST with a body */
};
#define BUF_KEEP (64 * 1024)
static struct pooled {
  CURL *easy;
  int shape;
  CURLU *uh;
  char *uh_url;
  http_buf body, head;    /* emptied, capacity kept */
} pool[POOL_MAX];
static int npool;

/* a handle for r, with what the pool kept for it (shape, parsed URL, buffers) */
static void easy_get(http_request *r) {
  if (npool > 0) {
    npool--;
    r->easy = pool[npool].easy;
    r->shape = pool[npool].shape;
    r->uh = pool[npool].uh;
    r->uh_url = pool[npool].uh_url;
    r->body = pool[npool].body;
    r->head = pool[npool].head;
    return;
  }
  r->easy = curl_easy_init();
  r->shape = HTTP_SHAPE_FRESH;
}

static void easy_cleanup(struct pooled *p) {
  curl_easy_cleanup(p->easy);    /* before the URL handle it may point to */
  curl_url_cleanup(p->uh);
  free(p->uh_url);
  free(p->body.data);
  free(p->head.data);
}

/* an emptied buffer, or none when a large response made it large */
static http_buf buf_kept(http_buf b) {
  if (b.cap > BUF_KEEP) {
    free(b.data);
    return (http_buf){NULL, 0, 0};
  }
  b.len = 0;
  return b;
}

/* takes r's handle (and its URL and buffers) back into the pool */
static void easy_put(http_request *r) {
  struct pooled p = {r->easy, r->shape, r->uh, r->uh_url, buf_kept(r->body), buf_kept(r->head)};
  if (npool < POOL_MAX) pool[npool++] = p;
  else easy_cleanup(&p);
  r->easy = NULL;
  r->uh = NULL;
  r->uh_url = NULL;
  r->body = r->head = (http_buf){NULL, 0, 0};
}

static void pool_drain(void) {
  while (npool > 0) easy_cleanup(&pool[--npool]);
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
  r->url = url;
  r->method = "GET";
  easy_get(r);
  size_t qlen = strcspn(url, "?#");
  r->url_for_errors = malloc(qlen + 1);
  if (!r->easy || !r->url_for_errors) { http_free(r); return NULL; }
  memcpy(r->url_for_errors, url, qlen);
  r->url_for_errors[qlen] = '\0';
  return r;
}

int http_set_method(http_request *r, const char *method) {
  r->method = method;
  return 0;
}

int http_add_header(http_request *r, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  char small[256];    /* "name: value" (curl_slist_append copies it) */
  char *line = n + v + 3 <= sizeof small ? small : malloc(n + v + 3);
  if (!line) return -1;
  memcpy(line, name, n);
  memcpy(line + n, ": ", 2);
  memcpy(line + n + 2, value, v + 1);
  struct curl_slist *h = curl_slist_append(r->headers, line);
  if (line != small) free(line);
  if (!h) return -1;
  r->headers = h;
  return 0;
}

int http_set_body(http_request *r, const char *body, size_t len) {
  r->req_body = body;
  r->req_body_len = len;
  return 0;
}

void http_set_timeouts(http_request *r, long total_ms, long connect_ms) {
  r->total_ms = total_ms;
  r->connect_ms = connect_ms;
}

/* Whether a proxy is configured in the environment (read once: a Lua
 * script cannot change the environment). Without one, curl is told so,
 * and skips its search of the environment on every request. */
static int env_proxy(void) {
  static int known = -1;
  if (known < 0) {
    static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                        "all_proxy", "ALL_PROXY", NULL};
    known = 0;
    for (int i = 0; names[i]; i++) {
      const char *v = getenv(names[i]);
      if (v && v[0]) known = 1;
    }
  }
  return known;
}

/* the options every request sets the same way */
static void set_fixed(http_request *r) {
  CURL *e = r->easy;
  if (!env_proxy()) {
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  }
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  sched_curl_setup(r->S, e);
}

static int set_method(http_request *r, int shape) {
  CURL *e = r->easy;
  if (shape == HTTP_SHAPE_GET) return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
  int post = strcmp(r->method, "POST") == 0;
  if (!post && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method) != CURLE_OK) return -1;
  if (r->req_body || post) {
    if (curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK) return -1;
    /* a POST without a body sends an empty one (never stdin) */
    const char *b = r->req_body ? r->req_body : "";
    if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->req_body ? r->req_body_len : 0)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, b) != CURLE_OK) return -1;
  }
  return 0;
}

/* Gives the handle r->url, parsed, unless it has it already (and was not
 * reset: a reset forgets the URL). A URL curl's parser refuses is given
 * as text, so the transfer fails with curl's usual error. */
static int set_url(http_request *r, int was_reset) {
  CURL *e = r->easy;
  if (r->uh_url && strcmp(r->uh_url, r->url) == 0) {
    if (!was_reset) return 0;
    return curl_easy_setopt(e, CURLOPT_URL, r->url) == CURLE_OK &&
           curl_easy_setopt(e, CURLOPT_CURLU, r->uh) == CURLE_OK ? 0 : -1;
  }
  CURLU *uh = curl_url();
  char *copy = strdup(r->url);
  int parsed = uh && copy &&
               curl_url_set(uh, CURLUPART_URL, r->url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
               curl_easy_setopt(e, CURLOPT_URL, r->url) == CURLE_OK &&
               curl_easy_setopt(e, CURLOPT_CURLU, uh) == CURLE_OK;
  if (!parsed) {
    curl_url_cleanup(uh);
    free(copy);
    uh = NULL;
    copy = NULL;
    curl_easy_setopt(e, CURLOPT_CURLU, NULL);
  }
  curl_url_cleanup(r->uh);      /* the handle no longer points to it */
  free(r->uh_url);
  r->uh = uh;
  r->uh_url = copy;
  if (parsed) return 0;
  return curl_easy_setopt(e, CURLOPT_URL, r->url) == CURLE_OK ? 0 : -1;
}

/* curl asks "Expect: 100-continue" (a round trip) before a body of more
 * than 1 MiB; an empty Expect header stops it */
#define EXPECT_THRESHOLD (1024 * 1024)

int http_start(http_request *r, void (*on_done)(http_request *, void *), void *ud) {
  CURL *e = r->easy;
  if (r->req_body_len > EXPECT_THRESHOLD / 2) {
    struct curl_slist *h = curl_slist_append(r->headers, "Expect:");
    if (!h) return -1;
    r->headers = h;
  }
  int shape = HTTP_SHAPE_OTHER;
  if (strcmp(r->method, "GET") == 0 && !r->req_body) shape = HTTP_SHAPE_GET;
  else if (strcmp(r->method, "POST") == 0 && r->req_body) shape = HTTP_SHAPE_POST_BODY;
  int prev = r->shape;
  r->shape = HTTP_SHAPE_OTHER;       /* until every option below is set */
  int reset = shape == HTTP_SHAPE_OTHER || shape != prev;
  if (reset) {
    if (prev != HTTP_SHAPE_FRESH) curl_easy_reset(e);
    set_fixed(r);
  }
  if (set_method(r, shape) != 0) return -1;
  if (set_url(r, reset) != 0) return -1;
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)&r->xfer);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->total_ms > 0 ? r->total_ms : 0L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms > 0 ? r->connect_ms : 0L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  r->shape = shape;
  r->url = NULL;         /* borrowed strings: not valid after the caller returns */
  r->method = NULL;
  r->on_done = on_done;
  r->ud = ud;
  r->started = sched_now();
  if (curl_multi_add_handle(sched_curl(r->S), e) != CURLM_OK) return -1;
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
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);   /* and the header list */
    if (r->req_body) curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");   /* and the body */
    easy_put(r);    /* takes the response buffers too */
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
