/* persona bridge: a pool of Lua states, each running lua/opro/sim/server.lua
 * (protocol shaping) with the persona loaded. A request borrows one state,
 * calls its handler with a request table and copies the reply table out. */
#include <lauxlib.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "sim.h"

extern int luaopen_cjson(lua_State *L);
extern int luaopen_cjson_safe(lua_State *L);

typedef struct slot {
  lua_State *L;
  int handler;           /* registry ref of the handler function */
} slot;

static slot *slots;
static int nslots;
static int *free_stack, nfree;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static int quiet;

/* as src/host.c: the embedded library after package.preload, cjson preloaded */
static const luaL_Reg preload[] = {
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL}};

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

static int slot_open(slot *s, const sim_options *o, char *err, size_t errlen) {
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "cannot create a Lua state");
    return -1;
  }
  s->L = L;
  luaL_openlibs(L);
  embed_install(L, preload);
  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "opro.sim.server");
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) goto fail;
  lua_getfield(L, -1, "new");
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, (lua_Integer)o->seed);
  lua_setfield(L, -2, "seed");
  if (o->persona) { lua_pushstring(L, o->persona); lua_setfield(L, -2, "persona"); }
  if (o->data) { lua_pushstring(L, o->data); lua_setfield(L, -2, "data"); }
  lua_pushboolean(L, o->quiet);
  lua_setfield(L, -2, "quiet");
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) goto fail;
  if (!lua_isfunction(L, -1)) {
    snprintf(err, errlen, "opro.sim.server.new did not return a function");
    return -1;
  }
  s->handler = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  return 0;
fail: {
    const char *msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "Lua error";
    /* a bad --persona/--data is the user's input: the message names it, the
     * simulator's own stack would be noise */
    const char *tb = strncmp(msg, "--", 2) == 0 ? strstr(msg, "\nstack traceback:") : NULL;
    snprintf(err, errlen, "%.*s", tb ? (int)(tb - msg) : (int)strlen(msg), msg);
    return -1;
  }
}

int persona_init(const sim_options *o, char *err, size_t errlen) {
  quiet = o->quiet;
  nslots = o->threads > 0 ? o->threads : 1;
  slots = calloc((size_t)nslots, sizeof *slots);
  free_stack = calloc((size_t)nslots, sizeof *free_stack);
  if (!slots || !free_stack) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (int i = 0; i < nslots; i++) {
    if (slot_open(&slots[i], o, err, errlen)) return -1;
    free_stack[nfree++] = i;
  }
  return 0;
}

void persona_free(void) {
  for (int i = 0; i < nslots; i++)
    if (slots[i].L) lua_close(slots[i].L);
  free(slots);
  free(free_stack);
  slots = NULL;
  free_stack = NULL;
  nslots = nfree = 0;
}

static char *dupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) abort();
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static void push_kv(lua_State *L, const sim_kv *kv, int n) {
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, kv[i].value ? kv[i].value : "");
    lua_setfield(L, -2, kv[i].key);
  }
}

static void push_request(lua_State *L, const sim_request *r) {
  lua_createtable(L, 0, 12);
  lua_pushstring(L, r->method); lua_setfield(L, -2, "method");
  lua_pushstring(L, r->path); lua_setfield(L, -2, "path");
  push_kv(L, r->headers, r->nheaders); lua_setfield(L, -2, "headers");
  push_kv(L, r->query, r->nquery); lua_setfield(L, -2, "query");
  lua_pushlstring(L, r->body ? r->body : "", r->body_len); lua_setfield(L, -2, "body");
  lua_pushstring(L, r->request_id); lua_setfield(L, -2, "request_id");
  lua_pushinteger(L, (lua_Integer)(r->key >> 1)); lua_setfield(L, -2, "key");
  lua_pushinteger(L, (lua_Integer)r->occurrence); lua_setfield(L, -2, "occurrence");
  if (r->inflight_cap) {
    lua_pushliteral(L, "429"); lua_setfield(L, -2, "fault");
    lua_pushboolean(L, 1); lua_setfield(L, -2, "inflight_cap");
  } else if (r->fault) {
    lua_pushstring(L, r->fault->name); lua_setfield(L, -2, "fault");
    if (r->fault->kind == FAULT_STATUS) {
      lua_pushinteger(L, r->fault->status); lua_setfield(L, -2, "fault_status");
    }
  }
  if (r->retry_after >= 0) { lua_pushnumber(L, r->retry_after); lua_setfield(L, -2, "retry_after"); }
}

