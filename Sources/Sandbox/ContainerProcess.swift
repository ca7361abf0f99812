#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
import Synchronization

/// How a process ended.
public struct TerminationStatus: Sendable, Equatable, Codable {
    /// True for a normal exit, false when killed by a signal.
    public var exited: Bool
    /// The exit code, or the signal number.
    public var value: Int32

    public init(exited: Bool, value: Int32) {
        self.exited = exited
        self.value = value
    }

    /// The shell's convention: the exit code, or 128 + signal.
    public var code: Int32 { exited ? value : 128 + value }
}

/// A started container init process (pid 1 of its pid namespace, unless it shares one).
///
/// Waiting and signalling go through a pidfd, so a recycled pid can never be hit.
public final class ContainerProcess: Sendable {
    /// The host pid.
    public let pid: pid_t
    let pidfd: Int32
    private let state = Mutex<(status: TerminationStatus?, waiters: [CheckedContinuation<TerminationStatus, Never>])>((nil, []))

    /// Whether it was created in its cgroup (cgroup v2, CLONE_INTO_CGROUP) rather than moved
    /// there before it ran the image's code (v1: it moves itself in first; a v2 kernel without
    /// CLONE_INTO_CGROUP: the parent moves it).
    public let createdInCgroup: Bool

    init(pid: pid_t, pidfd: Int32, createdInCgroup: Bool = false) {
        self.pid = pid
        self.pidfd = pidfd
        self.createdInCgroup = createdInCgroup
        // The pidfd turns readable when the process ends; the watcher's one thread reaps it
        // then (a process another one reaps, its monitor's child, is told its status).
        do {
            // Once: a pidfd stays readable after its process ended.
            let t = try FDWatcher.shared.watch(pidfd, events: UInt32(FR_EPOLLIN) | UInt32(truncatingIfNeeded: FR_EPOLLONESHOT)) { [weak self] _ in
                guard let self else { return }
                var exited: Int32 = 0, value: Int32 = 0
                switch fr_pidfd_try_wait(self.pidfd, &exited, &value) {
                case 1: self.resolve(TerminationStatus(exited: exited != 0, value: value))
                case 0: return
                default: break  // not our child: its reaper tells us (resolve)
                }
            }
            watch.withLock { $0 = t }
        } catch {
            // No watcher to hear it: a thread waits instead.
            let fd = pidfd
            Thread.detachNewThread { [self] in
                var exited: Int32 = 0, value: Int32 = 0
                resolve(fr_pidfd_wait(fd, &exited, &value) == 0 ? TerminationStatus(exited: exited != 0, value: value)
                                                                 : TerminationStatus(exited: false, value: SIGKILL))
            }
        }
    }

    /// A running process another one started (a container of a task this process did not
    /// start), to signal it or enter it; its exit is not ours to learn.
    public static func attach(pid: pid_t) throws -> ContainerProcess {
        let fd = fr_pidfd_open(pid)
        guard fd >= 0 else { throw SandboxError.system(SystemError("pidfd_open", path: "pid \(pid)")) }
        return ContainerProcess(pid: pid, pidfd: fd)
    }

    /// The watcher's registration of the pidfd.
    private let watch = Mutex<FDWatcher.Token?>(nil)

