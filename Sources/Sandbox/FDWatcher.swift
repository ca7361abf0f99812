#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
import Synchronization

/// One thread watching any number of file descriptors with epoll: process exits (pidfds) and
/// sockets, for every task of the process, instead of a thread per container. Handlers run on
/// that thread and must not block.
public final class FDWatcher: Sendable {
    /// The process's watcher, started on first use.
    public static let shared = FDWatcher()

    /// A registration; `cancel` it to stop watching (the caller still owns the fd).
    public struct Token: Sendable, Hashable {
        let id: UInt64
    }

    private let epfd: Int32
    private let handlers = Mutex<(next: UInt64, byId: [UInt64: (fd: Int32, handler: @Sendable (UInt32) -> Void)])>((1, [:]))

    init() {
        epfd = fr_epoll_create()
        precondition(epfd >= 0, "epoll_create1: \(SystemError("epoll_create1"))")
        let thread = Thread { [self] in loop() }
        thread.name = "fargate-run fd watcher"
        thread.stackSize = 256 << 10
        thread.start()
    }

    /// Calls `handler` with the epoll events each time `fd` is ready (level-triggered: a
    /// handler that leaves the fd ready is called again).
    @discardableResult
    public func watch(_ fd: Int32, events: UInt32 = UInt32(FR_EPOLLIN), _ handler: @escaping @Sendable (UInt32) -> Void) throws -> Token {
        let id = handlers.withLock { h -> UInt64 in
            let id = h.next
            h.next += 1
            h.byId[id] = (fd, handler)
            return id
        }
        guard fr_epoll_add(epfd, fd, events, id) == 0 else {
            let e = SystemError("epoll_ctl add", path: "fd \(fd)")
            _ = handlers.withLock { $0.byId.removeValue(forKey: id) }
            throw e
        }
        return Token(id: id)
    }

    /// Stops watching. Safe from a handler, and for a token already cancelled.
    public func cancel(_ token: Token) {
        guard let entry = handlers.withLock({ $0.byId.removeValue(forKey: token.id) }) else { return }
        _ = fr_epoll_remove(epfd, entry.fd)
    }

    private func loop() {
        var events = [fr_epoll_event](repeating: fr_epoll_event(), count: 64)
        while true {
            let n = events.withUnsafeMutableBufferPointer { fr_epoll_wait(epfd, $0.baseAddress, Int32($0.count), -1) }
            if n < 0 { continue }
            for e in events.prefix(Int(n)) {
                guard let handler = handlers.withLock({ $0.byId[e.token]?.handler }) else { continue }
                handler(e.events)
            }
        }
    }
}
