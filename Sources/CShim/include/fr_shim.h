// The C shim: the container init that runs between clone() and execve() (container_init.c),
// network namespace helpers (netns.c), the netfilter socket hand-off (hand_off.c), the device
// filter (devices.c) and thin syscall wrappers glibc 2.36 does not export (syscalls.c).
// Policy (which mounts, which capabilities, which namespaces) is decided in Swift and handed
// over as plain data; the code here only carries it out, allocating nothing, because after
// clone() in a multithreaded process only async-signal-safe code may run.
#ifndef FR_SHIM_H
#define FR_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Namespace flags for fr_container_spec.clone_flags (values of <sched.h>'s CLONE_NEW*, which
/// Swift's Glibc module does not export).
enum {
    FR_CLONE_NEWNS = 0x00020000,
    FR_CLONE_NEWCGROUP = 0x02000000,
    FR_CLONE_NEWUTS = 0x04000000,
    FR_CLONE_NEWIPC = 0x08000000,
    FR_CLONE_NEWPID = 0x20000000,
    FR_CLONE_NEWNET = 0x40000000,
};

/// _GNU_SOURCE constants Swift's Glibc module does not export.
enum {
    FR_O_PATH = 010000000,
    FR_AT_EMPTY_PATH = 0x1000,
    FR_RESOLVE_NO_XDEV = 0x01,
    FR_RESOLVE_NO_MAGICLINKS = 0x02,
    FR_RESOLVE_NO_SYMLINKS = 0x04,
    FR_RESOLVE_BENEATH = 0x08,
    FR_RESOLVE_IN_ROOT = 0x10,
};

/// What to do with a mount target that does not exist yet.
enum fr_mount_kind {
    FR_MOUNT_DIR = 0,   ///< create the target as a directory (mkdir -p inside the root)
    FR_MOUNT_FILE = 1,  ///< create the target as an empty regular file (bind mounts of files)
};

/// One mount made inside the container's root before pivot_root.
/// `target` is an absolute path interpreted inside the root: symlinks in the image cannot
/// redirect it outside (it is resolved with openat2 RESOLVE_IN_ROOT).
struct fr_mount {
    const char *source;   ///< may be NULL
    const char *target;   ///< absolute path inside the container
    const char *fstype;   ///< NULL for bind mounts
    unsigned long flags;  ///< MS_* flags; MS_RDONLY on a bind mount is applied with a remount
    const char *data;     ///< fs-specific options, may be NULL
    int kind;             ///< enum fr_mount_kind
};

/// A character device node created in the container's /dev.
struct fr_device {
    const char *path;     ///< absolute path inside the container, e.g. "/dev/null"
    uint32_t mode;        ///< permission bits, e.g. 0666
    uint32_t major;
    uint32_t minor;
};

/// A symlink created inside the container, e.g. /dev/fd -> /proc/self/fd.
struct fr_symlink {
    const char *target;
    const char *path;     ///< absolute path inside the container
};

struct fr_rlimit {
    int resource;         ///< RLIMIT_*
    uint64_t soft;
    uint64_t hard;
};

/// Everything the child needs, prepared by the parent. Strings and arrays must stay valid until
/// fr_spawn returns (the child gets its own copy of the address space at clone time).
struct fr_container_spec {
    int clone_flags;          ///< CLONE_NEW* flags for clone(); CLONE_NEWCGROUP is done later
    int unshare_cgroupns;     ///< unshare(CLONE_NEWCGROUP) once we are in our cgroup
    int netns_fd;             ///< setns() into this network namespace, or -1
    int pidns_fd;             ///< create the child in this pid namespace (no CLONE_NEWPID), or -1
    int exec_fd;              ///< execveat() this (sealed memfd) instead of searching argv[0], or -1
    /// >= 0: start the process inside the running container this pidfd names (its namespaces,
    /// no mounts of our own) instead of making a new one; see fr_enter_child.
    int enter_pidfd;
    int stdin_fd, stdout_fd, stderr_fd;
    /// read end: when the parent had to move us into our cgroup (see fr_spawn) it writes one
    /// byte once we are there; to start the command, another byte, optionally the hostname
    /// (overriding `hostname` and HOSTNAME= in envp), and it closes its end
    int sync_fd;
    int err_fd;               ///< write end (CLOEXEC): a struct fr_spawn_error on failure, EOF on exec
    /// >= 0: a cgroup v2 directory the child is created in (clone3 CLONE_INTO_CGROUP, Linux
    /// 5.7): no migration afterwards, so no RCU grace period. -1: see cgroup_tasks_fds.
    int cgroup_fd;
    /// cgroup v1: the `tasks` file of the container's cgroup in each hierarchy, open for
    /// writing, and their paths (for errors). The child's first act is to move itself in:
    /// a single thread moving itself is the one migration for which the kernel does not take
    /// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (10-30 ms).
    const int *cgroup_tasks_fds; const char *const *cgroup_tasks_paths; size_t ncgroup_tasks;

