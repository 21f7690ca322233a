/* proc: child processes whose pipes (and pidfd) are polled by the
 * scheduler's loop (sched_fd), so waiting for one never blocks the loop.
 * No Lua here; the binding is src/lproc.c. */
#ifndef OPRO_PROC_H
#define OPRO_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "sched.h"

typedef struct proc proc;
typedef void (*proc_done_fn)(proc *p, void *ud);

typedef struct proc_buf {
  char *data;
  size_t len, cap;
  int truncated;            /* more output arrived than max_output */
} proc_buf;

struct proc {
  sched *S;
  pid_t pid;
  sched_fd fin, fout, ferr, fpid;  /* stdin (write), stdout, stderr, pidfd */
  const char *in;           /* stdin data (owned) and how much is written */
  size_t inlen, inpos;
  char *inbuf;
  proc_buf out, err;
  size_t max_output;
  int exited;               /* reaped */
  int wstatus;              /* waitpid status */
  int notified;
  proc_done_fn done;
  void *ud;
  double started, elapsed;
};

/* Starts argv[0] (searched in PATH) with stdin fed from `in` (NULL: /dev/null)
 * and stdout/stderr collected (each up to max_output bytes; more is
 * dropped and marked truncated). `done` is called from the loop once the
 * process has exited and both output pipes are closed. Returns NULL and
 * sets *err (an errno value) when the process cannot be started. The child
 * runs in its own process group. */
proc *proc_start(sched *S, char *const argv[], const char *in, size_t inlen, size_t max_output,
                 proc_done_fn done, void *ud, int *err);

/* 1 when the process has exited and its output is complete. */
int proc_finished(const proc *p);

/* Kills the process group (SIGKILL). */
void proc_kill(proc *p);

/* Kills the process if it still runs, reaps it, closes everything, frees. */
void proc_free(proc *p);

#endif
