#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import Logging
import LinuxSupport
import Synchronization

/// nftables scripts run in this process through libnftables (the library `nft` itself is
/// built on), with one context, and so one netlink socket, for the whole process.
///
/// Why not `nft -f`: starting nft costs about 3 ms per call, on the start's critical path for
/// a join. And nf_tables frees what a transaction deleted one RCU grace period after the
/// commit; the last release of a netfilter netlink socket before then waits for it
/// (nft_rcv_nl_event flushes that work), which is every `nft` that deletes (8-17 ms here).
/// This socket lives until the process exits, and its release is handed to a child process
/// then (`releaseInChild`), so that the wait does not hold up our exit.
/// Where the library cannot be loaded, `HostPolicy` runs `nft` as before.
final class Nftables: @unchecked Sendable {
    private typealias New = @convention(c) (UInt32) -> OpaquePointer?
    private typealias Run = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32
    private typealias Buffer = @convention(c) (OpaquePointer?) -> Int32
    private typealias Text = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?

    /// The process's context, or nil where libnftables is not installed or too old.
    static let shared: Nftables? = Nftables()

    // The context is not thread-safe; every use holds the lock. @unchecked: the pointers are
    // only touched under it.
    private let lock = Mutex<Void>(())
    private let context: OpaquePointer
    private let run: Run
    private let errors: Text
    private let output: Text
    /// The context's netlink socket, -1 where it was not found (then it is simply closed at exit).
    private let socket: Int32
    /// Set when `socket` went to a child at exit: the context must not be used after.
    private var handedOff = false

    private init?() {
        guard let lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL),
              let new = dlsym(lib, "nft_ctx_new"), let run = dlsym(lib, "nft_run_cmd_from_buffer"),
              let bufferErrors = dlsym(lib, "nft_ctx_buffer_error"), let bufferOutput = dlsym(lib, "nft_ctx_buffer_output"),
              let errors = dlsym(lib, "nft_ctx_get_error_buffer"), let output = dlsym(lib, "nft_ctx_get_output_buffer")
        else { return nil }
        // NFT_CTX_DEFAULT (0): the system's nft settings, netlink to the kernel.
        guard let context = unsafeBitCast(new, to: New.self)(0) else { return nil }
        // Errors and any output are kept for us rather than printed on our stderr.
        guard unsafeBitCast(bufferErrors, to: Buffer.self)(context) == 0,
              unsafeBitCast(bufferOutput, to: Buffer.self)(context) == 0 else { return nil }
        let sockets = Nftables.closeOnExec(netlinkProtocol: 12)  // NETLINK_NETFILTER
        self.context = context
        self.run = unsafeBitCast(run, to: Run.self)
        self.errors = unsafeBitCast(errors, to: Text.self)
        self.output = unsafeBitCast(output, to: Text.self)
        self.socket = sockets.count == 1 ? sockets[0] : -1
        if socket >= 0 { atexit { Nftables.shared?.releaseInChild() } }
    }

    /// libnftables opens its netlink socket without close-on-exec, and the library gives no
    /// access to it: the CNI plugins and iptables we start would inherit it. Our sockets of
    /// that netlink protocol are found by asking each open fd (no other code of ours opens
    /// one; nft and iptables run as programs) and marked close-on-exec. Returns them.
    private static func closeOnExec(netlinkProtocol: Int32) -> [Int32] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap(Int32.init).filter { fd in
            var domain: Int32 = 0, proto: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0, domain == AF_NETLINK,
                  getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0, proto == netlinkProtocol else { return false }
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
            return true
        }
    }

    /// At exit: the socket's last release goes to a child process (`fr_hand_off`), which waits
    /// for the grace period of our last deleting transaction, if one is still running, in our
    /// place. Everything the transactions did is committed by then; what is left is only the
    /// kernel freeing what they unlinked. The child keeps nothing else of ours and is gone
    /// within that grace period. Skipped while a script runs on another thread (the lock is
    /// held): that thread still needs the socket.
    func releaseInChild() {
        lock.withLockIfAvailable { _ in
            guard socket >= 0, !handedOff else { return }
            var gate: Int32 = -1
            let child = fr_hand_off(socket, &gate)
            let failure = errno
            let log = Logger(label: "fargate-run.network")
            guard child > 0 else {
                log.debug("netfilter socket closed here", metadata: ["error": "\(SystemError("hand off", errno: failure))"])
                return
            }
            handedOff = true
            close(gate)
            log.debug("netfilter socket handed to a child for release", metadata: ["pid": "\(child)"])
        }
    }

    /// Runs `script` as `nft -f` would (one transaction) and returns what it prints (a `list`
    /// command's listing), or nft's error text.
    func run(_ script: String) -> Result<String, NftablesFailure> {
        lock.withLock { _ in
            guard !handedOff else { return .failure(NftablesFailure(message: "the nftables context was released at exit")) }
            let rc = script.withCString { run(context, $0) }
            // Read both every time: reading is what empties a buffer for the next script.
            let text = errors(context).map { String(cString: $0) } ?? ""
            let output = output(context).map { String(cString: $0) } ?? ""
            return rc == 0 ? .success(output) : .failure(NftablesFailure(message: text.isEmpty ? "libnftables failed (\(rc))" : text))
        }
    }
}

/// nft's error text.
struct NftablesFailure: Error {
    var message: String
}

/// Where nft scripts go: libnftables in this process (the `nft` program where the library
/// cannot be loaded), or a given program, which a test points into a namespace it made.
enum NftRoute: Equatable, Sendable {
    case library
    case program([String])

    static let nft = "/usr/sbin/nft"

    /// Runs `script` as `nft -f` does: what it prints, or nft's error text.
    func run(_ script: String) -> Result<String, NftablesFailure> {
        let command: [String]
        switch self {
        case .library:
            if let nft = Nftables.shared { return nft.run(script) }
            command = [NftRoute.nft]
        case .program(let given):
            command = given
        }
        do {
            let r = try Subprocess.run(command[0], Array(command.dropFirst()) + ["-f", "-"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                                       stdin: Array(script.utf8))
            return r.status == 0 ? .success(r.stdoutText) : .failure(NftablesFailure(message: r.stderrText))
        } catch {
            return .failure(NftablesFailure(message: "\(error)"))
        }
    }
}