    /// Records how the process ended and wakes whoever waits; only the first call counts.
    /// Called by the watcher for our own children, and by whoever reaps the others.
    public func resolve(_ status: TerminationStatus) {
        let waiters = state.withLock { s -> [CheckedContinuation<TerminationStatus, Never>] in
            guard s.status == nil else { return [] }
            s.status = status
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: status) }
    }

    deinit {
        if let t = watch.withLock({ $0 }) { FDWatcher.shared.cancel(t) }
        close(pidfd)
    }

    /// The exit status once the process has ended.
    public var status: TerminationStatus? { state.withLock { $0.status } }

    /// Waits for the process to end and returns how.
    public func wait() async -> TerminationStatus {
        await withCheckedContinuation { c in
            let done = state.withLock { s -> TerminationStatus? in
                if let st = s.status { return st }
                s.waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    /// Sends a signal. Returns false when the process has already ended.
    @discardableResult
    public func signal(_ sig: Int32) -> Bool {
        fr_pidfd_send_signal(pidfd, sig) == 0
    }
}

/// Starts containers: clone() into new namespaces, join the cgroup, then the C init does the rest.
public enum ContainerLauncher {
    /// Starts `spec`. The process is in `cgroup` before it runs any of its own code.
    ///
    /// - Parameters:
    ///   - stdout: fd the container writes its stdout to (e.g. a pipe's write end).
    ///   - stderr: fd for stderr. stdin is /dev/null.
    /// - Throws: `SandboxError.spawn` naming the step that failed (e.g. "exec sh: No such file").
    public static func start(_ spec: ContainerSpec, cgroup: Cgroup?, stdout: Int32, stderr: Int32) throws -> ContainerProcess {
        try prepare(spec, cgroup: cgroup, stdout: stdout, stderr: stderr).start()
    }

    /// Clones `spec`'s process, moves it into `cgroup` and lets it make the container (cgroup
    /// namespace, root filesystem, mounts, pivot_root, masked paths), but not run: it waits
    /// for `PreparedContainer.start`, which leaves it the hostname, dropping its privileges and
    /// the exec. What takes time (the mounts, a migration where one is needed) can so overlap
    /// other work, such as attaching the task's network. The hostname may be decided
    /// at `start`; where it is final already (`spec.hostnameIsFinal`), the process drops its
    /// privileges before it waits, and the start leaves it only the exec. Should this process
    /// die first, the container dies unrun.
    public static func prepare(_ spec: ContainerSpec, cgroup: Cgroup?, stdout: Int32, stderr: Int32) throws -> PreparedContainer {
        try launch(spec, entering: nil, cgroup: cgroup, stdout: stdout, stderr: stderr)
    }

    /// Who clones a container for a task that must outlive this process: its monitor, as
    /// `slot`, writing its output to `logFile` and `eventsFile` (or -1).
    public struct Monitored {
        public var monitor: TaskMonitor
        public var slot: UInt32
        public var logFile: Int32
        public var eventsFile: Int32

        public init(monitor: TaskMonitor, slot: UInt32, logFile: Int32, eventsFile: Int32 = -1) {
            self.monitor = monitor
            self.slot = slot
            self.logFile = logFile
            self.eventsFile = eventsFile
        }
    }

    /// As `prepare`, with the process cloned by the task's monitor (so its child, not ours),
    /// its output written by the monitor.
    public static func prepare(_ spec: ContainerSpec, cgroup: Cgroup?, via monitored: Monitored) throws -> PreparedContainer {
        try launch(spec, entering: nil, cgroup: cgroup, stdout: -1, stderr: -1, via: monitored)
    }

    /// Starts `spec.arguments` inside the running `container` (its namespaces and root, as
    /// `docker exec` does) with `spec`'s user, working directory, environment, capabilities,
    /// limits and seccomp filter, in `cgroup`. `spec`'s root filesystem, mounts, namespaces and
    /// hostname are not used. The returned process exits with the command's status; killing
    /// it kills the command.
    /// - Parameter stdin: the command's stdin (nil: /dev/null).
    public static func exec(_ spec: ContainerSpec, in container: ContainerProcess, cgroup: Cgroup?, stdin: Int32? = nil,
                            stdout: Int32, stderr: Int32) throws -> ContainerProcess {
        var s = spec
        s.networkNamespace = nil
        s.pidNamespace = nil
        s.mounts = []
        return try launch(s, entering: container, cgroup: cgroup, stdin: stdin, stdout: stdout, stderr: stderr).start()
    }

    /// As `exec`, with a pseudoterminal made in the container's own devpts as the command's
    /// stdio and controlling terminal (`docker exec -t`): the process, and the terminal's
    /// controller end, for the caller to relay.
    public static func execOnTerminal(_ spec: ContainerSpec, in container: ContainerProcess, cgroup: Cgroup?) throws -> (ContainerProcess, Int32) {
        var s = spec
        s.networkNamespace = nil
        s.pidNamespace = nil
        s.mounts = []
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SandboxError.system(SystemError("socketpair"))
        }
        defer { close(pair[0]) }
        let process: ContainerProcess
        do {
            process = try launch(s, entering: container, cgroup: cgroup, stdout: -1, stderr: -1, console: pair[1]).start()
        } catch {
            close(pair[1])
            throw error
        }
        close(pair[1])
        var controller: Int32 = -1
        guard fr_recv_fd(pair[0], &controller) == 0 else {
            process.signal(SIGKILL)
            throw SandboxError.system(SystemError("receive the terminal from the container"))
        }
        return (process, controller)
    }

    static func launch(_ spec: ContainerSpec, entering: ContainerProcess?, cgroup: Cgroup?, stdin: Int32? = nil, stdout: Int32,
                       stderr: Int32, console: Int32 = -1, via monitored: Monitored? = nil) throws -> PreparedContainer {
        let arena = CArena()
        defer { arena.free() }

        var netnsFd: Int32 = -1, pidnsFd: Int32 = -1
        if let ns = spec.networkNamespace {
            netnsFd = open(ns, O_RDONLY | O_CLOEXEC)
            if netnsFd < 0 { throw SandboxError.system(SystemError("open network namespace", path: ns)) }
        }
        defer { if netnsFd >= 0 { close(netnsFd) } }
        if let ns = spec.pidNamespace {
            pidnsFd = open(ns, O_RDONLY | O_CLOEXEC)
            if pidnsFd < 0 { throw SandboxError.system(SystemError("open pid namespace", path: ns)) }
        }
        defer { if pidnsFd >= 0 { close(pidnsFd) } }
        let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devnull >= 0 else { throw SandboxError.system(SystemError("open", path: "/dev/null")) }
        defer { close(devnull) }

        var sync: [Int32] = [-1, -1], errp: [Int32] = [-1, -1]
        guard fr_pipe_cloexec(&sync) == 0 else { throw SandboxError.system(SystemError("pipe2")) }
        guard fr_pipe_cloexec(&errp) == 0 else {
            close(sync[0]); close(sync[1])
            throw SandboxError.system(SystemError("pipe2"))
        }
        var syncWrite = sync[1], errRead = errp[0]
        defer {
            if syncWrite >= 0 { close(syncWrite) }
            if errRead >= 0 { close(errRead) }
        }

        var c = fr_container_spec()
        c.clone_flags = Int32(FR_CLONE_NEWNS | FR_CLONE_NEWIPC | FR_CLONE_NEWUTS)
            | (spec.pidNamespace == nil ? Int32(FR_CLONE_NEWPID) : 0)
            | (spec.networkNamespace == nil ? Int32(FR_CLONE_NEWNET) : 0)
        c.unshare_cgroupns = 1
        c.netns_fd = netnsFd
        c.pidns_fd = pidnsFd
        c.exec_fd = spec.executable?.fd ?? -1
        c.enter_pidfd = entering?.pidfd ?? -1
        if entering != nil {
            // Joining, not creating: the C side takes every namespace from the pidfd.
            c.clone_flags = 0
            c.unshare_cgroupns = 0
        }
        c.stdin_fd = stdin ?? devnull
        c.console_fd = console
        c.stdout_fd = stdout >= 0 || monitored != nil ? stdout : devnull
        c.stderr_fd = stderr >= 0 || monitored != nil ? stderr : devnull
        c.sync_fd = sync[0]
        c.err_fd = errp[1]
        switch spec.rootfs {
        case .overlay(let lower, let upper, let work, let target):
            // volatile: an overlay syncs its upper filesystem when it is unmounted, which is at
            // the container's exit, and that waits for every dirty page of that filesystem (a
            // /bin/true task took 8-360 ms to exit here while another process wrote a file).
            let data = "lowerdir=\(lower.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
                + (HostCapabilities.overlayVolatile ? ",volatile" : "")
            // The kernel takes mount options in one page.
            guard data.utf8.count < 4000 else {
                throw SandboxError.invalidSpec("overlay options for \(target) are \(data.utf8.count) bytes, over the kernel's page (too many or too deep layers)")
            }
            c.overlay_data = arena.string(data)
            c.rootfs = arena.string(target)
        case .directory(let dir):
            c.rootfs = arena.string(dir)
        }
        let mounts = arena.buffer(of: fr_mount.self, count: spec.mounts.count)
        for (i, m) in spec.mounts.enumerated() {
            mounts[i] = fr_mount(source: m.source.map(arena.string), target: arena.string(m.target), fstype: m.fstype.map(arena.string),
                                 flags: m.flags, data: m.data.map(arena.string), kind: m.kind.rawValue)
        }
        c.mounts = UnsafePointer(mounts.baseAddress)
        c.nmounts = spec.mounts.count
        // cgroup filesystems must be mounted inside the new cgroup namespace, after the join.
        c.nmounts_early = spec.mounts.firstIndex { $0.target == "/sys/fs/cgroup" || $0.target.hasPrefix("/sys/fs/cgroup/") } ?? spec.mounts.count
        let devices = arena.buffer(of: fr_device.self, count: spec.devices.count)
        for (i, d) in spec.devices.enumerated() {
            devices[i] = fr_device(path: arena.string(d.path), mode: d.mode, major: d.major, minor: d.minor)
        }
        c.devices = UnsafePointer(devices.baseAddress)
        c.ndevices = spec.devices.count
        let links = arena.buffer(of: fr_symlink.self, count: spec.symlinks.count)
        for (i, l) in spec.symlinks.enumerated() { links[i] = fr_symlink(target: arena.string(l.target), path: arena.string(l.path)) }
        c.symlinks = UnsafePointer(links.baseAddress)
        c.nsymlinks = spec.symlinks.count
        c.masked_paths = arena.stringArray(spec.maskedPaths)
        c.nmasked = spec.maskedPaths.count
        c.readonly_paths = arena.stringArray(spec.readonlyPaths)
        c.nreadonly = spec.readonlyPaths.count
        c.readonly_rootfs = spec.readonlyRootfs ? 1 : 0
        c.hostname = spec.hostname.map(arena.string)
        c.hostname_final = spec.hostnameIsFinal ? 1 : 0
        for s in spec.sysctls where !SysctlName.isValid(s.name) {
            throw SandboxError.invalidSpec("\"\(s.name)\" is not a kernel parameter name")
        }
        c.sysctl_paths = arena.stringArray(spec.sysctls.map { "/proc/sys/" + $0.name.replacingOccurrences(of: ".", with: "/") })
        c.sysctl_values = arena.stringArray(spec.sysctls.map(\.value))
        c.nsysctls = spec.sysctls.count
        guard !spec.arguments.isEmpty else { throw SandboxError.invalidSpec("no command to run: entryPoint and command are both empty") }
        c.argv = arena.stringArray(spec.arguments)
        c.envp = arena.stringArray(spec.environment)
        c.path_env = arena.string(spec.searchPath)
        c.cwd = arena.string(spec.workingDirectory.isEmpty ? "/" : spec.workingDirectory)
        c.uid = spec.user.uid
        c.gid = spec.user.gid
        let groups = arena.buffer(of: UInt32.self, count: spec.user.additionalGids.count)
        for (i, g) in spec.user.additionalGids.enumerated() { groups[i] = g }
        c.groups = UnsafePointer(groups.baseAddress)
        c.ngroups = spec.user.additionalGids.count
        c.set_caps = 1
        let caps = Capability.mask(spec.capabilities)
        c.cap_bounding = caps
        c.cap_effective = caps
        c.cap_permitted = caps
        c.cap_inheritable = 0
        let rl = arena.buffer(of: fr_rlimit.self, count: spec.rlimits.count)
        for (i, r) in spec.rlimits.enumerated() { rl[i] = fr_rlimit(resource: r.resource, soft: r.soft, hard: r.hard) }
        c.rlimits = UnsafePointer(rl.baseAddress)
        c.nrlimits = spec.rlimits.count
        c.no_new_privs = spec.noNewPrivileges ? 1 : 0
        if let prog = spec.seccompProgram {
            let buf = arena.buffer(of: UInt64.self, count: prog.count)
            for (i, ins) in prog.enumerated() { buf[i] = ins }
            c.seccomp_filter = UnsafeRawPointer(buf.baseAddress)
            c.seccomp_len = UInt16(prog.count)
        }

        // cgroup v2: the child is created in its cgroup, not migrated there after. v1: the
        // child moves itself in through these files (fr_join_cgroup says why).
        c.cgroup_fd = -1
        var tasks: [(path: String, fd: Int32)] = []
        defer { for t in tasks { close(t.fd) } }
        if let cgroup, cgroup.host.version == .v2 {
            let dir = cgroup.directories[0]
            c.cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard c.cgroup_fd >= 0 else { throw SandboxError.system(SystemError("open cgroup", path: dir)) }
        } else if let cgroup {
            for dir in cgroup.directories {
                let path = dir + "/tasks"
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw SandboxError.system(SystemError("open cgroup", path: path)) }
                tasks.append((path, fd))
            }
        }
        defer { if c.cgroup_fd >= 0 { close(c.cgroup_fd) } }
        let tasksFds = arena.buffer(of: Int32.self, count: tasks.count)
        for (i, t) in tasks.enumerated() { tasksFds[i] = t.fd }
        c.cgroup_tasks_fds = UnsafePointer(tasksFds.baseAddress)
        c.cgroup_tasks_paths = arena.stringArray(tasks.map(\.path))
        c.ncgroup_tasks = tasks.count

        let process: ContainerProcess
        var inCgroup: Int32 = 0
        if let monitored {
            defer {
                close(sync[0])
                close(errp[1])
            }
            let (p, created) = try withUnsafePointer(to: &c) {
                try monitored.monitor.spawn($0, slot: monitored.slot, logFile: monitored.logFile, eventsFile: monitored.eventsFile)
            }
            process = p
            inCgroup = created ? 1 : 0
        } else {
            var pidfd: Int32 = -1
            let pid = withUnsafePointer(to: &c) { fr_spawn($0, &pidfd, &inCgroup) }
            let spawnErrno = errno
            close(sync[0])
            close(errp[1])
            guard pid > 0 else { throw SandboxError.system(SystemError("clone", errno: spawnErrno)) }
            process = ContainerProcess(pid: pid, pidfd: pidfd, createdInCgroup: inCgroup != 0)
        }
        let pid = process.pid

        // Only a v2 child that could not be created in its cgroup waits to be moved there.
        if let cgroup, c.cgroup_fd >= 0, inCgroup == 0 {
            do {
                try cgroup.add(pid: pid)
            } catch {
                process.signal(SIGKILL)
                throw error
            }
            var inPlace: UInt8 = 1
            _ = write(syncWrite, &inPlace, 1)
        }
        // In its cgroup, it makes the container (cgroup namespace, mounts, pivot_root) and then
        // waits for start(). Should it have died, start() reads its report.
        let prepared = PreparedContainer(process: process, syncWrite: syncWrite, errRead: errRead, hostnameIsFinal: spec.hostnameIsFinal)
        syncWrite = -1
        errRead = -1
        return prepared
    }

    static func stageName(_ stage: Int32) -> String {
        switch UInt32(stage) {
        case FR_STAGE_SIGNALS.rawValue: return "reset signals"
        case FR_STAGE_STDIO.rawValue: return "set up stdio"
        case FR_STAGE_SETSID.rawValue: return "setsid"
        case FR_STAGE_SYNC.rawValue: return "wait for cgroup"
        case FR_STAGE_CGROUPNS.rawValue: return "unshare cgroup namespace"
        case FR_STAGE_NETNS.rawValue: return "join network namespace"
        case FR_STAGE_HOSTNAME.rawValue: return "sethostname"
        case FR_STAGE_PROPAGATION.rawValue: return "make mounts private"
        case FR_STAGE_ROOTFS.rawValue: return "mount rootfs"
        case FR_STAGE_MOUNT.rawValue: return "mount"
        case FR_STAGE_DEVICE.rawValue: return "create device"
        case FR_STAGE_SYMLINK.rawValue: return "create symlink"
        case FR_STAGE_PIVOT.rawValue: return "pivot_root"
        case FR_STAGE_MASK.rawValue: return "mask path"
        case FR_STAGE_READONLY.rawValue: return "make read-only"
        case FR_STAGE_CWD.rawValue: return "working directory"
        case FR_STAGE_RLIMIT.rawValue: return "setrlimit"
        case FR_STAGE_USER.rawValue: return "set user"
        case FR_STAGE_CAPS.rawValue: return "set capabilities"
        case FR_STAGE_NO_NEW_PRIVS.rawValue: return "set no_new_privs"
        case FR_STAGE_CLOSE_FDS.rawValue: return "close inherited fds"
        case FR_STAGE_SECCOMP.rawValue: return "load seccomp filter"
        case FR_STAGE_EXEC.rawValue: return "exec"
        case FR_STAGE_SYSCTL.rawValue: return "sysctl"
        case FR_STAGE_ENTER.rawValue: return "enter the container"
        case FR_STAGE_CGROUP.rawValue: return "join cgroup"
        default: return "stage \(stage)"
        }
    }
}

