#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// fargate-run as users install it: the Debian package (rootfs-tools/build-deb.sh) built,
/// linted, looked into, installed with apt in a clean Debian 12 made with debootstrap
/// (rootfs-tools/debian-root.sh: an overlay in a mount namespace of its own, never this
/// machine's /), and running the example task from there; and install.sh's files, staged.
@Suite(.enabled(if: Prerequisites.rootOrCI && ProcessInfo.processInfo.environment["FARGATE_RUN_IN_VM"] == nil,
                "needs root, dpkg-dev, lintian, debootstrap and Debian's mirror; CI runs it"),
       .serialized)
struct PackageTests {
    /// The package, built once for the suite (a release build: minutes the first time, seconds
    /// after the README's first command or an earlier run).
    static let deb: Result<String, TestFailure> = {
        let r: RunResult
        do { r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/build-deb.sh", repositoryRoot + "/.build/deb"]) } catch {
            return .failure(TestFailure("build-deb.sh: \(error)"))
        }
        guard r.status == 0, let path = r.stdout.split(separator: "\n").last.map(String.init), path.hasSuffix(".deb") else {
            return .failure(TestFailure("build-deb.sh failed (\(r.status)): \(r.stderr.suffix(3000))"))
        }
        return .success(path)
    }()

    static var version: String {
        ((try? String(contentsOfFile: repositoryRoot + "/VERSION", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The package's files, unpacked into `dir`.
    static func unpack(into dir: String) throws {
        let r = try run("/usr/bin/dpkg-deb", ["-x", try deb.get(), dir])
        try #require(r.status == 0, "dpkg-deb -x: \(r.stderr)")
    }

    @Test(.timeLimit(.minutes(30)))
    func thePackageHoldsTheToolAndLintsWithoutErrors() throws {
        let deb = try Self.deb.get()
        #expect(URL(fileURLWithPath: deb).lastPathComponent == "fargate-run_\(Self.version)_amd64.deb")
        let fields = try run("/usr/bin/dpkg-deb", ["-f", deb, "Version", "Depends", "Recommends"]).stdout
        #expect(fields.contains("Version: \(Self.version)\n"))
        let depends = fields.split(separator: "\n").first { $0.hasPrefix("Depends:") }.map(String.init) ?? ""
        for p in ["libc6", "libseccomp2", "libsqlite3-0", "libarchive13", "nftables"] { #expect(depends.contains(p), "Depends lacks \(p): \(depends)") }
        #expect(fields.contains("Recommends: iptables, containernetworking-plugins"))
        let files = try run("/usr/bin/dpkg-deb", ["-c", deb]).stdout
        for f in ["./usr/bin/fargate-run", "./usr/share/man/man1/fargate-run.1.gz", "./usr/share/bash-completion/completions/fargate-run",
                  "./usr/share/zsh/vendor-completions/_fargate-run", "./usr/share/fish/vendor_completions.d/fargate-run.fish",
                  "./lib/systemd/system/fargate-run.service", "./usr/share/doc/fargate-run/copyright", "./usr/share/doc/fargate-run/changelog.gz"] {
            #expect(files.contains(" \(f)\n"), "\(f) is not in the package")
        }
        let lint = try run("/usr/bin/lintian", ["--fail-on", "error", "--tag-display-limit", "0", deb])
        #expect(lint.status == 0, "lintian: \(lint.stdout)\(lint.stderr)")
        #expect(!lint.stdout.split(separator: "\n").contains { $0.hasPrefix("E:") }, "lintian errors: \(lint.stdout)")
    }

    @Test func theBinaryCarriesTheSwiftRuntimeAndTheUnitRunsServe() throws {
        let dir = try TemporaryDirectory("fr-deb")
        defer { dir.remove() }
        try Self.unpack(into: dir.path)
        let ldd = try run("/usr/bin/ldd", [dir.path + "/usr/bin/fargate-run"])
        #expect(ldd.status == 0)
        #expect(!ldd.stdout.contains("libswift") && !ldd.stdout.contains("libFoundation"), "the Swift runtime is linked in: \(ldd.stdout)")
        // No RUNPATH ($ORIGIN, SwiftPM's default): the loader of a binary run as root looks for
        // its libraries only where the system keeps them, not in the directory it was installed to.
        let dynamic = try run("/usr/bin/readelf", ["-d", dir.path + "/usr/bin/fargate-run"])
        #expect(dynamic.status == 0 && dynamic.stdout.contains("(NEEDED)"), "\(dynamic.stderr)")
        #expect(!dynamic.stdout.contains("RUNPATH") && !dynamic.stdout.contains("(RPATH)"), "\(dynamic.stdout)")
        let unit = try String(contentsOfFile: dir.path + "/lib/systemd/system/fargate-run.service", encoding: .utf8)
        for line in ["Type=simple", "ExecStart=/usr/bin/fargate-run serve", "KillMode=process", "Delegate=yes", "Restart=on-failure", "LimitNOFILE=1048576"] {
            #expect(unit.split(separator: "\n").contains(Substring(line)), "the unit lacks \(line)")
        }
        #expect(!unit.contains("@BINDIR@"))
        let man = try run("/usr/bin/man", ["-l", dir.path + "/usr/share/man/man1/fargate-run.1.gz"], environment: ["MANWIDTH": "100", "PATH": "/usr/bin:/bin"])
        #expect(man.status == 0, "\(man.stderr)")
        #expect(man.stdout.contains("info    Show what this machine offers fargate-run"), "the man page has every command: \(man.stdout.prefix(500))")
        #expect(man.stdout.contains("--format"))
    }

    /// The generated completions, loaded by each shell, offer the commands and option values.
    @Test func completionsCompleteInBashZshAndFish() throws {
        let dir = try TemporaryDirectory("fr-deb")
        defer { dir.remove() }
        try Self.unpack(into: dir.path)
        let share = dir.path + "/usr/share"
        let bash = try run("/bin/bash", ["-c", """
            source '\(share)/bash-completion/completions/fargate-run'
            COMP_LINE='fargate-run info --format '; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(fargate-run info --format ''); COMP_CWORD=3
            _fargate-run fargate-run '' --format; echo "format: ${COMPREPLY[*]}"
            COMPREPLY=(); COMP_LINE='fargate-run in'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(fargate-run in); COMP_CWORD=1
            _fargate-run fargate-run in fargate-run; echo "commands: ${COMPREPLY[*]}"
            """])
        #expect(bash.stdout.contains("format: text json"), "\(bash.stdout)\(bash.stderr)")
        #expect(bash.stdout.contains("commands: inspect info"), "\(bash.stdout)\(bash.stderr)")
        let zsh = try run("/usr/bin/zsh", ["-f", "-c", """
            autoload -Uz compinit && compinit -u -d '\(dir.path)/zcompdump'
            source '\(share)/zsh/vendor-completions/_fargate-run' && print -r -- "comp=$_comps[fargate-run]"
            """])
        #expect(zsh.stdout.contains("comp=_fargate-run"), "\(zsh.stdout)\(zsh.stderr)")
        let fish = try run("/usr/bin/fish", ["--no-config", "-c", "source '\(share)/fish/vendor_completions.d/fargate-run.fish'; complete -C'fargate-run in'"])
        let offered = fish.stdout.split(separator: "\n").map { String($0.prefix { $0 != "\t" }) }
        #expect(offered.contains("info") && offered.contains("inspect"), "\(fish.stdout)\(fish.stderr)")
    }

    /// `apt install ./fargate-run_*.deb` on a clean Debian 12 pulls what it needs, and the
    /// example runs with the plain `fargate-run`; the unit verifies and is installed disabled;
    /// `apt remove` takes it away.
    @Test(.timeLimit(.minutes(30)))
    func aptInstallsItOnACleanDebianWhereTheExampleRuns() throws {
        let deb = try Self.deb.get()
        let base = repositoryRoot + "/.build/debian-root/bookworm"
        let made = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/debian-root.sh", "base", base])
        try #require(made.status == 0, "debian-root.sh base: \(made.stderr)")
        let work = try TemporaryDirectory("fr-debian-root")
        // A bridge, subnet and port address of its own: other suites' tasks run beside it.
        let bridge = "frdeb\(getpid() % 1000)", subnet = "198.18.250.0/24"
        defer {
            _ = try? run("/usr/sbin/ip", ["link", "del", bridge])
            try? FileManager.default.removeItem(atPath: "/run/fargate-run/ipam/fargate-run-" + bridge)
            work.remove()
        }
        let name = URL(fileURLWithPath: deb).lastPathComponent
        let script = """
            set -e
            apt-get install -y -q /debs/\(name) >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
            echo "FR-WHICH $(command -v fargate-run)"
            echo "FR-VERSION $(fargate-run --version)"
            echo FR-INFO-BEGIN; fargate-run info --format json || echo "FR-INFO-FAILED $?"; echo FR-INFO-END
            systemd-analyze verify fargate-run.service && echo FR-UNIT-VERIFIED
            fargate-run serve --help >/dev/null && echo FR-SERVE-EXISTS
            echo "FR-ENABLED $(systemctl is-enabled fargate-run.service 2>&1 || true)"
            cd /example
            fargate-run --bridge \(bridge) --subnet \(subnet) --publish-address 127.0.0.3 Examples/web-and-client.json && echo FR-EXAMPLE-OK
            fargate-run report
            apt-get remove -y -q fargate-run >/dev/null 2>&1
            [ ! -e /usr/bin/fargate-run ] && echo FR-REMOVED
            """
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/debian-root.sh", "run", base, work.path, script,
                                      URL(fileURLWithPath: deb).deletingLastPathComponent().path + ":/debs",
                                      repositoryRoot + "/Examples:/example/Examples", try TestImages.busybox() + ":/example/out/busybox"])
        let out = r.stdout + r.stderr
        #expect(r.status == 0, "in the Debian root:\n\(out.suffix(4000))")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func value(_ marker: String) -> String? { lines.first { $0.hasPrefix(marker + " ") }.map { String($0.dropFirst(marker.count + 1)) } }
        #expect(value("FR-WHICH") == "/usr/bin/fargate-run")
        let head = try run("/usr/bin/git", ["-C", repositoryRoot, "rev-parse", "--short=12", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(value("FR-VERSION")?.hasPrefix("\(Self.version) (commit \(head)") == true, "\(value("FR-VERSION") ?? "no version")")
        let info = r.stdout.components(separatedBy: "FR-INFO-BEGIN\n").last?.components(separatedBy: "FR-INFO-END").first ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any]
        let problems = (report?["problems"] as? [[String: Any]]) ?? []
        #expect(report != nil && !problems.contains { $0["severity"] as? String == "error" }, "info in the Debian root:\n\(info)")
        #expect((report?["libraries"] as? [String: Any])?["archiveLoads"] as? Bool == true, "libarchive13 came with the package")
        #expect((report?["firewall"] as? [String: Any])?["nftables"] as? String == "library", "nftables came with the package")
        #expect(lines.contains("FR-UNIT-VERIFIED"), "systemd-analyze verify:\n\(out.suffix(2000))")
        #expect(lines.contains("FR-SERVE-EXISTS"), "the unit's ExecStart, fargate-run serve, is a command")
        #expect(value("FR-ENABLED") == "disabled", "installed, not enabled")
        #expect(r.stdout.contains("client | <h1>hello from the web container</h1>") || r.stderr.contains("client | <h1>hello from the web container</h1>"))
        #expect(lines.contains("FR-EXAMPLE-OK"))
        #expect(lines.contains { $0.hasPrefix("TOTAL") && $0.contains("1 task") }, "the cost report:\n\(r.stdout.suffix(1000))")
        #expect(lines.contains("FR-REMOVED"))
    }

    /// install.sh's layout for /usr/local, staged (installing into this machine's / is the
    /// README's first command, not a test), and its uninstall.
    @Test(.timeLimit(.minutes(30)))
    func installScriptPutsEachFileWhereItsToolLooksAndUninstalls() throws {
        let dir = try TemporaryDirectory("fr-install")
        defer { dir.remove() }
        let script = repositoryRoot + "/rootfs-tools/install.sh"
        let staged = try run("/bin/bash", [script, "--destdir", dir.path])
        try #require(staged.status == 0, "install.sh --destdir: \(staged.stderr.suffix(2000))")
        let files = ["bin/fargate-run", "share/man/man1/fargate-run.1.gz", "share/bash-completion/completions/fargate-run",
                     "share/zsh/site-functions/_fargate-run", "share/fish/vendor_completions.d/fargate-run.fish", "lib/systemd/system/fargate-run.service"]
        for f in files { #expect(FileManager.default.fileExists(atPath: dir.path + "/usr/local/" + f), "\(f) not installed") }
        let version = try run(dir.path + "/usr/local/bin/fargate-run", ["--version"])
        #expect(version.stdout.hasPrefix(Self.version + " (commit "))
        let unit = try String(contentsOfFile: dir.path + "/usr/local/lib/systemd/system/fargate-run.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/local/bin/fargate-run serve\n"))
        let removed = try run("/bin/bash", [script, "--uninstall", "--destdir", dir.path])
        #expect(removed.status == 0, "\(removed.stderr)")
        for f in files { #expect(!FileManager.default.fileExists(atPath: dir.path + "/usr/local/" + f), "\(f) left behind") }
    }
}
