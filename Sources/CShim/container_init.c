// The container init: runs in the clone() child, before and instead of any Swift code.
//
// Order of operations follows runc (libcontainer/standard_init_linux.go, rootfs_linux.go):
// namespaces, mounts resolved inside the root, pivot_root, masked and read-only paths, working
// directory, rlimits, user, capabilities, no_new_privs, seccomp last, then execve. Only
// async-signal-safe calls are made: the parent is multithreaded and this is a copy of one thread.
#define _GNU_SOURCE
#include "fr_internal.h"

// ---------------------------------------------------------------------------------------------
// The child.

__attribute__((noreturn)) static void fr_die(const struct fr_container_spec *s, int stage,
                                             const char *detail) {
    struct fr_spawn_error e;
    int saved = errno;
    memset(&e, 0, sizeof e);
    e.stage = stage;
    e.err = saved;
    if (detail) fr_copy(e.detail, sizeof e.detail, detail);
    ssize_t r;
    do { r = write(s->err_fd, &e, sizeof e); } while (r < 0 && errno == EINTR);
    // Exit codes as Docker's: 127 command not found, 126 not executable, 125 runtime failure.
    if (stage == FR_STAGE_EXEC) _exit(saved == ENOENT ? 127 : 126);
    _exit(125);
}

/// Closes every fd >= 3 except those in keep[] (unsorted, -1 entries ignored).
static int fr_close_all_except(const int *keep, int n) {
    int sorted[8];
    int m = 0;
    for (int i = 0; i < n && m < 8; i++)
        if (keep[i] >= 3) sorted[m++] = keep[i];
    for (int i = 1; i < m; i++) {  // insertion sort, m is tiny
        int v = sorted[i], j = i - 1;
        while (j >= 0 && sorted[j] > v) { sorted[j + 1] = sorted[j]; j--; }
        sorted[j + 1] = v;
    }
    unsigned int from = 3;
    for (int i = 0; i < m; i++) {
        unsigned int k = (unsigned int)sorted[i];
        if (k > from && syscall(SYS_close_range, from, k - 1, 0) != 0) return -1;
        if (k + 1 > from) from = k + 1;
    }
    return (int)syscall(SYS_close_range, from, ~0U, 0);
}

#define FR_RESOLVE (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/// Splits "/a/b/c" into parent "/a/b" (in buf) and returns a pointer to "c" inside buf.
static const char *fr_split(const char *path, char *buf, size_t n) {
    if (fr_copy(buf, n, path) != 0) return NULL;
    size_t l = fr_strlen(buf);
    while (l > 1 && buf[l - 1] == '/') buf[--l] = 0;
    char *slash = NULL;
    for (size_t i = 0; i < l; i++)
        if (buf[i] == '/') slash = &buf[i];
    if (!slash) return NULL;
    *slash = 0;
    return slash + 1;
}

/// Opens `path` (absolute, inside the root `rootfd`) as O_PATH, creating missing components as
/// directories and, for FR_MOUNT_FILE, the last one as an empty file. No component can escape
/// the root: every lookup is RESOLVE_IN_ROOT, every creation is relative to a resolved parent.
static int fr_open_in_root(int rootfd, const char *path, int kind) {
    int fd = fr_openat2(rootfd, path, O_PATH | O_CLOEXEC, 0, FR_RESOLVE);
    if (fd >= 0 || errno != ENOENT) return fd;

    char prefix[FR_PATH_MAX];
    size_t len = fr_strlen(path);
    if (len >= sizeof prefix) { errno = ENAMETOOLONG; return -1; }
    size_t i = 0;
    while (i < len) {
        while (i < len && path[i] == '/') i++;
        size_t start = i;
        while (i < len && path[i] != '/') i++;
        if (i == start) break;
        int last = (i >= len);
        fr_copy(prefix, sizeof prefix, path);
        prefix[i] = 0;
        int cfd = fr_openat2(rootfd, prefix, O_PATH | O_CLOEXEC, 0, FR_RESOLVE);
        if (cfd >= 0) { close(cfd); continue; }
        if (errno != ENOENT) return -1;
        // Create this component inside its (already resolved) parent.
        char name[256];
        size_t nl = i - start;
        if (nl >= sizeof name) { errno = ENAMETOOLONG; return -1; }
        memcpy(name, path + start, nl);
        name[nl] = 0;
        prefix[start] = 0;
        int pfd = fr_openat2(rootfd, start > 0 ? prefix : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                             FR_RESOLVE);
        if (pfd < 0) return -1;
        int rc;
        if (last && kind == FR_MOUNT_FILE) {
            rc = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (rc >= 0) { close(rc); rc = 0; }
        } else {
            rc = mkdirat(pfd, name, 0755);
        }
        int saved = errno;
        close(pfd);
        if (rc != 0 && saved != EEXIST) { errno = saved; return -1; }
    }
    return fr_openat2(rootfd, path, O_PATH | O_CLOEXEC, 0, FR_RESOLVE);
}

