#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a loopback server that breaks one download: the first
/// response to a request containing `cutWhen` is cut off after `cutAfter` bytes and both
/// connections are closed, as a network failing mid-blob would. Everything else is relayed.
public final class FlakyProxy: @unchecked Sendable {
    public let port: Int
    let listener: Int32
    let upstreamPort: Int
    let cutWhen: [UInt8]
    let cutAfter: Int
    let state = Mutex((armedOnce: false, cuts: 0))

    /// How many responses were cut.
    public var cuts: Int { state.withLock { $0.cuts } }

    public init(upstreamPort: Int, cutWhen: String, cutAfter: Int) throws {
        self.upstreamPort = upstreamPort
        self.cutWhen = Array(cutWhen.utf8)
        self.cutAfter = cutAfter
        port = try freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = FlakyProxy.loopback(port)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw TestFailure("proxy cannot listen on \(port): errno \(errno)") }
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return addr
    }

    func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = FlakyProxy.loopback(upstreamPort)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else { close(client); close(upstream); continue }
            let armed = Mutex<Int?>(nil)  // bytes of the response still to relay before the cut
            let running = Mutex(2)         // the last relay to end closes both sockets
            let closeWhenDone: @Sendable () -> Void = {
                if running.withLock({ n in n -= 1; return n == 0 }) { close(client); close(upstream) }
            }
            let requests = Thread { [self] in
                relay(from: client, to: upstream) { chunk in
                    if FlakyProxy.contains(chunk, cutWhen), state.withLock({ s in defer { s.armedOnce = true }; return !s.armedOnce }) {
                        armed.withLock { $0 = cutAfter }
                    }
                    return chunk.count
                }
                closeWhenDone()
            }
            let responses = Thread { [self] in
                relay(from: upstream, to: client) { chunk in
                    armed.withLock { left in
                        guard let l = left else { return chunk.count }
                        if chunk.count < l { left = l - chunk.count; return chunk.count }
                        state.withLock { $0.cuts += 1 }
                        return -l  // relay l bytes, then cut
                    }
                }
                closeWhenDone()
            }
            requests.start()
            responses.start()
        }
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, hay.count >= needle.count else { return false }
        return (0...(hay.count - needle.count)).contains { i in hay[i..<(i + needle.count)].elementsEqual(needle) }
    }

    /// Copies until either side closes. `inspect` returns how many bytes of the chunk to pass;
    /// negative: pass that many, then close both sockets.
    func relay(from: Int32, to: Int32, inspect: ([UInt8]) -> Int) {
        var buf = [UInt8](repeating: 0, count: 16 << 10)
        defer {
            shutdown(from, Int32(SHUT_RDWR))
            shutdown(to, Int32(SHUT_RDWR))
        }
        while true {
            let n = buf.withUnsafeMutableBytes { read(from, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            let chunk = Array(buf[0..<n])
            let pass = inspect(chunk)
            let count = pass < 0 ? -pass : pass
            var off = 0
            while off < count {
                let w = chunk[off..<count].withUnsafeBytes { write(to, $0.baseAddress!, count - off) }
                if w <= 0 { return }
                off += w
            }
            if pass < 0 { return }
        }
    }
}
