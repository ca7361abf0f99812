// Kernel feature probes for `fargate-run info`: each tries a call the runtime relies on in a
// way that changes nothing, and reports whether the kernel knows it (fr_shim.h).
#define _GNU_SOURCE
#include "fr_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fr_probe_result(long rc) {
    if (rc >= 0) return 1;
    return errno == ENOSYS ? 0 : -1;
}

int fr_probe_openat2(void) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
    if (fd >= 0) close((int)fd);
    return fr_probe_result(fd);
}

int fr_probe_pidfd(void) {
    long fd = syscall(SYS_pidfd_open, getpid(), 0);
    if (fd >= 0) close((int)fd);
    return fr_probe_result(fd);
}

int fr_probe_clone3(void) {
    // No arguments at all: a kernel with clone3 refuses the size (EINVAL) before it creates
    // anything; one without answers ENOSYS.
    long rc = syscall(SYS_clone3, NULL, 0);
    if (rc < 0 && errno == EINVAL) return 1;
    return fr_probe_result(rc);
}
