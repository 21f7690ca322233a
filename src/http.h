/* http: HTTP transfers over one libcurl multi handle (the scheduler's).
 * No Lua here: src/lhttp.c is the binding. A request is configured, started
 * on the multi handle, and calls on_done from the loop when it completes. */
#ifndef OPRO_HTTP_H
#define OPRO_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "sched.h"

typedef struct http_buf {
  char *data;
  size_t len, cap;
} http_buf;

typedef struct http_request http_request;
struct http_request {
  sched_transfer xfer;          /* first: CURLOPT_PRIVATE points here */
  sched *S;
  CURL *easy;
  struct curl_slist *headers;
  http_buf body;                /* response body */
  http_buf head;                /* response header lines of the final response */
  char *url_for_errors;         /* the URL without its query string (keys live there) */
  char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail of a failure ("transfer closed with N bytes remaining") */
  long status;
  CURLcode rc;
  int running;                  /* added to the multi handle */
  int finished;
  double started, elapsed;
  void (*on_done)(http_request *r, void *ud);
  void *ud;
  /* what http_start applies (set by the http_set_* calls) */
  const char *url;              /* borrowed until http_start */
  const char *method;           /* "GET", "POST" or another, borrowed until http_start */
  const char *req_body;         /* borrowed until the transfer ends (not copied) */
  size_t req_body_len;
  long total_ms, connect_ms;
  int shape;                    /* HTTP_SHAPE_* of this request */
  CURLU *uh;                    /* the easy handle's parsed URL (goes with the handle) */
  char *uh_url;                 /* the URL uh was parsed from */
};

/* Creates a request for url (which must stay valid until http_start).
 * Returns NULL on allocation failure. */
http_request *http_new(sched *S, const char *url);
/* method: "GET", "POST" or any other; must stay valid until http_start */
int http_set_method(http_request *r, const char *method);
int http_add_header(http_request *r, const char *name, const char *value);
/* body: not copied; it must stay valid until the request is freed */
int http_set_body(http_request *r, const char *body, size_t len);
void http_set_timeouts(http_request *r, long total_ms, long connect_ms);
/* Applies the request's settings and starts the transfer; on_done runs
 * from the loop when it ends. */
int http_start(http_request *r, void (*on_done)(http_request *, void *), void *ud);
/* Stops a running transfer (no callback) — safe when finished. */
void http_abort(http_request *r);
void http_free(http_request *r);

/* Failure category of a finished transfer: NULL on success, else one of
 * "timeout", "connect", "reset", "transport". */
const char *http_error_code(const http_request *r);

/* Frees the pooled easy handles (at exit, after the last transfer). */
void http_shutdown(void);

/* Transfers in flight and the highest count seen. */
void http_counts(int *inflight, int *peak);

#endif
