/* Unit tests of the scheduler's C API: spawning C functions as tasks,
 * timers firing in deadline order, blocking waits woken from C. */
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "sched.h"
#include "tap.h"

extern int luaopen_opro_core_task(lua_State *L);

static char order[64];
static int norder;

static int sleeper_k(lua_State *L, int status, lua_KContext ctx) {
  (void)L; (void)status;
  order[norder++] = (char)ctx;
  return 0;
}
static int wake_resume(sched_wait *w, lua_State *co) { (void)w; (void)co; return 0; }
static sched_wait timer_wait = {wake_resume, NULL};

/* task body: sleep until now + d, then record its letter */
static int sleeper(lua_State *L) {
  double d = luaL_checknumber(L, 1);
  const char *name = luaL_checkstring(L, 2);
  task *t = sched_current(L);
  sched_timer_add(t->S, sched_now() + d, t, t->block_seq + 1);
  return sched_block(L, &timer_wait, (lua_KContext)name[0], sleeper_k);
}

/* a wait woken from plain C, as a transport callback would */
static task *parked;
static int park_resume(sched_wait *w, lua_State *co) { (void)w; lua_pushinteger(co, 42); return 1; }
static sched_wait park_wait = {park_resume, NULL};
static int parker(lua_State *L) {
  parked = sched_current(L);
  return sched_block(L, &park_wait, 0, NULL);
}
static int waker(lua_State *L) {
  (void)L;
  sched_wake(parked);
  return 0;
}

int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  sched *S = sched_new(L);
  luaL_requiref(L, "opro.core.task", luaopen_opro_core_task, 0);
  lua_pop(L, 1);

  const char *names[] = {"c", "a", "d", "b"};
  const double delays[] = {0.03, 0.01, 0.04, 0.02};
  for (int i = 0; i < 4; i++) {
    lua_pushcfunction(L, sleeper);
    lua_pushnumber(L, delays[i]);
    lua_pushstring(L, names[i]);
    sched_spawn(L, 2);
    lua_pop(L, 1);
  }
  double t0 = sched_now();
  int rc = sched_run(S);
  double dt = sched_now() - t0;
  TAP_OK(rc == 0, "run of C tasks exits 0");
  order[norder] = 0;
  TAP_OK(strcmp(order, "abcd") == 0, "timers fire in deadline order (got %s)", order);
  TAP_OK(dt >= 0.04 && dt < 0.4, "timers ran concurrently (%.3f s)", dt);

  /* a parked task woken from C receives the wait's values */
  lua_pushcfunction(L, parker);
  task *p = sched_spawn(L, 0);
  int pidx = lua_gettop(L);
  lua_pushcfunction(L, waker);
  sched_spawn(L, 0);
  lua_pop(L, 1);
  rc = sched_run(S);
  TAP_OK(rc == 0 && p->state == TASK_DONE, "a parked task woken from C completes");
  lua_getiuservalue(L, pidx, TASK_UV_RESULT);
  lua_rawgeti(L, -1, 1);
  TAP_OK(lua_tointeger(L, -1) == 42, "resume values reach the task (%d)", (int)lua_tointeger(L, -1));
  lua_settop(L, 0);

  lua_close(L);
  sched_free(S);
  return tap_done();
}
