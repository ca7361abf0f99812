#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import LinuxSupport
@testable import Sandbox
import TestSupport
import Testing

/// The profile's program is compiled as a binary tree of syscall numbers (libseccomp's
/// optimize level 2) because a linear list of ~330 checks a syscall made the kernel's load of
/// the filter slow (Docs/PERFORMANCE.md). These check, with no kernel, that the tree decides
/// every syscall exactly as the linear list does; IsolationTests checks the profile on the
/// real kernel.
struct SeccompProfileTests {
    static let capabilitySets: [(String, Set<Capability>)] = [
        ("none (the pause process)", []),
        ("Docker's default", Capability.dockerDefault),
        ("every capability", Set(Capability.allCases)),
    ]

    #if arch(x86_64)
    /// x86_64, i386, the value libseccomp names x32 by (the kernel reports x32 calls as
    /// x86_64 with bit 30 of the number set, which `numbers` covers), and an architecture the
    /// profile does not name.
    static let arches: [UInt32] = [0xC000_003E, 0x4000_0003, 0x4000_003E, 0xC000_00B7]
    #else
    static let arches: [UInt32] = [0xC000_00B7, 0x4000_0028, 0xC000_003E]
    #endif

    /// Every number up to past the newest syscall, the x32 range, and the edges of 32 bits.
    static let numbers: [UInt32] = Array(0..<640) + (0..<640).map { 0x4000_0000 | $0 } + [0x3FFF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFFF]

    /// First arguments that cross every argument rule the profile has (clone's namespace
    /// flags, socket's families 38-40, personality's allowed values) and the 64-bit edges.
    static let firstArguments: [UInt64] = [
        0, 1, 8, 37, 38, 39, 40, 41, 0x20000, 0x20008, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_0000_0008,
        0x0002_0000 | 0x11, 0x1000_0000, 0x4000_0000, 0x7E02_0000, 0x0100_0000 | 0x11, UInt64.max,
    ]

    @Test(arguments: capabilitySets)
    func theTreeDecidesEverySyscallAsTheLinearListDoes(_ name: String, _ caps: Set<Capability>) throws {
        let linear = ClassicBPF(try SeccompProfile.compile(caps, layout: .linear))
        let tree = ClassicBPF(try SeccompProfile.compile(caps, layout: .binaryTree))
        var differences: [String] = []
        for arch in Self.arches {
            for nr in Self.numbers {
                for arg in Self.firstArguments {
                    let call = ClassicBPF.Call(nr: nr, arch: arch, args: [arg, 0, 0, 0, 0, 0])
                    let want = try linear.run(call).action
                    let got = try tree.run(call).action
                    if want != got && differences.count < 10 {
                        differences.append("arch 0x\(String(arch, radix: 16)) nr \(nr) arg0 0x\(String(arg, radix: 16)): "
                                           + "0x\(String(want, radix: 16)) became 0x\(String(got, radix: 16))")
                    }
                }
            }
        }
        #expect(differences.isEmpty, "\(name): \(differences.joined(separator: "; "))")
    }

    /// What makes the tree worth it: the kernel runs the filter once for every syscall number
    /// of every architecture when it loads it (to cache the ones always allowed), and each
    /// syscall a container makes runs it again.
    @Test func theTreeDecidesANativeSyscallInAFewDozenInstructions() throws {
        let caps = Capability.dockerDefault
        let linear = ClassicBPF(try SeccompProfile.compile(caps, layout: .linear))
        let tree = ClassicBPF(try SeccompProfile.compile(caps, layout: .binaryTree))
        var longestLinear = 0, longestTree = 0
        for nr in Self.numbers {
            let call = ClassicBPF.Call(nr: nr, arch: Self.arches[0])
            longestLinear = max(longestLinear, try linear.run(call).steps)
            longestTree = max(longestTree, try tree.run(call).steps)
        }
        #expect(longestTree <= 40, "the tree took \(longestTree) instructions (the linear list \(longestLinear))")
        #expect(longestLinear > 4 * longestTree, "linear \(longestLinear), tree \(longestTree)")
    }

    /// The policy itself, read off the program: allowed calls, refused ones, and numbers newer
    /// than the profile (ENOSYS, so that libc falls back).
    @Test func theProgramAllowsRefusesAndSaysNotImplementedAsTheProfileSays() throws {
        let program = ClassicBPF(try SeccompProfile.program(for: Capability.dockerDefault))
        func action(_ name: String, _ arg0: UInt64 = 0) throws -> UInt32 {
            let nr = seccomp_syscall_resolve_name(name)
            try #require(nr >= 0, "\(name) resolves")
            return try program.run(ClassicBPF.Call(nr: UInt32(nr), arch: Self.arches[0], args: [arg0, 0, 0, 0, 0, 0])).action
        }
        let allow = SeccompProfile.actAllow, eperm = SeccompProfile.actErrno(EPERM), enosys = SeccompProfile.actErrno(ENOSYS)
        for name in ["read", "write", "openat", "execve", "futex", "chroot"] { #expect(try action(name) == allow, "\(name)") }
        for name in ["mount", "unshare", "setns", "keyctl", "io_uring_setup", "bpf", "reboot"] { #expect(try action(name) == eperm, "\(name)") }
        #expect(try action("clone3") == enosys)
        #expect(try action("clone", 0x11) == allow, "a plain fork")
        #expect(try action("clone", 0x0002_0000 | 0x11) == eperm, "CLONE_NEWNS")
        #expect(try action("socket", 2) == allow, "AF_INET")
        #expect(try action("socket", 38) == eperm, "AF_ALG")
        #expect(try action("socket", 40) == eperm, "AF_VSOCK")
        #expect(try action("personality", 0x20008) == allow)
        #expect(try action("personality", 0x0004_0000) == eperm, "ADDR_NO_RANDOMIZE")
        let newest = try program.run(ClassicBPF.Call(nr: 999, arch: Self.arches[0])).action
        #expect(newest == enosys)
    }

    /// A program is cached in the state root under its fingerprint; writing one removes those
    /// of other fingerprints (an earlier build's or libseccomp's) and nothing else.
    @Test func writingAProgramRemovesThoseOfOtherFingerprints() throws {
        let tmp = try TemporaryDirectory("fr-seccomp-cache")
        defer { tmp.remove() }
        let dir = tmp.path
        let stale = ["seccomp-0123456789abcdef-a80425fb.bpf", "seccomp-\(SeccompProfile.fingerprint)x-1.bpf"]
        let kept = ["notes.txt", "seccomp-\(SeccompProfile.fingerprint)-1.bpf", "seccomp-other.json"]
        for name in stale + kept { try FileSystem.createFile(dir + "/" + name, [0, 0, 0, 0, 0, 0, 0, 0], mode: 0o600) }
        // A capability set no other test compiles, so this process has not cached it.
        let caps: Set<Capability> = [.auditRead, .wakeAlarm, .blockSuspend]
        let program = try SeccompProfile.program(for: caps, cacheDirectory: dir)
        let written = "seccomp-\(SeccompProfile.fingerprint)-\(String(Capability.mask(caps), radix: 16)).bpf"
        for name in stale { #expect(!FileSystem.exists(dir + "/" + name), "\(name) is removed") }
        for name in kept + [written] { #expect(FileSystem.exists(dir + "/" + name), "\(name) stays") }
        #expect(SeccompProfile.readCached(dir + "/" + written) == program)
    }
}