/// A container process that is in its cgroup and namespaces, its root mounted, waiting to be
/// told to go (`ContainerLauncher.prepare`). Until then it has run none of the image's code.
public final class PreparedContainer: Sendable {
    /// The process; its exit is observed as for any container.
    public let process: ContainerProcess
    private let fds: Mutex<(sync: Int32, err: Int32)>
    /// The spec's `hostnameIsFinal`: the process has dropped its privileges and takes no hostname.
    public let hostnameIsFinal: Bool

    init(process: ContainerProcess, syncWrite: Int32, errRead: Int32, hostnameIsFinal: Bool) {
        self.process = process
        fds = Mutex((syncWrite, errRead))
        self.hostnameIsFinal = hostnameIsFinal
    }

    /// Lets the process run and returns once it has exec'd its command. `hostname`, when
    /// given, replaces the spec's hostname and its HOSTNAME= environment entry (not where the
    /// spec's hostname was final).
    ///
    /// - Throws: `SandboxError.spawn` naming the step that failed after the go.
    public func start(hostname: String? = nil) throws -> ContainerProcess {
        let (syncWrite, errRead) = takeFds()
        guard syncWrite >= 0 else { throw SandboxError.invalidSpec("container process \(process.pid) was already started or abandoned") }
        defer { close(errRead) }
        // The go byte: EOF alone is what the child sees should we die first, and it must not run.
        var message: [UInt8] = [1]
        if let hostname {
            guard hostname.utf8.count <= 64, !hostname.utf8.contains(0), !hostnameIsFinal else {
                // Killed before its pipe closes: the end of file alone would have it exit on
                // its own, with a status of its own rather than the kill's.
                process.signal(SIGKILL)
                close(syncWrite)
                throw SandboxError.invalidSpec(hostnameIsFinal
                    ? "hostname \"\(hostname)\" given at start to a container prepared with its hostname final"
                    : "hostname \"\(hostname)\" is not a hostname: over the kernel's 64 bytes, or with a NUL")
            }
            message += Array(hostname.utf8)
        }
        let written = message.withUnsafeBytes { write(syncWrite, $0.baseAddress!, $0.count) }
        let writeErrno = errno
        close(syncWrite)
        if written != message.count { process.signal(SIGKILL) }

        // EOF means execve succeeded (the pipe is close-on-exec); a record means it did not
        // (also when the child died before it could read the go: its report says why).
        var report = fr_spawn_error()
        let size = MemoryLayout<fr_spawn_error>.size
        var got = 0
        withUnsafeMutableBytes(of: &report) { raw in
            while got < size {
                let n = read(errRead, raw.baseAddress! + got, size - got)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                got += n
            }
        }
        if got == size {
            let detail = withUnsafeBytes(of: report.detail) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw SandboxError.spawn(stage: ContainerLauncher.stageName(report.stage), detail: detail, errno: report.err)
        }
        guard written == message.count else { throw SandboxError.system(SystemError("write sync pipe", errno: writeErrno)) }
        return process
    }

