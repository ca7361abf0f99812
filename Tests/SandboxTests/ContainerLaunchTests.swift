#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import Sandbox
import TestSupport
import Testing

/// Starts real containers from an unpacked busybox rootfs. Needs root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason), .serialized)
struct ContainerLaunchTests {
    /// Runs `args` in a fresh container over an overlay of the busybox rootfs and returns
    /// (exit status, stdout, stderr).
    /// A spec running `args` over an overlay of the busybox rootfs in `tmp` (upper layer at
    /// `tmp/upper`), with Docker's default profile, and a fresh cgroup for it.
    func busyboxSpec(_ tmp: TemporaryDirectory, _ args: [String]) throws -> (ContainerSpec, Cgroup) {
        let lower = tmp.path + "/lower", upper = tmp.path + "/upper", work = tmp.path + "/work", target = tmp.path + "/rootfs"
        for d in [lower, upper, work, target] { try FileSystem.makeDirectories(d) }
        try TestImages.unpackBusybox(into: lower)
        let host = try CgroupHost.probe()
        let spec = ContainerSpec(rootfs: .overlay(lower: [lower], upper: upper, work: work, target: target), arguments: args,
                                 environment: ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], hostname: "box",
                                 mounts: DefaultProfile.mounts(cgroups: host), devices: DefaultProfile.devices,
                                 symlinks: DefaultProfile.symlinks, maskedPaths: DefaultProfile.maskedPaths,
                                 readonlyPaths: DefaultProfile.readonlyPaths(cgroups: host), rlimits: HostCapabilities.achievable(DefaultProfile.rlimits).limits)
        let cg = try Cgroup.create(host: host, relativePath: "fargate-run-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
                                   limits: ResourceLimits(memoryMax: 256 << 20))
        return (spec, cg)
    }

    func runContainer(_ args: [String], configure: (inout ContainerSpec) -> Void = { _ in }) async throws -> (TerminationStatus, String, String) {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var (spec, cg) = try busyboxSpec(tmp, args)
        defer { try? cg.remove() }
        configure(&spec)
        var outp: [Int32] = [0, 0], errp: [Int32] = [0, 0]
        #expect(pipe(&outp) == 0 && pipe(&errp) == 0)
        let process: ContainerProcess
        do {
            process = try ContainerLauncher.start(spec, cgroup: cg, stdout: outp[1], stderr: errp[1])
        } catch {
            close(outp[0]); close(outp[1]); close(errp[0]); close(errp[1])
            throw error
        }
        close(outp[1]); close(errp[1])
        let out = FileHandle(fileDescriptor: outp[0], closeOnDealloc: true).readDataToEndOfFile()
        let err = FileHandle(fileDescriptor: errp[0], closeOnDealloc: true).readDataToEndOfFile()
        let status = await process.wait()
        #expect(mountsContaining(tmp.path).isEmpty, "the overlay must live only in the container's mount namespace")
        return (status, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test func runsACommandAndReportsItsExitCode() async throws {
        let (status, out, _) = try await runContainer(["sh", "-c", "echo hello; exit 7"])
        #expect(out == "hello\n")
        #expect(status == TerminationStatus(exited: true, value: 7))
    }

    @Test func isPidOneWithItsOwnHostname() async throws {
        let (status, out, _) = try await runContainer(["sh", "-c", "echo $$; hostname"])
        #expect(status.code == 0)
        #expect(out == "1\nbox\n")
    }

    @Test func missingCommandFailsBeforeExec() async throws {
        await #expect(throws: SandboxError.self) {
            _ = try await runContainer(["no-such-program"])
        }
    }

    /// A prepared container is in its cgroup (created there on v2) and runs nothing until it
    /// is started; the hostname given at the start replaces the spec's, in the environment too.
    @Test func aPreparedContainerWaitsInItsCgroupForItsStart() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var (spec, cg) = try busyboxSpec(tmp, ["sh", "-c", "hostname; echo $HOSTNAME"])
        defer { try? cg.remove() }
        spec.environment.append("HOSTNAME=box")
        var outp: [Int32] = [0, 0]
        #expect(pipe(&outp) == 0)
        let prepared = try ContainerLauncher.prepare(spec, cgroup: cg, stdout: outp[1], stderr: outp[1])
        close(outp[1])
        let pid = prepared.process.pid
        // v2 creates it there; on v1 its first act is to move itself in.
        #expect(prepared.process.createdInCgroup == (cg.host.version == .v2))
        #expect(eventually(timeout: 10) { cg.processes().contains(pid) }, "in its cgroup before it runs")
        // The container is made while it waits: its root is the overlay (pivot_root done) and
        // /proc/sys is read-only (a path made read-only after it); only the hostname, dropping
        // privileges and the exec are left for the start.
        var mounts = ""
        #expect(eventually(timeout: 10) {
            mounts = (try? String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)) ?? ""
            let lines = mounts.split(separator: "\n").map { $0.split(separator: " ") }
            return lines.contains { $0.count > 8 && $0[4] == "/" && $0[$0.count - 3] == "overlay" }
                && lines.contains { $0.count > 5 && $0[4] == "/proc/sys" && $0[5].hasPrefix("ro,") }
        }, "its mounts are made before the start: \(mounts)")
        // Its root overlay is volatile where the kernel has it: no sync of the upper
        // filesystem at the container's exit.
        let lines: [[Substring]] = mounts.split(separator: "\n").map { $0.split(separator: " ") }
        let root: [Substring]? = lines.first { $0.count > 8 && $0[4] == "/" && $0[$0.count - 3] == "overlay" }
        let options: [Substring] = root?.last?.split(separator: ",") ?? []
        // (Newer kernels show it as fsync=volatile.)
        #expect((options.contains("volatile") || options.contains("fsync=volatile")) == HostCapabilities.overlayVolatile, "\(options)")
        var quiet = pollfd(fd: outp[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&quiet, 1, 300) == 0, "nothing of the command ran before the start")
        let process = try prepared.start(hostname: "ip-198-19-0-9.ec2.internal")
        let out = FileHandle(fileDescriptor: outp[0], closeOnDealloc: true).readDataToEndOfFile()
        #expect(await process.wait().code == 0)
        #expect(String(decoding: out, as: UTF8.self) == "ip-198-19-0-9.ec2.internal\nip-198-19-0-9.ec2.internal\n")
    }

    /// Where the hostname is known when a container is prepared, the process sets it and drops
    /// its privileges while it waits (Docker's capability set, no_new_privs, the seccomp
    /// filter): the start leaves it only the exec. A hostname at the start is then refused.
    @Test func aPreparedContainerWithItsHostnameFinalWaitsWithItsPrivilegesDropped() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var (spec, cg) = try busyboxSpec(tmp, ["sh", "-c", "hostname; echo $HOSTNAME"])
        defer { try? cg.remove() }
        spec.hostname = "ip-198-19-0-7.ec2.internal"
        spec.environment.append("HOSTNAME=ip-198-19-0-7.ec2.internal")
        spec.hostnameIsFinal = true
        spec.seccompProgram = try SeccompProfile.program(for: spec.capabilities)
        var outp: [Int32] = [0, 0]
        #expect(pipe(&outp) == 0)
        let prepared = try ContainerLauncher.prepare(spec, cgroup: cg, stdout: outp[1], stderr: outp[1])
        close(outp[1])
        let pid = prepared.process.pid
        var status = ""
        #expect(eventually(timeout: 10) {
            status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            return status.contains("Seccomp:\t2")
        }, "its filter is on before the start: \(status)")
        #expect(status.contains("NoNewPrivs:\t1"), "\(status)")
        #expect(status.contains(String(format: "CapEff:\t%016llx", Capability.mask(spec.capabilities))), "Docker's set: \(status)")
        var quiet = pollfd(fd: outp[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&quiet, 1, 100) == 0, "nothing of the command ran before the start")
        #expect(throws: SandboxError.self, "a hostname after the privileges are dropped") {
            _ = try prepared.start(hostname: "ip-198-19-0-8.ec2.internal")
        }
        #expect(await prepared.process.wait() == TerminationStatus(exited: false, value: SIGKILL))
        close(outp[0])

        // Started without one, it runs with the name it was given. (A new upper layer: the
        // killed container's volatile overlay marked its own.)
        let tmp2 = try TemporaryDirectory()
        defer { tmp2.remove() }
        var (again, cg2) = try busyboxSpec(tmp2, ["sh", "-c", "hostname; echo $HOSTNAME"])
        defer { try? cg2.remove() }
        again.hostname = spec.hostname
        again.environment = spec.environment
        again.hostnameIsFinal = true
        #expect(pipe(&outp) == 0)
        let second = try ContainerLauncher.prepare(again, cgroup: cg2, stdout: outp[1], stderr: outp[1])
        close(outp[1])
        let process = try second.start()
        let out = FileHandle(fileDescriptor: outp[0], closeOnDealloc: true).readDataToEndOfFile()
        #expect(await process.wait().code == 0)
        #expect(String(decoding: out, as: UTF8.self) == "ip-198-19-0-7.ec2.internal\nip-198-19-0-7.ec2.internal\n")
    }

    /// Prepares a container whose command would leave a marker, ends it with `end` before any
    /// start, and returns how it ended once it checked the command never ran and no mount is
    /// left.
    func endUnstarted(_ end: (PreparedContainer) -> Void) async throws -> (TerminationStatus, PreparedContainer) {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (spec, cg) = try busyboxSpec(tmp, ["sh", "-c", "touch /ran"])
        defer { try? cg.remove() }
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devnull) }
        let prepared = try ContainerLauncher.prepare(spec, cgroup: cg, stdout: devnull, stderr: devnull)
        end(prepared)
        let status = await prepared.process.wait()
        #expect(!FileSystem.exists(tmp.path + "/upper/ran"), "the command never ran")
        #expect(mountsContaining(tmp.path).isEmpty)
        return (status, prepared)
    }

    /// An abandoned prepared container is killed before it ran anything, and leaves nothing.
    @Test func anAbandonedPreparedContainerIsKilledUnrun() async throws {
        let (status, prepared) = try await endUnstarted { $0.abandon() }
        #expect(status == TerminationStatus(exited: false, value: SIGKILL))
        #expect(throws: SandboxError.self) { _ = try prepared.start() }
    }

    /// A prepared container whose parent dies before the start (the pipe closes with no go)
    /// dies too, its command unrun: it must not run unsupervised, outside its task's order.
    @Test func aPreparedContainerWhoseParentDiesNeverRuns() async throws {
        let (status, _) = try await endUnstarted { $0.closeWithoutGo() }
        #expect(status.exited && status.code != 0, "\(status)")
    }

    /// A cgroup that is gone by the launch: the launch fails naming it, and nothing runs
    /// outside it (v2 would otherwise create the process where fargate-run is).
    @Test func aLaunchIntoACgroupThatIsGoneFailsNamingIt() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (spec, cg) = try busyboxSpec(tmp, ["sh", "-c", "touch /ran"])
        try cg.remove()
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devnull) }
        do {
            _ = try ContainerLauncher.start(spec, cgroup: cg, stdout: devnull, stderr: devnull)
            Issue.record("the launch went ahead without its cgroup")
        } catch {
            #expect("\(error)".contains(cg.directories[0]), "names the cgroup: \(error)")
        }
        #expect(!FileSystem.exists(tmp.path + "/upper/ran"))
        #expect(mountsContaining(tmp.path).isEmpty)
    }

    /// `exec` into a running container: its root, namespaces and cgroup, with the spec's user
    /// and capabilities, and a pid inside the container's pid namespace.
    @Test func execJoinsARunningContainer() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (spec, cg) = try busyboxSpec(tmp, ["sh", "-c", "echo inside > /marker; exec sleep 1000"])
        defer { try? cg.remove() }
        let upper = tmp.path + "/upper"
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devnull) }
        let container = try ContainerLauncher.start(spec, cgroup: cg, stdout: devnull, stderr: devnull)
        defer { container.signal(SIGKILL) }
        #expect(eventually { FileSystem.exists(upper + "/marker") })

        var execSpec = spec
        execSpec.arguments = ["sh", "-c", "cat /marker; hostname; echo pid $$; id -u; grep CapEff /proc/self/status; echo outside $(grep -vc ':/$' /proc/self/cgroup); set -- /proc/[0-9]*; echo $#; exit 3"]
        execSpec.user = ContainerSpec.User(uid: 33, gid: 33)
        execSpec.capabilities = []
        var outp: [Int32] = [0, 0]
        #expect(pipe(&outp) == 0)
        let p = try ContainerLauncher.exec(execSpec, in: container, cgroup: cg, stdout: outp[1], stderr: outp[1])
        close(outp[1])
        let out = String(decoding: FileHandle(fileDescriptor: outp[0], closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
        let status = await p.wait()
        #expect(status == TerminationStatus(exited: true, value: 3), "the command's own exit code")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.first == "inside", "the container's root: \(out)")
        #expect(lines.dropFirst().first == "box", "the container's hostname")
        let pid = Int(lines.first { $0.hasPrefix("pid ") }?.dropFirst(4) ?? "") ?? 0
        #expect(pid > 1 && pid < 10, "a pid of the container's namespace: \(out)")
        #expect(lines.contains("33"))
        #expect(lines.contains { $0.hasPrefix("CapEff:") && $0.hasSuffix("0000000000000000") }, "no capabilities: \(out)")
        // In the container's cgroup namespace, a process of the container's cgroup sees "/"
        // in every hierarchy; one left in fargate-run's would see a path up and out.
        #expect(lines.contains("outside 0"), "in the container's cgroup: \(out)")
        // Counted by the shell's own glob: a pipeline (ls | grep) raced its second command's fork.
        #expect(lines.last == "2", "the container sees its init and the shell, never the joining process: \(out)")
        // Exec into a container that has ended fails cleanly.
        container.signal(SIGKILL)
        _ = await container.wait()
        #expect(throws: SandboxError.self) { _ = try ContainerLauncher.exec(execSpec, in: container, cgroup: cg, stdout: devnull, stderr: devnull) }
    }
}
