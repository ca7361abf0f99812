#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// What the integration tests need from the machine, checked once.
///
/// A test that needs root or a kernel feature is enabled only where it can run, with the reason
/// shown when it is not. Under CI (`CI=true`) nothing is skipped: the prerequisite is treated as
/// present, so a machine that lacks it fails the test loudly instead of hiding it.
public enum Prerequisites {
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    public static let isRoot = getuid() == 0
    /// Root, or CI (where root is required and its absence must fail).
    public static let rootOrCI = isRoot || isCI
    public static let rootReason: Comment = "needs root (namespaces, mounts, cgroups); CI runs it as root"
}

/// The repository's root, found from this file's location.
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    fatalError("Package.swift not found above \(#filePath)")
}()

/// A fresh directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "fr-test") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = String(cString: p)
    }

    public func remove() {
        _ = try? run("/bin/rm", ["-rf", "--one-file-system", path])
    }
}

/// Result of running a program.
public struct RunResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a program to completion, capturing its output.
@discardableResult
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                input: String? = nil, currentDirectory: String? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let stdin = input.map { _ in Pipe() }
    p.standardInput = stdin ?? FileHandle.nullDevice
    try p.run()
    if let stdin, let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
    }
    // Read both pipes concurrently so a full stderr pipe cannot block the child.
    let errData = LockedData()
    let t = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    t.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errData.isSet { usleep(1000) }
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: errData.get(), as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return data != nil }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data ?? Data() }
}

/// The busybox test image built by rootfs-tools, once per test process.
public enum TestImages {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: String?

    /// Directory holding `oci/` and `busybox.tar` (see rootfs-tools/build-busybox-image.sh).
    public static func busybox() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let dir = repositoryRoot + "/.build/test-images/busybox"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-busybox-image.sh", dir])
        guard r.status == 0 else { throw TestFailure("build-busybox-image.sh failed: \(r.stderr)") }
        built = dir
        return dir
    }

    nonisolated(unsafe) private static var botocoreBuilt: String?

    /// Debian 12's python3 and python3-botocore as an OCI reference
    /// (rootfs-tools/build-botocore-image.sh: slow the first time, then kept in .build).
    public static func botocoreOCI() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let botocoreBuilt { return botocoreBuilt }
        let dir = repositoryRoot + "/.build/test-images/botocore"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-botocore-image.sh", dir])
        guard r.status == 0 else { throw TestFailure("build-botocore-image.sh failed: \(r.stderr)") }
        botocoreBuilt = "oci:" + dir + "/oci:latest"
        return botocoreBuilt!
    }

    /// The OCI reference of the busybox image.
    public static func busyboxOCI() throws -> String { "oci:" + (try busybox()) + "/oci:latest" }

    nonisolated(unsafe) private static var volumeBuilt: String?

    /// The busybox image declaring VOLUME /data, filled and owned by www (33:33), as an OCI
    /// reference.
    public static func busyboxWithVolume() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let volumeBuilt { return volumeBuilt }
        let dir = repositoryRoot + "/.build/test-images/busybox-volume"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-busybox-image.sh", dir, "--volume", "/data"])
        guard r.status == 0 else { throw TestFailure("build-busybox-image.sh --volume failed: \(r.stderr)") }
        volumeBuilt = "oci:" + dir + "/oci:latest"
        return volumeBuilt!
    }

    nonisolated(unsafe) private static var zstdBuilt: String?

    /// The busybox image with its layer compressed with zstd (same diffID as the gzip one).
    public static func busyboxZstd() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let zstdBuilt { return zstdBuilt }
        let dir = repositoryRoot + "/.build/test-images/busybox-zstd"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-busybox-image.sh", dir, "--zstd"])
        guard r.status == 0 else { throw TestFailure("build-busybox-image.sh --zstd failed: \(r.stderr)") }
        zstdBuilt = dir
        return dir
    }

    nonisolated(unsafe) private static var multiBuilt: String?

    /// The multi-platform index (rootfs-tools/build-multiarch-index.sh): its directory, holding
    /// `oci/` and `digests` (index, amd64 and arm64 manifest digests).
    public static func multiPlatform() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let multiBuilt { return multiBuilt }
        let dir = repositoryRoot + "/.build/test-images/multi"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-multiarch-index.sh", dir])
        guard r.status == 0 else { throw TestFailure("build-multiarch-index.sh failed: \(r.stderr)") }
        multiBuilt = dir
        return dir
    }

    /// A line "KEY VALUE" of a digests file.
    public static func digest(_ key: String, in dir: String) throws -> String {
        let text = try String(contentsOfFile: dir + "/digests", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + " ") }) else { throw TestFailure("no \(key) in \(dir)/digests") }
        return String(line.dropFirst(key.count + 1))
    }

    nonisolated(unsafe) private static var probeBuilt: String?

    /// busybox plus /usr/local/bin/probe (Tests/Probe), as an OCI reference.
    public static func probeOCI() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let probeBuilt { return probeBuilt }
        let probe = FileSystemPaths.sibling(of: fargateRunBinary, "fargate-probe")
        let dir = repositoryRoot + "/.build/test-images/probe"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-busybox-image.sh", dir, "--add", probe + ":/usr/local/bin/probe"])
        guard r.status == 0 else { throw TestFailure("building the probe image failed: \(r.stderr)") }
        probeBuilt = "oci:" + dir + "/oci:latest"
        return probeBuilt!
    }

    /// An unpacked copy of the busybox rootfs in `dir` (made with tar, for tests below the
    /// image layer).
    public static func unpackBusybox(into dir: String) throws {
        let tar = try busybox() + "/busybox.tar"
        let list = try run("/bin/tar", ["-tf", tar])
        guard let layer = list.stdout.split(separator: "\n").first(where: { $0.hasSuffix("/layer.tar") }) else {
            throw TestFailure("no layer in \(tar)")
        }
        let r = try run("/bin/sh", ["-c", "tar -xOf '\(tar)' '\(layer)' | tar -x -C '\(dir)'"])
        guard r.status == 0 else { throw TestFailure("unpack: \(r.stderr)") }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// Mount points whose path contains `fragment`, from /proc/self/mountinfo.
public func mountsContaining(_ fragment: String) -> [String] {
    guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ")
        return f.count > 4 && f[4].contains(fragment) ? String(f[4]) : nil
    }
}

/// Writes a file in place (Foundation's atomic writes leave TemporaryDirectory.* in /tmp).
public func writeFile(_ path: String, _ bytes: some Collection<UInt8>) throws {
    guard let f = fopen(path, "wb") else { throw TestFailure("cannot write \(path)") }
    defer { fclose(f) }
    let a = Array(bytes)
    guard fwrite(a, 1, a.count, f) == a.count else { throw TestFailure("short write to \(path)") }
}

enum FileSystemPaths {
    static func sibling(of path: String, _ name: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
