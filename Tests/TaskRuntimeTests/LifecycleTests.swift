import Foundation
@testable import TaskRuntime
import Testing

/// The lifecycle's rules, fed events by hand: no process, no root, no clock.
struct LifecycleTests {
    typealias C = TaskLifecycle.Container
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

    func dep(_ name: String, _ condition: DependencyCondition) -> TaskLifecycle.Dependency {
        .init(container: name, condition: condition)
    }

    /// Starts: feeds `.started` for every `.start` answered, as a driver whose starts all work.
    func drive(_ l: inout TaskLifecycle, _ event: LifecycleEvent, at time: Double = 0) -> [LifecycleAction] {
        var all: [LifecycleAction] = []
        var queue = l.handle(event, now: at(time))
        while !queue.isEmpty {
            let a = queue.removeFirst()
            all.append(a)
            if case .start(let n) = a { queue = l.handle(.started(n), now: at(time)) + queue }
            if case .restart(let n, _, _) = a { queue = l.handle(.started(n), now: at(time)) + queue }
        }
        return all
    }

    func starts(_ actions: [LifecycleAction]) -> [String] {
        actions.compactMap { if case .start(let n) = $0 { return n } else { return nil } }
    }

    func stops(_ actions: [LifecycleAction]) -> [String] {
        actions.compactMap { if case .stop(let n) = $0 { return n } else { return nil } }
    }

    @Test func startsInDependencyOrderAndRunsOnceEveryEssentialContainerStarted() {
        var l = TaskLifecycle(containers: [
            C(name: "app", essential: true, dependsOn: [dep("proxy", .start)]),
            C(name: "proxy", essential: true),
            C(name: "log", essential: false),
        ])
        let actions = drive(&l, .begin)
        #expect(starts(actions) == ["proxy", "app", "log"])
        #expect(actions.first == .statusChanged(.activating))
        #expect(actions.contains(.statusChanged(.running)))
        #expect(l.status == .running && l.startedAt == t0)
    }

    @Test func successDependencyWaitsForExitZeroAndNeverComesOtherwise() {
        let containers = [C(name: "migrate", essential: false), C(name: "app", essential: true, dependsOn: [dep("migrate", .success)])]
        var ok = TaskLifecycle(containers: containers)
        #expect(starts(drive(&ok, .begin)) == ["migrate"])
        #expect(ok.status == .activating, "the essential container has not started yet")
        #expect(starts(drive(&ok, .exited("migrate", exitCode: 0, killedBySignal: false, oomKilled: false))) == ["app"])
        #expect(ok.status == .running)

        var failed = TaskLifecycle(containers: containers)
        _ = drive(&failed, .begin)
        let actions = drive(&failed, .exited("migrate", exitCode: 3, killedBySignal: false, oomKilled: false))
        #expect(starts(actions).isEmpty)
        #expect(failed.container("app")?.status == .stopped)
        #expect(failed.container("app")?.reason == "DependencyFailed: dependency migrate exited with 3, SUCCESS needs 0")
        #expect(failed.stopCode == .taskFailedToStart && failed.isFinished)
        #expect(failed.exitCode == 1, "an essential container that never ran")
    }

    @Test func completeAcceptsAnyExitCode() {
        var l = TaskLifecycle(containers: [C(name: "init", essential: false), C(name: "app", essential: true, dependsOn: [dep("init", .complete)])])
        _ = drive(&l, .begin)
        #expect(starts(drive(&l, .exited("init", exitCode: 7, killedBySignal: false, oomKilled: false))) == ["app"])
    }

    @Test func healthyDependencyStartsOnceTheCheckPasses() throws {
        let policy = try #require(HealthPolicy(.init(command: ["CMD", "true"], interval: 5, retries: 1)))
        var l = TaskLifecycle(containers: [C(name: "db", essential: true, healthPolicy: policy),
                                           C(name: "app", essential: true, dependsOn: [dep("db", .healthy)])])
        let first = drive(&l, .begin)
        #expect(starts(first) == ["db"] && first.contains(.startHealthChecks("db")))
        let failing = drive(&l, .healthChecked("db", passed: false, exitCode: 1, output: "not yet\n"), at: 5)
        #expect(failing.contains(.healthChanged("db", .unhealthy, detail: "exit 1: not yet")))
        #expect(starts(failing).isEmpty)
        let passing = drive(&l, .healthChecked("db", passed: true, exitCode: 0, output: ""), at: 10)
        #expect(passing.contains(.healthChanged("db", .healthy, detail: "")) && starts(passing) == ["app"])
        #expect(l.health == .healthy, "the only checked essential container is healthy")
    }

