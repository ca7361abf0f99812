// fargate-monitor: one small process per task run by `fargate-run serve`, as conmon is per
// container. It clones the task's containers (with the same container init as fargate-run),
// so they are its children and not the host's; it reaps them and records their exits; it
// reads their output and writes their log files. So a task outlives the host: the host may
// be killed or upgraded, and a new one asks the monitor what happened meanwhile.
//
//   fargate-monitor TASK-DIRECTORY     (fd 3: the listening socket TASK-DIRECTORY/monitor.sock)
//
// It speaks to one host at a time over that socket (SOCK_SEQPACKET, one message per datagram,
// file descriptors beside it); see include/fr_monitor.h. It holds no policy: the host decides
// what to start and when; this only carries it out and remembers.
#define _GNU_SOURCE
#include "fr_internal.h"
#include "fr_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <time.h>

enum { MAX_CHILDREN = 64, MAX_FDS = 24, MAX_LINE = 16 * 1024, LISTEN_FD = 3 };
enum { TOKEN_LISTEN = 1, TOKEN_CONN = 2, TOKEN_SIGNAL = 3, TOKEN_PIPE = 1000 };

/// One stream of a child's output.
struct stream {
    int fd;              // read end of its pipe, -1 once at end of file
    char *pending;       // an unfinished line (MAX_LINE bytes, allocated on first use)
    size_t len;
};

struct child {
    int used;
    uint32_t slot;       // the host's name for it (a container's index)
    pid_t pid;
    int pidfd;
    int running;         // not reaped yet
    int reported;        // its exit was sent to a host
    int exited, status;  // how it ended
    int64_t ended_ns;
    struct stream out, err;
    int log_fd, events_fd;
};

static struct child children[MAX_CHILDREN];

/// Descriptors the host asked us to hold (FR_MON_KEEP), never used here.
static struct {
    int used;
    uint32_t tag;
    int fds[FR_MONITOR_KEPT_FDS];
    int n;
} kept[FR_MONITOR_KEPT_TAGS];
static int epfd = -1, conn = -1, exits_fd = -1;
static int finishing;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int add_fd(int fd, uint64_t token) {
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = token };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/// Sends one message with `nfds` descriptors to the host, if one is connected.
static int send_msg(uint32_t type, uint32_t slot, uint64_t arg, const void *payload, size_t len, const int *fds, int nfds) {
    return conn < 0 ? -1 : fr_monitor_send(conn, type, slot, arg, payload, len, fds, nfds);
}

static void report_exit(struct child *c) {
    struct fr_monitor_exit e = { c->exited, c->status, c->ended_ns };
    if (send_msg(FR_MON_EXITED, c->slot, (uint64_t)c->pid, &e, sizeof e, NULL, 0) == 0) c->reported = 1;
}

// ---------------------------------------------------------------------------------------------
// Output: lines to the log file, and to the awslogs stream with their time, as fargate-run's
// own log pump writes them.

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(struct child *c, const char *line, size_t n) {
    if (c->log_fd >= 0) {
        write_all(c->log_fd, line, n);
        write_all(c->log_fd, "\n", 1);
    }
    if (c->events_fd >= 0) {
        // 2026-11-23T04:42:00.123456+00:00, as `aws logs tail` prints an event's time.
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        struct tm tm;
        gmtime_r(&t.tv_sec, &tm);
        char stamp[64];
        int k = snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00 ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec / 1000);
        write_all(c->events_fd, stamp, (size_t)k);
        write_all(c->events_fd, line, n);
        write_all(c->events_fd, "\n", 1);
    }
}

static void close_logs_if_drained(struct child *c) {
    if (c->out.fd >= 0 || c->err.fd >= 0) return;
    if (c->log_fd >= 0) { close(c->log_fd); c->log_fd = -1; }
    if (c->events_fd >= 0) { close(c->events_fd); c->events_fd = -1; }
    send_msg(FR_MON_DRAINED, c->slot, (uint64_t)c->pid, NULL, 0, NULL, 0);
}

static void finish_stream(struct child *c, struct stream *s) {
    if (s->len > 0) emit(c, s->pending, s->len);
    s->len = 0;
    free(s->pending);
    s->pending = NULL;
    epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    close_logs_if_drained(c);
}

