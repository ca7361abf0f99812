// A container spec as one flat buffer, to hand to another process (the task's monitor, which
// clones the container so that it outlives fargate-run): pointers become offsets into the
// buffer, file descriptors become indexes into the list sent beside it (SCM_RIGHTS). Both
// ends are the same build, so structures are copied as they are.
#define _GNU_SOURCE
#include "fr_internal.h"

struct fr_packer {
    unsigned char *buf;
    size_t cap, len;
    int failed;
    int *fds;
    int nfds, maxfds;
};

/// Appends `n` bytes at `align`; returns the offset + 1 (0 stands for NULL).
static uint64_t fr_put(struct fr_packer *p, const void *src, size_t n, size_t align) {
    if (!src) return 0;
    size_t at = (p->len + align - 1) & ~(align - 1);
    if (at + n > p->cap) { p->failed = 1; return 0; }
    memcpy(p->buf + at, src, n);
    p->len = at + n;
    return (uint64_t)at + 1;
}

static uint64_t fr_put_string(struct fr_packer *p, const char *s) {
    return s ? fr_put(p, s, fr_strlen(s) + 1, 1) : 0;
}

/// A NULL-terminated array of strings (count `n`, or up to its NULL when n is SIZE_MAX).
static uint64_t fr_put_strings(struct fr_packer *p, const char *const *a, size_t n) {
    if (!a) return 0;
    if (n == (size_t)-1) for (n = 0; a[n]; n++) {}
    uint64_t offs[n + 1];
    for (size_t i = 0; i < n; i++) offs[i] = fr_put_string(p, a[i]);
    offs[n] = 0;
    return fr_put(p, offs, sizeof offs, 8);
}

static int fr_fd_index(struct fr_packer *p, int fd) {
    if (fd < 0) return -1;
    if (p->nfds >= p->maxfds) { p->failed = 1; return -1; }
    p->fds[p->nfds] = fd;
    return p->nfds++;
}

#define FR_OFF(x) ((const void *)(uintptr_t)(x))

