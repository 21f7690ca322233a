/* sched: tasks (Lua coroutines), timers and the event loop. See sched.h. */
#include "sched.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

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
  int nfds;                  /* extra fds registered (sched_fd) */
  int epfd;                  /* epoll set: curl's sockets, extra fds, wakefd */
  int wakefd;                /* eventfd written by sched_interrupt */
  double curl_due;           /* when curl wants its timeout action; < 0: never */
  unsigned char *sock;       /* per fd: how a curl socket is in the epoll set */
  int nsock;
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

/* ---- the epoll set ----
 * epoll_event.data.u64 says what an fd is: a sched_fd's address (8-byte
 * aligned, low bit 0), a curl socket as (fd << 1) | 1, or WAKE_TAG. Curl
 * is driven by curl_multi_socket_action: its socket callback keeps the set
 * in step with the sockets it wants watched, its timer callback says when
 * it wants a timeout action, and a ready socket is handed back with the
 * events epoll saw (so curl does not poll it again). */

#define WAKE_TAG ((uint64_t)2)
#define CURL_TAG(fd) (((uint64_t)(unsigned)(fd) << 1) | 1u)

static uint32_t epoll_bits(int curl_what) {
  uint32_t ev = 0;
  if (curl_what == CURL_POLL_IN || curl_what == CURL_POLL_INOUT) ev |= EPOLLIN;
  if (curl_what == CURL_POLL_OUT || curl_what == CURL_POLL_INOUT) ev |= EPOLLOUT;
  return ev;
}

/* Adds fd to the set or changes its events (an fd the kernel dropped when
 * it was closed is added again). */
static int ep_set(sched *S, int fd, uint32_t events, uint64_t data, int known) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.u64 = data;
  int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(S->epfd, op, fd, &ev) == 0) return 0;
  if (op == EPOLL_CTL_MOD && errno == ENOENT) return epoll_ctl(S->epfd, EPOLL_CTL_ADD, fd, &ev);
  if (op == EPOLL_CTL_ADD && errno == EEXIST) return epoll_ctl(S->epfd, EPOLL_CTL_MOD, fd, &ev);
  return -1;
}

/* A curl socket's entry in S->sock: SOCK_IN_SET with the epoll events it
 * is registered for, and SOCK_IDLE once curl stopped watching it. An idle
 * connection (kept by curl for reuse) stays registered for EPOLLIN, so
 * reusing it costs no epoll_ctl; if it turns readable while idle (the
 * server closed it) it leaves the set then. Curl closes its sockets
 * through on_curl_close, which takes them out of the set first. */
#define SOCK_IN_SET 0x80u
#define SOCK_IDLE 0x40u
#define SOCK_EVENTS (EPOLLIN | EPOLLOUT)

static unsigned char *sock_entry(sched *S, int fd) {
  if (fd < 0) return NULL;
  if (fd >= S->nsock) {
    int n = S->nsock ? S->nsock : 64;
    while (n <= fd) n *= 2;
    unsigned char *g = realloc(S->sock, (size_t)n);
    if (!g) return NULL;
    memset(g + S->nsock, 0, (size_t)(n - S->nsock));
    S->sock = g;
    S->nsock = n;
  }
  return &S->sock[fd];
}

static void sock_forget(sched *S, int fd) {
  if (fd >= 0 && fd < S->nsock && (S->sock[fd] & SOCK_IN_SET)) {
    epoll_ctl(S->epfd, EPOLL_CTL_DEL, fd, NULL);
    S->sock[fd] = 0;
  }
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  sched *S = userp;
  (void)easy;
  (void)socketp;
  unsigned char *e = sock_entry(S, s);
  if (what == CURL_POLL_REMOVE) {
    if (!e) return 0;
    if ((*e & SOCK_IN_SET) && (*e & SOCK_EVENTS) == EPOLLIN) *e |= SOCK_IDLE;
    else sock_forget(S, s);     /* an idle socket is writable: never keep EPOLLOUT */
    return 0;
  }
  uint32_t want = epoll_bits(what);
  if (!e) return ep_set(S, s, want, CURL_TAG(s), 0) == 0 ? 0 : -1;
  if ((*e & SOCK_IN_SET) && (*e & SOCK_EVENTS) == want) {
    *e &= (unsigned char)~SOCK_IDLE;
    return 0;
  }
  if (ep_set(S, s, want, CURL_TAG(s), (*e & SOCK_IN_SET) != 0) != 0) {
    *e = 0;
    return -1;
  }
  *e = (unsigned char)(SOCK_IN_SET | want);
  return 0;
}

static int on_curl_close(void *clientp, curl_socket_t s) {
  sock_forget(clientp, s);
  return close(s);
}

