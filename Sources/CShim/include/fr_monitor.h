// The protocol between fargate-run's host and a task's monitor (Sources/FargateMonitor): one
// message per SOCK_SEQPACKET datagram, a header then a payload, file descriptors beside it
// (SCM_RIGHTS). Both ends are the same build, so structures travel as they are.
#ifndef FR_MONITOR_H
#define FR_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /// host → monitor: clone a container (payload fr_monitor_spawn + a packed spec; fds: the
    /// spec's, then the log file and the awslogs stream file).
    FR_MON_SPAWN = 1,
    /// host → monitor: send every child's state (FR_MON_STATE each, then FR_MON_STATE_END).
    FR_MON_HELLO = 2,
    /// host → monitor: the task is over; exit once every child is reaped and drained.
    FR_MON_FINISH = 3,
    /// host → monitor: hold these descriptors for the task (slot: a tag; fds: up to
    /// FR_MONITOR_KEPT_FDS), replacing what was held under the tag, until the monitor exits;
    /// each HELLO gives them back (FR_MON_KEPT). The task metadata endpoint's listener is kept
    /// so: connections queue in it while no host runs, and the next host serves them.
    FR_MON_KEEP = 4,
    /// monitor → host: the answer to SPAWN (payload fr_monitor_spawned; arg the pid; fd its pidfd).
    FR_MON_SPAWNED = 101,
    /// monitor → host: a child ended (payload fr_monitor_exit; arg the pid).
    FR_MON_EXITED = 102,
    /// monitor → host: a child's output is all written (arg the pid).
    FR_MON_DRAINED = 103,
    /// monitor → host: one child, after HELLO (payload fr_monitor_state; arg the pid; fd its
    /// pidfd while it runs).
    FR_MON_STATE = 104,
    /// monitor → host: the last of HELLO's answers (arg the monitor's pid).
    FR_MON_STATE_END = 105,
    /// monitor → host: leaving after FINISH.
    FR_MON_FINISHED = 106,
    /// monitor → host: descriptors it holds, after HELLO and before STATE_END (slot: the tag;
    /// fds: copies of them).
    FR_MON_KEPT = 107,
};

/// The most descriptors kept under one tag, and the most tags.
#define FR_MONITOR_KEPT_FDS 4
#define FR_MONITOR_KEPT_TAGS 4

/// The largest message either side sends.
#define FR_MONITOR_MAX_MESSAGE 65536

struct fr_monitor_header {
    uint32_t type;
    /// The host's name for the child (a container's index).
    uint32_t slot;
    uint64_t arg;
};

struct fr_monitor_spawn {
    /// The first `spec_fds` descriptors sent are the spec's.
    int32_t spec_fds;
    /// Indexes of the log file and the awslogs stream file among the descriptors, or -1.
    int32_t log_fd, events_fd;
    uint32_t spec_len;
};

struct fr_monitor_spawned {
    int32_t err;        ///< errno when the clone failed, else 0
    int32_t in_cgroup;  ///< as fr_spawn's in_cgroup_out
};

struct fr_monitor_exit {
    int32_t exited;     ///< 1: exited with `status`; 0: killed by signal `status`
    int32_t status;
    int64_t time_ns;    ///< when it was reaped, nanoseconds since the epoch
};

struct fr_monitor_state {
    int32_t running;
    int32_t exited, status;
    int64_t time_ns;
    int32_t draining;   ///< its output is still being read
};

/// Sends one message; -1 with errno on failure (EPIPE when the peer is gone).
int fr_monitor_send(int sock, uint32_t type, uint32_t slot, uint64_t arg, const void *payload, size_t len, const int *fds, int nfds);

/// Receives one message into `buf` (8-byte aligned, FR_MONITOR_MAX_MESSAGE bytes): its length,
/// 0 at end of file, -1 with errno. Descriptors received (close-on-exec) go to `fds`.
ssize_t fr_monitor_recv(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds);

/// Flattens `spec` into `buf` (see spec_pack.c): its length, or 0 when it does not fit. The
/// spec's descriptors are listed in `fds` (`*nfds` of them), in the order unpack expects.
struct fr_container_spec;
size_t fr_spec_pack(const struct fr_container_spec *spec, void *buf, size_t cap, int *fds, int maxfds, int *nfds);
/// The spec packed in `buf`, its pointers and descriptors restored in place; NULL when malformed.
struct fr_container_spec *fr_spec_unpack(void *buf, size_t len, const int *fds, int nfds);

/// Starts the monitor: `exec_fd` (its sealed executable) run with argv {"fargate-monitor",
/// task_dir}, `listen_fd` as its fd 3, in a session of its own, every other fd closed. The
/// program forks at once and its first process exits: this returns once that one is reaped
/// (0), and the monitor is no child of ours; -1 with errno.
int fr_monitor_start(int exec_fd, int listen_fd, const char *task_dir);

#ifdef __cplusplus
}
#endif
#endif
