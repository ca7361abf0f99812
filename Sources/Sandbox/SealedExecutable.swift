#if canImport(Glibc)
import Glibc
#endif
import CShim
import FargateInit
import FargateMonitor
import LinuxSupport

/// A program copied into a sealed memfd, executed with execveat(AT_EMPTY_PATH).
///
/// A container whose pid 1 is such a program cannot reach any host file through
/// /proc/1/exe: the "file" is an anonymous memfd whose contents the seals freeze
/// (CVE-2019-5736: a container overwrote the runtime binary through /proc/self/exe).
public final class SealedExecutable: Sendable {
    /// The memfd (close-on-exec; the container init keeps it open until its own execveat).
    public let fd: Int32
    /// What it holds, for messages.
    public let source: String

    static let F_ADD_SEALS: Int32 = 1033
    static let sealAll: Int32 = 0x0001 | 0x0002 | 0x0004 | 0x0008  // SEAL, SHRINK, GROW, WRITE
    static let MFD_ALLOW_SEALING: UInt32 = 0x0002

    /// Copies `bytes` (an executable) into a new memfd and seals it.
    public init(bytes: [UInt8], name: String) throws {
        source = name
        let mfd = fr_memfd(name, SealedExecutable.MFD_ALLOW_SEALING)
        guard mfd >= 0 else { throw SandboxError.system(SystemError("memfd_create", path: name)) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(mfd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let e = SystemError("write memfd", path: name)
                close(mfd)
                throw SandboxError.system(e)
            }
            off += n
        }
        guard fchmod(mfd, 0o555) == 0, fcntl(mfd, SealedExecutable.F_ADD_SEALS, SealedExecutable.sealAll) == 0 else {
            let e = SystemError("seal memfd", path: name)
            close(mfd)
            throw SandboxError.system(e)
        }
        fd = mfd
    }

    /// fargate-init, embedded in this binary at build time.
    public static func fargateInit() throws -> SealedExecutable {
        guard !FargateInit.bytes.isEmpty else { throw SandboxError.invalidSpec("fargate-init was not embedded at build time") }
        return try SealedExecutable(bytes: FargateInit.bytes, name: "fargate-init")
    }

    /// fargate-monitor, embedded in this binary at build time.
    public static func fargateMonitor() throws -> SealedExecutable {
        guard !FargateMonitor.bytes.isEmpty else { throw SandboxError.invalidSpec("fargate-monitor was not embedded at build time") }
        return try SealedExecutable(bytes: FargateMonitor.bytes, name: "fargate-monitor")
    }

    deinit { close(fd) }

}
