/* proc: child processes polled by the loop. See proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CONTAINER(ptr, field) ((proc *)(void *)((char *)(ptr) - offsetof(proc, field)))

static void close_fd(proc *p, sched_fd *f) {
  if (f->fd < 0) return;
  sched_fd_remove(p->S, f);
  close(f->fd);
  f->fd = -1;
}

static void maybe_done(proc *p) {
  if (p->notified || !proc_finished(p)) return;
  p->notified = 1;
  p->elapsed = sched_now() - p->started;
  close_fd(p, &p->fin);        /* the child may have exited without reading it all */
  if (p->done) p->done(p, p->ud);
}

static void reap(proc *p, int block) {
  if (p->exited) return;
  int st = 0;
  pid_t r;
  do { r = waitpid(p->pid, &st, block ? 0 : WNOHANG); } while (r < 0 && errno == EINTR);
  if (r == p->pid || (r < 0 && errno == ECHILD)) {
    p->exited = 1;
    p->wstatus = r == p->pid ? st : 0;
    close_fd(p, &p->fpid);
  }
}

static void buf_add(proc *p, proc_buf *b, const char *data, size_t n) {
  if (b->len + n > p->max_output) {
    b->truncated = 1;
    n = p->max_output > b->len ? p->max_output - b->len : 0;
  }
  if (n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) { b->truncated = 1; return; }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

static void drain(proc *p, sched_fd *f, proc_buf *b) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(f->fd, chunk, sizeof chunk);
    if (n > 0) { buf_add(p, b, chunk, (size_t)n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_fd(p, f);             /* end of file or error */
    return;
  }
}

static void on_out(sched_fd *f, short revents) {
  (void)revents;
  proc *p = CONTAINER(f, fout);
  drain(p, f, &p->out);
  if (p->fout.fd < 0 && p->ferr.fd < 0 && p->fpid.fd < 0) reap(p, 1);   /* no pidfd */
  maybe_done(p);
}

static void on_err(sched_fd *f, short revents) {
  (void)revents;
  proc *p = CONTAINER(f, ferr);
  drain(p, f, &p->err);
  if (p->fout.fd < 0 && p->ferr.fd < 0 && p->fpid.fd < 0) reap(p, 1);
  maybe_done(p);
}

static void on_in(sched_fd *f, short revents) {
  proc *p = CONTAINER(f, fin);
  if (revents & (POLLERR | POLLHUP | POLLNVAL)) { close_fd(p, f); return; }
  while (p->inpos < p->inlen) {
    ssize_t n = write(f->fd, p->in + p->inpos, p->inlen - p->inpos);
    if (n > 0) { p->inpos += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;                      /* EPIPE: the child does not read */
  }
  close_fd(p, f);
}

static void on_pid(sched_fd *f, short revents) {
  (void)revents;
  proc *p = CONTAINER(f, fpid);
  reap(p, 0);
  maybe_done(p);
}

static int nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

proc *proc_start(sched *S, char *const argv[], const char *in, size_t inlen, size_t max_output,
                 proc_done_fn done, void *ud, int *err) {
  static int sigpipe_ignored;
  if (!sigpipe_ignored) {        /* a child that stops reading must not kill us */
    signal(SIGPIPE, SIG_IGN);
    sigpipe_ignored = 1;
  }
  proc *p = calloc(1, sizeof *p);
  if (!p) { *err = ENOMEM; return NULL; }
  p->S = S;
  p->fin.fd = p->fout.fd = p->ferr.fd = p->fpid.fd = -1;
  p->max_output = max_output;
  p->done = done;
  p->ud = ud;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int e = 0;
  if ((in && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) e = errno;
  if (!e && in) {
    p->inbuf = malloc(inlen ? inlen : 1);
    if (!p->inbuf) e = ENOMEM;
    else { memcpy(p->inbuf, in, inlen); p->in = p->inbuf; p->inlen = inlen; }
  }
  /* fork + exec (posix_spawn's <spawn.h> cannot be used: it includes
   * <sched.h>, which src/sched.h shadows); exec failures come back
   * through a close-on-exec pipe */
  int perrno[2] = {-1, -1};
  if (!e && pipe2(perrno, O_CLOEXEC) < 0) e = errno;
  if (!e) {
    pid_t pid = fork();
    if (pid < 0) {
      e = errno;
    } else if (pid == 0) {
      int devnull = in ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
      struct sigaction dfl;
      memset(&dfl, 0, sizeof dfl);
      dfl.sa_handler = SIG_DFL;
      sigaction(SIGPIPE, &dfl, NULL);
      sigaction(SIGINT, &dfl, NULL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      setpgid(0, 0);
      if (dup2(in ? pin[0] : devnull, 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0) {
        int x = errno;
        if (write(perrno[1], &x, sizeof x) < 0) _exit(127);
        _exit(127);
      }
      execvp(argv[0], argv);
      int x = errno;
      if (write(perrno[1], &x, sizeof x) < 0) _exit(127);
      _exit(127);
    } else {
      p->pid = pid;
      setpgid(pid, pid);            /* also from here: no race with kill(-pid) */
      close(perrno[1]);
      perrno[1] = -1;
      int x = 0;
      ssize_t n;
      do { n = read(perrno[0], &x, sizeof x); } while (n < 0 && errno == EINTR);
      if (n == (ssize_t)sizeof x) {  /* exec failed: the child has exited */
        e = x;
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      }
    }
  }
  if (perrno[0] >= 0) close(perrno[0]);
  if (perrno[1] >= 0) close(perrno[1]);
  /* the child's ends are the child's now */
  if (pin[0] >= 0) close(pin[0]);
  if (pout[1] >= 0) close(pout[1]);
  if (perr[1] >= 0) close(perr[1]);
  if (e) {
    if (pin[1] >= 0) close(pin[1]);
    if (pout[0] >= 0) close(pout[0]);
    if (perr[0] >= 0) close(perr[0]);
    free(p->inbuf);
    free(p);
    *err = e;
    return NULL;
  }
  p->started = sched_now();
  p->fout.fd = pout[0];
  p->fout.events = CURL_WAIT_POLLIN;
  p->fout.ready = on_out;
  p->ferr.fd = perr[0];
  p->ferr.events = CURL_WAIT_POLLIN;
  p->ferr.ready = on_err;
  nonblock(pout[0]);
  nonblock(perr[0]);
  sched_fd_add(S, &p->fout);
  sched_fd_add(S, &p->ferr);
  if (in) {
    p->fin.fd = pin[1];
    p->fin.events = CURL_WAIT_POLLOUT;
    p->fin.ready = on_in;
    nonblock(pin[1]);
    sched_fd_add(S, &p->fin);
  }
#ifdef SYS_pidfd_open
  int pfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  if (pfd >= 0) {
    fcntl(pfd, F_SETFD, FD_CLOEXEC);
    p->fpid.fd = pfd;
    p->fpid.events = CURL_WAIT_POLLIN;
    p->fpid.ready = on_pid;
    sched_fd_add(S, &p->fpid);
  }
#endif
  return p;
}

int proc_finished(const proc *p) {
  return p->exited && p->fout.fd < 0 && p->ferr.fd < 0;
}

void proc_kill(proc *p) {
  if (p->exited || p->pid <= 0) return;
  kill(-p->pid, SIGKILL);
  kill(p->pid, SIGKILL);
}

void proc_free(proc *p) {
  if (!p) return;
  if (!p->exited) {
    proc_kill(p);
    reap(p, 1);
  }
  close_fd(p, &p->fin);
  close_fd(p, &p->fout);
  close_fd(p, &p->ferr);
  close_fd(p, &p->fpid);
  free(p->out.data);
  free(p->err.data);
  free(p->inbuf);
  free(p);
}