size_t fr_spec_pack(const struct fr_container_spec *s, void *buf, size_t cap, int *fds, int maxfds, int *nfds) {
    struct fr_packer p = {buf, cap, 0, 0, fds, 0, maxfds};
    struct fr_container_spec c = *s;
    c.netns_fd = fr_fd_index(&p, s->netns_fd);
    c.pidns_fd = fr_fd_index(&p, s->pidns_fd);
    c.exec_fd = fr_fd_index(&p, s->exec_fd);
    c.enter_pidfd = fr_fd_index(&p, s->enter_pidfd);
    c.stdin_fd = fr_fd_index(&p, s->stdin_fd);
    c.stdout_fd = fr_fd_index(&p, s->stdout_fd);
    c.stderr_fd = fr_fd_index(&p, s->stderr_fd);
    c.sync_fd = fr_fd_index(&p, s->sync_fd);
    c.err_fd = fr_fd_index(&p, s->err_fd);
    c.cgroup_fd = fr_fd_index(&p, s->cgroup_fd);
    int tasks[16];
    if (s->ncgroup_tasks > 16) return 0;
    for (size_t i = 0; i < s->ncgroup_tasks; i++) tasks[i] = fr_fd_index(&p, s->cgroup_tasks_fds[i]);
    // The header first, rewritten once every offset is known.
    fr_put(&p, &c, sizeof c, 8);
    c.cgroup_tasks_fds = FR_OFF(s->ncgroup_tasks ? fr_put(&p, tasks, s->ncgroup_tasks * sizeof(int), 4) : 0);
    c.cgroup_tasks_paths = FR_OFF(fr_put_strings(&p, s->cgroup_tasks_paths, s->ncgroup_tasks));
    c.rootfs = FR_OFF(fr_put_string(&p, s->rootfs));
    c.overlay_data = FR_OFF(fr_put_string(&p, s->overlay_data));
    struct fr_mount mounts[s->nmounts ? s->nmounts : 1];
    for (size_t i = 0; i < s->nmounts; i++) {
        mounts[i] = s->mounts[i];
        mounts[i].source = FR_OFF(fr_put_string(&p, s->mounts[i].source));
        mounts[i].target = FR_OFF(fr_put_string(&p, s->mounts[i].target));
        mounts[i].fstype = FR_OFF(fr_put_string(&p, s->mounts[i].fstype));
        mounts[i].data = FR_OFF(fr_put_string(&p, s->mounts[i].data));
    }
    c.mounts = FR_OFF(s->nmounts ? fr_put(&p, mounts, s->nmounts * sizeof mounts[0], 8) : 0);
    struct fr_device devices[s->ndevices ? s->ndevices : 1];
    for (size_t i = 0; i < s->ndevices; i++) {
        devices[i] = s->devices[i];
        devices[i].path = FR_OFF(fr_put_string(&p, s->devices[i].path));
    }
    c.devices = FR_OFF(s->ndevices ? fr_put(&p, devices, s->ndevices * sizeof devices[0], 8) : 0);
    struct fr_symlink links[s->nsymlinks ? s->nsymlinks : 1];
    for (size_t i = 0; i < s->nsymlinks; i++) {
        links[i].target = FR_OFF(fr_put_string(&p, s->symlinks[i].target));
        links[i].path = FR_OFF(fr_put_string(&p, s->symlinks[i].path));
    }
    c.symlinks = FR_OFF(s->nsymlinks ? fr_put(&p, links, s->nsymlinks * sizeof links[0], 8) : 0);
    c.masked_paths = FR_OFF(fr_put_strings(&p, s->masked_paths, s->nmasked));
    c.readonly_paths = FR_OFF(fr_put_strings(&p, s->readonly_paths, s->nreadonly));
    c.hostname = FR_OFF(fr_put_string(&p, s->hostname));
    c.sysctl_paths = FR_OFF(fr_put_strings(&p, s->sysctl_paths, s->nsysctls));
    c.sysctl_values = FR_OFF(fr_put_strings(&p, s->sysctl_values, s->nsysctls));
    c.argv = FR_OFF(fr_put_strings(&p, s->argv, (size_t)-1));
    c.envp = FR_OFF(fr_put_strings(&p, s->envp, (size_t)-1));
    c.path_env = FR_OFF(fr_put_string(&p, s->path_env));
    c.cwd = FR_OFF(fr_put_string(&p, s->cwd));
    c.groups = FR_OFF(s->ngroups ? fr_put(&p, s->groups, s->ngroups * sizeof(uint32_t), 4) : 0);
    c.rlimits = FR_OFF(s->nrlimits ? fr_put(&p, s->rlimits, s->nrlimits * sizeof(struct fr_rlimit), 8) : 0);
    c.seccomp_filter = FR_OFF(s->seccomp_len ? fr_put(&p, s->seccomp_filter, (size_t)s->seccomp_len * 8, 8) : 0);
    if (p.failed) return 0;
    memcpy(p.buf, &c, sizeof c);
    *nfds = p.nfds;
    return p.len;
}

/// The pointer an offset stands for, if it lies inside the buffer.
static const void *fr_at(unsigned char *buf, size_t len, const void *off, size_t need, int *bad) {
    uint64_t o = (uint64_t)(uintptr_t)off;
    if (o == 0) return NULL;
    if (o - 1 > len || need > len - (o - 1)) { *bad = 1; return NULL; }
    return buf + (o - 1);
}

static const char *fr_at_string(unsigned char *buf, size_t len, const void *off, int *bad) {
    const char *s = fr_at(buf, len, off, 1, bad);
    if (!s) return NULL;
    size_t max = len - (size_t)((const unsigned char *)s - buf);
    for (size_t i = 0; i < max; i++) if (!s[i]) return s;
    *bad = 1;
    return NULL;
}

static const char *const *fr_at_strings(unsigned char *buf, size_t len, const void *off, size_t n, int *bad) {
    uint64_t *offs = (uint64_t *)fr_at(buf, len, off, 8, bad);
    if (!offs) return NULL;
    const char **out = (const char **)offs;
    for (size_t i = 0;; i++) {
        if ((const unsigned char *)&offs[i] + 8 > buf + len) { *bad = 1; return NULL; }
        if (offs[i] == 0) { if (n != (size_t)-1 && i != n) *bad = 1; break; }
        if (n != (size_t)-1 && i >= n) { *bad = 1; break; }
        out[i] = fr_at_string(buf, len, FR_OFF(offs[i]), bad);
    }
    return out;
}

static int fr_fd_at(int index, const int *fds, int nfds, int *bad) {
    if (index < 0) return -1;
    if (index >= nfds) { *bad = 1; return -1; }
    return fds[index];
}

