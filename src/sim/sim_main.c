/* opro-sim: command line, signals, start and clean stop. See docs/simulator.md. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static const char usage[] =
  "usage: opro-sim [--port N | --port-file F] [--host 127.0.0.1] [--seed S] [--persona FILE.lua]\n"
  "                [--data FILE] [--latency-ms M] [--latency-per-token-ms T] [--jitter-ms J]\n"
  "                [--max-inflight K] [--faults SPEC] [--threads N] [--quiet]\n"
  "A deterministic LLM simulator (not a model) speaking the OpenAI, Anthropic and\n"
  "Gemini HTTP protocols on loopback. See docs/simulator.md.\n";

static int stop_pipe[2];

static void on_signal(int sig) {
  (void)sig;
  sim_stopping = 1;
  int saved = errno;
  ssize_t n = write(stop_pipe[1], "x", 1);
  (void)n;
  errno = saved;
}

static int bad(const char *opt, const char *val, const char *what) {
  fprintf(stderr, "opro-sim: %s: '%s' is not %s\n%s", opt, val ? val : "", what, usage);
  return 2;
}

static int num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int write_port_file(const char *path, int port) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return -1;
  snprintf(tmp, n, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) { free(tmp); return -1; }
  fprintf(f, "%d\n", port);
  int rc = fclose(f);
  if (rc == 0) rc = rename(tmp, path);
  free(tmp);
  return rc;
}

int main(int argc, char **argv) {
  sim_options o = {0};
  o.host = "127.0.0.1";
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  o.threads = ncpu > 2 ? (int)ncpu : 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(usage, stdout); return 0; }
    if (strcmp(a, "--quiet") == 0) { o.quiet = 1; continue; }
    if (i + 1 >= argc) {
      fprintf(stderr, "opro-sim: %s needs a value (or is unknown)\n%s", a, usage);
      return 2;
    }
    const char *v = argv[++i];
    double d;
    if (strcmp(a, "--port") == 0) {
      if (num(v, 0, 65535, &d) || d != (int)d) return bad(a, v, "a port number (0-65535)");
      o.port = (int)d;
    } else if (strcmp(a, "--port-file") == 0) o.port_file = v;
    else if (strcmp(a, "--host") == 0) o.host = v;
    else if (strcmp(a, "--seed") == 0) {
      char *end;
      errno = 0;
      unsigned long long s = strtoull(v, &end, 10);
      if (errno || end == v || *end) return bad(a, v, "a non-negative integer");
      o.seed = s;
    } else if (strcmp(a, "--persona") == 0) o.persona = v;
    else if (strcmp(a, "--data") == 0) o.data = v;
    else if (strcmp(a, "--latency-ms") == 0) {
      if (num(v, 0, 3.6e6, &o.latency_ms)) return bad(a, v, "a number of milliseconds >= 0");
    } else if (strcmp(a, "--latency-per-token-ms") == 0) {
      if (num(v, 0, 3.6e6, &o.latency_per_token_ms)) return bad(a, v, "a number of milliseconds >= 0");
    } else if (strcmp(a, "--jitter-ms") == 0) {
      if (num(v, 0, 3.6e6, &o.jitter_ms)) return bad(a, v, "a number of milliseconds >= 0");
    } else if (strcmp(a, "--max-inflight") == 0) {
      if (num(v, 0, 1e9, &d) || d != (long)d) return bad(a, v, "a non-negative integer");
      o.max_inflight = (long)d;
    } else if (strcmp(a, "--faults") == 0) o.faults = v;
    else if (strcmp(a, "--threads") == 0) {
      if (num(v, 1, 1024, &d) || d != (int)d) return bad(a, v, "an integer in 1..1024");
      o.threads = (int)d;
    } else {
      fprintf(stderr, "opro-sim: unknown option '%s'\n%s", a, usage);
      return 2;
    }
  }

  char err[1024];
  if (faults_init(o.faults, err, sizeof err)) {
    fprintf(stderr, "opro-sim: %s\n", err);
    faults_free();
    return 2;
  }
  stats_init();
  if (persona_init(&o, err, sizeof err)) {
    fprintf(stderr, "opro-sim: %s\n", err);
    persona_free();
    faults_free();
    return 2;
  }

  /* SIGTERM/SIGINT: the handler writes to a pipe the main thread waits on
   * (safe whichever thread takes the signal). Server threads start with
   * the signals blocked, so the main thread usually takes them. */
  if (pipe(stop_pipe) != 0) {
    fprintf(stderr, "opro-sim: pipe: %s\n", strerror(errno));
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, &old);

  int port = server_start(&o, err, sizeof err);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (port < 0) {
    fprintf(stderr, "opro-sim: %s\n", err);
    persona_free();
    faults_free();
    return 1;
  }
  printf("opro-sim listening on %s:%d\n", o.host, port);
  fflush(stdout);
  int rc = 0;
  if (o.port_file && write_port_file(o.port_file, port)) {
    fprintf(stderr, "opro-sim: cannot write --port-file %s: %s\n", o.port_file, strerror(errno));
    rc = 1;
  } else {
    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {}
  }
  server_stop();
  persona_free();
  stats_free();
  faults_free();
  close(stop_pipe[0]);
  close(stop_pipe[1]);
  return rc;
}