    /// A healthCheck.command without CMD or CMD-SHELL first ("NONE" too) is registered by ECS
    /// and never run by the container runtime: the container and the task stay UNKNOWN, and
    /// a HEALTHY dependency waits until the startTimeout.
    @Test(arguments: [["NONE"], ["curl -f http://localhost/ || exit 1"], ["curl", "-f", "http://localhost/"]])
    func aCheckWithoutCMDNeverRuns(_ command: [String]) throws {
        let policy = try #require(HealthPolicy(.init(command: command)))
        #expect(!policy.probes && policy.arguments.isEmpty)
        var l = TaskLifecycle(containers: [C(name: "db", essential: true, startTimeout: 30, healthPolicy: policy),
                                           C(name: "app", essential: true, dependsOn: [dep("db", .healthy)])])
        let first = drive(&l, .begin)
        #expect(starts(first) == ["db"])
        #expect(!first.contains(.startHealthChecks("db")), "no check is run")
        #expect(l.health == .unknown, "a container with a healthCheck that never reports keeps the task UNKNOWN")
        _ = drive(&l, .startTimeout("db"), at: 30)
        #expect(l.container("app")?.reason == "ContainerRuntimeTimeoutError: db did not reach HEALTHY within its startTimeout of 30 s")
    }

    @Test func startTimeoutFailsWhoeverStillWaits() throws {
        let policy = try #require(HealthPolicy(.init(command: ["CMD", "true"])))
        var l = TaskLifecycle(containers: [C(name: "db", essential: true, startTimeout: 10, healthPolicy: policy),
                                           C(name: "app", essential: true, dependsOn: [dep("db", .healthy)])])
        #expect(drive(&l, .begin).contains(.scheduleStartTimeout("db", seconds: 10)))
        let actions = drive(&l, .startTimeout("db"), at: 10)
        #expect(l.container("app")?.reason == "ContainerRuntimeTimeoutError: db did not reach HEALTHY within its startTimeout of 10 s")
        #expect(l.stopCode == .taskFailedToStart)
        #expect(stops(actions) == ["db"], "the running dependency is stopped")
    }

