/* host: the lua_State of opro-lua — standard libraries, the embedded Lua
 * library, the C modules, and running a script as the main task. */
#ifndef OPRO_HOST_H
#define OPRO_HOST_H

#include <lua.h>

typedef struct host host;

/* One action of the command line, run in order in the main task. */
typedef enum { ACT_EXEC, ACT_REQUIRE, ACT_SCRIPT } host_action_kind;
typedef struct {
  host_action_kind kind;
  const char *text;      /* code, module name or script path ("-" = stdin) */
} host_action;

host *host_new(void);
void host_free(host *H);
lua_State *host_lua(host *H);

/* Runs the actions in one main task; script_args are the script's
 * arguments (arg[1..]); argv/script_index build arg[] like lua.c.
 * Returns the process exit status (0, 1, 130). */
int host_run(host *H, const host_action *acts, int nacts,
             char **argv, int argc, int script_index);

#endif
