/* sched: tasks (Lua coroutines), timers and the event loop. See sched.h. */
#include "sched.h"

#include <lauxlib.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHED_KEY  "opro.sched"
#define LIVE_KEY   "opro.tasks.live"     /* lightuserdata(task*) -> task userdata */
#define ORPHAN_KEY "opro.tasks.failed"   /* failed tasks nobody waited for */

#define UV_THREAD TASK_UV_THREAD
#define UV_RESULT TASK_UV_RESULT
#define UV_WAITERS TASK_UV_WAITERS
#define UV_TRACEBACK TASK_UV_TRACEBACK
#define UV_COUNT TASK_UV_COUNT

typedef struct sched_timer {
  double deadline;
  unsigned long order;       /* ties fire in insertion order */
  size_t pos;                /* index in the heap */
  task *t;
  unsigned long seq;
} sched_timer;

struct sched {
  lua_State *L;              /* the main thread: owns the registry, runs no task code */
  CURLM *multi;
  task *ready_head, *ready_tail;
  sched_timer **heap;
  size_t nheap, capheap;
  unsigned long timer_order;
  unsigned long next_id;
  int live;                  /* tasks not yet finished */
  int transfers;             /* curl transfers in flight */
  sched_fd *fds;             /* extra fds polled with curl_multi_poll */
  int nfds;
  struct curl_waitfd *wbuf;  /* poll arrays, grown as needed */
  struct pollfd *pbuf;
  sched_fd **obuf;
  int wcap;
  task *main;
  int exit_status;
  volatile sig_atomic_t interrupted;
};

static sched *interrupt_target;

double sched_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- timers: a binary min-heap of deadlines ---- */

static int timer_less(const sched_timer *a, const sched_timer *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->order < b->order;
}

static void heap_swap(sched *S, size_t i, size_t j) {
  sched_timer *x = S->heap[i];
  S->heap[i] = S->heap[j];
  S->heap[j] = x;
  S->heap[i]->pos = i;
  S->heap[j]->pos = j;
}

static void heap_up(sched *S, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!timer_less(S->heap[i], S->heap[p])) break;
    heap_swap(S, i, p);
    i = p;
  }
}

static void heap_down(sched *S, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < S->nheap && timer_less(S->heap[l], S->heap[m])) m = l;
    if (r < S->nheap && timer_less(S->heap[r], S->heap[m])) m = r;
    if (m == i) break;
    heap_swap(S, i, m);
    i = m;
  }
}

void sched_timer_add(sched *S, double deadline, task *t, unsigned long seq) {
  if (S->nheap == S->capheap) {
    size_t cap = S->capheap ? S->capheap * 2 : 64;
    sched_timer **h = realloc(S->heap, cap * sizeof *h);
    if (!h) luaL_error(t->co, "out of memory (timer heap)");
    S->heap = h;
    S->capheap = cap;
  }
  sched_timer *tm = malloc(sizeof *tm);
  if (!tm) luaL_error(t->co, "out of memory (timer)");
  tm->deadline = deadline;
  tm->order = S->timer_order++;
  tm->t = t;
  tm->seq = seq;
  tm->pos = S->nheap;
  S->heap[S->nheap++] = tm;
  heap_up(S, tm->pos);
}

static sched_timer *heap_pop(sched *S) {
  sched_timer *top = S->heap[0];
  S->nheap--;
  if (S->nheap > 0) {
    S->heap[0] = S->heap[S->nheap];
    S->heap[0]->pos = 0;
    heap_down(S, 0);
  }
  return top;
}

/* Removes every timer of task t (a cancelled task must not be touched later). */
static void timers_drop_task(sched *S, task *t) {
  size_t i = 0;
  while (i < S->nheap) {
    if (S->heap[i]->t == t) {
      sched_timer *tm = S->heap[i];
      S->nheap--;
      if (i < S->nheap) {
        S->heap[i] = S->heap[S->nheap];
        S->heap[i]->pos = i;
        heap_down(S, i);
        heap_up(S, S->heap[i]->pos);
      }
      free(tm);
    } else {
      i++;
    }
  }
}