/// Per-mount flags a bind remount must keep, or the kernel refuses (and we would weaken it).
static unsigned long fr_locked_flags(int fd) {
    struct statfs sf;
    unsigned long f = 0;
    if (fstatfs(fd, &sf) != 0) return 0;
    if (sf.f_flags & ST_NOSUID) f |= MS_NOSUID;
    if (sf.f_flags & ST_NODEV) f |= MS_NODEV;
    if (sf.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
    if (sf.f_flags & ST_NOATIME) f |= MS_NOATIME;
    if (sf.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sf.f_flags & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

/// Adds restrictions (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC in `flags`) to the mount now
/// at `path` inside rootfd, keeping its other flags: a bind mount takes them only this way.
/// mount_setattr (5.12+) works on the fd itself; older kernels go through /proc/self/fd.
static int fr_restrict_mount(int rootfd, const char *path, unsigned long flags) {
    int fd = fr_openat2(rootfd, path, O_PATH | O_CLOEXEC, 0, FR_RESOLVE);
    if (fd < 0) return -1;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = ((flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0) | ((flags & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
                    ((flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0) | ((flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0);
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) {
        close(fd);
        return 0;
    }
    if (errno != ENOSYS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    char p[64];
    fr_fd_path(fd, p, sizeof p);
    unsigned long all = MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | fr_locked_flags(fd);
    int rc = mount(NULL, p, NULL, all, NULL);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void fr_do_mount(const struct fr_container_spec *s, int rootfd, const struct fr_mount *m) {
    int fd = fr_open_in_root(rootfd, m->target, m->kind);
    if (fd < 0) fr_die(s, FR_STAGE_MOUNT, m->target);
    char p[64];
    fr_fd_path(fd, p, sizeof p);
    int is_bind = (m->flags & MS_BIND) != 0;
    unsigned long restrict_flags = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    unsigned long flags = is_bind ? (m->flags & ~restrict_flags) : m->flags;
    if (mount(m->source, p, m->fstype, flags, m->data) != 0) fr_die(s, FR_STAGE_MOUNT, m->target);
    close(fd);
    // The kernel ignores these on the bind itself; they take a second step.
    if (is_bind && restrict_flags && fr_restrict_mount(rootfd, m->target, restrict_flags) != 0)
        fr_die(s, FR_STAGE_MOUNT, m->target);
}

/// Writes one kernel parameter through the container's own /proc (so the namespaced value of
/// its network and IPC namespaces). The path was checked in Swift to be /proc/sys/ plus a
/// dotted name; O_NOFOLLOW keeps it from being anything else.
static void fr_sysctl(const struct fr_container_spec *s, const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fr_die(s, FR_STAGE_SYSCTL, path);
    size_t len = fr_strlen(value);
    ssize_t n;
    do { n = write(fd, value, len); } while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        if (n >= 0) errno = EIO;
        fr_die(s, FR_STAGE_SYSCTL, path);
    }
    close(fd);
}

static void fr_make_device(const struct fr_container_spec *s, int rootfd, const struct fr_device *d) {
    char buf[FR_PATH_MAX];
    const char *name = fr_split(d->path, buf, sizeof buf);
    if (!name) { errno = EINVAL; fr_die(s, FR_STAGE_DEVICE, d->path); }
    int pfd = fr_open_in_root(rootfd, buf[0] ? buf : "/", FR_MOUNT_DIR);
    if (pfd < 0) fr_die(s, FR_STAGE_DEVICE, d->path);
    if (mknodat(pfd, name, S_IFCHR | (d->mode & 07777), makedev(d->major, d->minor)) != 0 && errno != EEXIST)
        fr_die(s, FR_STAGE_DEVICE, d->path);
    if (fchmodat(pfd, name, d->mode & 07777, 0) != 0) fr_die(s, FR_STAGE_DEVICE, d->path);
    if (fchownat(pfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) != 0) fr_die(s, FR_STAGE_DEVICE, d->path);
    close(pfd);
}

static void fr_make_symlink(const struct fr_container_spec *s, int rootfd, const struct fr_symlink *l) {
    char buf[FR_PATH_MAX];
    const char *name = fr_split(l->path, buf, sizeof buf);
    if (!name) { errno = EINVAL; fr_die(s, FR_STAGE_SYMLINK, l->path); }
    int pfd = fr_open_in_root(rootfd, buf[0] ? buf : "/", FR_MOUNT_DIR);
    if (pfd < 0) fr_die(s, FR_STAGE_SYMLINK, l->path);
    if (symlinkat(l->target, pfd, name) != 0 && errno != EEXIST) fr_die(s, FR_STAGE_SYMLINK, l->path);
    close(pfd);
}

/// Hides a path: /dev/null over a file, an empty read-only tmpfs over a directory.
static void fr_mask(const struct fr_container_spec *s, int rootfd, const char *path) {
    int fd = fr_openat2(rootfd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, FR_RESOLVE | RESOLVE_NO_SYMLINKS);
    if (fd < 0) {
        if (errno == ENOENT) return;
        fr_die(s, FR_STAGE_MASK, path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) fr_die(s, FR_STAGE_MASK, path);
    char p[64];
    fr_fd_path(fd, p, sizeof p);
    int rc;
    if (S_ISDIR(st.st_mode))
        rc = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    else
        rc = mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (rc != 0) fr_die(s, FR_STAGE_MASK, path);
    close(fd);
}

static void fr_readonly(const struct fr_container_spec *s, int rootfd, const char *path) {
    int fd = fr_openat2(rootfd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, FR_RESOLVE | RESOLVE_NO_SYMLINKS);
    if (fd < 0) {
        if (errno == ENOENT) return;
        fr_die(s, FR_STAGE_READONLY, path);
    }
    char p[64];
    fr_fd_path(fd, p, sizeof p);
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) != 0) fr_die(s, FR_STAGE_READONLY, path);
    close(fd);
    if (fr_restrict_mount(rootfd, path, MS_RDONLY) != 0) fr_die(s, FR_STAGE_READONLY, path);
}

static int fr_capset(uint64_t eff, uint64_t perm, uint64_t inh) {
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)eff;
    data[1].effective = (uint32_t)(eff >> 32);
    data[0].permitted = (uint32_t)perm;
    data[1].permitted = (uint32_t)(perm >> 32);
    data[0].inheritable = (uint32_t)inh;
    data[1].inheritable = (uint32_t)(inh >> 32);
    return (int)syscall(SYS_capset, &hdr, data);
}

/// execve with a PATH search inside the container (execvpe would read the parent's PATH).
static void fr_exec(const struct fr_container_spec *s) {
    const char *file = s->argv[0];
    char *const *argv = (char *const *)s->argv;
    char *const *envp = (char *const *)s->envp;
    if (s->exec_fd >= 0) {
        syscall(SYS_execveat, s->exec_fd, "", argv, envp, AT_EMPTY_PATH);
        fr_die(s, FR_STAGE_EXEC, file);
    }
    int has_slash = 0;
    for (const char *c = file; *c; c++)
        if (*c == '/') has_slash = 1;
    if (has_slash || !s->path_env || !*file) {
        execve(file, argv, envp);
        fr_die(s, FR_STAGE_EXEC, file);
    }
    char buf[FR_PATH_MAX];
    int seen_eacces = 0;
    const char *p = s->path_env;
    for (;;) {
        const char *end = p;
        while (*end && *end != ':') end++;
        size_t dl = (size_t)(end - p);
        if (dl == 0) { buf[0] = '.'; dl = 1; }
        else if (dl < sizeof buf) memcpy(buf, p, dl);
        if (dl + 1 + fr_strlen(file) < sizeof buf) {
            buf[dl] = '/';
            fr_copy(buf + dl + 1, sizeof buf - dl - 1, file);
            execve(buf, argv, envp);
            if (errno == EACCES) seen_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != ENAMETOOLONG)
                fr_die(s, FR_STAGE_EXEC, buf);
        }
        if (!*end) break;
        p = end + 1;
    }
    errno = seen_eacces ? EACCES : ENOENT;
    fr_die(s, FR_STAGE_EXEC, file);
}

/// What every child does first: default signals, not dumpable, the three stdio fds, every
/// other inherited fd closed but `keep`, a session of its own.
static void fr_begin_child(const struct fr_container_spec *s) {
    // Signals: the parent blocked all of them around clone(); handlers are the parent's
    // (Swift's runtime may have some, SIGINT may be ignored). Reset to defaults, then unblock.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int i = 1; i < NSIG; i++) sigaction(i, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) fr_die(s, FR_STAGE_SIGNALS, NULL);

    // Nobody may ptrace us or read our memory through /proc until execve (CVE-2019-5736).
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(0);

    // stdio: move the three fds above 2 first, so the dup2s below cannot clobber each other.
    int io[3] = { s->stdin_fd, s->stdout_fd, s->stderr_fd };
    for (int i = 0; i < 3; i++) {
        io[i] = fcntl(io[i], F_DUPFD_CLOEXEC, 3);
        if (io[i] < 0) fr_die(s, FR_STAGE_STDIO, NULL);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(io[i], i) < 0) fr_die(s, FR_STAGE_STDIO, NULL);
    // Everything else the parent had open is closed now, not at exec (CVE-2024-21626).
    int keep[6] = { s->err_fd, s->sync_fd, s->netns_fd, s->exec_fd, s->enter_pidfd, s->console_fd };
    if (fr_close_all_except(keep, 6) != 0) fr_die(s, FR_STAGE_CLOSE_FDS, NULL);

    // A session of our own: the terminal's ^C goes to fargate-run, not straight to containers.
    if (setsid() < 0) fr_die(s, FR_STAGE_SETSID, NULL);
}

/// cgroup v1: moves this process into the container's cgroup in every hierarchy. We were just
/// cloned, so we are one thread, and writing "0" to `tasks` moves exactly that thread: the one
/// migration the kernel makes without write-locking cgroup_threadgroup_rwsem
/// (cgroup_procs_write_start), whose rcu_sync waits for a grace period. The parent writing our
/// pid to cgroup.procs, as runc does, waits for one every time.
static void fr_join_cgroup(const struct fr_container_spec *s) {
    for (size_t i = 0; i < s->ncgroup_tasks; i++) {
        ssize_t r;
        do { r = write(s->cgroup_tasks_fds[i], "0", 1); } while (r < 0 && errno == EINTR);
        if (r != 1) fr_die(s, FR_STAGE_CGROUP, s->cgroup_tasks_paths[i]);
    }
}

/// Blocks until the parent has moved us into our cgroup: one byte on sync_fd.
static void fr_wait_for_cgroup(const struct fr_container_spec *s) {
    char b;
    ssize_t r;
    do { r = read(s->sync_fd, &b, 1); } while (r < 0 && errno == EINTR);
    if (r < 0) fr_die(s, FR_STAGE_SYNC, NULL);
    if (r == 0) { errno = EPIPE; fr_die(s, FR_STAGE_SYNC, NULL); }
}

/// Blocks until the parent says go: one byte on sync_fd, then the hostname when the parent
/// decided it only after we were cloned (the task's IP came later), then EOF. Returns it in
/// `hostname` ("" when none came). EOF without the byte is the parent gone (killed while we
/// waited): we die, the command never runs.
static void fr_wait_for_go(const struct fr_container_spec *s, char *hostname, size_t n) {
    char buf[1 + FR_HOSTNAME_MAX + 1];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(s->sync_fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fr_die(s, FR_STAGE_SYNC, NULL);
        if (r == 0) break;
        got += (size_t)r;
        if (got == sizeof buf) { errno = ENAMETOOLONG; fr_die(s, FR_STAGE_SYNC, "hostname"); }
    }
    if (got == 0) { errno = EPIPE; fr_die(s, FR_STAGE_SYNC, NULL); }
    close(s->sync_fd);
    size_t len = got - 1 < n - 1 ? got - 1 : n - 1;
    memcpy(hostname, buf + 1, len);
    hostname[len] = 0;
}

/// The hostname the parent sent with go replaces the one in the spec, and in HOSTNAME= of
/// the environment (the array is this child's own copy).
static void fr_apply_late_hostname(const struct fr_container_spec *s, const char *hostname) {
    static char entry[sizeof "HOSTNAME=" + FR_HOSTNAME_MAX];
    const char *name = *hostname ? hostname : s->hostname;
    if (name && sethostname(name, fr_strlen(name)) != 0) fr_die(s, FR_STAGE_HOSTNAME, name);
    if (!*hostname) return;
    fr_copy(entry, sizeof entry, "HOSTNAME=");
    fr_append(entry, sizeof entry, hostname);
    for (const char **e = (const char **)s->envp; *e; e++) {
        const char *v = *e;
        if (v[0] == 'H' && v[1] == 'O' && v[2] == 'S' && v[3] == 'T' && v[4] == 'N' && v[5] == 'A' && v[6] == 'M'
            && v[7] == 'E' && v[8] == '=') { *e = entry; break; }
    }
}

/// Enters the working directory inside the root, then checks it: a cwd outside the root (a
/// leaked fd, a magic link) shows as "(unreachable)..." in getcwd.
static void fr_enter_cwd(const struct fr_container_spec *s, int rootfd) {
    if (!s->cwd) return;
    int cfd = fr_open_in_root(rootfd, s->cwd, FR_MOUNT_DIR);
    if (cfd < 0) fr_die(s, FR_STAGE_CWD, s->cwd);
    if (fchdir(cfd) != 0) fr_die(s, FR_STAGE_CWD, s->cwd);
    close(cfd);
    char here[FR_PATH_MAX];
    if (!getcwd(here, sizeof here) || here[0] != '/') { errno = EPERM; fr_die(s, FR_STAGE_CWD, s->cwd); }
}

static void fr_drop_privileges(const struct fr_container_spec *s);
static int fr_enter_child(const struct fr_container_spec *s, int parent_migrates);

/// What fr_spawn hands its child: the spec, and whether the parent moves it into its cgroup
/// (then it waits for the parent's byte before it makes its cgroup namespace).
struct fr_child_arg {
    const struct fr_container_spec *spec;
    int parent_migrates;
    pid_t parent;
};

static int fr_child(void *arg) {
    const struct fr_child_arg *a = (const struct fr_child_arg *)arg;
    const struct fr_container_spec *s = a->spec;
    // First, so that every limit applies to all the rest.
    fr_join_cgroup(s);
    if (s->enter_pidfd >= 0) {
        // A command run in a container (a health check, `exec`) dies with whoever started it,
        // and so does what it runs (its own PDEATHSIG): none outlives its caller unseen.
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != a->parent) _exit(125);
        return fr_enter_child(s, a->parent_migrates);
    }
    fr_begin_child(s);

    if (s->netns_fd >= 0) {
        if (setns(s->netns_fd, CLONE_NEWNET) != 0) fr_die(s, FR_STAGE_NETNS, NULL);
        close(s->netns_fd);
    }
    // Nothing we mount may propagate back to the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fr_die(s, FR_STAGE_PROPAGATION, "/");

    if (s->overlay_data) {
        if (mount("overlay", s->rootfs, "overlay", 0, s->overlay_data) != 0)
            fr_die(s, FR_STAGE_ROOTFS, s->rootfs);
    } else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) {
        fr_die(s, FR_STAGE_ROOTFS, s->rootfs);
    }
    int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fr_die(s, FR_STAGE_ROOTFS, s->rootfs);

    size_t early = s->nmounts_early < s->nmounts ? s->nmounts_early : s->nmounts;
    for (size_t i = 0; i < early; i++) fr_do_mount(s, rootfd, &s->mounts[i]);
    for (size_t i = 0; i < s->ndevices; i++) fr_make_device(s, rootfd, &s->devices[i]);
    for (size_t i = 0; i < s->nsymlinks; i++) fr_make_symlink(s, rootfd, &s->symlinks[i]);

    // The cgroup namespace made next must be rooted at our own cgroup.
    if (a->parent_migrates) fr_wait_for_cgroup(s);
    if (s->unshare_cgroupns && unshare(CLONE_NEWCGROUP) != 0) fr_die(s, FR_STAGE_CGROUPNS, NULL);
    for (size_t i = early; i < s->nmounts; i++) fr_do_mount(s, rootfd, &s->mounts[i]);

    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new.
    if (fchdir(rootfd) != 0) fr_die(s, FR_STAGE_PIVOT, s->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") != 0) fr_die(s, FR_STAGE_PIVOT, s->rootfs);
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) != 0) fr_die(s, FR_STAGE_PIVOT, "old root");
    if (umount2(".", MNT_DETACH) != 0) fr_die(s, FR_STAGE_PIVOT, "old root");
    if (chdir("/") != 0) fr_die(s, FR_STAGE_PIVOT, "/");
    close(rootfd);
    rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fr_die(s, FR_STAGE_PIVOT, "/");

    for (size_t i = 0; i < s->nsysctls; i++) fr_sysctl(s, s->sysctl_paths[i], s->sysctl_values[i]);
    for (size_t i = 0; i < s->nmasked; i++) fr_mask(s, rootfd, s->masked_paths[i]);
    for (size_t i = 0; i < s->nreadonly; i++) fr_readonly(s, rootfd, s->readonly_paths[i]);
    if (s->readonly_rootfs && fr_restrict_mount(rootfd, "/", MS_RDONLY) != 0) fr_die(s, FR_STAGE_READONLY, "/");

    fr_enter_cwd(s, rootfd);
    close(rootfd);
    // The container is made; what is left waits for the go (a prepared container waits here
    // while the task's network attaches): the hostname, dropping privileges, the exec. Where
    // the hostname is known already, only the exec waits, and the rest is off the start's path.
    char hostname[FR_HOSTNAME_MAX + 1];
    if (s->hostname_final) {
        fr_apply_late_hostname(s, "");
        fr_drop_privileges(s);
        fr_wait_for_go(s, hostname, sizeof hostname);
        if (*hostname) { errno = EINVAL; fr_die(s, FR_STAGE_HOSTNAME, hostname); }
    } else {
        fr_wait_for_go(s, hostname, sizeof hostname);
        fr_apply_late_hostname(s, hostname);
        fr_drop_privileges(s);
    }
    fr_exec(s);
    return 125;
}

/// Limits, user, capabilities, no_new_privs and seccomp, in the order that keeps each step
/// possible: what the process is allowed from here on is what the container is allowed.
static void fr_drop_privileges(const struct fr_container_spec *s) {
    for (size_t i = 0; i < s->nrlimits; i++) {
        struct rlimit rl = { (rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard };
        if (setrlimit(s->rlimits[i].resource, &rl) != 0) fr_die(s, FR_STAGE_RLIMIT, NULL);
    }

    // Bounding set first, while we are still root with every capability (dropping needs
    // CAP_SETPCAP); then the user, keeping the permitted set across setresuid; then the final
    // sets. runc's finalizeNamespace does the same.
    if (s->set_caps) {
        for (int cap = 0; cap < 64; cap++) {
            if (s->cap_bounding & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                fr_die(s, FR_STAGE_CAPS, "bounding set");
        }
    }
    // Supplementary groups are always set, so none of fargate-run's leak in.
    if (syscall(SYS_setgroups, s->ngroups, s->groups) != 0) fr_die(s, FR_STAGE_USER, "setgroups");
    if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0) fr_die(s, FR_STAGE_USER, "setresgid");
    if (s->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fr_die(s, FR_STAGE_USER, "keepcaps");
    if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0) fr_die(s, FR_STAGE_USER, "setresuid");
    if (s->uid != 0) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);

    if (s->set_caps) {
        if (fr_capset(s->cap_effective, s->cap_permitted, s->cap_inheritable) != 0)
            fr_die(s, FR_STAGE_CAPS, "capset");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
            fr_die(s, FR_STAGE_CAPS, "ambient set");
    }
    if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fr_die(s, FR_STAGE_NO_NEW_PRIVS, NULL);

    umask(022);
    if (s->seccomp_filter) {
        struct sock_fprog prog = { s->seccomp_len, (struct sock_filter *)s->seccomp_filter };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fr_die(s, FR_STAGE_SECCOMP, NULL);
    }
}

/// A pseudoterminal of the container's own devpts (so the command's `tty` names a device it
/// can see): its terminal end becomes stdio, its controller end goes to the parent over the
/// console socket.
static void fr_make_console(const struct fr_container_spec *s) {
    int controller = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (controller < 0) fr_die(s, FR_STAGE_STDIO, "/dev/ptmx");
    int unlock = 0;
    if (ioctl(controller, TIOCSPTLCK, &unlock) != 0) fr_die(s, FR_STAGE_STDIO, "unlock pty");
    // The terminal end through the controller (4.13+), not by its name: no path to race.
    int term = ioctl(controller, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (term < 0) fr_die(s, FR_STAGE_STDIO, "pty terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(term, i) < 0) fr_die(s, FR_STAGE_STDIO, NULL);
    close(term);
    char byte = 0;
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &controller, sizeof(int));
    if (sendmsg(s->console_fd, &msg, MSG_NOSIGNAL) != 1) fr_die(s, FR_STAGE_STDIO, "console socket");
    close(controller);
    close(s->console_fd);
}

/// A process started in a running container (a health check), as `docker exec` does, without
/// ever being visible in the container's pid namespace while it holds more than the
/// container's privileges: this child joins the container's other namespaces and cgroup,
/// drops to the container's user, capabilities and seccomp filter, and only then forks the
/// process that runs the command, into the container's pid namespace. It waits for it and
/// exits with its status (128+N for a signal); if it is killed, the command is too.
static int fr_enter_child(const struct fr_container_spec *s, int parent_migrates) {
    fr_begin_child(s);
    char unused[FR_HOSTNAME_MAX + 1];
    if (parent_migrates) fr_wait_for_cgroup(s);
    fr_wait_for_go(s, unused, sizeof unused);
    // One call through the container's pidfd (5.8+): its mount, network, IPC, UTS and cgroup
    // namespaces for us, its pid namespace for our children.
    if (setns(s->enter_pidfd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWPID) != 0)
        fr_die(s, FR_STAGE_ENTER, NULL);
    close(s->enter_pidfd);
    int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fr_die(s, FR_STAGE_ENTER, "/");
    fr_enter_cwd(s, rootfd);
    close(rootfd);
    if (s->console_fd >= 0) fr_make_console(s);
    fr_drop_privileges(s);
    // The raw system call, not fork(): glibc's fork would take locks other threads of
    // fargate-run may have held when we were cloned.
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, NULL, NULL, 0UL);
    if (pid < 0) fr_die(s, FR_STAGE_ENTER, "clone");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        // A terminal's session: ^C and window changes reach the command as on a login.
        if (s->console_fd >= 0 && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) != 0)) fr_die(s, FR_STAGE_STDIO, "controlling terminal");
        fr_exec(s);
    }
    // The command reports a failed exec on err_fd itself; our copy must not keep it open.
    close(s->err_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) _exit(125);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

