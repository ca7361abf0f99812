#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// What the endpoint gives one task and keeps from the others, a real SDK reading it, its
/// stats against the cgroup files, and the link-local addresses it keeps out of reach. Traffic
/// goes only to 169.254.170.2 inside tasks (each script checks it is the task's own first), to
/// loopback, and to a namespace the test makes; nothing is sent to the real 169.254.0.0/16.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct MetadataIsolationTests {
    typealias M = MetadataEndpointTests

    func log(_ h: Harness, _ id: String, _ container: String) -> String {
        (try? String(contentsOfFile: h.root + "/tasks/\(id)/logs/\(container).log", encoding: .utf8)) ?? ""
    }

    /// Starts `definition` in the background and waits until it runs; returns it and its id.
    func start(_ h: Harness, _ definition: String, flags: [String] = [], environment: [String: String]) throws -> (BackgroundProcess, String) {
        let before = Set(h.taskIds())
        let p = try BackgroundProcess(fargateRunBinary, h.withRoot(flags + [try h.task(definition, name: "bg-\(UUID().uuidString).json")]),
                                      environment: environment)
        var id = ""
        let running = eventually {
            for t in Set(h.taskIds()).subtracting(before) {
                if let s = h.state(t), ((s["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING" { id = t; return true }
            }
            return false
        }
        if !running {
            p.stop()
            throw TestFailure("the task never ran: \(p.stderr)")
        }
        return (p, id)
    }

    /// Runs `definition` in the foreground to its end; returns its id.
    func runToEnd(_ h: Harness, _ definition: String, flags: [String] = [], environment: [String: String]) throws -> (RunResult, String) {
        let before = Set(h.taskIds())
        let r = try run(fargateRunBinary, h.withRoot(["-q"] + flags + [try h.task(definition, name: "fg-\(UUID().uuidString).json")]),
                        environment: environment)
        guard let id = Set(h.taskIds()).subtracting(before).first else { throw TestFailure("no task: \(r.stderr)") }
        return (r, id)
    }

    /// A container's environment, read from the host.
    func environ(_ pid: Int32) -> [String: String] {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var out: [String: String] = [:]
        for entry in d.split(separator: 0) {
            let kv = String(decoding: entry, as: UTF8.self).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
        }
        return out
    }

    // MARK: A real SDK

    @Test func botocoresContainerProviderLoadsTheTaskRolesCredentialsAndFindsNoneWithoutARole() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let image = try TestImages.botocoreOCI()
        // botocore's whole default chain; the instance metadata provider is switched off so that
        // it never tries 169.254.169.254 (unreachable in a task, but this test sends nothing there).
        let python = """
            import botocore.session
            s = botocore.session.get_session()
            c = s.get_credentials()
            if c is None:
                print("@@ none")
            else:
                f = c.get_frozen_credentials()
                print("@@ found", c.method, f.access_key, f.token)
            """
        let containers: [[String: Any]] = [["name": "sdk", "image": image, "command": ["/usr/bin/python3", "-c", python],
                                            "environment": [["name": "AWS_EC2_METADATA_DISABLED", "value": "true"]]]]
        let env = M.awsEnvironment(h.dir.path)
        let (r, id) = try runToEnd(h, try M.definition("sdk", containers), environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(log(h, id, "sdk").contains("@@ found container-role AKIAFARGATERUNTEST01 fargate-run-test-token"), "\(log(h, id, "sdk")) \(r.stderr)")

        // A role mapped to a profile gets that profile's keys.
        try "[dev]\naws_access_key_id = AKIAPROFILEDEV000001\naws_secret_access_key = dev-secret\n"
            .write(toFile: h.dir.path + "/aws-credentials", atomically: false, encoding: .utf8)
        let (r2, id2) = try runToEnd(h, try M.definition("sdk", containers), flags: ["--task-role", M.role + "=dev"], environment: env)
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(log(h, id2, "sdk").contains("@@ found container-role AKIAPROFILEDEV000001"), "\(log(h, id2, "sdk"))")

        let (r3, id3) = try runToEnd(h, try M.definition("sdk", role: nil, containers), environment: env)
        #expect(r3.status == 0, "\(r3.stderr)")
        #expect(log(h, id3, "sdk").contains("@@ none"), "no role: botocore finds no credentials: \(log(h, id3, "sdk"))")
    }

    // MARK: Isolation

    @Test func anotherTasksCredentialsAndTheHostsPortsAreOutOfReach() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let env = M.awsEnvironment(h.dir.path)
        let (a, aId) = try start(h, try M.definition("holder", [["name": "a", "image": h.image, "command": ["sleep", "1000"], "stopTimeout": 2]]),
                                 environment: env)
        defer { a.stop() }
        let aPid = try #require((h.state(aId)?["pids"] as? [String: Int])?["a"])
        let aURI = try #require(environ(Int32(aPid))["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], "A has a credentials URI")

        // A listener of the host's, on every address: a task must not reach it through 169.254.170.2.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } } == 0)
        try #require(listen(listener, 16) == 0)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))

        let script = M.prelude + #"""
            raw stolen "$A_URI"
            raw stolen-v1 "/v1/credentials?id=${A_URI##*/}"
            get own "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
            for p in $HOST_PORT 22 51678 51679; do
              if echo x | timeout 3 nc 169.254.170.2 $p >/dev/null 2>&1; then echo "@@ port-$p 0"; else echo "@@ port-$p 1"; fi
            done
            """#
        let b = try M.definition("thief", [["name": "b", "image": h.image, "command": ["sh", "-c", script],
                                            "environment": [["name": "A_URI", "value": aURI], ["name": "HOST_PORT", "value": "\(port)"]]]])
        let (r, bId) = try runToEnd(h, b, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let s = M.sections(log(h, bId, "b"))
        try #require(s["no-endpoint-address"] == nil)
        for name in ["stolen", "stolen-v1"] {
            let body = s[name]?.body ?? ""
            #expect(body.hasPrefix("HTTP/1.0 400") && body.contains("InvalidIdInRequest"), "\(name): \(body)")
            #expect(!body.contains("AKIA"), "\(name): no credentials in the answer")
        }
        #expect(s["own"]?.status == 0 && s["own"]?.body.contains("AKIAFARGATERUNTEST01") == true, "B's own id works: \(s["own"]?.body ?? "")")
        #expect(s["port-\(port)"]?.status == 1, "the host's port \(port) is not behind 169.254.170.2")
        #expect(s["port-22"]?.status == 1 && s["port-51678"]?.status == 1)
        #expect(s["port-51679"]?.status == 0, "the endpoint's own listener, in the task's namespace")
        // Nothing reached the host's listener.
        _ = fcntl(listener, F_SETFL, O_NONBLOCK)
        #expect(accept(listener, nil, nil) == -1 && errno == EAGAIN)
    }

    @Test func aRequestFloodIsLimitedAndDoesNotSlowAnotherTasksStart() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let env = M.awsEnvironment(h.dir.path)
        let quick = try M.definition("quick", role: nil, [["name": "q", "image": h.image, "command": ["true"]]])
        func timedStart() throws -> Double {
            let t0 = Date()
            let (r, _) = try runToEnd(h, quick, environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            return Date().timeIntervalSince(t0)
        }
        let baseline = try (0..<2).map { _ in try timedStart() }.min()!
        // Four loops of 150 requests at once, each counting its answers and its 429s.
        let flood = M.prelude + #"""
            t0=$(cut -d' ' -f1 /proc/uptime)
            for n in 1 2 3 4; do
              ( ok=0; limited=0; i=0
                while [ $i -lt 150 ]; do
                  if timeout 5 wget -qO /dev/null "$ECS_CONTAINER_METADATA_URI_V4/task" 2>/tmp/e$n; then ok=$((ok+1))
                  elif grep -q 429 /tmp/e$n; then limited=$((limited+1)); fi
                  i=$((i+1))
                done
                echo "$ok $limited" > /tmp/count$n ) &
            done
            wait
            t1=$(cut -d' ' -f1 /proc/uptime)
            echo "@@ flood 0"; cat /tmp/count1 /tmp/count2 /tmp/count3 /tmp/count4 | awk -v t="$t0 $t1" '{o+=$1; l+=$2} END {split(t, a, " "); print o, l, a[2]-a[1]}'
            get after "$ECS_CONTAINER_METADATA_URI_V4"
            sleep 1000
            """#
        let (a, aId) = try start(h, try M.definition("flood", role: nil, [["name": "f", "image": h.image, "command": ["sh", "-c", flood], "stopTimeout": 2]]),
                                 environment: env)
        defer { a.stop() }
        usleep(300_000)
        let during = try timedStart()
        try #require(eventually(timeout: 120) { M.sections(log(h, aId, "f"))["after"] != nil }, "the flood ends: \(log(h, aId, "f"))")
        let s = M.sections(log(h, aId, "f"))
        let words = (s["flood"]?.body ?? "").split(separator: " ").compactMap { Double($0) }
        try #require(words.count == 3, "\(s["flood"]?.body ?? "")")
        let (ok, limited, seconds) = (words[0], words[1], words[2])
        #expect(ok + limited == 600, "every request answered, with the page or 429: \(words)")
        #expect(limited > 0, "the flood is limited: \(words)")
        // The agent's bucket: 60 at once, then 40 a second (slack for the shell's clock).
        #expect(ok <= 60 + 40 * (seconds + 1), "at most the burst and the rate: \(words)")
        #expect(s["after"]?.status == 0, "the endpoint still answers after the flood")
        // (A start held up by the flood would wait for most of it, some 14 s at 40 a second;
        // the slack is for other suites' load on the machine's two cores meanwhile.)
        #expect(during < baseline * 3 + 5, "a start during the flood: \(during) s, \(baseline) s without")
    }

    // MARK: Stats

    @Test func aCPUSpinnerAndAMemoryHogShowInStatsWithinTwoSamplesAsTheCgroupCountsThem() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let reader = M.prelude + #"""
            sleep 1
            get first "$ECS_CONTAINER_METADATA_URI_V4/task/stats"
            sleep 1.1
            get second "$ECS_CONTAINER_METADATA_URI_V4/task/stats"
            echo "@@ end 0"
            sleep 1000
            """#
        let d: [String: Any] = ["family": "stats", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048", "containerDefinitions": [
            ["name": "spin", "image": h.image, "command": ["sh", "-c", "while :; do :; done"], "stopTimeout": 2],
            ["name": "hog", "image": h.image, "command": ["sh", "-c", "head -c 100000000 /dev/zero > /tmp/hog; sleep 1000"], "stopTimeout": 2],
            ["name": "reader", "image": h.image, "command": ["sh", "-c", reader], "stopTimeout": 2,
             "dependsOn": [["containerName": "spin", "condition": "START"], ["containerName": "hog", "condition": "START"]]],
        ]]
        let (p, id) = try start(h, String(decoding: try JSONSerialization.data(withJSONObject: d), as: UTF8.self), environment: M.awsEnvironment(h.dir.path))
        defer { p.stop() }
        // `get` writes its status line and then the body: wait for the line after the body, or
        // the log may be read between the two (an empty body, "end of input": CI saw it).
        try #require(eventually(timeout: 30) { M.sections(log(h, id, "reader"))["end"] != nil }, "\(log(h, id, "reader"))")
        let dirs = try #require(h.state(id)?["cgroupDirectories"] as? [String])
        func file(_ container: String, _ name: String) -> UInt64? {
            for d in dirs {
                if let v = try? String(contentsOfFile: d + "/" + container + "/" + name, encoding: .utf8) {
                    return UInt64(v.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            return nil
        }
        let spinNow = file("spin", "cpuacct.usage"), hogNow = file("hog", "memory.usage_in_bytes")
        let s = M.sections(log(h, id, "reader"))
        try #require(s["no-endpoint-address"] == nil)
        // wget's status: 124 is `timeout`'s (no answer in 5 s), else an answer cut short.
        try #require(s["second"]?.status == 0, "the second stats request: \(s["second"].map { "status \($0.status), \($0.body.utf8.count) bytes" } ?? "none")")
        let second = try OrderedJSON.parse(s["second"]?.body ?? "")
        // The containers by name (the map is keyed by DockerId; each stats document names its container).
        var byName: [String: OrderedJSON] = [:]
        if case .object(let members) = second { for (_, v) in members { if let n = v["name"]?.string { byName[n] = v } } }
        let spin = try #require(byName["spin"], "\(second)")
        let hog = try #require(byName["hog"], "\(second)")
        let total = try #require(spin["cpu_stats"]?["cpu_usage"]?["total_usage"]?.uint)
        let pre = try #require(spin["precpu_stats"]?["cpu_usage"]?["total_usage"]?.uint)
        let read = try #require(spin["read"]?.string.flatMap(MetadataIsolationTests.date)), preread = try #require(spin["preread"]?.string.flatMap(MetadataIsolationTests.date))
        let rate = Double(total &- pre) / 1e9 / max(read.timeIntervalSince(preread), 0.001)
        #expect(total > pre && rate > 0.2, "the spinner spins in the second sample: \(rate) CPU")
        let systemDelta = (spin["cpu_stats"]?["system_cpu_usage"]?.uint ?? 0) &- (spin["precpu_stats"]?["system_cpu_usage"]?.uint ?? 0)
        #expect(systemDelta > 0, "Docker's CPU % divides by the system's delta")
        if let spinNow {
            #expect(spinNow >= total, "cpuacct.usage (\(spinNow)) is at least what was reported (\(total))")
            #expect(spinNow - total < UInt64(1e9 * (Date().timeIntervalSince(read) + 1)), "and not far past it")
        } else {
            Issue.record("no cpuacct.usage for spin under \(dirs)")
        }
        let usage = try #require(hog["memory_stats"]?["usage"]?.uint)
        #expect(usage >= 100_000_000, "the hog's 100 MB: \(usage)")
        if let hogNow {
            #expect(Double(max(usage, hogNow) - min(usage, hogNow)) < 0.1 * Double(hogNow), "memory.usage_in_bytes \(hogNow), reported \(usage)")
        }
        #expect(hog["memory_stats"]?["stats"]?["cache"] != nil || hog["memory_stats"]?["stats"]?["file"] != nil, "the cgroup's stats map")
    }

    /// What `ip route get` says of an unreachable route (the kernel's EHOSTUNREACH).
    static func blocked(_ answer: String?) -> Bool {
        let a = (answer ?? "").lowercased()
        return a.contains("no route to host") || a.hasPrefix("unreachable")
    }

    static func date(_ s: String) -> Date? {
        // Go's RFC 3339 with nanoseconds: keep milliseconds for ISO8601DateFormatter.
        let trimmed = s.replacingOccurrences(of: #"(\.\d{3})\d*"#, with: "$1", options: .regularExpression)
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: trimmed) ?? ISO8601DateFormatter().date(from: s)
    }

    // MARK: Link-local addresses

    /// A namespace of the test's own playing the outside world's 169.254.169.254 (busybox httpd)
    /// behind a veth, reached from the host only by packets from the test's task subnet (a
    /// policy-routing rule of its own): packets from a task that get out of its namespace land
    /// there, never on the real address.
    struct FakeIMDS {
        let ns: String, hostEnd: String, nsEnd: String, table: String, subnet: String, bridge: String
        let dir: TemporaryDirectory
        let server = Process()

        init(subnet: String, bridge: String) throws {
            let n = getpid() % 10000
            ns = "frt-imds-\(n)"
            hostEnd = "frih\(n)"
            nsEnd = "frin\(n)"
            table = "\(20000 + n)"
            self.subnet = subnet
            self.bridge = bridge
            dir = try TemporaryDirectory("fr-imds")
            try FileManager.default.createDirectory(atPath: dir.path + "/latest/meta-data", withIntermediateDirectories: true)
            try "imds-of-the-test-namespace\n".write(toFile: dir.path + "/latest/meta-data/instance-id", atomically: false, encoding: .utf8)
            for args in [["netns", "add", ns], ["link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd], ["link", "set", nsEnd, "netns", ns],
                         ["addr", "add", "10.254.233.1/30", "dev", hostEnd], ["link", "set", hostEnd, "up"],
                         ["-n", ns, "addr", "add", "10.254.233.2/30", "dev", nsEnd], ["-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo"],
                         ["-n", ns, "link", "set", "lo", "up"], ["-n", ns, "link", "set", nsEnd, "up"],
                         ["-n", ns, "route", "add", "default", "via", "10.254.233.1"],
                         ["route", "add", "169.254.169.254/32", "via", "10.254.233.2", "dev", hostEnd, "table", table],
                         ["rule", "add", "from", subnet, "to", "169.254.169.254/32", "table", table, "priority", "100"]] {
                let r = try run("/usr/sbin/ip", args)
                if r.status != 0 {
                    cleanup()
                    throw TestFailure("ip \(args.joined(separator: " ")): \(r.stderr)")
                }
            }
            // httpd in the foreground, a child of ours killed at cleanup: a daemonized one would
            // keep run()'s pipes or leave run() a child it never sees exit.
            server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            server.arguments = ["netns", "exec", ns, "/bin/busybox", "httpd", "-f", "-p", "169.254.169.254:80", "-h", dir.path]
            server.standardInput = FileHandle.nullDevice
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            do { try server.run() } catch {
                cleanup()
                throw TestFailure("httpd in \(ns): \(error)")
            }
        }

        /// Connections the namespace's server accepted (TCP PassiveOpens of its /proc/net/snmp).
        func accepted() throws -> Int {
            let text = try run("/usr/sbin/ip", ["netns", "exec", ns, "cat", "/proc/net/snmp"]).stdout
            let tcp = text.split(separator: "\n").filter { $0.hasPrefix("Tcp:") }
            guard tcp.count == 2 else { return -1 }
            let names = tcp[0].split(separator: " "), values = tcp[1].split(separator: " ")
            return names.firstIndex(of: "PassiveOpens").map { Int(values[$0]) ?? -1 } ?? -1
        }

        /// Where the host sends a task's packet for 169.254.169.254 (a lookup; nothing is sent).
        func hostRoute(from source: String) throws -> String {
            try run("/usr/sbin/ip", ["route", "get", "169.254.169.254", "from", source, "iif", bridge]).stdout
        }

        func cleanup() {
            _ = try? run("/usr/sbin/ip", ["rule", "del", "from", subnet, "to", "169.254.169.254/32", "table", table, "priority", "100"])
            _ = try? run("/usr/sbin/ip", ["route", "flush", "table", table])
            // SIGKILL: the test process's children inherit SIGTERM ignored.
            if server.isRunning {
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            if let pids = try? run("/usr/sbin/ip", ["netns", "pids", ns]).stdout {
                for p in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(p, SIGKILL) }
            }
            _ = try? run("/usr/sbin/ip", ["link", "del", hostEnd])
            _ = try? run("/usr/sbin/ip", ["netns", "del", ns])
            dir.remove()
        }
    }

    @Test func linkLocalAddressesAreUnreachableFromTasksUnlessAllowed() throws {
        let h = try Harness()
        let bridge = "frmd\(getpid() % 1000)"
        let subnet = "198.18.233.0/24"
        defer {
            _ = try? run("/usr/sbin/ip", ["link", "del", bridge])
            try? FileManager.default.removeItem(atPath: "/run/fargate-run/ipam/fargate-run-" + bridge)
            h.cleanup()
        }
        let imds = try FakeIMDS(subnet: subnet, bridge: bridge)
        defer { imds.cleanup() }
        let script = M.prelude + #"""
            echo "@@ route4 0"; ip route get 169.254.169.254 2>&1
            echo "@@ route6 0"; ip -6 route get fd00:ec2::254 2>&1
            get imds http://169.254.169.254/latest/meta-data/instance-id
            """#
        let t = try M.definition("imds", role: nil, [["name": "c", "image": h.image, "command": ["sh", "-c", script]]])
        let net = ["--bridge", bridge, "--subnet", subnet]

        // Blocked (the default): the route in the task's namespace is unreachable; nothing leaves it.
        let (r, id) = try runToEnd(h, t, flags: net, environment: M.awsEnvironment(h.dir.path, keys: false))
        #expect(r.status == 0, "\(r.stderr)")
        let s = M.sections(log(h, id, "c"))
        try #require(s["no-endpoint-address"] == nil)
        #expect(MetadataIsolationTests.blocked(s["route4"]?.body), "\(s["route4"]?.body ?? "")")
        #expect(MetadataIsolationTests.blocked(s["route6"]?.body), "\(s["route6"]?.body ?? "")")
        #expect(s["imds"]?.status != 0 && s["imds"]?.body.contains("imds-of-the-test") == false, "\(s["imds"]?.body ?? "")")
        #expect(try imds.accepted() == 0, "no connection reached the namespace playing 169.254.169.254")

        // Allowed: only once the host is seen to send the subnet's packets to the test's namespace.
        let route = try imds.hostRoute(from: "198.18.233.77")
        try #require(route.contains("dev " + imds.hostEnd), "the host would not send it to the test namespace: \(route)")
        let (r2, id2) = try runToEnd(h, t, flags: net + ["--allow-link-local"], environment: M.awsEnvironment(h.dir.path, keys: false))
        #expect(r2.status == 0, "\(r2.stderr)")
        let s2 = M.sections(log(h, id2, "c"))
        #expect(!MetadataIsolationTests.blocked(s2["route4"]?.body), "\(s2["route4"]?.body ?? "")")
        #expect(s2["imds"]?.status == 0 && s2["imds"]?.body.contains("imds-of-the-test-namespace") == true, "\(s2["imds"]?.body ?? "")")
        #expect(try imds.accepted() == 1)
    }
}