static void fire_timers(sched *S) {
  double now = sched_now();
  while (S->nheap > 0 && S->heap[0]->deadline <= now) {
    sched_timer *tm = heap_pop(S);
    sched_wake_seq(tm->t, tm->seq);
    free(tm);
  }
}

/* ---- registry helpers ---- */

static void push_live(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIVE_KEY);
}

/* Pushes the userdata of a live task (nil when it is no longer live). */
static void push_task_ud(lua_State *L, task *t) {
  push_live(L);
  lua_rawgetp(L, -1, t);
  lua_remove(L, -2);
}

sched *sched_get(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, SCHED_KEY);
  sched *S = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!S) luaL_error(L, "opro scheduler is not initialised");
  return S;
}

CURLM *sched_curl(sched *S) { return S->multi; }
void sched_transfer_added(sched *S) { S->transfers++; }
void sched_transfer_removed(sched *S) { S->transfers--; }
int sched_transfers(sched *S) { return S->transfers; }

const char *sched_state_name(task_state s) {
  switch (s) {
    case TASK_READY: return "ready";
    case TASK_RUNNING: return "running";
    case TASK_BLOCKED: return "waiting";
    case TASK_DONE: return "done";
    case TASK_FAILED: return "failed";
    case TASK_CANCELLED: return "cancelled";
  }
  return "?";
}

task *sched_checktask(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, TASK_MT);
}

task *sched_current(lua_State *L) {
  task *t = *(task **)lua_getextraspace(L);
  return (t && t->co == L) ? t : NULL;
}

task *sched_check_blocking(lua_State *L, const char *what) {
  task *t = sched_current(L);
  if (!t) {
    luaL_error(L, "%s must be called inside a task (opro.spawn), not in a plain coroutine", what);
  }
  if (!lua_isyieldable(L)) {
    luaL_error(L, "%s cannot wait here: attempt to yield across a C-call boundary "
                  "(inside a metamethod, table.sort comparator or gsub callback?)", what);
  }
  return t;
}

/* ---- ready queue ---- */

static void enqueue(sched *S, task *t) {
  t->state = TASK_READY;
  t->next_ready = NULL;
  if (S->ready_tail) S->ready_tail->next_ready = t;
  else S->ready_head = t;
  S->ready_tail = t;
}

static task *dequeue(sched *S) {
  task *t = S->ready_head;
  if (t) {
    S->ready_head = t->next_ready;
    if (!S->ready_head) S->ready_tail = NULL;
    t->next_ready = NULL;
  }
  return t;
}

void sched_wake_seq(task *t, unsigned long seq) {
  if (t->state == TASK_BLOCKED && t->block_seq == seq) enqueue(t->S, t);
}

void sched_wake(task *t) { sched_wake_seq(t, t->block_seq); }

int sched_block(lua_State *L, sched_wait *w, lua_KContext ctx, lua_KFunction k) {
  task *t = sched_check_blocking(L, "blocking call");
  t->wait = w;
  t->block_seq++;
  t->state = TASK_BLOCKED;
  return lua_yieldk(L, 0, ctx, k);
}

/* ---- spawning ---- */

task *sched_spawn(lua_State *L, int nargs) {
  sched *S = sched_get(L);
  luaL_checktype(L, -nargs - 1, LUA_TFUNCTION);
  task *t = lua_newuserdatauv(L, sizeof *t, UV_COUNT);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TASK_MT);
  lua_insert(L, -nargs - 2);                   /* ud, fn, args... */
  lua_State *co = lua_newthread(L);
  lua_insert(L, -nargs - 2);                   /* ud, co, fn, args... */
  lua_xmove(L, co, nargs + 1);                 /* fn, args -> co */
  lua_setiuservalue(L, -2, UV_THREAD);         /* ud */
  t->S = S;
  t->co = co;
  t->id = ++S->next_id;
  t->resume_nargs = nargs;
  task *parent = sched_current(L);
  t->parent = parent;
  t->started = sched_now();
  *(task **)lua_getextraspace(co) = t;
  push_live(L);
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, t);
  lua_pop(L, 1);
  S->live++;
  if (!S->main) {                              /* keep the main task to report it */
    S->main = t;
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, t);
  }
  enqueue(S, t);
  return t;
}

