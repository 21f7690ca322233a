/* opro.core.http: HTTP requests from tasks. request{...} blocks the calling
 * task (not the loop); any number run concurrently on one multi handle.
 *   resp = {status=, headers={lower-case name = value}, body=, time=}
 *   or nil, message, code ("timeout"|"connect"|"reset"|"transport") */
#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "sched.h"

typedef struct {
  sched_wait wait;      /* first: the task's wait points here */
  http_request *req;
  task *t;
  unsigned long seq;
} pending;

static void on_done(http_request *r, void *ud) {
  pending *p = ud;
  (void)r;
  sched_wake_seq(p->t, p->seq);
}

/* header block -> table; the last value of a repeated name wins, except
 * that repeated names are joined with ", " as RFC 9110 allows. The table
 * is made at its final size. */
static void push_headers(lua_State *L, const http_buf *h) {
  if (!h->data) {
    lua_createtable(L, 0, 0);
    return;
  }
  const char *p = h->data, *end = h->data + h->len;
  int lines = 0;
  for (const char *q = p; q < end; lines++) {
    const char *e = memchr(q, '\n', (size_t)(end - q));
    q = e ? e + 1 : end;
  }
  lua_createtable(L, 0, lines > 2 ? lines - 2 : 0);   /* not the status line and the blank line */
  /* skip the status line */
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  p = nl ? nl + 1 : end;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon) {
      size_t n = (size_t)(colon - p);
      luaL_Buffer name;   /* pushed at once: no error path leaves it open */
      char *d = luaL_buffinitsize(L, &name, n);
      for (size_t i = 0; i < n; i++) d[i] = (char)tolower((unsigned char)p[i]);
      luaL_pushresultsize(&name, n);
      const char *v = colon + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) == LUA_TSTRING) {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = eol + 1;
  }
}

static int request_resume(sched_wait *w, lua_State *co) {
  pending *p = (pending *)w;
  http_request *r = p->req;
  const char *code = http_error_code(r);
  int n;
  if (code) {
    lua_pushnil(co);
    const char *what = curl_easy_strerror(r->rc);
    if (r->errbuf[0] && strcmp(r->errbuf, what) != 0)
      lua_pushfstring(co, "http: %s: %s (%s)", what, r->errbuf, r->url_for_errors);
    else
      lua_pushfstring(co, "http: %s (%s)", what, r->url_for_errors);
    lua_pushstring(co, code);
    n = 3;
  } else {
    lua_createtable(co, 0, 4);
    lua_pushinteger(co, r->status);
    lua_setfield(co, -2, "status");
    lua_pushlstring(co, r->body.data ? r->body.data : "", r->body.len);
    lua_setfield(co, -2, "body");
    push_headers(co, &r->head);
    lua_setfield(co, -2, "headers");
    lua_pushnumber(co, r->elapsed);
    lua_setfield(co, -2, "time");
    n = 1;
  }
  http_free(r);
  free(p);
  return n;
}

static void request_cancel(sched_wait *w) {
  pending *p = (pending *)w;
  http_free(p->req);    /* aborts a running transfer */
  free(p);
}

static long ms_field(lua_State *L, const char *field) {
  long ms = 0;
  if (lua_getfield(L, 1, field) != LUA_TNIL) {
    if (!lua_isnumber(L, -1)) luaL_error(L, "http.request: field '%s' must be a number of seconds", field);
    double s = lua_tonumber(L, -1);
    if (!(s > 0)) luaL_error(L, "http.request: field '%s' must be > 0", field);
    ms = (long)(s * 1000.0 + 0.5);
    if (ms < 1) ms = 1;
  }
  lua_pop(L, 1);
  return ms;
}

static int l_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  task *t = sched_check_blocking(L, "http.request");
  if (lua_getfield(L, 1, "url") != LUA_TSTRING) return luaL_error(L, "http.request: field 'url' (a string) is required");
  const char *url = lua_tostring(L, -1);
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return luaL_error(L, "http.request: url must start with http:// or https://");
  size_t blen = 0;
  const char *body = NULL;
  int tb = lua_getfield(L, 1, "body");
  if (tb == LUA_TSTRING) body = lua_tolstring(L, -1, &blen);
  else if (tb != LUA_TNIL) return luaL_error(L, "http.request: field 'body' must be a string");
  const char *method = body ? "POST" : "GET";
  int tm = lua_getfield(L, 1, "method");
  if (tm == LUA_TSTRING) method = lua_tostring(L, -1);
  else if (tm != LUA_TNIL) return luaL_error(L, "http.request: field 'method' must be a string");
  long total_ms = ms_field(L, "timeout"), connect_ms = ms_field(L, "connect_timeout");
  int th = lua_getfield(L, 1, "headers");
  if (th != LUA_TNIL && th != LUA_TTABLE) return luaL_error(L, "http.request: field 'headers' must be a table");

  sched *S = sched_get(L);
  pending *p = calloc(1, sizeof *p);
  http_request *r = p ? http_new(S, url) : NULL;
  if (!r) { free(p); return luaL_error(L, "http.request: out of memory"); }
  p->req = r;
  p->wait.resume = request_resume;
  p->wait.cancel = request_cancel;
  int bad = http_set_method(r, method) != 0;
  if (th == LUA_TTABLE) {
    lua_pushnil(L);
    while (!bad && lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1)) {
        http_free(r);
        free(p);
        return luaL_error(L, "http.request: headers must map names to strings");
      }
      bad = http_add_header(r, lua_tostring(L, -2), lua_tostring(L, -1)) != 0;
      lua_pop(L, 1);
    }
  }
  if (!bad && body) bad = http_set_body(r, body, blen) != 0;
  http_set_timeouts(r, total_ms, connect_ms);
  p->t = t;
  p->seq = t->block_seq + 1;      /* the seq sched_block sets */
  if (!bad) bad = http_start(r, on_done, p) != 0;
  if (bad) {
    http_free(r);
    free(p);
    lua_pushnil(L);
    lua_pushliteral(L, "http: cannot set up the request");
    lua_pushliteral(L, "transport");
    return 3;
  }
  /* the url, method and body strings stay on this stack until the task
   * resumes: curl reads the body from there (not copied) */
  return sched_block(L, &p->wait, 0, NULL);
}

static int l_stats(lua_State *L) {
  int now, peak;
  http_counts(&now, &peak);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, now);
  lua_setfield(L, -2, "inflight");
  lua_pushinteger(L, peak);
  lua_setfield(L, -2, "peak");
  return 1;
}

static const luaL_Reg funcs[] = {{"request", l_request}, {"stats", l_stats}, {NULL, NULL}};

int luaopen_opro_core_http(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