void sched_curl_setup(sched *S, CURL *easy) {
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, S);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  sched *S = userp;
  (void)multi;
  S->curl_due = timeout_ms < 0 ? -1.0 : sched_now() + (double)timeout_ms / 1000.0;
  return 0;
}

void sched_fd_add(sched *S, sched_fd *f) {
  if (f->registered) return;
  if (f->fd >= 0 && f->fd < S->nsock) S->sock[f->fd] = 0;   /* a number curl used before */
  uint32_t ev = ((f->events & CURL_WAIT_POLLIN) ? EPOLLIN : 0) | ((f->events & CURL_WAIT_POLLOUT) ? EPOLLOUT : 0);
  if (ep_set(S, f->fd, ev, (uint64_t)(uintptr_t)f, 0) != 0) {
    fprintf(stderr, "opro-lua: cannot watch fd %d: %s\n", f->fd, strerror(errno));
  }
  f->registered = 1;
  S->nfds++;
}

void sched_fd_remove(sched *S, sched_fd *f) {
  if (!f->registered) return;
  epoll_ctl(S->epfd, EPOLL_CTL_DEL, f->fd, NULL);
  f->registered = 0;
  S->nfds--;
}

void sched_interrupt(sched *S) {
  S->interrupted = 1;
  if (S->wakefd >= 0) {
    uint64_t one = 1;
    ssize_t w = write(S->wakefd, &one, sizeof one);   /* async-signal-safe */
    (void)w;
  }
}

/* Completed transfers: hands each to its owner. */
static void drain_curl(sched *S) {
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

static void curl_timeout_due(sched *S) {
  if (S->curl_due < 0 || S->curl_due > sched_now()) return;
  int running = 0;
  S->curl_due = -1.0;     /* the action sets the next one */
  curl_multi_socket_action(S->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

/* Waits up to timeout_ms for an fd, then runs curl's socket and timeout
 * actions and the ready fds' callbacks. */
#define EVENTS_MAX 64
static void wait_events(sched *S, int timeout_ms) {
  /* transfers added since the last wait start now (curl asked for a
   * timeout action at once), before blocking */
  if (S->curl_due >= 0 && S->curl_due <= sched_now()) {
    curl_timeout_due(S);
    drain_curl(S);
    if (S->ready_head) timeout_ms = 0;
  }
  if (S->curl_due >= 0) {
    double d = S->curl_due - sched_now();
    int cms = d <= 0 ? 0 : (int)ceil(d * 1000.0);
    if (cms < timeout_ms) timeout_ms = cms;
  }
  struct epoll_event evs[EVENTS_MAX];
  int n = epoll_wait(S->epfd, evs, EVENTS_MAX, timeout_ms);
  for (int i = 0; i < n; i++) {
    uint64_t tag = evs[i].data.u64;
    uint32_t e = evs[i].events;
    if (tag == WAKE_TAG) {
      uint64_t v;
      ssize_t r = read(S->wakefd, &v, sizeof v);
      (void)r;
    } else if (tag & 1u) {
      int fd = (int)(tag >> 1);
      if (fd < S->nsock && (S->sock[fd] & SOCK_IDLE)) {   /* an idle connection closed */
        sock_forget(S, fd);
        continue;
      }
      int mask = 0;
      if (e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
      if (e & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (e & EPOLLERR) mask |= CURL_CSELECT_ERR;
      int running = 0;
      curl_multi_socket_action(S->multi, fd, mask, &running);
    } else {
      sched_fd *f = (sched_fd *)(uintptr_t)tag;
      /* an earlier callback may have removed it (the owner is not freed
       * inside the loop, see sched.h) */
      if (f->registered) f->ready(f, (short)(e & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR)));
    }
  }
  curl_timeout_due(S);
  if (S->transfers > 0) drain_curl(S);
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
    if (S->transfers > 0 || S->nfds > 0 || timeout_ms > 0) wait_events(S, timeout_ms);
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
  S->curl_due = -1.0;
  S->wakefd = -1;
  S->epfd = epoll_create1(EPOLL_CLOEXEC);
  S->multi = S->epfd >= 0 ? curl_multi_init() : NULL;
  if (!S->multi) {
    if (S->epfd >= 0) close(S->epfd);
    free(S);
    return NULL;
  }
  curl_multi_setopt(S->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(S->multi, CURLMOPT_SOCKETDATA, S);
  curl_multi_setopt(S->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(S->multi, CURLMOPT_TIMERDATA, S);
  S->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (S->wakefd >= 0) ep_set(S, S->wakefd, EPOLLIN, WAKE_TAG, 0);
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
  if (S->multi) curl_multi_cleanup(S->multi);
  if (S->wakefd >= 0) close(S->wakefd);
  if (S->epfd >= 0) close(S->epfd);
  free(S->sock);
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