/* ---- finishing ---- */

static void wake_waiters(lua_State *L, int tidx) {
  if (lua_getiuservalue(L, tidx, UV_WAITERS) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      task *w = lua_touserdata(L, -2);
      unsigned long seq = (unsigned long)lua_tointeger(L, -1);
      if (w) sched_wake_seq(w, seq);
      lua_pop(L, 3);
    }
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setiuservalue(L, tidx, UV_WAITERS);
}

static int has_waiters(lua_State *L, int tidx) {
  int has = lua_getiuservalue(L, tidx, UV_WAITERS) == LUA_TTABLE && luaL_len(L, -1) > 0;
  lua_pop(L, 1);
  return has;
}

/* Called with the task's userdata at the top of S->L. */
static void finish(sched *S, task *t) {
  lua_State *L = S->L;
  int tidx = lua_gettop(L);
  /* the spawned children of t outlive it: detach them (no dangling parent) */
  push_live(L);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    task *c = lua_touserdata(L, -1);
    if (c->parent == t) c->parent = t->parent;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  lua_rawsetp(L, -2, t);
  lua_pop(L, 1);
  S->live--;
  if (t->state == TASK_FAILED && !has_waiters(L, tidx) && t != S->main) {
    lua_getfield(L, LUA_REGISTRYINDEX, ORPHAN_KEY);
    lua_pushvalue(L, tidx);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    lua_pop(L, 1);
  }
  wake_waiters(L, tidx);
}

void sched_cancel(task *t) {
  sched *S = t->S;
  lua_State *L = S->L;
  if (t->state == TASK_DONE || t->state == TASK_FAILED || t->state == TASK_CANCELLED) return;
  if (t->state == TASK_RUNNING) {
    /* cannot unwind a running coroutine from outside; the caller raises */
    return;
  }
  push_task_ud(L, t);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return; }
  if (t->state == TASK_READY) {   /* unlink from the ready queue */
    task **pp = &S->ready_head, *prev = NULL;
    while (*pp && *pp != t) { prev = *pp; pp = &(*pp)->next_ready; }
    if (*pp) {
      *pp = t->next_ready;
      if (S->ready_tail == t) S->ready_tail = prev;
    }
  }
  /* blocked, or woken but not yet resumed: the wait still owns resources */
  if (t->wait && t->wait->cancel) t->wait->cancel(t->wait);
  t->wait = NULL;
  timers_drop_task(S, t);
  t->state = TASK_CANCELLED;
  t->block_seq++;
  /* first its live children (finish() would hand them to t's parent) */
  push_live(L);
  for (;;) {
    task *child = NULL;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      task *c = lua_touserdata(L, -1);
      lua_pop(L, 1);
      if (c->parent == t && c->state != TASK_RUNNING) { child = c; lua_pop(L, 1); break; }
    }
    if (!child) break;
    sched_cancel(child);
  }
  lua_pop(L, 1);
  lua_resetthread(t->co);     /* closes its to-be-closed variables */
  finish(S, t);
  lua_pop(L, 1);
}

/* ---- running tasks ---- */

static void store_results(lua_State *L, int tidx, lua_State *co, int nres) {
  lua_createtable(L, nres, 1);
  lua_checkstack(L, nres + 2);
  lua_xmove(co, L, nres);
  for (int i = nres; i >= 1; i--) lua_rawseti(L, -(i + 1), i);  /* pops v_i */
  lua_pushinteger(L, nres);
  lua_setfield(L, -2, "n");
  lua_setiuservalue(L, tidx, UV_RESULT);
}

