// The system-call shims every layer may use, with no library behind them: epoll, eventfd and
// timerfd (Swift's Glibc module leaves their headers out), and wrappers for what Swift cannot call
// directly (variadic functions, declarations only visible with _GNU_SOURCE). Below VigilSupport.
#ifndef VIGIL_CVIGILSYSTEM_H
#define VIGIL_CVIGILSYSTEM_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
// Event loops (Swift's Glibc module leaves these headers out).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
// File tracking (track_file, FILE_CHECK).
#include <sys/inotify.h>
#include <errno.h>
#include <stdint.h>
// Netlink framing (nlmsghdr, nlattr, nlmsgerr) shared by generic netlink and rtnetlink.
#include <linux/netlink.h>

/// An epoll set (close-on-exec) with a non-blocking, close-on-exec eventfd registered for
/// reading under `token`: an event loop's wake-up channel. Returns 0, or -1 with `errno` set
/// and nothing left open.
static inline int vigil_epoll_with_wakeup(int *epfd, int *wakefd, uint64_t token) {
    int e = epoll_create1(EPOLL_CLOEXEC);
    if (e < 0) return -1;
    int w = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w < 0) { int saved = errno; close(e); errno = saved; return -1; }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = token };
    if (epoll_ctl(e, EPOLL_CTL_ADD, w, &ev) < 0) { int saved = errno; close(w); close(e); errno = saved; return -1; }
    *epfd = e;
    *wakefd = w;
    return 0;
}

/// `CLONE_NEWNET` (sched.h, which Swift's Glibc module imports without _GNU_SOURCE).
static const int vigil_clone_newnet = 0x40000000;

/// `setns(2)`: moves the calling thread into the namespace `fd` refers to.
static inline int vigil_setns(int fd, int nstype) {
    return (int)syscall(SYS_setns, fd, nstype);
}

/// A raw three-argument system call (`syscall(2)` is variadic, so Swift cannot call it). Unlike
/// the libc wrappers of set*id calls, which change every thread, a raw credential call changes
/// only the calling thread: tests use that to act without privileges on one thread.
static inline long vigil_syscall3(long number, long a, long b, long c) {
    return syscall(number, a, b, c);
}

/// `struct mmsghdr` (sys/socket.h declares it only under _GNU_SOURCE).
struct vigil_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// `MSG_WAITFORONE`: block for the first datagram only.
static const int vigil_msg_waitforone = 0x10000;

/// `recvmmsg(2)` without a timeout: many datagrams in one system call.
static inline int vigil_recvmmsg(int fd, struct vigil_mmsghdr *vector, unsigned int count, int flags) {
    return (int)syscall(SYS_recvmmsg, fd, vector, count, flags, (void *)0);
}

#include <spawn.h>

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), declared in <spawn.h> only with
/// _GNU_SOURCE: the child closes every descriptor from `from` on before exec.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/// Closes, in a spawned child, every descriptor above standard error: a script must not inherit
/// the daemon's sockets (SwiftNIO's are not close-on-exec). Returns 0 or an error number.
static inline int vigil_spawn_close_inherited(posix_spawn_file_actions_t *actions) {
    return posix_spawn_file_actions_addclosefrom_np(actions, 3);
}

#endif
