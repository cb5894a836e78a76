/* Loopback listeners for `make bench-checkers`: N TCP ports that accept and close, M HTTP ports
 * that answer "200 ok". Records (port, CLOCK_MONOTONIC time) of every accepted connection and
 * writes them as text to the output file on SIGTERM/SIGINT. Built by Scripts/bench/checkers.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAXEV 4096
#define MAXREC 20000000
static unsigned short *rec_port;
static double *rec_time;
static long nrec;

/* fd -> role: 0 unused, 1 tcp listener, 2 http listener, 3 http connection */
static unsigned char *role;
static unsigned short *fdport;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s BASEPORT NTCP NHTTP OUTFILE\n", argv[0]); return 2; }
  int base = atoi(argv[1]), ntcp = atoi(argv[2]), nhttp = atoi(argv[3]);
  const char *out = argv[4];
  struct rlimit rl = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &rl);
  role = calloc(65536, 1);
  fdport = calloc(65536, sizeof *fdport);
  rec_port = malloc(MAXREC * sizeof *rec_port);
  rec_time = malloc(MAXREC * sizeof *rec_time);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(0);
  for (int i = 0; i < ntcp + nhttp; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(base + i)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 128)) { perror("bind/listen"); return 1; }
    role[fd] = i < ntcp ? 1 : 2;
    fdport[fd] = base + i;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  fprintf(stderr, "listening on %d ports from %d\n", ntcp + nhttp, base);
  static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  struct epoll_event evs[MAXEV];
  while (!stop) {
    int n = epoll_wait(ep, evs, MAXEV, 200);
    for (int k = 0; k < n; k++) {
      int fd = evs[k].data.fd;
      if (role[fd] == 1 || role[fd] == 2) {
        for (;;) {
          int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          if (nrec < MAXREC) { rec_port[nrec] = fdport[fd]; rec_time[nrec] = now(); nrec++; }
          if (role[fd] == 1 || c >= 65536) { close(c); continue; }
          role[c] = 3;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
      } else if (role[fd] == 3) {
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0 && memmem(buf, r, "\r\n\r\n", 4)) {
          ssize_t w = write(fd, resp, sizeof resp - 1);
          (void)w;
        } else if (r > 0) {
          continue;
        }
        role[fd] = 0;
        close(fd);
      }
    }
  }
  FILE *f = fopen(out, "w");
  for (long i = 0; i < nrec; i++) fprintf(f, "%u %.6f\n", rec_port[i], rec_time[i]);
  fclose(f);
  return 0;
}
