import ECSModel
import Foundation
import Metering
import Sandbox
import Synchronization
@testable import TaskRuntime
import TestSupport
import Testing

/// The runner driven through a fake backend: its phases, the lifecycle's actions carried out,
/// the state file and the bill, without root.
struct TaskRunnerTests {
    func plan(_ containers: String) throws -> TaskPlan {
        let json = #"{"family": "fake", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": \#(containers)}"#
        return try TaskPlan(try TaskDefinitionLoader.load(data: Data(json.utf8)), region: "us-east-1", account: "000000000000")
    }

    func runner(_ plan: TaskPlan, _ backend: FakeTaskBackend, in dir: TemporaryDirectory) throws -> TaskRunner {
        var config = RunConfiguration(root: try StateRoot(path: dir.path + "/root"))
        config.network.mode = .none
        let identity = TaskIdentity(taskId: TaskIdentity.newTaskId(), region: "us-east-1", account: "000000000000", cluster: "fargate-run")
        return TaskRunner(plan: plan, config: config, identity: identity, backend: backend, observer: SilentObserver())
    }

    /// Waits (bounded: 30 s, for a machine busy with other suites) until `condition` holds.
    func until(_ condition: () -> Bool) async throws {
        #expect(await eventuallyAsync(timeout: 30, condition))
    }

