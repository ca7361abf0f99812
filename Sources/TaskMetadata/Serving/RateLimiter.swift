import Foundation
import Synchronization

/// The agent's rate limit (tollbooth over golang.org/x/time/rate): a token bucket per caller
/// address and path, 40 requests a second steady with bursts of 60. Its state is bounded:
/// buckets that have refilled are forgotten when there are too many.
final class RateLimiter: Sendable {
    let rate: Double
    let burst: Double
    let maxKeys: Int
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    init(rate: Double = 40, burst: Int = 60, maxKeys: Int = 1024) {
        self.rate = rate
        self.burst = Double(burst)
        self.maxKeys = maxKeys
    }

    /// Takes a token for `key` at `now`: false when there is none (the request gets 429).
    func allow(_ key: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { b in
            var (tokens, at) = b[key] ?? (burst, now)
            let elapsed = now - at
            tokens = min(burst, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate)
            let allowed = tokens >= 1
            if allowed { tokens -= 1 }
            if b[key] == nil, b.count >= maxKeys { forgetIdle(&b, now: now) }
            b[key] = (tokens, now)
            return allowed
        }
    }

    /// Drops the buckets that are full again (their callers have been quiet); if none are,
    /// the oldest half.
    private func forgetIdle(_ b: inout [String: (tokens: Double, at: ContinuousClock.Instant)], now: ContinuousClock.Instant) {
        let refill = Duration.seconds(burst / rate)
        let idle = b.filter { now - $0.value.at >= refill }.map(\.key)
        for k in idle { b[k] = nil }
        if b.count >= maxKeys {
            for k in b.sorted(by: { $0.value.at < $1.value.at }).prefix(maxKeys / 2).map(\.key) { b[k] = nil }
        }
    }

    /// The headers tollbooth adds to every response.
    static func headers(remote: String, forwardedFor: String) -> [(String, String)] {
        [("X-Rate-Limit-Limit", "40.00"), ("X-Rate-Limit-Duration", "1"), ("X-Rate-Limit-Request-Forwarded-For", forwardedFor),
         ("X-Rate-Limit-Request-Remote-Addr", remote)]
    }
}
