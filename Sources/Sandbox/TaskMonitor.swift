#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
import Synchronization

/// A task's monitor (fargate-monitor, Sources/FargateMonitor/monitor.c), seen from the host: the
/// small process that clones the task's containers, so that they are its children, reaps them,
/// records their exits and writes their output to the log files. The host may die or be
/// replaced; the monitor, and so the task, goes on, and a new host connects to it again.
///
/// Its socket is `<task directory>/monitor.sock` (0600). Messages arrive on the process's
/// `FDWatcher` thread: exits and drained output go to the handlers, answers to the caller
/// waiting for them (one request at a time).
public final class TaskMonitor: Sendable {
    /// A child as the monitor knows it (the answer to `state`).
    public struct Child: Sendable {
        public var slot: UInt32
        public var pid: pid_t
        /// nil while it runs.
        public var status: TerminationStatus?
        /// When it was reaped.
        public var endedAt: Date?
        /// Its output is still being read.
        public var draining: Bool
        /// The running child's process (its pidfd came from the monitor).
        public var process: ContainerProcess?
    }

    public struct Exit: Sendable {
        public var slot: UInt32
        public var pid: pid_t
        public var status: TerminationStatus
        public var endedAt: Date
    }

    public let taskDirectory: String
    /// The monitor process: pid and start time.
    public var identity: ProcessIdentity { state.withLock { $0.identity } }
    let socket: Int32

    struct Handlers {
        var exit: @Sendable (Exit) -> Void = { _ in }
        var drained: @Sendable (UInt32, pid_t) -> Void = { _, _ in }
        var closed: @Sendable () -> Void = {}
    }

    struct Reply {
        var header: fr_monitor_header
        var payload: [UInt8]
        var fds: [Int32]
    }

    struct State {
        var handlers = Handlers()
        var replies: [Reply] = []
        var closed = false
        var watch: FDWatcher.Token?
        /// Processes it cloned for us, by pid, to be told their exits.
        var processes: [pid_t: ContainerProcess] = [:]
        /// Exits that came before their process was known here.
        var early: [pid_t: TerminationStatus] = [:]
        var identity = ProcessIdentity(pid: 0, startTime: 0)
        /// Descriptors the monitor gave back after HELLO, by tag, until taken.
        var kept: [UInt32: [Int32]] = [:]
        /// Tags already taken: every HELLO brings copies again, which must then be closed at
        /// once (an open copy of a task's endpoint listener keeps its network namespace, and
        /// with it its veth, alive after the task).
        var taken: Set<UInt32> = []
    }

    private let state = Mutex(State())
    private let replyReady = DispatchSemaphore(value: 0)
    /// One request and its answers at a time.
    private let requests = NSLock()

    public static func socketPath(_ taskDirectory: String) -> String { taskDirectory + "/monitor.sock" }

