/* opro.core.task: the Lua face of the scheduler — spawn, sleep, now,
 * cpu_times, await, and the task userdata (see sched.h). opro.wait and opro.map are
 * written in Lua on top of these (lua/opro/init.lua). */
#include <lauxlib.h>
#include <math.h>
#include <sys/resource.h>

#include "sched.h"

static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  sched_spawn(L, lua_gettop(L) - 1);
  return 1;
}

/* ---- sleep ---- */

static int sleep_resume(sched_wait *w, lua_State *co) {
  (void)w;
  (void)co;
  return 0;
}
static sched_wait sleep_wait = {sleep_resume, NULL};

static int l_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && !isnan(s), 1, "seconds must be a number >= 0");
  task *t = sched_check_blocking(L, "opro.sleep");
  lua_settop(L, 0);
  /* the timer is matched against the block_seq sched_block is about to set */
  sched_timer_add(t->S, sched_now() + s, t, t->block_seq + 1);
  return sched_block(L, &sleep_wait, 0, NULL);
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, sched_now());
  return 1;
}

/* cpu_times() -> user, system: this process's CPU seconds in user space and
 * in the kernel (os.clock gives only their sum) */
static int l_cpu_times(lua_State *L) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) {
    luaL_pushfail(L);
    lua_pushliteral(L, "getrusage failed");
    return 2;
  }
  lua_pushnumber(L, (lua_Number)ru.ru_utime.tv_sec + (lua_Number)ru.ru_utime.tv_usec / 1e6);
  lua_pushnumber(L, (lua_Number)ru.ru_stime.tv_sec + (lua_Number)ru.ru_stime.tv_usec / 1e6);
  return 2;
}

/* await(list): blocks until at least one task of the list has ended.
 * Returns at once when one already has. */
static int await_resume(sched_wait *w, lua_State *co) {
  (void)w;
  (void)co;
  return 0;
}
static sched_wait await_wait = {await_resume, NULL};

static int finished(task *t) {
  return t->state == TASK_DONE || t->state == TASK_FAILED || t->state == TASK_CANCELLED;
}

static int l_await(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  task *self = sched_check_blocking(L, "opro.wait");
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    task *t = luaL_testudata(L, -1, TASK_MT);
    if (!t) return luaL_error(L, "opro.wait: item %d is not a task", (int)i);
    if (t == self) return luaL_error(L, "opro.wait: a task cannot wait for itself");
    if (finished(t)) { lua_settop(L, 0); return 0; }
    lua_pop(L, 1);
  }
  /* register with the seq that sched_block will set */
  self->block_seq++;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    sched_add_waiter(L, -1, self);
    lua_pop(L, 1);
  }
  self->block_seq--;
  lua_settop(L, 0);
  return sched_block(L, &await_wait, 0, NULL);
}

/* park(): blocks the calling task until unpark(task) (or cancellation).
 * unpark(task) -> true when the task was parked (it becomes ready). */
static int park_resume(sched_wait *w, lua_State *co) {
  (void)w;
  (void)co;
  return 0;
}
static sched_wait park_wait = {park_resume, NULL};

static int l_park(lua_State *L) {
  sched_check_blocking(L, "opro.park");
  lua_settop(L, 0);
  return sched_block(L, &park_wait, 0, NULL);
}

static int l_unpark(lua_State *L) {
  task *t = sched_checktask(L, 1);
  int parked = t->state == TASK_BLOCKED && t->wait == &park_wait;
  if (parked) sched_wake(t);
  lua_pushboolean(L, parked);
  return 1;
}

static int l_current(lua_State *L) {
  task *t = sched_current(L);
  if (!t) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "opro.tasks.live");
  lua_rawgetp(L, -1, t);
  return 1;
}

/* ---- task methods ---- */

static int t_status(lua_State *L) {
  task *t = sched_checktask(L, 1);
  lua_pushstring(L, sched_state_name(t->state));
  return 1;
}

static int t_id(lua_State *L) {
  task *t = sched_checktask(L, 1);
  lua_pushinteger(L, (lua_Integer)t->id);
  return 1;
}

/* result(): done -> its return values; failed -> false, error, traceback
 * (the error counts as observed); cancelled -> false, "cancelled";
 * still running -> raises. */
static int t_result(lua_State *L) {
  task *t = sched_checktask(L, 1);
  switch (t->state) {
    case TASK_DONE: {
      lua_getiuservalue(L, 1, TASK_UV_RESULT);
      int rt = lua_gettop(L);
      lua_getfield(L, rt, "n");
      int n = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      luaL_checkstack(L, n + 1, "too many results");
      lua_pushboolean(L, 1);
      for (int i = 1; i <= n; i++) lua_rawgeti(L, rt, i);
      return n + 1;
    }
    case TASK_FAILED:
      t->observed = 1;
      lua_pushboolean(L, 0);
      lua_getiuservalue(L, 1, TASK_UV_RESULT);
      lua_getiuservalue(L, 1, TASK_UV_TRACEBACK);
      return 3;
    case TASK_CANCELLED:
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "cancelled");
      return 2;
    default:
      return luaL_error(L, "task %d has not finished (use opro.wait)", (int)t->id);
  }
}

static int t_cancel(lua_State *L) {
  task *t = sched_checktask(L, 1);
  if (t->state == TASK_RUNNING) {
    if (sched_current(L) == t) return luaL_error(L, "a task cannot cancel itself; return or error instead");
    /* t resumed the current coroutine chain: cannot happen with one loop */
    return luaL_error(L, "task %d is running and cannot be cancelled now", (int)t->id);
  }
  sched_cancel(t);
  return 0;
}

static int t_tostring(lua_State *L) {
  task *t = sched_checktask(L, 1);
  lua_pushfstring(L, "task %d (%s)", (int)t->id, sched_state_name(t->state));
  return 1;
}

/* __close: a task bound with <close> is cancelled when its scope ends
 * unfinished. __gc needs nothing: live tasks are anchored. */
static int t_close(lua_State *L) {
  task *t = sched_checktask(L, 1);
  if (t->state == TASK_READY || t->state == TASK_BLOCKED) sched_cancel(t);
  return 0;
}

static const luaL_Reg task_methods[] = {
  {"status", t_status}, {"id", t_id}, {"result", t_result}, {"cancel", t_cancel},
  {NULL, NULL}};
static const luaL_Reg task_meta[] = {
  {"__tostring", t_tostring}, {"__close", t_close}, {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"spawn", l_spawn}, {"sleep", l_sleep}, {"now", l_now}, {"cpu_times", l_cpu_times}, {"await", l_await},
  {"current", l_current}, {"park", l_park}, {"unpark", l_unpark}, {NULL, NULL}};

int luaopen_opro_core_task(lua_State *L) {
  if (luaL_newmetatable(L, TASK_MT)) {
    luaL_setfuncs(L, task_meta, 0);
    luaL_newlib(L, task_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