static void resume_task(sched *S, task *t) {
  lua_State *L = S->L;
  lua_State *co = t->co;
  int nargs = t->resume_nargs;
  t->resume_nargs = 0;
  if (t->wait) {
    sched_wait *w = t->wait;
    t->wait = NULL;
    lua_checkstack(co, 8);
    nargs += w->resume(w, co);
  }
  t->state = TASK_RUNNING;
  int nres = 0;
  int status = lua_resume(co, L, nargs, &nres);
  push_task_ud(L, t);
  int tidx = lua_gettop(L);
  if (status == LUA_YIELD) {
    if (t->state != TASK_BLOCKED) {  /* coroutine.yield() in a task: let others run */
      lua_pop(co, nres);
      enqueue(S, t);
    }
  } else if (status == LUA_OK) {
    store_results(L, tidx, co, nres);
    t->state = TASK_DONE;
    finish(S, t);
  } else {
    /* error value, then a traceback of the task's own stack */
    lua_xmove(co, L, 1);
    const char *msg = lua_tostring(L, -1);
    luaL_traceback(L, co, msg ? NULL : "(error object is not a string)", 0);
    lua_setiuservalue(L, tidx, UV_TRACEBACK);
    lua_setiuservalue(L, tidx, UV_RESULT);
    t->state = TASK_FAILED;
    lua_resetthread(co);
    finish(S, t);
  }
  lua_settop(L, tidx - 1);
}

static void report_error(lua_State *L, int tidx, const char *what) {
  lua_getiuservalue(L, tidx, UV_RESULT);
  lua_getiuservalue(L, tidx, UV_TRACEBACK);
  const char *msg = luaL_tolstring(L, -2, NULL);
  fprintf(stderr, "opro-lua: %s%s\n%s\n", what, msg, lua_tostring(L, -2));
  fflush(stderr);
  lua_pop(L, 3);
}

