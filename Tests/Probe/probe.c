// fargate-probe: runs inside test containers and tries what a hostile workload would. Each
// attempt prints one line "NAME RESULT", RESULT being "ok" or the errno name, so the tests can
// assert exactly which refusal happened. Statically linked: the busybox image has no libc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

static const char *errname(int e) {
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EROFS: return "EROFS";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ETXTBSY: return "ETXTBSY";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTDIR: return "ENOTDIR";
    case EAGAIN: return "EAGAIN";
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case ELOOP: return "ELOOP";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

/// Prints NAME and "ok" or the errno name; a file descriptor result is closed.
static void report(const char *name, long rc) {
    printf("%s %s\n", name, rc >= 0 ? "ok" : errname(errno));
    fflush(stdout);
}

static void report_fd(const char *name, int fd) {
    report(name, fd);
    if (fd >= 0) close(fd);
}

static void syscalls(void) {
    errno = 0;
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    report("umount", umount2("/proc", MNT_DETACH));
    report("unshare", unshare(CLONE_NEWNS));
    int nsfd = open("/proc/self/ns/net", O_RDONLY);
    report("setns", setns(nsfd, 0));
    close(nsfd);
    report("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
    report("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, -1));
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.size = sizeof pe;
    report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
    char params[120];
    memset(params, 0, sizeof params);
    report("io_uring_setup", syscall(SYS_io_uring_setup, 1, params));
    report("userfaultfd", syscall(SYS_userfaultfd, 0));
    char handle[128];
    memset(handle, 0, sizeof handle);
    ((unsigned int *)handle)[0] = 8;
    report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, handle, 0));
    report("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"));
    report("sethostname", sethostname("pwned", 5));
    report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
    report("socket_alg", socket(AF_ALG, SOCK_SEQPACKET, 0));
    int inet = socket(AF_INET, SOCK_STREAM, 0);
    report("socket_inet", inet);
    close(inet);
    report("clone3", syscall(SYS_clone3, NULL, 0));
    report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
    report("swapon", syscall(SYS_swapon, "/tmp/x", 0));
    // A syscall number no profile knows yet: must be ENOSYS, not EPERM.
    report("syscall_999", syscall(999));
    report("clone_newns", syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0) == 0 ? (_exit(0), 0) : -1);
}

static void files(void) {
    report_fd("write_sysrq", open("/proc/sysrq-trigger", O_WRONLY));
    // Masked: /dev/null is bound over it, so it opens and reads as empty.
    int fd = open("/proc/kcore", O_RDONLY);
    char b[16];
    if (fd < 0) report("read_kcore", -1);
    else { ssize_t n = read(fd, b, sizeof b); printf("read_kcore %s\n", n > 0 ? "ok" : n == 0 ? "empty" : errname(errno)); close(fd); }
    report_fd("write_sys", open("/sys/kernel/mm/transparent_hugepage/enabled", O_WRONLY));
    // The container's own cgroup limits (v1 memory, v2 unified).
    int cg = open("/sys/fs/cgroup/memory/memory.limit_in_bytes", O_WRONLY);
    if (cg < 0 && errno == ENOENT) cg = open("/sys/fs/cgroup/memory.max", O_WRONLY);
    report_fd("write_cgroup_limit", cg);
    unlink("/tmp/blockdev");
    long mk = mknod("/tmp/blockdev", S_IFBLK | 0600, makedev(7, 0));  // loop0
    report("mknod_block", mk);
    report_fd("open_block", mk == 0 ? open("/tmp/blockdev", O_RDONLY) : -1);
}

/// CVE-2024-21626: no fd of the runtime may be open in the container.
static void fds(void) {
    int leaked = 0;
    for (int n = 3; n <= 20; n++) {
        char path[64], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%d", n);
        ssize_t l = readlink(path, target, sizeof target - 1);
        if (l >= 0) {
            target[l] = 0;
            printf("fd_%d open %s\n", n, target);
            leaked++;
        }
        if (chdir(path) == 0) {
            printf("chdir_fd_%d ok\n", n);
            leaked++;
            chdir("/");
        }
    }
    printf("leaked_fds %d\n", leaked);
}