    /// Starts a monitor for the task whose directory this is, from `executable` (fargate-monitor
    /// in a sealed memfd), and connects to it.
    public static func start(taskDirectory: String, executable: SealedExecutable) throws -> TaskMonitor {
        let path = socketPath(taskDirectory)
        let listener = try unixSocket(path: path, listen: true)
        defer { close(listener) }
        guard fr_monitor_start(executable.fd, listener, taskDirectory) == 0 else {
            let e = SystemError("start fargate-monitor", path: taskDirectory)
            unlink(path)
            throw SandboxError.system(e)
        }
        do {
            return try connect(taskDirectory: taskDirectory)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// SIGKILLs the monitor of `taskDirectory` that no task state names: one started by a host
    /// killed before it could record it, whose task `gc` cleans up. Found by its command line
    /// (`fargate-monitor TASK-DIRECTORY`), read again through a pidfd so a recycled pid is
    /// never signalled. Returns the pids killed.
    public static func killUnrecorded(taskDirectory: String) -> [Int32] {
        let wanted = Array("fargate-monitor\0\(taskDirectory)\0".utf8)
        var killed: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map(Array.init) == wanted else { continue }
            let fd = fr_pidfd_open(pid)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // The pidfd holds this very process: its command line, read after, is still its own.
            guard FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map(Array.init) == wanted else { continue }
            if fr_pidfd_send_signal(fd, SIGKILL) == 0 { killed.append(pid) }
        }
        return killed
    }

    /// Connects to a task's monitor (one just started, or one a host before this one started).
    /// Its pid comes with the end of its answer to `children`, asked once here.
    public static func connect(taskDirectory: String) throws -> TaskMonitor {
        let monitor = try TaskMonitor(taskDirectory: taskDirectory)
        _ = try monitor.children()
        return monitor
    }

    private init(taskDirectory: String) throws {
        self.taskDirectory = taskDirectory
        socket = try TaskMonitor.unixSocket(path: TaskMonitor.socketPath(taskDirectory), listen: false)
        let token = try FDWatcher.shared.watch(socket, events: UInt32(FR_EPOLLIN) | UInt32(FR_EPOLLRDHUP)) { [weak self] _ in
            self?.receive()
        }
        state.withLock { $0.watch = token }
    }

    deinit {
        if let t = state.withLock({ $0.watch }) { FDWatcher.shared.cancel(t) }
        for fd in state.withLock({ $0.kept.values.flatMap { $0 } }) { close(fd) }
        close(socket)
    }

    /// Where exits, drained output and the monitor's end are reported.
    public func connect(exit: @escaping @Sendable (Exit) -> Void, drained: @escaping @Sendable (UInt32, pid_t) -> Void = { _, _ in },
                        closed: @escaping @Sendable () -> Void = {}) {
        state.withLock { $0.handlers = Handlers(exit: exit, drained: drained, closed: closed) }
    }

    public var isConnected: Bool { !state.withLock { $0.closed } }

    // MARK: Requests

    /// Has the monitor clone the container `spec` describes (its stdout and stderr are the
    /// monitor's pipes, written to `logFile` and `eventsFile`): its process, and whether it
    /// was created in its cgroup (as `fr_spawn` says it).
    func spawn(_ spec: UnsafePointer<fr_container_spec>, slot: UInt32, logFile: Int32, eventsFile: Int32) throws -> (ContainerProcess, Bool) {
        var buffer = [UInt8](repeating: 0, count: Int(FR_MONITOR_MAX_MESSAGE) - 64)
        var fds = [Int32](repeating: -1, count: 20)
        var nfds: Int32 = 0
        let headerSize = MemoryLayout<fr_monitor_spawn>.size
        let len = buffer.withUnsafeMutableBytes { raw in
            fds.withUnsafeMutableBufferPointer { fr_spec_pack(spec, raw.baseAddress! + headerSize, raw.count - headerSize, $0.baseAddress, 18, &nfds) }
        }
        guard len > 0 else { throw SandboxError.invalidSpec("the container's spec does not fit in a message to its monitor (\(buffer.count) bytes)") }
        var sent = Array(fds.prefix(Int(nfds)))
        var request = fr_monitor_spawn(spec_fds: nfds, log_fd: -1, events_fd: -1, spec_len: UInt32(len))
        if logFile >= 0 { request.log_fd = Int32(sent.count); sent.append(logFile) }
        if eventsFile >= 0 { request.events_fd = Int32(sent.count); sent.append(eventsFile) }
        withUnsafeBytes(of: request) { r in buffer.withUnsafeMutableBytes { $0.copyMemory(from: r) } }
        let reply = try exchange(FR_MON_SPAWN, slot: slot, payload: Array(buffer.prefix(headerSize + len)), fds: sent) {
            $0.header.type == FR_MON_SPAWNED
        }
        let answer = reply[0]
        var spawned = fr_monitor_spawned()
        _ = withUnsafeMutableBytes(of: &spawned) { answer.payload.copyBytes(to: $0) }
        guard spawned.err == 0, answer.header.arg > 0, let pidfd = answer.fds.first else {
            for fd in answer.fds { close(fd) }
            throw SandboxError.system(SystemError("clone (by the task's monitor)", errno: spawned.err == 0 ? EPROTO : spawned.err))
        }
        let pid = pid_t(answer.header.arg)
        let process = ContainerProcess(pid: pid, pidfd: pidfd, createdInCgroup: spawned.in_cgroup != 0)
        adopt(process)
        return (process, spawned.in_cgroup != 0)
    }

    /// Has the monitor hold copies of `fds` under `tag` until it exits, replacing what it held
    /// under that tag (the caller keeps its own). A later host gets them back (`takeKept`).
    public func keep(_ fds: [Int32], tag: UInt32) throws {
        let sent = requests.withLock {
            fds.withUnsafeBufferPointer { fr_monitor_send(socket, UInt32(FR_MON_KEEP), tag, 0, nil, 0, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 0 else { throw SandboxError.system(SystemError("send to the task's monitor", path: TaskMonitor.socketPath(taskDirectory))) }
    }

    /// The descriptors the monitor holds under `tag` (`keep`), as it gave them back when
    /// connected: the caller owns them now. nil when it holds none (a monitor of a version
    /// that kept none).
    public func takeKept(tag: UInt32) -> [Int32]? {
        state.withLock { s in
            s.taken.insert(tag)
            return s.kept.removeValue(forKey: tag)
        }
    }

    /// Every child the monitor has, running or ended, with how each ended.
    public func children() throws -> [Child] {
        let replies = try exchange(FR_MON_HELLO, slot: 0, payload: [], fds: []) { $0.header.type == FR_MON_STATE_END }
        for r in replies where r.header.type == FR_MON_KEPT {
            let stale = state.withLock { s -> [Int32]? in
                if s.taken.contains(r.header.slot) { return r.fds }
                defer { s.kept[r.header.slot] = r.fds }
                return s.kept[r.header.slot]
            }
            for fd in stale ?? [] { close(fd) }
        }
        if let end = replies.last, end.header.type == FR_MON_STATE_END, state.withLock({ $0.identity.pid == 0 }) {
            let pid = pid_t(end.header.arg)
            state.withLock { $0.identity = ProcessIdentity(pid: pid, startTime: ProcessIdentity.startTime(of: pid) ?? 0) }
        }
        return replies.compactMap { r in
            guard r.header.type == FR_MON_STATE else { return nil }
            var st = fr_monitor_state()
            _ = withUnsafeMutableBytes(of: &st) { r.payload.copyBytes(to: $0) }
            let pid = pid_t(r.header.arg)
            var child = Child(slot: r.header.slot, pid: pid, status: nil, endedAt: nil, draining: st.draining != 0)
            if st.running == 0 {
                child.status = TerminationStatus(exited: st.exited != 0, value: st.status)
                child.endedAt = Date(timeIntervalSince1970: Double(st.time_ns) / 1e9)
            } else if let pidfd = r.fds.first {
                let process = ContainerProcess(pid: pid, pidfd: pidfd)
                adopt(process)
                child.process = process
            }
            return child
        }
    }

    /// The task is over: the monitor leaves once its children are reaped and their output
    /// written, and removes its socket.
    public func finish() {
        requests.withLock { _ = fr_monitor_send(socket, UInt32(FR_MON_FINISH), 0, 0, nil, 0, nil, 0) }
    }

    /// Waits (bounded) until the monitor has gone: after `finish`, once its children's output is written.
    public func waitUntilGone(timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while isConnected && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Kills the monitor (what a test does to see a host cope with a monitor's death).
    public func kill() {
        let id = identity
        if id.isAlive { Glibc.kill(id.pid, SIGKILL) }
    }

    private func adopt(_ process: ContainerProcess) {
        let early = state.withLock { s -> TerminationStatus? in
            s.processes[process.pid] = process
            return s.early.removeValue(forKey: process.pid)
        }
        if let early { process.resolve(early) }
    }

    /// Sends a request and collects replies until `last` matches one.
    private func exchange(_ type: Int, slot: UInt32, payload: [UInt8], fds: [Int32], until last: (Reply) -> Bool) throws -> [Reply] {
        try requests.withLock {
            let sent = payload.withUnsafeBytes { p in
                fds.withUnsafeBufferPointer { f in
                    fr_monitor_send(socket, UInt32(type), slot, 0, p.baseAddress, p.count, f.baseAddress, Int32(f.count))
                }
            }
            guard sent == 0 else { throw SandboxError.system(SystemError("send to the task's monitor", path: TaskMonitor.socketPath(taskDirectory))) }
            var out: [Reply] = []
            while true {
                if replyReady.wait(timeout: .now() + 30) == .timedOut {
                    throw SandboxError.system(SystemError("no answer from the task's monitor", path: taskDirectory, errno: ETIMEDOUT))
                }
                let next = state.withLock { s -> Reply? in s.replies.isEmpty ? nil : s.replies.removeFirst() }
                guard let next else {
                    // Woken by the end of the connection.
                    throw SandboxError.system(SystemError("the task's monitor went away", path: taskDirectory, errno: ECONNRESET))
                }
                out.append(next)
                if last(next) { return out }
            }
        }
    }

    /// On the watcher's thread: one message.
    private func receive() {
        var buffer = [UInt64](repeating: 0, count: Int(FR_MONITOR_MAX_MESSAGE) / 8)
        var fds = [Int32](repeating: -1, count: 24)
        var nfds: Int32 = 0
        let n = buffer.withUnsafeMutableBytes { raw in
            fds.withUnsafeMutableBufferPointer { fr_monitor_recv(socket, raw.baseAddress, raw.count, $0.baseAddress, 24, &nfds) }
        }
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EMSGSIZE) {
            let (handlers, token) = state.withLock { s -> (Handlers, FDWatcher.Token?) in
                s.closed = true
                return (s.handlers, s.watch)
            }
            if let token { FDWatcher.shared.cancel(token) }
            // Whoever waits for an answer gets none.
            replyReady.signal()
            handlers.closed()
            return
        }
        guard n >= MemoryLayout<fr_monitor_header>.size else { return }
        let bytes = buffer.withUnsafeBytes { Array($0.prefix(n)) }
        var header = fr_monitor_header()
        _ = withUnsafeMutableBytes(of: &header) { bytes.copyBytes(to: $0) }
        let payload = Array(bytes.dropFirst(MemoryLayout<fr_monitor_header>.size))
        let received = Array(fds.prefix(Int(nfds)))
        switch Int(header.type) {
        case Int(FR_MON_EXITED):
            var e = fr_monitor_exit()
            _ = withUnsafeMutableBytes(of: &e) { payload.copyBytes(to: $0) }
            let pid = pid_t(header.arg)
            let status = TerminationStatus(exited: e.exited != 0, value: e.status)
            let (process, handler) = state.withLock { s -> (ContainerProcess?, @Sendable (Exit) -> Void) in
                let p = s.processes.removeValue(forKey: pid)
                if p == nil { s.early[pid] = status }
                return (p, s.handlers.exit)
            }
            process?.resolve(status)
            handler(Exit(slot: header.slot, pid: pid, status: status, endedAt: Date(timeIntervalSince1970: Double(e.time_ns) / 1e9)))
        case Int(FR_MON_DRAINED):
            let handler = state.withLock { $0.handlers.drained }
            handler(header.slot, pid_t(header.arg))
        default:
            state.withLock { $0.replies.append(Reply(header: header, payload: payload, fds: received)) }
            replyReady.signal()
        }
    }

    /// A SOCK_SEQPACKET unix socket at `path`: bound and listening (mode 0600, made anew), or
    /// connected.
    static func unixSocket(path: String, listen: Bool) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.utf8.count < capacity else {
            throw SandboxError.invalidSpec("monitor socket path \(path) is longer than a unix socket's \(capacity - 1) bytes: use a shorter --root")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SandboxError.system(SystemError("socket", path: path)) }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let r: Int32 = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                if listen {
                    unlink(path)
                    // Root's only (the task directory is too); connecting needs write access.
                    guard bind(fd, a, size) == 0, chmod(path, 0o600) == 0 else { return -1 }
                    return Glibc.listen(fd, 8)
                }
                return Glibc.connect(fd, a, size)
            }
        }
        guard r == 0 else {
            let e = SystemError(listen ? "listen" : "connect", path: path)
            close(fd)
            throw SandboxError.system(e)
        }
        return fd
    }
}
