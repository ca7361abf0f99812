#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// nftables scripts run in this process through libnftables (the library `nft` itself is
/// built on), with one context, and so one netlink socket, for the whole process.
///
/// Why not `nft -f`: starting nft costs about 3 ms per call, on the start's critical path for
/// a join. And nf_tables frees what a transaction deleted one RCU grace period after the
/// commit; a netfilter netlink socket released before then waits for it (nft_rcv_nl_event),
/// which is every `nft` that deletes (8-17 ms here). This socket is released only when the
/// process exits, by which time the rest of the teardown has usually covered that wait.
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

    private init?() {
        guard let lib = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL),
              let new = dlsym(lib, "nft_ctx_new"), let run = dlsym(lib, "nft_run_cmd_from_buffer"),
              let bufferErrors = dlsym(lib, "nft_ctx_buffer_error"), let bufferOutput = dlsym(lib, "nft_ctx_buffer_output"),
              let errors = dlsym(lib, "nft_ctx_get_error_buffer")
        else { return nil }
        // NFT_CTX_DEFAULT (0): the system's nft settings, netlink to the kernel.
        guard let context = unsafeBitCast(new, to: New.self)(0) else { return nil }
        // Errors and any output are kept for us rather than printed on our stderr.
        guard unsafeBitCast(bufferErrors, to: Buffer.self)(context) == 0,
              unsafeBitCast(bufferOutput, to: Buffer.self)(context) == 0 else { return nil }
        Nftables.closeOnExec(netlinkProtocol: 12)  // NETLINK_NETFILTER
        self.context = context
        self.run = unsafeBitCast(run, to: Run.self)
        self.errors = unsafeBitCast(errors, to: Text.self)
    }

    /// libnftables opens its netlink socket without close-on-exec, and the library gives no
    /// access to it: the CNI plugins and iptables we start would inherit it. Our sockets of
    /// that netlink protocol are found by asking each open fd (no other code of ours opens
    /// one; nft and iptables run as programs) and marked close-on-exec.
    private static func closeOnExec(netlinkProtocol: Int32) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in fds.compactMap(Int32.init) {
            var domain: Int32 = 0, proto: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0, domain == AF_NETLINK,
                  getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0, proto == netlinkProtocol else { continue }
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
    }

    /// Runs `script` as `nft -f` would: one transaction. Returns nil, or nft's error text.
    func run(_ script: String) -> String? {
        lock.withLock { _ in
            let rc = script.withCString { run(context, $0) }
            // Read every time: reading is what empties the buffer for the next script.
            let text = errors(context).map { String(cString: $0) } ?? ""
            return rc == 0 ? nil : (text.isEmpty ? "libnftables failed (\(rc))" : text)
        }
    }
}
