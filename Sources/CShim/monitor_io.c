// Sending and receiving the host/monitor protocol's messages (include/fr_monitor.h), and
// starting a monitor.
#define _GNU_SOURCE
#include "fr_internal.h"
#include "fr_monitor.h"

enum { FR_MON_MAX_FDS = 24 };

int fr_monitor_send(int sock, uint32_t type, uint32_t slot, uint64_t arg, const void *payload, size_t len, const int *fds, int nfds) {
    if (nfds > FR_MON_MAX_FDS) { errno = EINVAL; return -1; }
    struct fr_monitor_header h = { type, slot, arg };
    struct iovec iov[2] = { { &h, sizeof h }, { (void *)payload, len } };
    union { char buf[CMSG_SPACE(sizeof(int) * FR_MON_MAX_FDS)]; struct cmsghdr align; } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

ssize_t fr_monitor_recv(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds) {
    union { char buf[CMSG_SPACE(sizeof(int) * FR_MON_MAX_FDS)]; struct cmsghdr align; } control;
    struct iovec iov = { buf, cap };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    *nfds = 0;
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof fd);
            if (*nfds < maxfds) fds[(*nfds)++] = fd; else close(fd);
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (int i = 0; i < *nfds; i++) close(fds[i]);
        *nfds = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return n;
}

struct fr_monitor_start_arg {
    int exec_fd, listen_fd;
    const char *argv[3];
    int err;
};

static int fr_monitor_child(void *p) {
    struct fr_monitor_start_arg *a = p;
    sigset_t none;
    sigemptyset(&none);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int i = 1; i < NSIG; i++) sigaction(i, &sa, NULL);
    // Its own session: no terminal's signals, and it outlives whoever started it.
    setsid();
    // Both above 3 first, so that placing the socket at 3 cannot clobber either.
    int exec = fcntl(a->exec_fd, F_DUPFD_CLOEXEC, 4);
    int listen = fcntl(a->listen_fd, F_DUPFD_CLOEXEC, 4);
    if (exec < 0 || listen < 0 || dup2(listen, 3) < 0) goto fail;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) goto fail;
    // Nothing of ours but the socket reaches it.
    if (syscall(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC) != 0) goto fail;
    if (chdir("/") != 0) goto fail;
    sigprocmask(SIG_SETMASK, &none, NULL);
    static const char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    syscall(SYS_execveat, exec, "", a->argv, envp, AT_EMPTY_PATH);
fail:
    a->err = errno;
    _exit(127);
}

int fr_monitor_start(int exec_fd, int listen_fd, const char *task_dir) {
    struct fr_monitor_start_arg a = { exec_fd, listen_fd, { "fargate-monitor", task_dir, NULL }, 0 };
    void *stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // vfork-like: no copy of our page tables; we resume once it has exec'd (or failed).
    pid_t pid = clone(fr_monitor_child, (char *)stack + 64 * 1024, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, 64 * 1024);
    if (pid < 0) { errno = saved; return -1; }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (a.err) { errno = a.err; return -1; }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { errno = ECHILD; return -1; }
    return 0;
}