    /// A task whose first state cannot be written (its spare's path taken by a directory)
    /// makes nothing: gc could not find it should this process die. It stops, saying why.
    @Test func aTaskWhoseFirstStateCannotBeWrittenMakesNothing() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend()
        let r = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        let state = dir.path + "/root/tasks/\(r.taskId)/state.json"
        try FileManager.default.createDirectory(atPath: state + ".next", withIntermediateDirectories: true)
        async let result = r.run()
        // Bounded should it go on after all: its container is let exit.
        try await until { backend.calls.contains("release") || backend.running == ["app"] }
        if backend.running == ["app"] { backend.exit("app", code: 0) }
        let done = await result
        #expect(!backend.calls.contains("provision"), "\(backend.calls)")
        #expect(done.task.lastStatus == "STOPPED" && (done.failure ?? "").contains(state), "\(done.failure ?? "no failure")")
        #expect(TaskStore(root: try StateRoot(path: dir.path + "/root")).activeIds().isEmpty, "its marker goes")
    }

    @Test func aTaskRunsThroughItsPhasesAndIsBilledOnce() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend()
        let p = try plan(#"[{"name": "app", "image": "x", "dependsOn": [{"containerName": "proxy", "condition": "START"}]}, {"name": "proxy", "image": "x", "essential": false}]"#)
        let r = try runner(p, backend, in: dir)
        async let result = r.run()
        try await until { backend.running == ["app", "proxy"] }
        backend.exit("app", code: 3)
        // proxy is stopped once app is gone; the fake ignores its stop signal, so it is killed
        // after its stopTimeout: let it exit as if on its signal instead.
        try await until { backend.calls.contains("stop proxy") }
        backend.exit("proxy", code: 143)
        let done = await result
        #expect(done.exitCode == 3)
        #expect(done.task.lastStatus == "STOPPED" && done.task.stopCode?.rawValue == "EssentialContainerExited")
        #expect(backend.calls == ["name", "provision", "images", "prepare proxy", "finish", "start proxy", "start app",
                                  "stop proxy", "quiesce", "release"])
        let state = try TaskStore(root: try StateRoot(path: dir.path + "/root")).state(r.taskId)
        #expect(state.isStopped && state.lifecycle?.status == .stopped)
        #expect(state.task.containers?.map { $0.exitCode } == [3, 143])
        let ledger = try Ledger(path: dir.path + "/root/ledger.sqlite")
        let records = try ledger.records()
        // A minute at least, as long as the task held (the full suite may hold a test longer).
        #expect(records.count == 1 && records[0].taskArn == r.taskArn
                    && records[0].billedSeconds == Billing.billedSeconds(startMicros: records[0].billingStartMicros, endMicros: records[0].billingEndMicros))
        #expect(records[0].cpuUsageNanos == 5_000_000, "the usage the backend read before releasing")
        #expect(try ledger.openTasks().isEmpty)
        #expect(TaskStore(root: try StateRoot(path: dir.path + "/root")).activeIds().isEmpty)
    }

    /// The state file says the task is being torn down (and names what it holds) before
    /// anything of it is released: its write overlaps the kill sweep, but is waited for.
    @Test func theStateIsOnDiskBeforeAnythingIsReleased() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let seen = Mutex<String?>(nil)
        let statePath = Mutex<String?>(nil)
        let backend = FakeTaskBackend(onRelease: {
            guard let path = statePath.withLock({ $0 }), let data = FileManager.default.contents(atPath: path),
                  let state = try? JSONDecoder().decode(TaskState.self, from: data) else { return }
            seen.withLock { $0 = state.task.lastStatus }
        })
        let r = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        statePath.withLock { $0 = dir.path + "/root/tasks/\(r.taskId)/state.json" }
        async let result = r.run()
        try await until { backend.running == ["app"] }
        backend.exit("app", code: 0)
        _ = await result
        #expect(seen.withLock { $0 } == "DEPROVISIONING")
    }

    /// `ps` without `-a` reads only the active tasks' states: a stopped task is retired from
    /// them, a running one is there.
    @Test func onlyUnfinishedTasksAreActive() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let store = TaskStore(root: try StateRoot(path: dir.path + "/root"))
        let first = FakeTaskBackend()
        let stopped = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), first, in: dir)
        async let ended = stopped.run()
        try await until { first.running == ["app"] }
        first.exit("app", code: 0)
        _ = await ended
        let second = FakeTaskBackend(exitOnStop: ["app": 143])
        let running = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), second, in: dir)
        async let result = running.run()
        try await until { second.running == ["app"] }
        #expect(store.states(activeOnly: true).map(\.id) == [running.taskId])
        #expect(Set(store.states().map(\.id)) == [stopped.taskId, running.taskId])
        running.requestStop(code: .userInitiated, reason: "done")
        _ = await result
        #expect(store.states(activeOnly: true).isEmpty)
        // How a task is named: a prefix of its id, its ARN; an empty name is not "every task".
        #expect(try store.find(String(running.taskId.prefix(10))) == running.taskId)
        #expect(try store.find(running.taskArn) == running.taskId)
        #expect(try store.find(stopped.taskId) == stopped.taskId, "a whole id, looked up directly")
        #expect(throws: TaskStore.NotFound.self) { try store.find(String(repeating: "0", count: 32)) }
        for empty in ["", "arn:aws:ecs:us-east-1:000000000000:task/"] {
            #expect(throws: TaskStore.NotFound.self) { try store.find(empty) }
        }
        do { _ = try store.find("") } catch { #expect(error.description.hasPrefix("no task id given"), "\(error)") }
    }

    @Test func aStopRequestStopsTheTaskWithItsReason() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend(exitOnStop: ["app": 143])
        let r = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        async let result = r.run()
        try await until { backend.running == ["app"] }
        r.requestStop(code: .userInitiated, reason: "done for today")
        let done = await result
        #expect(done.task.stoppedReason == "done for today" && done.task.stopCode?.rawValue == "UserInitiated")
        #expect(done.exitCode == 143)
    }

    @Test func aContainerThatCannotStartFailsTheTask() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend(failingStarts: ["app": SandboxError.spawn(stage: "exec", detail: "nope", errno: ENOENT)])
        let r = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        let done = await r.run()
        #expect(done.exitCode == 127 && done.failure == nil)
        #expect(done.task.containers?.first?.reason?.hasPrefix("CannotStartContainerError: exec nope") == true)
        #expect(done.task.stopCode?.rawValue == "TaskFailedToStart")
    }

    /// DescribeTasks shows RunTask's overrides: every container, the ones without any by name.
    @Test func theTaskDescribesItsOverrides() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let json = #"{"family": "fake", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "x"}, {"name": "side", "image": "x"}]}"#
        let loaded = try TaskDefinitionLoader.load(data: Data(json.utf8))
        let overridden = try TaskInputs.prepare(loaded, source: "t.json", overrides: #"{"cpu": "512", "memory": "1024", "containerOverrides": [{"name": "side", "command": ["true"]}]}"#,
                                                secrets: nil, region: "us-east-1", account: "000000000000", running: false).plan
        // Its containers cannot start, so the task ends at once.
        let refused = SandboxError.spawn(stage: "exec", detail: "nope", errno: ENOENT)
        let done = await (try runner(overridden, FakeTaskBackend(failingStarts: ["app": refused, "side": refused]), in: dir)).run()
        #expect(done.task.overrides == ECS.TaskOverride(containerOverrides: [ECS.ContainerOverride(name: "app"), ECS.ContainerOverride(name: "side", command: ["true"])],
                                                        cpu: "512", inferenceAcceleratorOverrides: [], memory: "1024"))
        #expect(done.task.cpu == "512" && done.task.containers?.count == 2)
        let plain = try TaskInputs.prepare(loaded, source: "t.json", overrides: nil, secrets: nil, region: "us-east-1", account: "000000000000", running: false).plan
        #expect(TaskDescription.overrides(plain) == ECS.TaskOverride(containerOverrides: [ECS.ContainerOverride(name: "app"), ECS.ContainerOverride(name: "side")],
                                                                     inferenceAcceleratorOverrides: []))
    }

    /// What kept the task from starting is its stoppedReason, as ECS words it: a client of the
    /// host (`run -d`, DescribeTasks) sees nothing else of it.
    @Test func aTaskThatCannotBeProvisionedSaysWhyInItsStoppedReason() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend(provisionFailure: TaskRuntimeError(.invalidState, "subnet 10.0.0.0/24 overlaps 10.0.0.0/16"))
        let r = try runner(try plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        let done = await r.run()
        #expect(done.task.stopCode?.rawValue == "TaskFailedToStart")
        #expect(done.task.stoppedReason == "ResourceInitializationError: subnet 10.0.0.0/24 overlaps 10.0.0.0/16", "\(done.task.stoppedReason ?? "none")")
        #expect(done.failure?.contains("overlaps") == true)
        #expect(!backend.calls.contains { $0.hasPrefix("start") } && backend.calls.contains("release"))
    }

    @Test func anImageThatCannotBePulledFailsTheTaskBeforeAnythingStarts() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend(missingImages: ["gone"])
        let r = try runner(try plan(#"[{"name": "app", "image": "gone"}]"#), backend, in: dir)
        let done = await r.run()
        #expect(done.exitCode == 125 && done.failure != nil)
        #expect(done.task.stoppedReason?.hasPrefix("CannotPullContainerError: image gone not found") == true)
        #expect(!backend.calls.contains { $0.hasPrefix("start") })
        #expect(backend.calls.suffix(3) == ["kill everything", "quiesce", "release"])
        let records = try Ledger(path: dir.path + "/root/ledger.sqlite").records()
        #expect(records.count == 1, "billed from the pull's start, as Fargate bills")
    }
}