pid_t fr_spawn(const struct fr_container_spec *spec, int *pidfd_out, int *in_cgroup_out) {
    void *stack = mmap(NULL, FR_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    // Joining a shared pid namespace: setns(CLONE_NEWPID) changes only where this thread's
    // next child is created; we switch back to our own namespace right after clone().
    int own_pidns = -1;
    if (spec->pidns_fd >= 0) {
        own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0 || setns(spec->pidns_fd, CLONE_NEWPID) != 0) {
            int e = errno;
            if (own_pidns >= 0) close(own_pidns);
            munmap(stack, FR_STACK_SIZE);
            errno = e;
            return -1;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    pid_t pid = -1;
    *in_cgroup_out = 0;
    struct fr_child_arg arg = { spec, 0, getpid() };
    if (spec->cgroup_fd >= 0) {
        // Without CLONE_VM and without a stack of its own the child runs on a copy of ours,
        // as after fork(); the raw system call runs none of glibc's fork handlers.
        struct fr_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (uint64_t)(unsigned)spec->clone_flags | CLONE_PIDFD | FR_CLONE_INTO_CGROUP;
        args.pidfd = (uint64_t)(uintptr_t)&pidfd;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)spec->cgroup_fd;
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) _exit(fr_child(&arg));
        if (pid > 0) *in_cgroup_out = 1;
        // An old kernel (ENOSYS, E2BIG) or a cgroup that takes no processes: clone() below,
        // and the caller migrates the child.
        if (pid < 0) arg.parent_migrates = 1;
    }
    // The child gets its own copy of `arg` as it is now.
    if (pid < 0)
        pid = clone(fr_child, (char *)stack + FR_STACK_SIZE, spec->clone_flags | CLONE_PIDFD | SIGCHLD, &arg, &pidfd);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (own_pidns >= 0) {
        setns(own_pidns, CLONE_NEWPID);
        close(own_pidns);
    }
    munmap(stack, FR_STACK_SIZE);  // the child has its own copy of the mapping
    if (pid < 0) { errno = saved; return -1; }
    *pidfd_out = pidfd;
    return pid;
}
