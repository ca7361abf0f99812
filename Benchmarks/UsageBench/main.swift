// usage-bench: what sampling costs. Makes N task cgroups, each with one container cgroup
// holding a sleeping process, registers them with the real sampler over a real ledger, and
// measures this process's CPU time while the sampler runs (Benchmarks/usage-sampling.sh).
// With `busy`, each container's process wakes every second instead (a shell's `read -t 1` on
// a pipe no one writes): its CPU counter moves every second, so every second's rows are
// written (an idle task's seconds are held back and written a minute at a time).
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Metering
import Sandbox
import TaskRuntime

let args = CommandLine.arguments
guard args.count == 4 || (args.count == 5 && args[4] == "busy"), let n = Int(args[1]), let seconds = Double(args[2]) else {
    FileHandle.standardError.write(Data("usage: usage-bench TASKS SECONDS LEDGER-DIRECTORY [busy]\n".utf8))
    exit(2)
}
let busy = args.count == 5
let ledgerPath = args[3] + "/ledger.sqlite"
let host = try CgroupHost.probe()
let base = "usage-bench-\(getpid())"
var tasks: [Cgroup] = []
var sleepers: [pid_t] = []
// Every busy shell's stdin: open for writing here, never written.
var silentPipe: [Int32] = [0, 0]
guard pipe(&silentPipe) == 0 else { fatalError("pipe") }
for i in 0..<n {
    let task = try Cgroup.create(host: host, relativePath: "\(base)/t\(i)", limits: ResourceLimits(), delegateControllers: true)
    let container = try task.child("app", limits: ResourceLimits())
    var pid: pid_t = 0
    // In a network namespace of its own, as a task's processes are (the host's has every
    // interface of the machine: a longer /proc/net/dev than a task's lo and eth0).
    let command = busy ? ["/bin/bash", "-c", "while :; do read -t 1; done"] : ["/bin/sleep", "3600"]
    let argv: [UnsafeMutablePointer<CChar>?] = (["unshare", "-n"] + command).map { strdup($0) } + [nil]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, silentPipe[0], 0)
    guard posix_spawn(&pid, "/usr/bin/unshare", &actions, nil, argv, environ) == 0 else { fatalError("posix_spawn") }
    posix_spawn_file_actions_destroy(&actions)
    try container.add(pid: pid)
    tasks.append(task)
    sleepers.append(pid)
}
defer {
    for p in sleepers { kill(p, SIGKILL); var s: Int32 = 0; waitpid(p, &s, 0) }
    for t in tasks { try? t.remove() }
    for d in host.hierarchies.map({ $0.directory + "/" + base }) { rmdir(d) }
}
let ledger = try Ledger(path: ledgerPath)
let sampler = UsageSampler()
let start = Int64(Date().timeIntervalSince1970 * 1e6)
for (i, t) in tasks.enumerated() {
    let task = UsageTask(taskArn: "arn:aws:ecs:us-east-1:0:task/bench/\(String(format: "%032x", i))", family: "bench", revision: 1,
                         cpu: 256, memory: 512, startMicros: start, containers: [.init(name: "app")])
    try sampler.register(task, source: CgroupUsageSource(taskCgroup: t, containers: ["app"]), ledger: ledger)
}
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}
// Past the first second's registrations, then measured.
sleep(2)
let ticks0 = sampler.ticks, cpu0 = cpuSeconds(), wall0 = Date()
usleep(UInt32(seconds * 1e6))
let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0), ticks = sampler.ticks - ticks0
sampler.stop()
print((busy ? "busy " : "") + String(format: "tasks %d  cgroups %d  ticks %d  cpu %.3f s in %.1f s  = %.3f %% of a core  (%.0f us per tick, %.2f us per task)",
             n, 2 * n, ticks, cpu, wall, cpu / wall * 100, cpu / Double(max(1, ticks)) * 1e6, cpu / Double(max(1, ticks)) * 1e6 / Double(n)))

// The ledger's growth: per-second rows now, then the same rows downsampled to minutes.
let wal = "PRAGMA wal_checkpoint(TRUNCATE);"
func tableBytes() -> Int {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = [ledgerPath, wal + "SELECT sum(pgsize) FROM dbstat WHERE name = 'usage_samples';"]
    let out = Pipe()
    p.standardOutput = out
    try? p.run()
    p.waitUntilExit()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return Int(text.split(separator: "\n").last.map(String.init) ?? "") ?? 0
}
let taskHours = Double(n) * (Date().timeIntervalSince1970 - Double(start) / 1e6) / 3600
let perSecond = tableBytes()
try UsageSampler.downsample(ledger, olderThan: Int64(Date().timeIntervalSince1970) + 120, into: 60)
let perMinute = tableBytes()
print(String(format: "ledger: %.0f KB per task-hour per-second (1 container), %.1f KB per task-hour once per-minute", Double(perSecond) / taskHours / 1024,
             Double(perMinute) / taskHours / 1024))