    const char *rootfs;       ///< host path of the directory that becomes "/"
    const char *overlay_data; ///< overlay mount options for rootfs, or NULL to bind rootfs to itself
    const struct fr_mount *mounts; size_t nmounts;
    /// Mounts [0, nmounts_early) are made before the cgroup namespace, so they overlap the
    /// parent's migration of the child where the parent must do it (v2 without
    /// CLONE_INTO_CGROUP); the rest (the cgroup filesystems, which must see the new cgroup
    /// namespace) after.
    size_t nmounts_early;
    const struct fr_device *devices; size_t ndevices;
    const struct fr_symlink *symlinks; size_t nsymlinks;
    const char *const *masked_paths; size_t nmasked;
    const char *const *readonly_paths; size_t nreadonly;
    int readonly_rootfs;
    const char *hostname;     ///< NULL keeps the (new) UTS namespace's inherited name
    /// 1: `hostname` is final, so the child sets it and drops its privileges before it waits
    /// for the go, which must then carry no hostname: after the go only the exec is left.
    int hostname_final;
    /// Kernel parameters of the container's namespaces, written after pivot_root while /proc/sys
    /// is still writable: paths ("/proc/sys/net/core/somaxconn") and values, pairwise.
    const char *const *sysctl_paths; const char *const *sysctl_values; size_t nsysctls;

    const char *const *argv;  ///< NULL-terminated
    const char *const *envp;  ///< NULL-terminated
    const char *path_env;     ///< the container's PATH, for finding argv[0] without a slash
    const char *cwd;          ///< absolute; created if missing, then checked to be inside the root

    uint32_t uid, gid;
    const uint32_t *groups; size_t ngroups;

    int set_caps;             ///< 0 keeps every capability (tests of the shim only)
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable;

    const struct fr_rlimit *rlimits; size_t nrlimits;
    int no_new_privs;
    /// Entering a container (enter_pidfd) with a terminal (`exec -t`): a unix socket on which
    /// the child sends back the controller end of a pseudoterminal it opens in the container's
    /// own devpts (as runc's console socket), whose terminal end becomes the command's stdio
    /// and controlling terminal; -1 for none.
    int console_fd;
    const void *seccomp_filter;   ///< struct sock_filter[], or NULL
    unsigned short seccomp_len;   ///< number of instructions
};

/// Where the child failed; the parent turns it into a message.
enum fr_stage {
    FR_STAGE_NONE = 0,
    FR_STAGE_SIGNALS, FR_STAGE_STDIO, FR_STAGE_SETSID, FR_STAGE_SYNC, FR_STAGE_CGROUPNS,
    FR_STAGE_NETNS, FR_STAGE_HOSTNAME, FR_STAGE_PROPAGATION, FR_STAGE_ROOTFS, FR_STAGE_MOUNT,
    FR_STAGE_DEVICE, FR_STAGE_SYMLINK, FR_STAGE_PIVOT, FR_STAGE_MASK, FR_STAGE_READONLY,
    FR_STAGE_CWD, FR_STAGE_RLIMIT, FR_STAGE_USER, FR_STAGE_CAPS, FR_STAGE_NO_NEW_PRIVS,
    FR_STAGE_CLOSE_FDS, FR_STAGE_SECCOMP, FR_STAGE_EXEC, FR_STAGE_SYSCTL, FR_STAGE_ENTER,
    FR_STAGE_CGROUP,
};

/// Sent over err_fd when the child cannot reach execve.
struct fr_spawn_error {
    int32_t stage;            ///< enum fr_stage
    int32_t err;              ///< errno
    char detail[480];         ///< the path or name involved, NUL-terminated
};

/// One device cgroup rule: `type` 'a' (all), 'b' or 'c'; major/minor -1 for any; `access`
/// bits 1 mknod, 2 read, 4 write.
struct fr_device_rule {
    char type;
    int32_t major;
    int32_t minor;
    uint32_t access;
};