/// CVE-2019-5736: the binary behind our pid 1 must not be writable.
static void exe(void) {
    report_fd("write_proc_1_exe", open("/proc/1/exe", O_WRONLY));
    report_fd("write_proc_self_exe", open("/proc/self/exe", O_WRONLY));
}

static void hog(long mb) {
    for (long i = 0; i < mb; i++) {
        char *p = malloc(1 << 20);
        if (!p) { printf("hog malloc failed at %ld MiB\n", i); fflush(stdout); pause(); }
        memset(p, 1, 1 << 20);
    }
    printf("hog allocated %ld MiB\n", mb);
    fflush(stdout);
}

/// Forks children that wait, until fork fails or `max` are made; reports how many.
static void forks(long max) {
    long n = 0;
    int err = 0;
    for (; n < max; n++) {
        pid_t p = fork();
        if (p < 0) { err = errno; break; }
        if (p == 0) { pause(); _exit(0); }
    }
    printf("forked %ld %s\n", n, errname(err));
    char buf[32] = {0};
    int fd = open("/sys/fs/cgroup/pids/pids.current", O_RDONLY);
    if (fd < 0) fd = open("/sys/fs/cgroup/pids.current", O_RDONLY);
    if (fd >= 0) { if (read(fd, buf, sizeof buf - 1) > 0) printf("pids.current %s", buf); close(fd); }
    fflush(stdout);
}

/// Sends one UDP datagram to `dst`:`port` with the IPv4 source `src` written by hand (a raw
/// socket with IP_HDRINCL, which CAP_NET_RAW allows; 0.0.0.0 lets the kernel fill in our own).
/// Prints "udp-from ok" or the errno name. The kernel computes the IP checksum; UDP's may be 0.
static void udp_from(const char *src, const char *dst, int port) {
    unsigned char packet[20 + 8 + 5] = {0};
    struct in_addr s, d;
    if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, dst, &d) != 1) { printf("udp-from EINVAL\n"); return; }
    packet[0] = 0x45;                       // IPv4, 5-word header
    packet[2] = 0; packet[3] = sizeof packet;
    packet[8] = 64;                         // TTL
    packet[9] = IPPROTO_UDP;
    memcpy(packet + 12, &s, 4);
    memcpy(packet + 16, &d, 4);
    packet[20] = 0x9c; packet[21] = 0x40;   // source port 40000
    packet[22] = (unsigned char)(port >> 8); packet[23] = (unsigned char)port;
    packet[24] = 0; packet[25] = 8 + 5;
    memcpy(packet + 28, "probe", 5);
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = d };
    int err = fd < 0 || sendto(fd, packet, sizeof packet, 0, (struct sockaddr *)&to, sizeof to) < 0 ? errno : 0;
    printf("udp-from %s\n", errname(err));
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: probe syscalls|files|fds|exe|hog MB|forks MAX|udp-from SRC DST PORT|all\n");
        return 2;
    }
    const char *what = argv[1];
    if (!strcmp(what, "fds") || !strcmp(what, "all")) fds();
    if (!strcmp(what, "syscalls") || !strcmp(what, "all")) syscalls();
    if (!strcmp(what, "files") || !strcmp(what, "all")) files();
    if (!strcmp(what, "exe") || !strcmp(what, "all")) exe();
    if (!strcmp(what, "hog")) hog(argc > 2 ? atol(argv[2]) : 1024);
    if (!strcmp(what, "forks")) forks(argc > 2 ? atol(argv[2]) : 100000);
    if (!strcmp(what, "udp-from") && argc > 4) udp_from(argv[2], argv[3], atoi(argv[4]));
    return 0;
}