static void cancel_all(sched *S) {
  lua_State *L = S->L;
  for (;;) {
    push_live(L);
    task *victim = NULL;
    lua_pushnil(L);
    if (lua_next(L, -2)) {
      victim = lua_touserdata(L, -1);
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
    if (!victim) break;
    if (victim->state == TASK_RUNNING) victim->state = TASK_READY; /* cannot happen from the loop */
    sched_cancel(victim);
  }
}

static void on_signal(int sig) {
  (void)sig;
  if (interrupt_target) sched_interrupt(interrupt_target);
  signal(SIGINT, SIG_DFL);   /* a second Ctrl-C ends the process at once */
}

/* ---- extra fds ---- */

void sched_fd_add(sched *S, sched_fd *f) {
  if (f->registered) return;
  f->next = S->fds;
  S->fds = f;
  f->registered = 1;
  S->nfds++;
}

void sched_fd_remove(sched *S, sched_fd *f) {
  if (!f->registered) return;
  for (sched_fd **pp = &S->fds; *pp; pp = &(*pp)->next) {
    if (*pp == f) { *pp = f->next; break; }
  }
  f->registered = 0;
  f->next = NULL;
  S->nfds--;
}

/* Polls curl and the extra fds; then calls the ready fds' callbacks. */
static void poll_all(sched *S, int timeout_ms) {
  if (S->nfds > S->wcap) {
    int cap = S->nfds * 2;
    struct curl_waitfd *nw = realloc(S->wbuf, (size_t)cap * sizeof *nw);
    if (nw) S->wbuf = nw;
    sched_fd **no = realloc(S->obuf, (size_t)cap * sizeof *no);
    if (no) S->obuf = no;
    struct pollfd *np = realloc(S->pbuf, (size_t)cap * sizeof *np);
    if (np) S->pbuf = np;
    if (nw && no && np) S->wcap = cap;
  }
  struct curl_waitfd *w = S->wbuf;
  sched_fd **owner = S->obuf;
  unsigned n = 0;
  for (sched_fd *f = S->fds; f && (int)n < S->wcap; f = f->next) {
    w[n].fd = f->fd;
    w[n].events = f->events;
    w[n].revents = 0;
    owner[n++] = f;
  }
  curl_multi_poll(S->multi, n ? w : NULL, n, timeout_ms, NULL);
  if (n == 0) return;
  /* curl reports only IN/OUT/PRI: ask poll() for the exact events (a
   * pipe's closed end is POLLHUP without POLLIN) */
  struct pollfd *p = S->pbuf;
  for (unsigned i = 0; i < n; i++) {
    p[i].fd = w[i].fd;
    p[i].events = (short)(((w[i].events & CURL_WAIT_POLLIN) ? POLLIN : 0) |
                          ((w[i].events & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
    p[i].revents = 0;
  }
  if (poll(p, n, 0) <= 0) return;
  for (unsigned i = 0; i < n; i++) {
    if (p[i].revents && owner[i]->registered) owner[i]->ready(owner[i], p[i].revents);
  }
}

void sched_interrupt(sched *S) {
  S->interrupted = 1;
  if (S->multi) curl_multi_wakeup(S->multi);
}

static void drain_curl(sched *S) {
  int running = 0;
  curl_multi_perform(S->multi, &running);
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(S->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    sched_transfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    CURLcode rc = m->data.result;
    if (x && x->done) x->done(x, rc);
  }
}

int sched_run(sched *S) {
  lua_State *L = S->L;
  interrupt_target = S;
  signal(SIGINT, on_signal);
  while (S->live > 0) {
    task *t;
    while ((t = S->ready_head) != NULL) {
      dequeue(S);
      resume_task(S, t);
      if (S->main && S->main->state == TASK_FAILED) break;
      if (S->interrupted) break;
    }
    if (S->main && S->main->state == TASK_FAILED) break;
    if (S->interrupted) {
      fprintf(stderr, "opro-lua: interrupted; stopping after saving what has finished\n");
      S->exit_status = 130;
      break;
    }
    if (S->live == 0) break;
    if (!S->ready_head && S->nheap == 0 && S->transfers == 0 && S->nfds == 0) {
      fprintf(stderr, "opro-lua: deadlock: %d task(s) wait for each other and nothing else can wake them\n",
              S->live);
      S->exit_status = 1;
      break;
    }
    int timeout_ms = 1000;
    if (S->ready_head) timeout_ms = 0;
    else if (S->nheap > 0) {
      double d = S->heap[0]->deadline - sched_now();
      timeout_ms = d <= 0 ? 0 : (int)ceil(d * 1000.0);
      if (timeout_ms > 1000) timeout_ms = 1000;
    }
    if (S->transfers > 0 || S->nfds > 0 || timeout_ms > 0) poll_all(S, timeout_ms);
    if (S->transfers > 0) drain_curl(S);
    fire_timers(S);
  }
  /* the main task's error, then errors nobody waited for */
  if (S->main && S->main->state == TASK_FAILED) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, S->main);   /* anchored by sched_set_main */
    report_error(L, lua_gettop(L), "");
    lua_pop(L, 1);
    S->main->observed = 1;
    S->exit_status = 1;
  }
  cancel_all(S);
  lua_getfield(L, LUA_REGISTRYINDEX, ORPHAN_KEY);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    task *t = lua_touserdata(L, -1);
    if (!t->observed) {
      char what[64];
      snprintf(what, sizeof what, "error in task %lu (nobody waited for it): ", t->id);
      report_error(L, lua_gettop(L), what);
      t->observed = 1;
      if (S->exit_status == 0) S->exit_status = 1;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  signal(SIGINT, SIG_DFL);
  interrupt_target = NULL;
  return S->exit_status;
}

/* ---- construction ---- */

sched *sched_new(lua_State *L) {
  sched *S = calloc(1, sizeof *S);
  if (!S) return NULL;
  S->L = L;
  *(task **)lua_getextraspace(L) = NULL;   /* copied into every new thread */
  S->multi = curl_multi_init();
  if (!S->multi) { free(S); return NULL; }
  lua_pushlightuserdata(L, S);
  lua_setfield(L, LUA_REGISTRYINDEX, SCHED_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LIVE_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, ORPHAN_KEY);
  return S;
}

void sched_free(sched *S) {
  if (!S) return;
  for (size_t i = 0; i < S->nheap; i++) free(S->heap[i]);
  free(S->heap);
  free(S->wbuf);
  free(S->obuf);
  free(S->pbuf);
  if (S->multi) curl_multi_cleanup(S->multi);
  free(S);
}

void sched_add_waiter(lua_State *L, int tidx, task *w) {
  tidx = lua_absindex(L, tidx);
  if (lua_getiuservalue(L, tidx, UV_WAITERS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, tidx, UV_WAITERS);
  }
  lua_createtable(L, 2, 0);
  push_task_ud(L, w);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, (lua_Integer)w->block_seq);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
  lua_pop(L, 1);
}