static void read_stream(struct child *c, struct stream *s) {
    char buf[65536];
    ssize_t n = read(s->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) { finish_stream(c, s); return; }
    if (!s->pending && !(s->pending = malloc(MAX_LINE))) return;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            emit(c, s->pending, s->len);
            s->len = 0;
        } else {
            // A line longer than this is cut, so output without newlines cannot grow us.
            if (s->len == MAX_LINE) { emit(c, s->pending, s->len); s->len = 0; }
            s->pending[s->len++] = buf[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Children.

static struct child *free_child(void) {
    // A record whose exit a host has heard, and whose output is drained, can be reused.
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (!children[i].used) return &children[i];
    for (int i = 0; i < MAX_CHILDREN; i++) {
        struct child *c = &children[i];
        if (!c->running && c->reported && c->out.fd < 0 && c->err.fd < 0) {
            if (c->pidfd >= 0) close(c->pidfd);
            return c;
        }
    }
    return NULL;
}

static void record_exit(struct child *c, int status) {
    c->running = 0;
    c->exited = WIFEXITED(status) ? 1 : 0;
    c->status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
    c->ended_ns = now_ns();
    // Kept on disk too: should this process die as well, a host still learns the exit.
    if (exits_fd >= 0) {
        char line[128];
        int k = snprintf(line, sizeof line, "%u %d %d %d %lld\n", c->slot, (int)c->pid, c->exited, c->status, (long long)c->ended_ns);
        write_all(exits_fd, line, (size_t)k);
    }
    report_exit(c);
}

static void reap(void) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid <= 0) return;
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (children[i].used && children[i].running && children[i].pid == pid) {
                record_exit(&children[i], status);
                break;
            }
        }
        // Anything else was an orphan of a container (we are their subreaper): reaped, forgotten.
    }
}

static void close_fds(int *fds, int n) {
    for (int i = 0; i < n; i++) if (fds[i] >= 0) close(fds[i]);
}

/// SPAWN: unpack the spec, make the output pipes, clone, answer SPAWNED with the pidfd.
static void spawn(uint32_t slot, unsigned char *payload, size_t len, int *fds, int nfds) {
    struct fr_monitor_spawned answer = { 0, 0 };
    struct fr_monitor_spawn req;
    struct child *c = NULL;
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
    pid_t pid = -1;
    int pidfd = -1;
    if (len < sizeof req) { answer.err = EINVAL; goto reply; }
    memcpy(&req, payload, sizeof req);
    if (req.spec_fds < 0 || req.spec_fds > nfds || (size_t)req.spec_len != len - sizeof req) { answer.err = EINVAL; goto reply; }
    struct fr_container_spec *spec = fr_spec_unpack(payload + sizeof req, req.spec_len, fds, req.spec_fds);
    if (!spec) { answer.err = EINVAL; goto reply; }
    if (!(c = free_child())) { answer.err = EMFILE; goto reply; }
    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) { answer.err = errno; goto reply; }
    spec->stdout_fd = outp[1];
    spec->stderr_fd = errp[1];
    int in_cgroup = 0;
    pid = fr_spawn(spec, &pidfd, &in_cgroup);
    if (pid < 0) { answer.err = errno; goto reply; }
    answer.in_cgroup = in_cgroup;
    memset(c, 0, sizeof *c);
    c->used = 1;
    c->slot = slot;
    c->pid = pid;
    c->pidfd = pidfd;
    c->running = 1;
    c->out = (struct stream){ outp[0], NULL, 0 };
    c->err = (struct stream){ errp[0], NULL, 0 };
    c->log_fd = req.log_fd >= 0 && req.log_fd < nfds ? dup(fds[req.log_fd]) : -1;
    c->events_fd = req.events_fd >= 0 && req.events_fd < nfds ? dup(fds[req.events_fd]) : -1;
    outp[0] = errp[0] = -1;
    int index = (int)(c - children);
    add_fd(c->out.fd, TOKEN_PIPE + (uint64_t)index * 2);
    add_fd(c->err.fd, TOKEN_PIPE + (uint64_t)index * 2 + 1);
reply:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) close(outp[i]);
        if (errp[i] >= 0) close(errp[i]);
    }
    close_fds(fds, nfds);
    send_msg(FR_MON_SPAWNED, slot, (uint64_t)(pid > 0 ? pid : 0), &answer, sizeof answer, &pidfd, pidfd >= 0 ? 1 : 0);
}

/// KEEP: hold the descriptors under `tag`, replacing (and closing) what was held under it.
static void keep(uint32_t tag, int *fds, int nfds) {
    int slot = -1;
    for (int i = 0; i < FR_MONITOR_KEPT_TAGS && slot < 0; i++)
        if (kept[i].used && kept[i].tag == tag) slot = i;
    for (int i = 0; i < FR_MONITOR_KEPT_TAGS && slot < 0; i++)
        if (!kept[i].used) slot = i;
    if (slot < 0 || nfds > FR_MONITOR_KEPT_FDS) {
        close_fds(fds, nfds);
        return;
    }
    if (kept[slot].used) close_fds(kept[slot].fds, kept[slot].n);
    kept[slot].used = nfds > 0;
    kept[slot].tag = tag;
    kept[slot].n = nfds;
    for (int i = 0; i < nfds; i++) kept[slot].fds[i] = fds[i];
}

