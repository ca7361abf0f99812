#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into calls, counting them, and SIGUSR1 (`fargate-run stop`).
final class SignalForwarder: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    /// `handler` gets how many SIGINT/SIGTERM arrived so far (1 for SIGUSR1) and the signal.
    init(_ handler: @escaping @Sendable (Int, Int32) -> Void) {
        for sig in [SIGINT, SIGTERM, SIGUSR1] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [unowned self] in
                if sig == SIGUSR1 { return handler(1, sig) }
                self.lock.lock()
                self.count += 1
                let n = self.count
                self.lock.unlock()
                handler(n, sig)
            }
            s.resume()
            sources.append(s)
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
    }
}
