/* opro-lua: command line and exit codes (0 ok, 1 error, 2 usage,
 * 130 interrupted). Behaves like `lua` for -e, -l, -v, -h and `-`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <lua.h>

#include "host.h"

static const char *usage_text =
  "usage: opro-lua [options] [script.lua [args...]]\n"
  "  -e STAT        run the Lua statement STAT\n"
  "  -l MOD         require module MOD (global MOD = result)\n"
  "  -v, --version  print the version and exit\n"
  "  -h, --help     print this help and exit\n"
  "  --             stop handling options\n"
  "  -              run the script read from standard input\n"
  "\n"
  "Commands (a first argument that is a command name, not a file):\n"
  "  opro-lua report run.db [-o report.html | --csv | --jsonl]\n"
  "                 the HTML report of a run, or its history, evaluations\n"
  "                 or calls exported (opro-lua report --help)\n"
  "  opro-lua version  the versions of opro-lua and its libraries\n"
  "Examples: opro-lua examples/gsm8k.lua --help (installed under\n"
  "share/opro-lua/examples); the offline simulator: opro-sim --help.\n"
  "\n"
  "Scripts run as the main task of opro-lua's event loop: `opro` is loaded,\n"
  "and opro.spawn/wait/map/sleep and the LLM client can be used at top level.\n"
  "Documentation: README.md and docs/ (installed under share/opro-lua).\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "opro-lua: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", usage_text);
  return 2;
}

/* glibc gives memory freed at the top of the heap back to the system
 * (past 128 KiB, adaptively) and serves big blocks from fresh mappings;
 * the Lua heap grows and shrinks by such steps all the time (a collection
 * frees megabytes at once, score_all builds a table of 320 KB for 20,000
 * items), and each fresh page costs a fault when first touched (about
 * 10 us on the development VM: a third of score_all's time per item went
 * there). Keep up to 32 MiB free at the top of the heap and take blocks
 * under 4 MiB from it. GLIBC_TUNABLES with malloc settings wins. */
static void tune_malloc(void) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  const char *t = getenv("GLIBC_TUNABLES");
  if (t && strstr(t, "glibc.malloc.")) return;
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

int main(int argc, char **argv) {
  tune_malloc();
  host_action *acts = calloc((size_t)argc + 1, sizeof *acts);
  if (!acts) return 1;
  int nacts = 0, script = -1, i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "-") == 0 || a[0] != '-') break;
    if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("opro-lua %s (%s)\n", OPRO_VERSION, LUA_RELEASE);
      free(acts);
      return 0;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      free(acts);
      return 0;
    }
    if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      if (i + 1 >= argc) { free(acts); return usage_error("'%s' needs an argument", a); }
      acts[nacts].kind = a[1] == 'e' ? ACT_EXEC : ACT_REQUIRE;
      acts[nacts++].text = argv[++i];
      continue;
    }
    if ((a[1] == 'e' || a[1] == 'l') && a[2]) {   /* -eSTAT, -lMOD */
      acts[nacts].kind = a[1] == 'e' ? ACT_EXEC : ACT_REQUIRE;
      acts[nacts++].text = a + 2;
      continue;
    }
    free(acts);
    return usage_error("unknown option '%s'", a);
  }
  if (i < argc) {
    script = i;
    acts[nacts].kind = ACT_SCRIPT;
    acts[nacts++].text = argv[i];
  }
  if (nacts == 0) {
    free(acts);
    return usage_error("%s", "no script given");
  }
  host *H = host_new();
  if (!H) {
    fprintf(stderr, "opro-lua: cannot create the Lua state (out of memory)\n");
    free(acts);
    return 1;
  }
  int status = host_run(H, acts, nacts, argv, argc, script);
  host_free(H);
  free(acts);
  return status;
}
