/* The floor of `make bench-checkers`: the least any checker can do for the same checks. One
 * thread, one epoll set, one socket per server kept for the whole run and reconnected for each
 * check (ended with connect(AF_UNSPEC), as Vigil does), a fixed 1 s cadence per server with the
 * servers' first checks spread evenly over the first second. A TCP check is connect + reset; an
 * HTTP check is connect, "GET /", read to the server's close, reset. No retries, timeouts, IPVS,
 * logging or configuration: whatever lateness this shows in the lab comes from the lab.
 * Built and run by Scripts/bench/checkers.sh.
 *
 *   usage: checkers_floor BASEPORT NTCP NHTTP */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

enum { IDLE, CONNECTING, READING };

struct server {
  int fd;
  int http;
  int state;
  double due;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long checks, failures, overruns;

/* Ends a check: resets the connection and leaves the socket ready for the next connect. */
static void finish(struct server *s, int ok) {
  struct sockaddr sa = {.sa_family = AF_UNSPEC};
  connect(s->fd, &sa, sizeof sa);
  s->state = IDLE;
  checks++;
  if (!ok) failures++;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s BASEPORT NTCP NHTTP\n", argv[0]); return 2; }
  int base = atoi(argv[1]), ntcp = atoi(argv[2]), nhttp = atoi(argv[3]), n = ntcp + nhttp;
  struct rlimit rl = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  struct server *sv = calloc(n, sizeof *sv);
  int ep = epoll_create1(0);
  double start = now() + 0.1;
  for (int i = 0; i < n; i++) {
    sv[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (sv[i].fd < 0) { perror("socket"); return 1; }
    sv[i].http = i >= ntcp;
    sv[i].due = start + (double)i / n;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[i].fd, &ev);
  }
  static const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  struct epoll_event evs[1024];
  int next = 0; /* the cadence is round-robin: server `next` is always the earliest due */
  while (!stop) {
    double t = now(); /* read once per wake-up */
    while (sv[next].due <= t) {
      struct server *s = &sv[next];
      s->due += 1.0;
      if (s->state != IDLE) {
        overruns++;
      } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(base + next)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(s->fd, (struct sockaddr *)&a, sizeof a) == 0 || errno == EINPROGRESS) s->state = CONNECTING;
        else finish(s, 0);
      }
      next = (next + 1) % n;
    }
    /* Rounded up: sleeping to the next millisecond costs at most 1 ms of lateness, spinning on
     * a zero timeout costs a vCPU. */
    int wait_ms = (int)ceil((sv[next].due - t) * 1000);
    if (wait_ms < 0) wait_ms = 0;
    int k = epoll_wait(ep, evs, 1024, wait_ms);
    for (int j = 0; j < k; j++) {
      struct server *s = &sv[evs[j].data.u32];
      if (s->state == CONNECTING) {
        if (!(evs[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { finish(s, 0); continue; }
        if (!s->http) { finish(s, 1); continue; }
        if (write(s->fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) { finish(s, 0); continue; }
        s->state = READING;
      } else if (s->state == READING) {
        char buf[4096];
        for (;;) {
          ssize_t r = read(s->fd, buf, sizeof buf);
          if (r > 0) continue;
          if (r < 0 && errno == EAGAIN) break;
          finish(s, r == 0);
          break;
        }
      }
    }
  }
  fprintf(stderr, "checks %ld failures %ld overruns %ld\n", checks, failures, overruns);
  return 0;
}
