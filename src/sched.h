/* sched: the one event loop. Lua code runs in tasks (coroutines); a task
 * that must wait (timer, HTTP transfer, another task) blocks on a
 * sched_wait and yields; the loop resumes it when the wait completes.
 * Library callbacks (curl) only mark tasks ready: Lua is resumed from the
 * loop, never from inside a callback. */
#ifndef OPRO_SCHED_H
#define OPRO_SCHED_H

#include <curl/curl.h>
#include <lua.h>

typedef struct sched sched;
typedef struct task task;
typedef struct sched_wait sched_wait;

/* What a blocked task waits for. The primitive that blocks owns it. */
struct sched_wait {
  /* Called by the loop just before the task resumes: push the values the
   * blocking primitive returns onto `co` and return how many. */
  int (*resume)(sched_wait *w, lua_State *co);
  /* Called when the task is cancelled while blocked: release resources.
   * May be NULL. */
  void (*cancel)(sched_wait *w);
};

typedef enum {
  TASK_READY, TASK_RUNNING, TASK_BLOCKED, TASK_DONE, TASK_FAILED, TASK_CANCELLED
} task_state;

struct task {
  sched *S;
  lua_State *co;            /* the coroutine; anchored in the task's uservalue */
  unsigned long id;
  task_state state;
  sched_wait *wait;         /* set while TASK_BLOCKED */
  unsigned long block_seq;  /* bumps at every block: stale wakeups are ignored */
  int resume_nargs;         /* values already on co's stack for the next resume */
  task *parent;             /* spawner; NULL for the main task */
  task *next_ready;         /* ready queue link */
  int observed;             /* an error was delivered to a waiter or reported */
  double started;           /* opro.now() at spawn */
};

/* The loop. One per lua_State; stored in the registry. */
sched *sched_new(lua_State *L);
void sched_free(sched *S);
sched *sched_get(lua_State *L);
CURLM *sched_curl(sched *S);
/* Options every easy handle on sched_curl() needs (curl's sockets are
 * closed through the loop, which watches them). */
void sched_curl_setup(sched *S, CURL *easy);

/* Creates a task running the function at the top of L's stack with the
 * `nargs` values below... (function, args) are popped from L and the task
 * userdata is pushed. */
task *sched_spawn(lua_State *L, int nargs);

/* Runs until every task has finished. Returns 0, or 1 when the main task
 * (the first spawned) failed or an unobserved task error was reported. */
int sched_run(sched *S);

/* The task running on thread L, or NULL (main thread, nested coroutine). */
task *sched_current(lua_State *L);
/* As above but raises a clear error when L is not a task that may block. */
task *sched_check_blocking(lua_State *L, const char *what);

/* Blocks the running task on w and yields (use as `return sched_block(...)`).
 * k/ctx: continuation as in lua_yieldk (may be NULL). */
int sched_block(lua_State *L, sched_wait *w, lua_KContext ctx, lua_KFunction k);
/* Marks a blocked task ready (from the loop or a C callback; no Lua runs). */
void sched_wake(task *t);
/* Marks the task ready when its block_seq still equals seq. */
void sched_wake_seq(task *t, unsigned long seq);

/* Timers. A timer wakes `t` when `seq` still matches its block_seq. */
void sched_timer_add(sched *S, double deadline, task *t, unsigned long seq);
double sched_now(void);   /* monotonic seconds */

/* Cancels a task and, recursively, the live tasks it spawned. Safe on
 * finished tasks. Its to-be-closed variables are closed. */
void sched_cancel(task *t);

/* Curl completion: the transport registers easy handles on sched_curl()
 * with CURLOPT_PRIVATE pointing at a sched_transfer. */
typedef struct sched_transfer {
  void (*done)(struct sched_transfer *x, CURLcode rc);
} sched_transfer;
void sched_transfer_added(sched *S);    /* count of transfers in flight */
void sched_transfer_removed(sched *S);
int sched_transfers(sched *S);

/* Extra file descriptors watched by the loop (in its epoll set, beside
 * curl's sockets), for primitives that wait on pipes or pidfds
 * (src/proc.c). `ready` is called from the loop with the events seen, as
 * poll(2) names them (POLLIN, POLLOUT, POLLHUP, POLLERR);
 * it may remove its own sched_fd and wake tasks, and must not run Lua or
 * free another registered sched_fd. While any fd is registered the loop
 * does not report a deadlock. */
typedef struct sched_fd {
  int fd;
  short events;             /* CURL_WAIT_POLLIN and/or CURL_WAIT_POLLOUT */
  void (*ready)(struct sched_fd *f, short revents);
  int registered;
} sched_fd;
void sched_fd_add(sched *S, sched_fd *f);
void sched_fd_remove(sched *S, sched_fd *f);

/* Interrupt (SIGINT): sets a flag the loop turns into an error raised in
 * the main task. */
void sched_interrupt(sched *S);

/* Task userdata: metatable name and accessor. */
#define TASK_MT "opro.task"
task *sched_checktask(lua_State *L, int idx);
/* Task userdata uservalues: the thread, the results table {n=..} or the
 * error value, waiters {{task_ud, seq}...}, the error's traceback. */
enum { TASK_UV_THREAD = 1, TASK_UV_RESULT, TASK_UV_WAITERS, TASK_UV_TRACEBACK, TASK_UV_COUNT = TASK_UV_TRACEBACK };
/* Registers waiter `w` (blocked, at its block_seq) to be woken when `t` ends. */
void sched_add_waiter(lua_State *L, int tidx, task *w);
const char *sched_state_name(task_state s);

#endif