/// cgroup v2: loads an eBPF device program allowing exactly `rules` and attaches it to the
/// cgroup (BPF_F_ALLOW_MULTI). On failure -1 with errno set; the verifier's log, if any, in `log`.
int fr_device_filter_attach(int cgroup_fd, const struct fr_device_rule *rules, size_t nrules, char *log, size_t loglen);

/// Clones a container init with `spec`. Returns the child's pid, or -1 with errno set.
/// `*pidfd_out` receives a pidfd (CLONE_PIDFD, CLOEXEC) for race-free waiting and signalling.
/// `*in_cgroup_out` is 1 when the child was created in spec->cgroup_fd. When spec->cgroup_fd
/// was given and it is 0 (a kernel or cgroup that refuses CLONE_INTO_CGROUP), the caller must
/// move the child into its cgroup and then write one byte on the sync pipe; in every other case
/// the child does not wait for that byte.
pid_t fr_spawn(const struct fr_container_spec *spec, int *pidfd_out, int *in_cgroup_out);

/// What `fr_netns_create` is asked to make besides the namespace.
enum {
    /// Interfaces made in it later get no IPv6 (net.ipv6.conf.default.disable_ipv6).
    FR_NETNS_NO_IPV6 = 1,
    /// 169.254.170.2/32 on loopback: the task metadata endpoint's address.
    FR_NETNS_ENDPOINT = 2,
    /// The rest of 169.254.0.0/16, fd00:ec2::254 and fd00:ec2::23 unreachable (routes).
    FR_NETNS_BLOCK_LINK_LOCAL = 4,
};

/// The port the task metadata endpoint's socket is bound to inside a task's namespace (the
/// ECS agent's); connections to 169.254.170.2:80 are steered to it.
#define FR_ENDPOINT_LISTEN_PORT 51679

/// A task metadata endpoint's listener inside a task's network namespace: the listening
/// socket (CLOEXEC), and the BPF link of the sk_lookup program that hands it connections to
/// 169.254.170.2:80. Both must stay open for the endpoint to answer; -1 when not made.
struct fr_task_endpoint {
    int listener;
    int link;
};

/// Create a network namespace and bind-mount it at `path` (which must exist as an empty file),
/// with loopback up, and what `flags` ask (FR_NETNS_*): the endpoint's address and the
/// link-local routes are made before anything else can be, so no packet to 169.254.0.0/16 is
/// ever routed out of it. Runs in a short-lived child so no thread of ours changes namespace.
/// Returns 0, or -1 with errno set; `*stage` says which step failed (1 unshare, 2 mount, 3 lo,
/// 4 disable_ipv6, 5 the endpoint's address or the link-local routes).
int fr_netns_create(const char *path, int flags, int *stage);

/// Makes the task metadata endpoint's listener inside the namespace pinned at `netns_path`
/// (adding 169.254.170.2 to its loopback if a namespace made before the endpoint lacks it),
/// from a short-lived child sharing our fd table. Separate from `fr_netns_create` so that
/// its 0.15-0.2 ms (mostly the BPF verifier) can run beside the rest of a start. 0, or -1
/// with errno and `*stage` (1 socket, 2 bind or listen, 3 sockmap, 4 program, 5 link).
int fr_netns_endpoint(const char *netns_path, struct fr_task_endpoint *endpoint, int *stage);

/// In the calling thread's namespace: 169.254.170.2/32 on loopback and, with
/// `block_link_local`, the link-local routes. 0, or -1 with errno.
int fr_endpoint_guard(int block_link_local);
/// In the calling thread's namespace: the endpoint's listener and its sk_lookup program. 0, or
/// -1 with errno and `*stage`.
int fr_endpoint_listen(struct fr_task_endpoint *out, int *stage);

/// Opens a netlink socket (`protocol`, e.g. NETLINK_ROUTE; CLOEXEC) inside the network
/// namespace pinned at `netns_path`, from a short-lived child sharing our fd table, so no
/// thread of ours changes namespace. A socket belongs to the namespace it was made in, so it
/// configures that namespace from any thread. Returns the fd, or -1 with errno set.
int fr_netns_socket(const char *netns_path, int protocol);

/// The kernel's clock state (adjtimex): its maximum error in microseconds and whether it is
/// synchronised (no STA_UNSYNC). 0, or -1 with errno.
int fr_clock_state(long *max_error_us, int *synchronized);
/// CPUs this process may run on (sched_getaffinity), else those online.
int fr_online_cpus(void);