/// A task taken over from a host that died: the lifecycle resumes from the state, and what
/// happened meanwhile (as the backend recovers it) is fed to it.
struct TaskRunnerResumeTests {
    let base = TaskRunnerTests()

    /// Runs a task until it is RUNNING, then takes its state as a new host would.
    func recorded(_ containers: String, in dir: TemporaryDirectory) async throws -> (TaskPlan, TaskState, RunConfiguration) {
        let plan = try base.plan(containers)
        let backend = FakeTaskBackend()
        let r = try base.runner(plan, backend, in: dir)
        async let done = r.run()
        _ = await r.started()
        let state = try TaskStore(root: try StateRoot(path: dir.path + "/root")).state(r.taskId)
        for c in backend.running { backend.exit(c, code: 0) }
        _ = await done
        var config = RunConfiguration(root: try StateRoot(path: dir.path + "/root"))
        config.network.mode = .none
        return (plan, state, config)
    }

    /// `running` as a host killed while the task was still provisioned would have left it.
    func provisioning(_ running: TaskState, _ plan: TaskPlan) -> TaskState {
        var state = running
        var lifecycle = TaskLifecycle(containers: plan.containers.map(TaskLifecycle.Container.init))
        lifecycle.advance(to: .pending)
        state.lifecycle = lifecycle
        return state
    }