static void set_error(sim_reply *out, const char *msg) {
  char buf[1024];
  size_t j = 0;
  for (const char *p = msg; *p && j < 900; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') { buf[j++] = '\\'; buf[j++] = (char)c; }
    else if (c == '\n') { buf[j++] = '\\'; buf[j++] = 'n'; }
    else if (c >= 0x20) buf[j++] = (char)c;
  }
  buf[j] = 0;
  char body[1200];
  int n = snprintf(body, sizeof body,
                   "{\"error\":{\"message\":\"opro-sim persona error: %s\",\"type\":\"server_error\",\"param\":null,\"code\":null}}",
                   buf);
  out->status = 500;
  out->body = dupn(body, (size_t)n);
  out->body_len = (size_t)n;
}

/* reply table at the top of L -> *out */
static int read_reply(lua_State *L, sim_reply *out, char *err, size_t errlen) {
  if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "the handler returned a %s, not a table", luaL_typename(L, -1));
    return -1;
  }
  int t = lua_gettop(L);
  lua_getfield(L, t, "status");
  out->status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 200;
  lua_pop(L, 1);
  if (out->status < 100 || out->status > 599) {
    snprintf(err, errlen, "reply.status %d is not an HTTP status", out->status);
    return -1;
  }
  lua_getfield(L, t, "model");
  if (lua_type(L, -1) == LUA_TSTRING) out->model = dupn(lua_tostring(L, -1), lua_rawlen(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, t, "output_tokens");
  out->output_tokens = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  lua_pop(L, 1);
  if (lua_getfield(L, t, "headers") == LUA_TTABLE) {
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) { n++; lua_pop(L, 1); }
    out->hnames = calloc((size_t)n + 1, sizeof(char *));
    out->hvalues = calloc((size_t)n + 1, sizeof(char *));
    if (!out->hnames || !out->hvalues) abort();
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING && (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
        size_t vl;
        const char *v = lua_tolstring(L, -1, &vl);   /* converts numbers in place: key untouched */
        out->hnames[out->nheaders] = dupn(lua_tostring(L, -2), lua_rawlen(L, -2));
        out->hvalues[out->nheaders] = dupn(v, vl);
        out->nheaders++;
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, t, "chunks") == LUA_TTABLE) {
    int n = (int)luaL_len(L, -1);
    out->chunks = calloc((size_t)n + 1, sizeof(char *));
    out->chunk_lens = calloc((size_t)n + 1, sizeof(size_t));
    out->chunk_tokens = calloc((size_t)n + 1, sizeof(int));
    if (!out->chunks || !out->chunk_lens || !out->chunk_tokens) abort();
    lua_getfield(L, t, "chunk_tokens");
    int has_tok = lua_istable(L, -1);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      if (!s) { s = ""; len = 0; }
      out->chunks[out->nchunks] = dupn(s, len);
      out->chunk_lens[out->nchunks] = len;
      lua_pop(L, 1);
      if (has_tok) {
        lua_rawgeti(L, -1, i);
        out->chunk_tokens[out->nchunks] = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
      }
      out->nchunks++;
    }
    lua_pop(L, 1);
  } else {
    lua_getfield(L, t, "body");
    size_t len = 0;
    const char *s = lua_tolstring(L, -1, &len);
    out->body = dupn(s ? s : "", s ? len : 0);
    out->body_len = s ? len : 0;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

void persona_handle(const sim_request *req, sim_reply *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&pool_lock);
  while (nfree == 0) pthread_cond_wait(&pool_cond, &pool_lock);
  slot *s = &slots[free_stack[--nfree]];
  pthread_mutex_unlock(&pool_lock);

  lua_State *L = s->L;
  char err[512];
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler);
  push_request(L, req);
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (!quiet) fprintf(stderr, "opro-sim: %s\n", msg ? msg : "error");
    set_error(out, msg ? msg : "error");
  } else if (read_reply(L, out, err, sizeof err)) {
    if (!quiet) fprintf(stderr, "opro-sim: %s\n", err);
    reply_free(out);
    memset(out, 0, sizeof *out);
    set_error(out, err);
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);

  pthread_mutex_lock(&pool_lock);
  free_stack[nfree++] = (int)(s - slots);
  pthread_cond_signal(&pool_cond);
  pthread_mutex_unlock(&pool_lock);
}

void reply_free(sim_reply *r) {
  for (int i = 0; i < r->nheaders; i++) { free(r->hnames[i]); free(r->hvalues[i]); }
  free(r->hnames);
  free(r->hvalues);
  for (int i = 0; i < r->nchunks; i++) free(r->chunks[i]);
  free(r->chunks);
  free(r->chunk_lens);
  free(r->chunk_tokens);
  free(r->body);
  free(r->model);
  memset(r, 0, sizeof *r);
}
