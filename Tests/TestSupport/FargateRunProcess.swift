#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The fargate-run executable built by `swift build` / `swift test`.
public let fargateRunBinary: String = {
    if let p = ProcessInfo.processInfo.environment["FARGATE_RUN_BIN"] { return p }
    var candidates: [String] = []
    if let exe = Bundle.main.executablePath {
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // Linux: .../debug/fargate-runPackageTests.xctest is the test binary itself.
        for _ in 0..<3 {
            candidates.append(dir.appendingPathComponent("fargate-run").path)
            dir.deleteLastPathComponent()
        }
    }
    candidates.append(repositoryRoot + "/.build/debug/fargate-run")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
}()

/// A fargate-run started in the background, its output collected as it comes.
public final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var out = Data(), err = Data()
    /// Pipes read to their end (an empty read).
    private var ended = 0

    /// `environment` nil: the test process's own.
    public init(_ executable: String, _ arguments: [String], currentDirectory: String? = nil, environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = FileHandle.nullDevice
        o.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil }
            guard let self else { return }
            self.lock.lock(); self.out.append(d); if d.isEmpty { self.ended += 1 }; self.lock.unlock()
        }
        e.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil }
            guard let self else { return }
            self.lock.lock(); self.err.append(d); if d.isEmpty { self.ended += 1 }; self.lock.unlock()
        }
        try process.run()
    }

    public var pid: pid_t { process.processIdentifier }
    public var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Stops it the way a user would (SIGINT, so the task tears down), SIGKILL only if that
    /// does not end it. For `defer`, so a failing test never leaves a task running.
    public func stop() {
        guard process.isRunning else { return }
        signal(SIGINT)
        _ = wait(timeout: 30)
    }

    /// Waits for the exit (bounded), returning its status; SIGKILLs it past the deadline.
    public func wait(timeout: Double = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        // The last bytes, up to both pipes' ends (bounded: a process it started may hold them).
        _ = eventually(timeout: 5) { lock.lock(); defer { lock.unlock() }; return ended >= 2 }
        return process.terminationStatus
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
public func eventually(timeout: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// `eventually` for async tests: polls every 20 ms without holding a thread of Swift's pool,
/// which what the condition waits for may need.
public func eventuallyAsync(timeout: Double = 60, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
