#define _GNU_SOURCE
#include "fr_internal.h"

// ---------------------------------------------------------------------------------------------
// Releasing a file in another process.

struct fr_hand_off_arg {
    int fd;
    int gate;
};

// Static, not the caller's stack or heap: the child may outlive the caller's process, and the
// memory they share stays mapped only as long as neither unmaps it.
static struct fr_hand_off_arg fr_hand_off_args;
static int fr_hand_off_used;
static char fr_hand_off_stack[16 * 1024] __attribute__((aligned(16)));

static int fr_hand_off_child(void *arg) {
    const struct fr_hand_off_arg *a = (const struct fr_hand_off_arg *)arg;
    int low = a->fd < a->gate ? a->fd : a->gate, high = a->fd < a->gate ? a->gate : a->fd;
    // Everything else of the caller's goes at once (its output pipes, its locks), and so does
    // its working directory: nothing may wait on this child but the one file.
    if (low > 0) syscall(SYS_close_range, 0U, (unsigned)low - 1, 0U);
    if (high > low + 1) syscall(SYS_close_range, (unsigned)low + 1, (unsigned)high - 1, 0U);
    syscall(SYS_close_range, (unsigned)high + 1, ~0U, 0U);
    (void)chdir("/");
    // End of file: the caller has dropped its own reference to `fd`, so ours is the last.
    char byte;
    while (read(a->gate, &byte, 1) > 0) {}
    close(a->fd);
    _exit(0);
}

pid_t fr_hand_off(int fd, int *gate_out) {
    if (fr_hand_off_used) { errno = EBUSY; return -1; }
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) return -1;
    fr_hand_off_used = 1;
    fr_hand_off_args.fd = fd;
    fr_hand_off_args.gate = gate[0];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // No exit signal: nobody here waits for it. Once the caller has exited, the child's new
    // parent (init or a subreaper) reaps it.
    pid_t pid = clone(fr_hand_off_child, fr_hand_off_stack + sizeof fr_hand_off_stack, CLONE_VM, &fr_hand_off_args);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(gate[0]);
    if (pid < 0) {
        close(gate[1]);
        fr_hand_off_used = 0;
        errno = saved;
        return -1;
    }
    close(fd);
    *gate_out = gate[1];
    return pid;
}
