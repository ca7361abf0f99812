#define _GNU_SOURCE
#include "fr_internal.h"

// ---------------------------------------------------------------------------------------------
// Work in another network namespace, in a throwaway child so no thread of the caller changes
// namespace.

/// Runs fn(arg) in a child that shares our memory (CLONE_VM; plus `flags`, e.g. CLONE_FILES)
/// and returns once it has exited (CLONE_VFORK), as posix_spawn does: no copy of our page
/// tables (a fork of this process costs 1.5-2 ms). The child runs on a stack of its own and
/// makes only system calls; it reports through `arg`, which we read only after it exited.
/// Returns 0, or -1 with errno set when the child could not be started.
static int fr_run_in_vfork_child(int (*fn)(void *), void *arg, int flags) {
    void *stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(fn, (char *)stack + 64 * 1024, CLONE_VM | CLONE_VFORK | flags | SIGCHLD, arg);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, 64 * 1024);
    if (pid < 0) { errno = saved; return -1; }
    int status = 0;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
    return 0;
}

struct fr_netns_arg {
    const char *path;
    int flags;
    int stage;  ///< 0, or the step that failed (1 unshare, 2 mount, 3 loopback, 4 disable_ipv6, 5 link-local)
    int err;
};

static int fr_netns_child(void *arg) {
    struct fr_netns_arg *a = (struct fr_netns_arg *)arg;
    a->stage = 1;
    if (unshare(CLONE_NEWNET) != 0) goto fail;
    a->stage = 2;
    if (mount("/proc/self/ns/net", a->path, NULL, MS_BIND, NULL) != 0) goto fail;
    a->stage = 3;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    fr_copy(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int up = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (up == 0) {
        ifr.ifr_flags |= IFF_UP;
        up = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    // Our fd table is the caller's (CLONE_FILES): what is opened here is closed here.
    int saved = errno;
    close(fd);
    errno = saved;
    if (up != 0) goto fail;
    // /proc/sys/net is the namespace of whoever opens it: ours now. Interfaces made after this
    // (not lo) get no IPv6; a kernel without IPv6 has no such file, and nothing to disable.
    a->stage = 4;
    if (a->flags & FR_NETNS_NO_IPV6) {
        int conf = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
        if (conf < 0 && errno != ENOENT) goto fail;
        ssize_t w = conf >= 0 ? write(conf, "1", 1) : 1;
        saved = errno;
        if (conf >= 0) close(conf);
        errno = saved;
        if (w != 1) goto fail;
    }
    a->stage = 5;
    if ((a->flags & (FR_NETNS_ENDPOINT | FR_NETNS_BLOCK_LINK_LOCAL)) &&
        fr_endpoint_guard((a->flags & FR_NETNS_BLOCK_LINK_LOCAL) != 0) != 0) goto fail;
    a->stage = 0;
    _exit(0);
fail:
    a->err = errno;
    _exit(1);
}

int fr_netns_create(const char *path, int flags, int *stage) {
    // stage -1 until the child says otherwise: it never ran.
    struct fr_netns_arg a = { path, flags, -1, ECHILD };
    *stage = 0;
    // CLONE_FILES: nothing to copy (the child closes what it opens).
    if (fr_run_in_vfork_child(fr_netns_child, &a, CLONE_FILES) != 0) return -1;
    if (a.stage == 0) return 0;
    *stage = a.stage < 0 ? 0 : a.stage;
    errno = a.err;
    return -1;
}

/// In a vfork child: joins the network namespace pinned at `path`. 0, or -1 with errno set.
static int fr_enter_netns(const char *path) {
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return -1;
    int rc = setns(ns, CLONE_NEWNET);
    int saved = errno;
    close(ns);
    errno = saved;
    return rc;
}

struct fr_netns_endpoint_arg {
    const char *path;
    struct fr_task_endpoint endpoint;
    int stage, err;
};

static int fr_netns_endpoint_child(void *arg) {
    struct fr_netns_endpoint_arg *a = (struct fr_netns_endpoint_arg *)arg;
    if (fr_enter_netns(a->path) != 0) {
        a->err = errno;
        _exit(1);
    }
    int rc = fr_endpoint_listen(&a->endpoint, &a->stage);
    // A namespace made before the endpoint existed lacks its address: it is added (the
    // routes are left as they were made).
    if (rc != 0 && errno == EADDRNOTAVAIL && fr_endpoint_guard(0) == 0) rc = fr_endpoint_listen(&a->endpoint, &a->stage);
    a->err = rc == 0 ? 0 : errno;
    _exit(rc == 0 ? 0 : 1);
}

int fr_netns_endpoint(const char *netns_path, struct fr_task_endpoint *endpoint, int *stage) {
    struct fr_netns_endpoint_arg a = { netns_path, { -1, -1 }, 0, ECHILD };
    *endpoint = (struct fr_task_endpoint){ -1, -1 };
    *stage = 0;
    if (fr_run_in_vfork_child(fr_netns_endpoint_child, &a, CLONE_FILES) != 0) return -1;
    *stage = a.stage;
    if (a.err != 0) { errno = a.err; return -1; }
    *endpoint = a.endpoint;
    return 0;
}

struct fr_netns_socket_arg {
    const char *path;
    int protocol;
    int fd;
    int err;
};

static int fr_netns_socket_child(void *arg) {
    struct fr_netns_socket_arg *a = (struct fr_netns_socket_arg *)arg;
    if (fr_enter_netns(a->path) != 0) {
        a->err = errno;
        _exit(1);
    }
    a->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, a->protocol);
    if (a->fd < 0) a->err = errno;
    _exit(0);
}

int fr_netns_socket(const char *netns_path, int protocol) {
    struct fr_netns_socket_arg a = { netns_path, protocol, -1, ECHILD };
    // CLONE_FILES: the socket the child makes is in our fd table (and the namespace fd it
    // opens and closes there). setns changes only the child.
    if (fr_run_in_vfork_child(fr_netns_socket_child, &a, CLONE_FILES) != 0) return -1;
    if (a.fd < 0) { errno = a.err; return -1; }
    return a.fd;
}

int fr_link_set_down(const char *name) {
    if (strlen(name) >= IFNAMSIZ) { errno = ENAMETOOLONG; return -1; }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    fr_copy(ifr.ifr_name, sizeof ifr.ifr_name, name);
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0 && (ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags &= ~IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}
