// Thin system call wrappers Swift cannot call directly (glibc 2.36 lacks them, or they are macros).
#define _GNU_SOURCE
#include "fr_internal.h"

#include <sys/epoll.h>

int fr_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int fr_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int fr_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static void fr_decode_status(const siginfo_t *info, int *exited, int *status) {
    if (info->si_code == CLD_EXITED) {
        *exited = 1;
        *status = info->si_status;
    } else {
        *exited = 0;
        *status = info->si_status;
    }
}

int fr_pidfd_wait(int pidfd, int *exited, int *status) {
    siginfo_t info;
    for (;;) {
        memset(&info, 0, sizeof info);
        if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) == 0) break;
        if (errno != EINTR) return -1;
    }
    fr_decode_status(&info, exited, status);
    return 0;
}

int fr_pidfd_try_wait(int pidfd, int *exited, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) != 0) return -1;
    if (info.si_pid == 0) return 0;
    fr_decode_status(&info, exited, status);
    return 1;
}

int fr_try_reap(pid_t pid, int *exited, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG) != 0) return -1;
    if (info.si_pid == 0) return 0;
    fr_decode_status(&info, exited, status);
    return 1;
}

int fr_close_range_cloexec(unsigned int first) {
    return (int)syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
}

long long fr_fs_type(const char *path) {
    struct statfs sf;
    if (statfs(path, &sf) != 0) return -1;
    return (long long)sf.f_type;
}

int fr_recv_fd(int sock, int *fd) {
    char byte;
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS) { errno = EPROTO; return -1; }
    memcpy(fd, CMSG_DATA(c), sizeof(int));
    return 0;
}

uint64_t fr_makedev(uint32_t major, uint32_t minor) {
    return (uint64_t)makedev(major, minor);
}

int fr_memfd(const char *name, unsigned int flags) {
    return memfd_create(name, MFD_CLOEXEC | flags);
}

int fr_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int fr_syncfs(int fd) {
    return syncfs(fd);
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)  // <linux/fs.h>, which clashes with <sys/mount.h>
#endif

int fr_rename_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int fr_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int fr_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int fr_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int fr_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int fr_epoll_wait(int epfd, struct fr_epoll_event *out, int max, int timeout_ms) {
    struct epoll_event evs[64];
    if (max > 64) max = 64;
    int n;
    do { n = epoll_wait(epfd, evs, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        out[i].events = evs[i].events;
        out[i].token = evs[i].data.u64;
    }
    return n;
}