struct fr_container_spec *fr_spec_unpack(void *raw, size_t len, const int *fds, int nfds) {
    unsigned char *buf = raw;
    if (len < sizeof(struct fr_container_spec)) return NULL;
    struct fr_container_spec *c = (struct fr_container_spec *)buf;
    int bad = 0;
    c->netns_fd = fr_fd_at(c->netns_fd, fds, nfds, &bad);
    c->pidns_fd = fr_fd_at(c->pidns_fd, fds, nfds, &bad);
    c->exec_fd = fr_fd_at(c->exec_fd, fds, nfds, &bad);
    c->enter_pidfd = fr_fd_at(c->enter_pidfd, fds, nfds, &bad);
    c->stdin_fd = fr_fd_at(c->stdin_fd, fds, nfds, &bad);
    c->stdout_fd = fr_fd_at(c->stdout_fd, fds, nfds, &bad);
    c->stderr_fd = fr_fd_at(c->stderr_fd, fds, nfds, &bad);
    c->sync_fd = fr_fd_at(c->sync_fd, fds, nfds, &bad);
    c->err_fd = fr_fd_at(c->err_fd, fds, nfds, &bad);
    c->cgroup_fd = fr_fd_at(c->cgroup_fd, fds, nfds, &bad);
    if (c->ncgroup_tasks > 16) return NULL;
    int *tasks = (int *)fr_at(buf, len, c->cgroup_tasks_fds, c->ncgroup_tasks * sizeof(int), &bad);
    for (size_t i = 0; tasks && i < c->ncgroup_tasks; i++) tasks[i] = fr_fd_at(tasks[i], fds, nfds, &bad);
    c->cgroup_tasks_fds = tasks;
    c->cgroup_tasks_paths = fr_at_strings(buf, len, c->cgroup_tasks_paths, c->ncgroup_tasks, &bad);
    c->rootfs = fr_at_string(buf, len, c->rootfs, &bad);
    c->overlay_data = fr_at_string(buf, len, c->overlay_data, &bad);
    struct fr_mount *mounts = (struct fr_mount *)fr_at(buf, len, c->mounts, c->nmounts * sizeof(struct fr_mount), &bad);
    for (size_t i = 0; mounts && i < c->nmounts; i++) {
        mounts[i].source = fr_at_string(buf, len, mounts[i].source, &bad);
        mounts[i].target = fr_at_string(buf, len, mounts[i].target, &bad);
        mounts[i].fstype = fr_at_string(buf, len, mounts[i].fstype, &bad);
        mounts[i].data = fr_at_string(buf, len, mounts[i].data, &bad);
    }
    c->mounts = mounts;
    struct fr_device *devices = (struct fr_device *)fr_at(buf, len, c->devices, c->ndevices * sizeof(struct fr_device), &bad);
    for (size_t i = 0; devices && i < c->ndevices; i++) devices[i].path = fr_at_string(buf, len, devices[i].path, &bad);
    c->devices = devices;
    struct fr_symlink *links = (struct fr_symlink *)fr_at(buf, len, c->symlinks, c->nsymlinks * sizeof(struct fr_symlink), &bad);
    for (size_t i = 0; links && i < c->nsymlinks; i++) {
        links[i].target = fr_at_string(buf, len, links[i].target, &bad);
        links[i].path = fr_at_string(buf, len, links[i].path, &bad);
    }
    c->symlinks = links;
    c->masked_paths = fr_at_strings(buf, len, c->masked_paths, c->nmasked, &bad);
    c->readonly_paths = fr_at_strings(buf, len, c->readonly_paths, c->nreadonly, &bad);
    c->hostname = fr_at_string(buf, len, c->hostname, &bad);
    c->sysctl_paths = fr_at_strings(buf, len, c->sysctl_paths, c->nsysctls, &bad);
    c->sysctl_values = fr_at_strings(buf, len, c->sysctl_values, c->nsysctls, &bad);
    c->argv = fr_at_strings(buf, len, c->argv, (size_t)-1, &bad);
    c->envp = fr_at_strings(buf, len, c->envp, (size_t)-1, &bad);
    c->path_env = fr_at_string(buf, len, c->path_env, &bad);
    c->cwd = fr_at_string(buf, len, c->cwd, &bad);
    c->groups = fr_at(buf, len, c->groups, c->ngroups * sizeof(uint32_t), &bad);
    c->rlimits = fr_at(buf, len, c->rlimits, c->nrlimits * sizeof(struct fr_rlimit), &bad);
    c->seccomp_filter = fr_at(buf, len, c->seccomp_filter, (size_t)c->seccomp_len * 8, &bad);
    if (bad || !c->argv || !c->argv[0] || !c->envp || (!c->rootfs && c->enter_pidfd < 0)) return NULL;
    return c;
}
