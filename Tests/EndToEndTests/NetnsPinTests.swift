import Foundation
import TestSupport
import Testing

/// A task's network namespace is pinned at /run/netns/fr-<id>. Pinned on the plain directory,
/// the first `ip netns add` after it (which mounts the directory over itself) hid the pin for
/// good: it could be neither unmounted nor removed, and the namespace leaked. Five such were
/// found on a build machine. Run in a mount namespace of its own (so the test may start from a
/// /run/netns that is no mount, as on a fresh machine, without touching the host's mounts),
/// a task runs, another program adds a namespace with `ip netns add`, the task stops, and the
/// test counts what is left of the task's pin: no mount and no file.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct NetnsPinTests {
    @Test func aPinOutlivesNoIpNetnsAddAndLeavesNothing() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let task = try h.task(#"""
            {"family": "pin", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "c", "image": "IMAGE", "command": ["sleep", "60"], "stopTimeout": 2}]}
            """#)
        let other = "frpin\(getpid())"
        let script = """
            umount -l /run/netns 2>/dev/null
            "$BIN" -q --root "$ROOT" --network none "$TASK" >/dev/null 2>&1 &
            runner=$!
            # Other tests' tasks pin theirs in the same directory: this task's pin is counted.
            pin=
            for _ in $(seq 1 200); do
              id=$(ls "$ROOT/tasks" 2>/dev/null | head -1)
              [ -n "$id" ] && pin=fr-$(echo "$id" | cut -c1-16) && grep -q " /run/netns/$pin " /proc/self/mountinfo && break
              sleep 0.1
            done
            echo "pinned $(grep -c " /run/netns/$pin " /proc/self/mountinfo)"
            ip netns add "$OTHER" || echo "ip netns add failed"
            kill -TERM "$runner"; wait "$runner"
            ip netns del "$OTHER"
            echo "mounts $(grep -c " /run/netns/$pin " /proc/self/mountinfo)"
            echo "files $(ls /run/netns | grep -cx "$pin")"
            """
        let r = try run("/usr/bin/unshare", ["--mount", "--propagation", "private", "sh", "-c", script],
                        environment: ProcessInfo.processInfo.environment.merging(
                            ["BIN": fargateRunBinary, "ROOT": h.root, "TASK": task, "OTHER": other]) { $1 })
        // A pin the bug left is a plain file once the mount namespace is gone: removed here.
        for id in h.taskIds() { unlink("/run/netns/fr-" + String(id.prefix(16))) }
        _ = try? h.fargateRun(["gc"])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("pinned 1"), "the task's namespace was pinned: \(r.stdout)\n\(r.stderr)")
        #expect(!r.stdout.contains("ip netns add failed"), "\(r.stdout)")
        #expect(lines.contains("mounts 0"), "no pin mount left after the task: \(r.stdout)")
        #expect(lines.contains("files 0"), "no pin file left after the task: \(r.stdout)")
    }
}