    /// What this process's death does to a prepared container: the pipe's write end closes
    /// without the go. For the test that the container then dies unrun.
    func closeWithoutGo() {
        let (syncWrite, errRead) = takeFds()
        close(syncWrite)
        close(errRead)
    }

    /// Kills the process before it ran anything of its own (the task failed to start).
    public func abandon() {
        let (syncWrite, errRead) = takeFds()
        guard syncWrite >= 0 else { return }
        process.signal(SIGKILL)
        close(syncWrite)
        close(errRead)
    }

    /// The pipe ends, once: whoever takes them starts or abandons the process.
    private func takeFds() -> (sync: Int32, err: Int32) {
        fds.withLock { f in
            defer { f = (-1, -1) }
            return f
        }
    }

    deinit { abandon() }
}

/// Owns the C copies of strings and arrays handed to the shim; freed in one go.
final class CArena {
    private var cStrings: [UnsafeMutablePointer<CChar>] = []
    private var buffers: [UnsafeMutableRawPointer] = []

    func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        cStrings.append(p)
        return UnsafePointer(p)
    }

    /// A NULL-terminated array of C strings.
    func stringArray(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let arr = buffer(of: UnsafePointer<CChar>?.self, count: strings.count + 1)
        for (i, s) in strings.enumerated() { arr[i] = string(s) }
        arr[strings.count] = nil
        return UnsafePointer(arr.baseAddress!)
    }

    /// Zero-filled storage for `count` trivial values.
    func buffer<T>(of: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        let bytes = MemoryLayout<T>.stride * max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: MemoryLayout<T>.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        buffers.append(raw)
        return UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: T.self), count: count)
    }

    func free() {
        for p in cStrings { Glibc.free(p) }
        for b in buffers { b.deallocate() }
        cStrings = []
        buffers = []
    }
}
