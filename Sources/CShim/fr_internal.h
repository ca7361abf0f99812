// Private to the C shim: system headers, constants glibc 2.36's headers lack, and small
// helpers that allocate nothing (the container init may only make async-signal-safe calls).
#ifndef FR_INTERNAL_H
#define FR_INTERNAL_H
#include "fr_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>  // ST_* flag values; fstatvfs itself may read /proc/mounts
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

_Static_assert(FR_CLONE_NEWPID == CLONE_NEWPID && FR_CLONE_NEWNET == CLONE_NEWNET && FR_CLONE_NEWNS == CLONE_NEWNS &&
               FR_CLONE_NEWIPC == CLONE_NEWIPC && FR_CLONE_NEWUTS == CLONE_NEWUTS && FR_CLONE_NEWCGROUP == CLONE_NEWCGROUP,
               "namespace flag values");
_Static_assert(FR_O_PATH == O_PATH && FR_AT_EMPTY_PATH == AT_EMPTY_PATH && FR_RESOLVE_IN_ROOT == RESOLVE_IN_ROOT &&
               FR_RESOLVE_NO_MAGICLINKS == RESOLVE_NO_MAGICLINKS && FR_RESOLVE_NO_SYMLINKS == RESOLVE_NO_SYMLINKS &&
               FR_RESOLVE_BENEATH == RESOLVE_BENEATH && FR_RESOLVE_NO_XDEV == RESOLVE_NO_XDEV,
               "open flag values");

#define FR_PATH_MAX 4096
#define FR_STACK_SIZE (512 * 1024)
#define FR_HOSTNAME_MAX 64  /* HOST_NAME_MAX */
#define FR_CLONE_INTO_CGROUP 0x200000000ULL

/// struct clone_args of <linux/sched.h> (v2, Linux 5.7), which cannot be included with <sched.h>.
struct fr_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

// ---------------------------------------------------------------------------------------------
// Small helpers that allocate nothing.

static inline size_t fr_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/// Copies src into dst (size n), always NUL-terminated. Returns 0, or -1 when truncated.
static inline int fr_copy(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) dst[i] = src[i];
    dst[i] = 0;
    return src[i] ? -1 : 0;
}

static inline int fr_append(char *dst, size_t n, const char *src) {
    size_t l = fr_strlen(dst);
    if (l >= n) return -1;
    return fr_copy(dst + l, n - l, src);
}

static inline void fr_itoa(int v, char *buf, size_t n) {
    char tmp[16];
    int i = 0;
    unsigned int u = v < 0 ? (unsigned int)-v : (unsigned int)v;
    do { tmp[i++] = (char)('0' + u % 10); u /= 10; } while (u && i < 15);
    size_t j = 0;
    if (v < 0 && j + 1 < n) buf[j++] = '-';
    while (i > 0 && j + 1 < n) buf[j++] = tmp[--i];
    buf[j] = 0;
}

/// "/proc/self/fd/N": how a mount is aimed at an fd resolved safely beforehand.
static inline void fr_fd_path(int fd, char *buf, size_t n) {
    char num[16];
    fr_itoa(fd, num, sizeof num);
    fr_copy(buf, n, "/proc/self/fd/");
    fr_append(buf, n, num);
}

#endif