/// Sets the network interface `name` (in the caller's namespace) down, with SIOCSIFFLAGS.
/// 0, or -1 with errno (ENODEV: no such interface).
int fr_link_set_down(const char *name);

int fr_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve);
int fr_pidfd_send_signal(int pidfd, int sig);
/// pidfd_open(pid, 0), close-on-exec by the kernel: -1 with errno (ESRCH: no such process).
int fr_pidfd_open(pid_t pid);
/// waitid(P_PIDFD): blocks until the process exits; fills the exit code or signal.
/// Returns 0, or -1 with errno set. `*exited` is 1 for a normal exit, 0 for a signal.
int fr_pidfd_wait(int pidfd, int *exited, int *status);
/// waitid(P_PIDFD, WNOHANG|WEXITED): 1 if reaped (exit filled in), 0 if still running, -1 with
/// errno (ECHILD: not a child of ours, so another process reaps it).
int fr_pidfd_try_wait(int pidfd, int *exited, int *status);
/// waitid(P_PID, WNOHANG|WEXITED): 1 if reaped, 0 if still running, -1 on error.
int fr_try_reap(pid_t pid, int *exited, int *status);
int fr_close_range_cloexec(unsigned int first);

/// epoll, which Swift's Glibc module does not export. An event: what happened, and the
/// caller's token for the fd.
struct fr_epoll_event {
    uint32_t events;
    uint64_t token;
};
enum { FR_EPOLLIN = 0x001, FR_EPOLLERR = 0x008, FR_EPOLLHUP = 0x010, FR_EPOLLRDHUP = 0x2000, FR_EPOLLONESHOT = 0x40000000 };
/// epoll_create1(EPOLL_CLOEXEC).
int fr_epoll_create(void);
/// EPOLL_CTL_ADD of `fd` for `events` (FR_EPOLL*), reported with `token`.
int fr_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
int fr_epoll_remove(int epfd, int fd);
/// epoll_wait, retried on EINTR: up to `max` events into `out`; -1 with errno on error.
int fr_epoll_wait(int epfd, struct fr_epoll_event *out, int max, int timeout_ms);
/// Receives one file descriptor (SCM_RIGHTS, close-on-exec) on a unix socket: 0, or -1 with errno.
int fr_recv_fd(int sock, int *fd);
/// makedev(3), a macro Swift cannot call.
uint64_t fr_makedev(uint32_t major, uint32_t minor);
/// memfd_create(name, MFD_CLOEXEC | flags).
int fr_memfd(const char *name, unsigned int flags);
/// pipe2(O_CLOEXEC).
int fr_pipe_cloexec(int fds[2]);
int fr_set_child_subreaper(void);
/// syncfs(2), which Swift's Glibc module does not export.
int fr_syncfs(int fd);
/// renameat2(a, b, RENAME_EXCHANGE): the two names swap files atomically; -1 with errno
/// (ENOENT when either is missing, EINVAL where the filesystem cannot).
int fr_rename_exchange(const char *a, const char *b);
/// statfs(2)'s f_type for `path` (e.g. 0x63677270 for cgroup2), or -1 with errno set.
long long fr_fs_type(const char *path);

// Kernel feature probes for `fargate-run info` (probe.c). Each answers 1 when the kernel has
// the call, 0 when it answers ENOSYS (too old, or a seccomp filter hides it, as container
// runtimes' default profiles do for clone3), -1 on another error (errno set).

/// openat2(2) (Linux 5.6), which layer unpacking resolves every path with.
int fr_probe_openat2(void);
/// pidfd_open(2) (Linux 5.3; waitid(P_PIDFD) 5.4), which containers are waited for and signalled through.
int fr_probe_pidfd(void);
/// clone3(2) (Linux 5.3; CLONE_INTO_CGROUP 5.7), which starts a container in its cgroup v2
/// directly; without it clone(2) and a move into the cgroup are used.
int fr_probe_clone3(void);

/// Hands `fd` to a child process and closes it here, for a file whose last release would make
/// the caller wait (a netfilter netlink socket after a transaction that deleted something waits
/// for an RCU grace period). The child shares our memory but not our fd table; it closes every
/// other fd at once, moves to /, and closes `fd` when the pipe end put in `*gate_out` is
/// closed, so its reference is the last. Once per process (EBUSY after). Returns the child's
/// pid (no exit signal: it is reaped with __WALL, or by init once we exit), or -1 with errno.
pid_t fr_hand_off(int fd, int *gate_out);

#ifdef __cplusplus
}
#endif
#endif