    @Test func aStartTimeoutOnlyMattersToConditionsBeyondStart() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true, startTimeout: 10), C(name: "b", essential: true, dependsOn: [dep("a", .start)])])
        #expect(!drive(&l, .begin).contains { if case .scheduleStartTimeout = $0 { return true } else { return false } })
    }

    @Test func anEssentialExitStopsTheRestInReverseDependencyOrder() {
        var l = TaskLifecycle(containers: [
            C(name: "proxy", essential: false),
            C(name: "app", essential: true, dependsOn: [dep("proxy", .start)], stopTimeout: 12),
            C(name: "worker", essential: true, dependsOn: [dep("app", .start)]),
        ])
        _ = drive(&l, .begin)
        // worker exits: app and proxy stop, app first (proxy is needed by app until app is gone).
        let actions = drive(&l, .exited("worker", exitCode: 4, killedBySignal: false, oomKilled: false), at: 1)
        #expect(l.stopCode == .essentialContainerExited && l.stoppedReason == "Essential container in task exited")
        #expect(stops(actions) == ["app"])
        #expect(actions.contains(.scheduleKillTimeout("app", seconds: 12)))
        #expect(actions.contains(.statusChanged(.deactivating)) && actions.contains(.statusChanged(.stopping)))
        #expect(l.executionStoppedAt == at(1))
        #expect(stops(drive(&l, .exited("app", exitCode: 143, killedBySignal: false, oomKilled: false), at: 2)) == ["proxy"])
        _ = drive(&l, .exited("proxy", exitCode: 0, killedBySignal: false, oomKilled: false), at: 3)
        #expect(l.isFinished)
        #expect(l.exitCode == 4, "the first essential container to stop with a non-zero code")
    }

    @Test func aStopRequestSignalsOnceAndKillsOnlyWhatStillRuns() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true), C(name: "b", essential: false)])
        _ = drive(&l, .begin)
        let actions = drive(&l, .stopRequested(.userInitiated, reason: "bye"))
        #expect(Set(stops(actions)) == ["a", "b"])
        #expect(stops(drive(&l, .stopRequested(.userInitiated, reason: "again"))).isEmpty, "a second request changes nothing")
        #expect(l.stoppedReason == "bye")
        _ = drive(&l, .exited("a", exitCode: 0, killedBySignal: false, oomKilled: false))
        #expect(drive(&l, .killTimeout("a")).isEmpty, "a has already stopped")
        #expect(drive(&l, .killTimeout("b")) == [.kill("b")])
        #expect(drive(&l, .forceKill) == [.kill("b")])
    }

    @Test func restartPolicyRestartsUnlessIgnoredTooSoonOrStopping() throws {
        let rule = try #require(RestartRule(.init(enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60)))
        var l = TaskLifecycle(containers: [C(name: "app", essential: true, restartRule: rule)])
        _ = drive(&l, .begin)
        let restarted = drive(&l, .exited("app", exitCode: 1, killedBySignal: false, oomKilled: false), at: 61)
        #expect(restarted.first == .restart("app", exitCode: 1, count: 1))
        #expect(l.container("app")?.status == .running && !l.stopping)
        #expect(!drive(&l, .exited("app", exitCode: 1, killedBySignal: false, oomKilled: false), at: 90).contains {
            if case .restart = $0 { return true } else { return false }
        }, "it ran 29 s since its restart, under the attempt period")
        #expect(l.stopCode == .essentialContainerExited)

        var ignored = TaskLifecycle(containers: [C(name: "app", essential: true, restartRule: rule)])
        _ = drive(&ignored, .begin)
        _ = drive(&ignored, .exited("app", exitCode: 0, killedBySignal: false, oomKilled: false), at: 100)
        #expect(ignored.isFinished && ignored.container("app")?.restartCount == 0)
    }

    @Test func anOOMKillIsNamedAsECSNamesIt() {
        var l = TaskLifecycle(containers: [C(name: "hog", essential: true)])
        _ = drive(&l, .begin)
        _ = drive(&l, .exited("hog", exitCode: 137, killedBySignal: true, oomKilled: true))
        #expect(l.container("hog")?.reason == "OutOfMemoryError: Container killed due to memory usage")
        #expect(l.exitCode == 137)
    }

    @Test func aCommandThatCannotRunFailsTheTaskWithItsCode() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true), C(name: "b", essential: true, dependsOn: [dep("a", .start)])])
        _ = l.handle(.begin, now: t0)
        _ = l.handle(.failedToStart("a", exitCode: 127, reason: "CannotStartContainerError: exec nope: No such file", failure: nil), now: t0)
        #expect(l.stopCode == .taskFailedToStart && l.failure == nil)
        #expect(l.container("b")?.status == .stopped, "it never starts")
        #expect(l.exitCode == 127)
        var runtime = TaskLifecycle(containers: [C(name: "a", essential: true)])
        _ = runtime.handle(.begin, now: t0)
        _ = runtime.handle(.failedToStart("a", exitCode: 125, reason: "CannotStartContainerError: mount: EPERM", failure: "container a: mount"), now: t0)
        #expect(runtime.exitCode == 125 && runtime.failure == "container a: mount")
    }

    @Test func aFailedTaskKeepsTheReasonItHad() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true)])
        _ = l.handle(.imageFailed("a", reason: "CannotPullContainerError: image x not found"), now: t0)
        _ = l.handle(.failed(reason: nil, failure: "image x not found"), now: t0)
        #expect(l.stoppedReason == "CannotPullContainerError: image x not found" && l.stopCode == .taskFailedToStart)
        #expect(l.exitCode == 125 && l.isFinished)
        l.stopped(at: at(5))
        #expect(l.status == .stopped && l.executionStoppedAt == at(5) && l.desiredStatus == "STOPPED")
    }

    @Test func nonEssentialExitsLeaveTheTaskRunning() {
        var l = TaskLifecycle(containers: [C(name: "app", essential: true), C(name: "job", essential: false)])
        _ = drive(&l, .begin)
        #expect(drive(&l, .exited("job", exitCode: 1, killedBySignal: false, oomKilled: false)).allSatisfy { $0 == .publish })
        #expect(!l.stopping && l.status == .running && l.exitCode == 0)
    }

    @Test func statusOnlyMovesForward() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true)])
        let moved = l.advance(to: .pending), back = l.advance(to: .provisioning), again = l.advance(to: .pending)
        #expect(moved && !back && !again)
        #expect(TaskStatus.allCases.map(\.rawValue) == ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"])
    }

    @Test func aSharedPidNamespaceKillsWhatAStoppedContainerLeft() {
        var l = TaskLifecycle(containers: [C(name: "a", essential: false), C(name: "b", essential: true)], sharedPidNamespace: true)
        _ = drive(&l, .begin)
        #expect(drive(&l, .exited("a", exitCode: 0, killedBySignal: false, oomKilled: false)).contains(.killRemaining("a")))
    }

    @Test func itSurvivesTheStateFile() throws {
        var l = TaskLifecycle(containers: [C(name: "a", essential: true, dependsOn: [], stopTimeout: 9)])
        _ = drive(&l, .begin)
        let back = try JSONDecoder().decode(TaskLifecycle.self, from: JSONEncoder().encode(l))
        #expect(back.status == .running && back.container("a")?.status == .running && back.container("a")?.stopTimeout == 9)
    }
}
