/* opro.core.proc: run a child process from a task without blocking the loop.
 *   res = proc.run{ argv = {"prog", "arg", ...} | shell = "command line",
 *                   stdin = "text", timeout = seconds, max_output = bytes }
 *   res = { status = <exit code, or 128 + signal>, signal = <number or nil>,
 *           stdout = "...", stderr = "...", time = seconds, truncated = bool }
 *   or nil, message, code ("timeout" | "spawn")
 * A non-zero exit status is a result, not a failure. The child runs in its
 * own process group; a timeout or a cancelled task kills the whole group. */
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"
#include "sched.h"

#define DEFAULT_MAX_OUTPUT (64u << 20)

typedef struct {
  sched_wait wait;      /* first: the task's wait points here */
  proc *p;
  task *t;
  unsigned long seq;
  double timeout;
  char label[160];
} pending;

static void on_done(proc *p, void *ud) {
  pending *pd = ud;
  (void)p;
  sched_wake_seq(pd->t, pd->seq);
}

static int run_resume(sched_wait *w, lua_State *co) {
  pending *pd = (pending *)w;
  proc *p = pd->p;
  int n;
  if (!proc_finished(p)) {       /* woken by the timer */
    lua_pushnil(co);
    lua_pushfstring(co, "proc: timed out after %f s: %s", pd->timeout, pd->label);
    lua_pushliteral(co, "timeout");
    n = 3;
  } else {
    lua_createtable(co, 0, 6);
    int st = p->wstatus;
    if (WIFSIGNALED(st)) {
      lua_pushinteger(co, 128 + WTERMSIG(st));
      lua_setfield(co, -2, "status");
      lua_pushinteger(co, WTERMSIG(st));
      lua_setfield(co, -2, "signal");
    } else {
      lua_pushinteger(co, WIFEXITED(st) ? WEXITSTATUS(st) : 0);
      lua_setfield(co, -2, "status");
    }
    lua_pushlstring(co, p->out.data ? p->out.data : "", p->out.len);
    lua_setfield(co, -2, "stdout");
    lua_pushlstring(co, p->err.data ? p->err.data : "", p->err.len);
    lua_setfield(co, -2, "stderr");
    lua_pushnumber(co, p->elapsed);
    lua_setfield(co, -2, "time");
    lua_pushboolean(co, p->out.truncated || p->err.truncated);
    lua_setfield(co, -2, "truncated");
    n = 1;
  }
  proc_free(p);
  free(pd);
  return n;
}

static void run_cancel(sched_wait *w) {
  pending *pd = (pending *)w;
  proc_free(pd->p);
  free(pd);
}

static int l_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  task *t = sched_check_blocking(L, "proc.run");
  int ta = lua_getfield(L, 1, "argv");
  int ts = lua_getfield(L, 1, "shell");
  if ((ta == LUA_TNIL) == (ts == LUA_TNIL))
    return luaL_error(L, "proc.run: give exactly one of 'argv' (a list of strings) or 'shell' (a string)");
  const char **argv;
  int argc;
  if (ts != LUA_TNIL) {
    if (ts != LUA_TSTRING) return luaL_error(L, "proc.run: field 'shell' must be a string");
    argc = 3;
    argv = lua_newuserdatauv(L, sizeof *argv * 4, 0);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = lua_tostring(L, 3);
  } else {
    if (ta != LUA_TTABLE) return luaL_error(L, "proc.run: field 'argv' must be a list of strings");
    argc = (int)luaL_len(L, 2);
    if (argc < 1) return luaL_error(L, "proc.run: field 'argv' must not be empty");
    argv = lua_newuserdatauv(L, sizeof *argv * ((size_t)argc + 1), 0);
    for (int i = 0; i < argc; i++) {
      if (lua_rawgeti(L, 2, i + 1) != LUA_TSTRING)
        return luaL_error(L, "proc.run: argv[%d] must be a string", i + 1);
      argv[i] = lua_tostring(L, -1);   /* anchored in the argv table */
      lua_pop(L, 1);
    }
  }
  argv[argc] = NULL;
  size_t inlen = 0;
  const char *in = NULL;
  int ti = lua_getfield(L, 1, "stdin");
  if (ti == LUA_TSTRING) in = lua_tolstring(L, -1, &inlen);
  else if (ti != LUA_TNIL) return luaL_error(L, "proc.run: field 'stdin' must be a string");
  double timeout = 0;
  if (lua_getfield(L, 1, "timeout") != LUA_TNIL) {
    if (!lua_isnumber(L, -1)) return luaL_error(L, "proc.run: field 'timeout' must be a number of seconds");
    timeout = lua_tonumber(L, -1);
    if (!(timeout > 0) || isnan(timeout)) return luaL_error(L, "proc.run: field 'timeout' must be > 0");
  }
  size_t max_output = DEFAULT_MAX_OUTPUT;
  if (lua_getfield(L, 1, "max_output") != LUA_TNIL) {
    lua_Integer m = lua_tointeger(L, -1);
    if (!lua_isinteger(L, -1) || m < 0) return luaL_error(L, "proc.run: field 'max_output' must be an integer >= 0");
    max_output = (size_t)m;
  }

  pending *pd = calloc(1, sizeof *pd);
  if (!pd) return luaL_error(L, "proc.run: out of memory");
  pd->wait.resume = run_resume;
  pd->wait.cancel = run_cancel;
  pd->t = t;
  pd->seq = t->block_seq + 1;    /* the seq sched_block is about to set */
  pd->timeout = timeout;
  if (ts != LUA_TNIL) snprintf(pd->label, sizeof pd->label, "%s", argv[2]);
  else snprintf(pd->label, sizeof pd->label, "%s", argv[0]);
  int err = 0;
  sched *S = sched_get(L);
  pd->p = proc_start(S, (char *const *)argv, in, inlen, max_output, on_done, pd, &err);
  if (!pd->p) {
    lua_pushnil(L);
    lua_pushfstring(L, "proc: cannot run '%s': %s", argv[0], strerror(err));
    lua_pushliteral(L, "spawn");
    free(pd);
    return 3;
  }
  if (timeout > 0) sched_timer_add(S, sched_now() + timeout, t, pd->seq);
  lua_settop(L, 0);
  return sched_block(L, &pd->wait, 0, NULL);
}

int luaopen_opro_core_proc(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"run", l_run},
    {NULL, NULL},
  };
  luaL_newlib(L, fns);
  return 1;
}