    @Test func anExitWhileNoHostRanStopsTheTaskAtItsTime() async throws {
        let dir = try TemporaryDirectory("fr-resume")
        defer { dir.remove() }
        let (plan, state, config) = try await recorded(#"[{"name": "app", "image": "x"}, {"name": "side", "image": "x", "essential": false}]"#, in: dir)
        #expect(state.lifecycle?.status == .running)
        let backend = FakeTaskBackend(exitOnStop: ["side": 143])
        let ended = Date(timeIntervalSinceNow: -30)
        backend.recovered = [RecoveredContainer(container: "app", status: TerminationStatus(exited: true, value: 4), endedAt: ended),
                             RecoveredContainer(container: "side", status: nil, endedAt: nil)]
        let r = try TaskRunner(resuming: state, plan: plan, config: config, backend: backend, observer: SilentObserver())
        let result = await r.resume()
        #expect(result.exitCode == 4)
        #expect(result.task.stopCode?.rawValue == "EssentialContainerExited")
        #expect(result.task.executionStoppedAt?.date == ended, "the exit counts from when it happened")
        #expect(backend.calls.contains("stop side"), "the rest is stopped as on any essential exit")
        #expect(result.task.containers?.map(\.exitCode) == [4, 143])
    }

    @Test func aTaskCaughtWhileProvisionedFailsToStart() async throws {
        let dir = try TemporaryDirectory("fr-resume")
        defer { dir.remove() }
        let (plan, running, config) = try await recorded(#"[{"name": "app", "image": "x"}]"#, in: dir)
        let state = provisioning(running, plan)
        let backend = FakeTaskBackend()
        let r = try TaskRunner(resuming: state, plan: plan, config: config, backend: backend, observer: SilentObserver())
        let result = await r.resume()
        #expect(result.task.stopCode?.rawValue == "TaskFailedToStart")
        #expect(result.task.stoppedReason?.contains("host restarted while the task was provisioned") == true)
        #expect(!backend.calls.contains { $0.hasPrefix("start") }, "nothing is started")
        #expect(backend.calls.contains("release"))
    }

    /// A host killed after the ledger recorded the billing start and before the state file
    /// did (its writer waits a few milliseconds): the task is billed from the ledger's start.
    @Test func aBillingStartOnlyTheLedgerHasIsBilled() async throws {
        let dir = try TemporaryDirectory("fr-resume")
        defer { dir.remove() }
        let (plan, running, _) = try await recorded(#"[{"name": "app", "image": "x"}]"#, in: dir)
        var state = provisioning(running, plan)
        state.task.pullStartedAt = nil
        state.times?.pullStartedAt = nil
        // A second state root, whose ledger has only the open marker (the first one billed it).
        var config = RunConfiguration(root: try StateRoot(path: dir.path + "/root2"))
        config.network.mode = .none
        let arn = try #require(state.task.taskArn)
        let start = Int64(Date(timeIntervalSinceNow: -20).timeIntervalSince1970) * 1_000_000
        try Ledger(path: config.root.ledgerPath).open(OpenTask(taskArn: arn, family: plan.family, billingStartMicros: start, pid: 1))
        let r = try TaskRunner(resuming: state, plan: plan, config: config, backend: FakeTaskBackend(), observer: SilentObserver())
        let result = await r.resume()
        #expect(result.task.pullStartedAt?.date == Date(timeIntervalSince1970: Double(start) / 1e6))
        let ledger = try Ledger(path: config.root.ledgerPath)
        #expect(try ledger.openTasks().isEmpty, "the marker is closed")
        let records = try ledger.records().filter { $0.taskArn == arn }
        #expect(records.count == 1 && records.first?.billingStartMicros == start && (records.first?.billedSeconds ?? 0) >= 20, "\(records)")
    }

    @Test func aStateWithoutWhatResumingNeedsIsRefused() async throws {
        let dir = try TemporaryDirectory("fr-resume")
        defer { dir.remove() }
        let (plan, running, config) = try await recorded(#"[{"name": "app", "image": "x"}]"#, in: dir)
        var state = running
        state.identity = nil
        #expect(throws: TaskRuntimeError.self) {
            _ = try TaskRunner(resuming: state, plan: plan, config: config, backend: FakeTaskBackend(), observer: SilentObserver())
        }
    }
}