/// HELLO: everything a new host needs: each child, running (with its pidfd) or how it ended.
static void hello(void) {
    for (int i = 0; i < MAX_CHILDREN; i++) {
        struct child *c = &children[i];
        if (!c->used) continue;
        struct fr_monitor_state st = { c->running, c->exited, c->status, c->ended_ns,
                                       c->out.fd >= 0 || c->err.fd >= 0 };
        send_msg(FR_MON_STATE, c->slot, (uint64_t)c->pid, &st, sizeof st, &c->pidfd, c->running && c->pidfd >= 0 ? 1 : 0);
        if (!c->running) c->reported = 1;
    }
    for (int i = 0; i < FR_MONITOR_KEPT_TAGS; i++) {
        if (kept[i].used) send_msg(FR_MON_KEPT, kept[i].tag, 0, NULL, 0, kept[i].fds, kept[i].n);
    }
    send_msg(FR_MON_STATE_END, 0, (uint64_t)getpid(), NULL, 0, NULL, 0);
}

static void handle_message(void) {
    // Aligned for the spec's structures, which are unpacked in place.
    static uint64_t storage[FR_MONITOR_MAX_MESSAGE / 8];
    unsigned char *buf = (unsigned char *)storage;
    int fds[MAX_FDS], nfds = 0;
    ssize_t n = fr_monitor_recv(conn, buf, sizeof storage, fds, MAX_FDS, &nfds);
    if (n == 0 || (n < 0 && errno != EMSGSIZE)) {
        // The host went away: its tasks go on; a new one will connect.
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
        close(conn);
        conn = -1;
        return;
    }
    if (n < (ssize_t)sizeof(struct fr_monitor_header)) {
        close_fds(fds, nfds);
        return;
    }
    struct fr_monitor_header h;
    memcpy(&h, buf, sizeof h);
    unsigned char *payload = buf + sizeof h;
    size_t len = (size_t)n - sizeof h;
    switch (h.type) {
    case FR_MON_SPAWN:
        spawn(h.slot, payload, len, fds, nfds);
        return;
    case FR_MON_HELLO:
        hello();
        break;
    case FR_MON_FINISH:
        finishing = 1;
        break;
    case FR_MON_KEEP:
        keep(h.slot, fds, nfds);
        return;
    }
    close_fds(fds, nfds);
}

static void accept_host(void) {
    int fd = accept4(LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    // One host at a time: a new connection means the old host is gone or replaced.
    if (conn >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn, NULL);
        close(conn);
    }
    conn = fd;
    add_fd(conn, TOKEN_CONN);
}

static int anything_left(void) {
    for (int i = 0; i < MAX_CHILDREN; i++) {
        struct child *c = &children[i];
        if (c->used && (c->running || c->out.fd >= 0 || c->err.fd >= 0)) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        static const char usage[] = "usage: fargate-monitor TASK-DIRECTORY (fd 3: its listening socket)\n";
        write_all(2, usage, sizeof usage - 1);
        return 2;
    }
    // Not the host's child: its parent leaves at once, so a host never has to reap a monitor
    // (nor keep a zombie of one), and the monitor's parent is init whoever started it.
    pid_t daemon = fork();
    if (daemon < 0) return 1;
    if (daemon > 0) return 0;
    // The containers' subreaper: their orphans come to us, never to the host.
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_NAME, "fargate-monitor", 0, 0, 0);
    // Nothing on a terminal reaches us; SIGPIPE from a host gone mid-message is not fatal.
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (chdir(argv[1]) != 0) return 1;
    exits_fd = open("monitor.exits", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || epfd < 0 || add_fd(LISTEN_FD, TOKEN_LISTEN) != 0 || add_fd(sfd, TOKEN_SIGNAL) != 0) return 1;
    for (;;) {
        if (finishing && !anything_left()) break;
        struct epoll_event evs[32];
        int n = epoll_wait(epfd, evs, 32, -1);
        if (n < 0 && errno != EINTR) return 1;
        for (int i = 0; i < n; i++) {
            uint64_t t = evs[i].data.u64;
            if (t == TOKEN_LISTEN) {
                accept_host();
            } else if (t == TOKEN_CONN) {
                if (conn >= 0) handle_message();
            } else if (t == TOKEN_SIGNAL) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == sizeof si) {}
                reap();
            } else if (t >= TOKEN_PIPE) {
                struct child *c = &children[(t - TOKEN_PIPE) / 2];
                struct stream *s = ((t - TOKEN_PIPE) % 2) ? &c->err : &c->out;
                if (s->fd >= 0) read_stream(c, s);
            }
        }
    }
    // Finished: the socket's name goes first, so no host connects to a monitor that is leaving.
    unlink("monitor.sock");
    send_msg(FR_MON_FINISHED, 0, 0, NULL, 0, NULL, 0);
    return 0;
}
