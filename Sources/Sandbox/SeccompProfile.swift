#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import CShim
import LinuxSupport
import Synchronization

/// The default seccomp profile: Docker's (moby profiles/seccomp/default.json) allow-list,
/// made stricter where ECS-REFERENCE.md asks: io_uring is never allowed, and socket() refuses
/// AF_ALG as well as AF_VSOCK. Everything not allowed answers EPERM, except syscalls newer than
/// this profile, which answer ENOSYS so that libc falls back to older ones (as runc does).
///
/// The filter is compiled with libseccomp in the parent and handed to the container init as
/// raw BPF; the init only loads it.
public enum SeccompProfile {
    /// Allowed for every container.
    static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
        "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
        "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
        "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
        "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
        "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
        "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget",
        "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
        "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
        "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
        "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
        "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
        "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
        "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
        "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
        "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
        // Docker allows these on kernels >= 4.8, where ptrace can no longer bypass seccomp.
        "process_vm_readv", "process_vm_writev", "ptrace",
    ]

    /// x86-only and arm-only extras.
    static let allowedX86 = ["arch_prctl", "modify_ldt"]
    static let allowedARM = ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"]

    /// Allowed only with the named capability.
    static let byCapability: [(Capability, [String])] = [
        (.sysAdmin, ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
                     "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
                     "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
        (.dacReadSearch, ["open_by_handle_at"]),
        (.sysBoot, ["reboot"]),
        (.sysChroot, ["chroot"]),
        (.sysModule, ["delete_module", "init_module", "finit_module"]),
        (.sysPacct, ["acct"]),
        (.sysPtrace, ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        (.sysRawio, ["iopl", "ioperm"]),
        (.sysTime, ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        (.sysTtyConfig, ["vhangup"]),
        (.sysNice, ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        (.syslog, ["syslog"]),
        (.bpf, ["bpf"]),
        (.perfmon, ["perf_event_open"]),
    ]

    /// Named here so that they count as known to this profile (they answer EPERM, not ENOSYS).
    static let knownDenied = ["io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key",
                              "pivot_root", "kexec_load", "kexec_file_load", "swapon", "swapoff", "userfaultfd", "uselib",
                              "ustat", "sysfs", "_sysctl", "nfsservctl", "vm86", "vm86old", "move_pages", "cachestat"]

    /// Namespace flags clone() may not use without CAP_SYS_ADMIN.
    static let cloneNamespaceFlags: UInt64 = 0x7E02_0000

    static let actAllow: UInt32 = 0x7fff_0000
    static func actErrno(_ e: Int32) -> UInt32 { 0x0005_0000 | (UInt32(e) & 0xffff) }

    #if arch(x86_64)
    static let nativeArch: UInt32 = 0xC000_003E      // AUDIT_ARCH_X86_64
    static let extraArches: [UInt32] = [0x4000_0003, 0x4000_003E]  // x86, x32
    static let x32Bit: UInt32 = 0x4000_0000
    #elseif arch(arm64)
    static let nativeArch: UInt32 = 0xC000_00B7      // AUDIT_ARCH_AARCH64
    static let extraArches: [UInt32] = [0x4000_0028]  // arm
    static let x32Bit: UInt32 = 0
    #endif

    private static let cache = Mutex<[UInt64: [UInt64]]>([:])

    /// The BPF program (one UInt64 per `struct sock_filter`) for a container with `capabilities`.
    ///
    /// Compiling takes libseccomp ~10 ms, a fifth of a task's start, so programs are also kept
    /// in `cacheDirectory` (the state root's), named after everything they depend on: this
    /// profile's rules, the capabilities, the architecture and libseccomp's version.
    public static func program(for capabilities: Set<Capability>, cacheDirectory: String? = nil) throws -> [UInt64] {
        let key = Capability.mask(capabilities)
        if let p = cache.withLock({ $0[key] }) { return p }
        let file = cacheDirectory.map { $0 + "/seccomp-\(fingerprint)-\(String(key, radix: 16)).bpf" }
        if let file, let p = readCached(file) {
            cache.withLock { $0[key] = p }
            return p
        }
        let p = try compile(capabilities)
        cache.withLock { $0[key] = p }
        if let file, let dir = cacheDirectory {
            try? FileSystem.makeDirectories(dir, mode: 0o700)
            let bytes = p.withUnsafeBytes { Array($0) }
            try? FileSystem.writeAtomically(file, bytes, mode: 0o600, durable: false)
            pruneCache(dir)
        }
        return p
    }

    /// Removes programs of other fingerprints from `directory`: an upgrade or another
    /// libseccomp leaves them behind, and nothing would read them again. Done when a program
    /// is written, which is rare (once per fingerprint and capability set). A process of
    /// another build that still uses one it removed compiles it once more.
    static func pruneCache(_ directory: String) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let current = "seccomp-\(fingerprint)-"
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasPrefix("seccomp-"), name.hasSuffix(".bpf"), !name.hasPrefix(current) else { continue }
            unlinkat(dirfd(dir), name, 0)
        }
    }

    /// Changes whenever the compiled program could: the rules above, the architecture, and
    /// the libseccomp library doing the compiling.
    static let fingerprint: String = {
        var text = (allowed + ["|"] + allowedX86 + ["|"] + allowedARM + ["|"] + knownDenied).joined(separator: ",")
        for (cap, names) in byCapability { text += "|\(cap.rawValue):" + names.joined(separator: ",") }
        text += "|\(nativeArch)|\(extraArches)|clone:\(cloneNamespaceFlags)|socket:38,40|personality|prologue-v1|tree"
        if let v = seccomp_version() { text += "|libseccomp \(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)" }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(h, radix: 16)
    }()

    static func readCached(_ file: String) -> [UInt64]? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size % 8 == 0, st.st_size < 1 << 20, st.st_uid == 0 else { return nil }
        var p = [UInt64](repeating: 0, count: Int(st.st_size) / 8)
        let n = p.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == Int(st.st_size) ? p : nil
    }

    /// How libseccomp lays out the checks of the syscall number.
    enum Layout: UInt32 {
        /// One comparison after another, in libseccomp's order (its default).
        case linear = 1
        /// A binary search over the numbers (libseccomp 2.5's optimize level 2).
        case binaryTree = 2
    }

    /// The binary tree because the kernel, when it loads a filter, runs it for every syscall
    /// number of every architecture to cache those always allowed: over the linear list of
    /// Docker's ~330 syscalls for three architectures (984 instructions) a load took 1.3 ms
    /// of the container's start; over the tree (1,224 instructions, each syscall decided in a
    /// few dozen) 0.25 ms. The syscalls a container makes are decided faster too.
    static func compile(_ caps: Set<Capability>, layout: Layout = .binaryTree) throws -> [UInt64] {
        guard let ctx = seccomp_init(actErrno(EPERM)) else { throw SandboxError.invalidSpec("seccomp_init failed") }
        defer { seccomp_release(ctx) }
        // We set no_new_privs ourselves, right before loading.
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
        // A libseccomp older than the headers it was built with (before 2.5) refuses the tree
        // and keeps its list: the same filter, slower to load, rather than no container start.
        _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, layout.rawValue)
        for arch in extraArches {
            let r = seccomp_arch_add(ctx, arch)
            if r != 0 && r != -EEXIST { throw SandboxError.invalidSpec("seccomp_arch_add \(arch): \(r)") }
        }
        var names = allowed
        #if arch(x86_64)
        names += allowedX86
        #else
        names += allowedARM
        #endif
        for (cap, list) in byCapability where caps.contains(cap) { names += list }
        var maxKnown: Int32 = 0
        func number(_ name: String) -> Int32? {
            let nr = seccomp_syscall_resolve_name(name)
            return nr == __NR_SCMP_ERROR ? nil : nr
        }
        for name in Set(names) {
            guard let nr = number(name) else { continue }
            if nr >= 0 { maxKnown = max(maxKnown, nr) }
            let r = seccomp_rule_add_array(ctx, actAllow, nr, 0, nil)
            if r != 0 { throw SandboxError.invalidSpec("seccomp rule for \(name): \(r)") }
        }
        for name in knownDenied + byCapability.flatMap(\.1) + ["clone", "clone3", "socket", "personality"] {
            if let nr = number(name), nr >= 0 { maxKnown = max(maxKnown, nr) }
        }
        func rule(_ name: String, _ action: UInt32, _ cmps: [scmp_arg_cmp]) throws {
            guard let nr = number(name) else { return }
            var c = cmps
            let r = seccomp_rule_add_array(ctx, action, nr, UInt32(c.count), &c)
            if r != 0 && r != -EEXIST { throw SandboxError.invalidSpec("seccomp rule for \(name): \(r)") }
        }
        func cmp(_ arg: UInt32, _ op: scmp_compare, _ a: UInt64, _ b: UInt64 = 0) -> scmp_arg_cmp {
            scmp_arg_cmp(arg: arg, op: op, datum_a: a, datum_b: b)
        }
        if !caps.contains(.sysAdmin) {
            // clone without namespace flags; clone3 cannot be filtered on flags: ENOSYS makes
            // libc fall back to clone.
            try rule("clone", actAllow, [cmp(0, SCMP_CMP_MASKED_EQ, cloneNamespaceFlags, 0)])
            try rule("clone3", actErrno(ENOSYS), [])
        }
        // socket(): every family but AF_ALG (38) and AF_VSOCK (40); AF_NFC (39) sits between.
        try rule("socket", actAllow, [cmp(0, SCMP_CMP_LT, 38)])
        try rule("socket", actAllow, [cmp(0, SCMP_CMP_EQ, 39)])
        try rule("socket", actAllow, [cmp(0, SCMP_CMP_GT, 40)])
        // personality(): only the values Docker allows (PER_LINUX, UNAME26, PER_LINUX32, query).
        for v: UInt64 in [0, 8, 0x20000, 0x20008, 0xffff_ffff] { try rule("personality", actAllow, [cmp(0, SCMP_CMP_EQ, v)]) }

        let fd = fr_memfd("seccomp-bpf", 0)
        guard fd >= 0 else { throw SandboxError.system(SystemError("memfd_create")) }
        defer { close(fd) }
        let r = seccomp_export_bpf(ctx, fd)
        guard r == 0 else { throw SandboxError.invalidSpec("seccomp_export_bpf: \(r)") }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, size % 8 == 0 else { throw SandboxError.invalidSpec("seccomp program of \(size) bytes") }
        var program = [UInt64](repeating: 0, count: Int(size) / 8)
        let n = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == Int(size) else { throw SandboxError.system(SystemError("pread seccomp program")) }
        return prologue(maxKnown: UInt32(maxKnown)) + program
    }

    /// BPF instructions run before libseccomp's: on the native architecture, a syscall number
    /// above every syscall this profile knows answers ENOSYS. Prepending is safe because BPF
    /// jumps are relative.
    static func prologue(maxKnown: UInt32) -> [UInt64] {
        func stmt(_ code: UInt16, _ k: UInt32) -> UInt64 { UInt64(code) | (UInt64(k) << 32) }
        func jump(_ code: UInt16, _ k: UInt32, _ jt: UInt8, _ jf: UInt8) -> UInt64 {
            UInt64(code) | (UInt64(jt) << 16) | (UInt64(jf) << 24) | (UInt64(k) << 32)
        }
        let ldW: UInt16 = 0x20        // BPF_LD | BPF_W | BPF_ABS
        let jeq: UInt16 = 0x15        // BPF_JMP | BPF_JEQ | BPF_K
        let jgt: UInt16 = 0x25        // BPF_JMP | BPF_JGT | BPF_K
        let jset: UInt16 = 0x45       // BPF_JMP | BPF_JSET | BPF_K
        let ret: UInt16 = 0x06        // BPF_RET | BPF_K
        // seccomp_data: nr at offset 0, arch at offset 4.
        var p: [UInt64] = []
        p.append(stmt(ldW, 4))                          // 0: A = arch
        p.append(jump(jeq, nativeArch, 0, 4))            // 1: native? else skip to libseccomp (5 = 1+1+3... see below)
        p.append(stmt(ldW, 0))                          // 2: A = nr
        p.append(jump(jset, x32Bit == 0 ? 0 : x32Bit, 2, 0))  // 3: x32 syscall? leave it to libseccomp
        p.append(jump(jgt, maxKnown, 0, 1))              // 4: newer than the profile? -> 5, else -> 6
        p.append(stmt(ret, actErrno(ENOSYS)))           // 5: ENOSYS
        // 6: libseccomp's program starts here (it reloads what it needs).
        // Fix the arch jump: from 1, "false" must reach 6: jf = 4.
        return p
    }
}
