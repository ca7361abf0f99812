// fargate-init: the init of containers with initProcessEnabled, and the holder of a task's
// shared pid namespace (pidMode "task"). Freestanding: no libc, raw system calls, a few KB,
// so it runs in any image (even one without /proc or a libc) and costs nothing to copy into
// the sealed memfd it is executed from (no host file backs /proc/1/exe: CVE-2019-5736).
//
//   fargate-init -- COMMAND [ARG...]   run COMMAND (PATH search in the container's PATH) as a
//                                      child, forward every signal to it, reap every zombie,
//                                      exit with its status (128 + signal when killed)
//   fargate-init --pause               sleep as pid 1 of a shared pid namespace, reaping
//                                      orphans, until SIGTERM or SIGINT
//
// Built by Sources/FargateInit/embed.sh and embedded into fargate-run.

typedef unsigned long size_t;
typedef long ssize_t;

#if defined(__x86_64__)
enum { NR_write = 1, NR_rt_sigprocmask = 14, NR_getpid = 39, NR_clone = 56, NR_execve = 59, NR_exit = 60,
       NR_wait4 = 61, NR_kill = 62, NR_setpgid = 109, NR_rt_sigtimedwait = 128, NR_prctl = 157 };
static long sys(long n, long a, long b, long c, long d, long e) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return ret;
}
__asm__(".text\n.global _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n call fr_main\n hlt\n");
#elif defined(__aarch64__)
enum { NR_write = 64, NR_rt_sigprocmask = 135, NR_getpid = 172, NR_clone = 220, NR_execve = 221, NR_exit = 93,
       NR_wait4 = 260, NR_kill = 129, NR_setpgid = 154, NR_rt_sigtimedwait = 137, NR_prctl = 167 };
static long sys(long n, long a, long b, long c, long d, long e) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
__asm__(".text\n.global _start\n_start:\n mov x0, sp\n bl fr_main\n brk #0\n");
#else
#error "fargate-init supports x86_64 and aarch64"
#endif

#define SIGINT 2
#define SIGKILL 9
#define SIGTERM 15
#define SIGCHLD 17
#define SIGSTOP 19
#define WNOHANG 1
#define ENOENT 2
#define EACCES 13
#define PR_SET_CHILD_SUBREAPER 36

static size_t len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void say(const char *a, const char *b, const char *c) {
    sys(NR_write, 2, (long)a, (long)len(a), 0, 0);
    if (b) sys(NR_write, 2, (long)b, (long)len(b), 0, 0);
    if (c) sys(NR_write, 2, (long)c, (long)len(c), 0, 0);
    sys(NR_write, 2, (long)"\n", 1, 0, 0);
}

static __attribute__((noreturn)) void leave(int code) {
    for (;;) sys(NR_exit, code, 0, 0, 0, 0);
}

static int same(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

static void block_all(unsigned long *old) {
    unsigned long all = ~0UL;
    sys(NR_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&all, (long)old, 8, 0);
}

static int wait_signal(void) {
    unsigned long all = ~0UL;
    long s = sys(NR_rt_sigtimedwait, (long)&all, 0, 0, 8, 0);
    return (int)s;
}

static __attribute__((noreturn)) void pause_forever(void) {
    block_all(0);
    for (;;) {
        int sig = wait_signal();
        if (sig == SIGTERM || sig == SIGINT) leave(0);
        if (sig == SIGCHLD) {
            int st;
            while (sys(NR_wait4, -1, (long)&st, WNOHANG, 0, 0) > 0) {}
        }
    }
}

/// execve with a PATH search in the container's environment.
static __attribute__((noreturn)) void run(char **argv, char **envp) {
    const char *file = argv[0];
    for (const char *c = file; *c; c++) {
        if (*c == '/') {
            long e = sys(NR_execve, (long)file, (long)argv, (long)envp, 0, 0);
            say("fargate-init: exec ", file, e == -ENOENT ? ": not found" : ": cannot execute");
            leave(e == -ENOENT ? 127 : 126);
        }
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = envp; *e; e++) {
        const char *v = *e;
        if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
    }
    char buf[4096];
    int denied = 0;
    const char *p = path;
    size_t fl = len(file);
    for (;;) {
        const char *end = p;
        while (*end && *end != ':') end++;
        size_t dl = (size_t)(end - p);
        if (dl + fl + 2 < sizeof buf) {
            size_t i = 0;
            if (dl == 0) buf[i++] = '.';
            for (size_t k = 0; k < dl; k++) buf[i++] = p[k];
            buf[i++] = '/';
            for (size_t k = 0; k <= fl; k++) buf[i++] = file[k];
            long e = sys(NR_execve, (long)buf, (long)argv, (long)envp, 0, 0);
            if (e == -EACCES) denied = 1;
        }
        if (!*end) break;
        p = end + 1;
    }
    say("fargate-init: exec ", file, denied ? ": permission denied" : ": not found in PATH");
    leave(denied ? 126 : 127);
}

__attribute__((used)) void fr_main(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    if (argc >= 2 && same(argv[1], "--pause")) pause_forever();
    int first = (argc >= 2 && same(argv[1], "--")) ? 2 : 1;
    if (first >= argc) {
        say("fargate-init: usage: fargate-init -- COMMAND [ARG...] | --pause", 0, 0);
        leave(125);
    }
    // Orphans are reparented to us even when we are not pid 1 (a shared pid namespace).
    sys(NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    unsigned long old = 0;
    block_all(&old);
    long child = sys(NR_clone, SIGCHLD, 0, 0, 0, 0);
    if (child < 0) {
        say("fargate-init: fork failed", 0, 0);
        leave(125);
    }
    if (child == 0) {
        sys(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&old, 0, 8, 0);
        sys(NR_setpgid, 0, 0, 0, 0, 0);
        run(argv + first, envp);
    }
    for (;;) {
        int sig = wait_signal();
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            // The stop signal from fargate-run, and anything else, goes to the command.
            sys(NR_kill, child, sig, 0, 0, 0);
            continue;
        }
        int st = 0;
        long p;
        while ((p = sys(NR_wait4, -1, (long)&st, WNOHANG, 0, 0)) > 0) {
            if (p == child) {
                if ((st & 0x7f) == 0) leave((st >> 8) & 0xff);
                leave(128 + (st & 0x7f));
            }
        }
    }
}
