import ECSModel
import Foundation
import Testing
@testable import Services

/// The scheduler's rules on made-up tasks: a small world whose tasks do what each test says,
/// stepped as the real scheduler steps (the real one is tested end to end in ECSServiceTests).
struct ServiceReconcilerTests {
    struct World {
        var service: ServiceRecord
        var tasks: [String: ObservedTask] = [:]
        var now = Date(timeIntervalSince1970: 1_800_000_000)
        var settings = SchedulerSettings(healthyAfter: 40, deregistrationDelay: 10)
        var next = 0
        var stopped: [(String, String)] = []

        init(desired: Int, min: Int = 100, max: Int = 200, breaker: ECS.DeploymentCircuitBreaker? = nil, loadBalanced: Bool = false) {
            service = ServiceRecord(arn: "arn:aws:ecs:us-east-1:000000000000:service/c/web", name: "web", cluster: "c",
                                    clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/c", desiredCount: desired, taskDefinition: "td:1",
                                    minimumHealthyPercent: min, maximumPercent: max, circuitBreaker: breaker,
                                    loadBalancers: loadBalanced ? [ECS.LoadBalancer(targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1",
                                                                                    containerName: "app", containerPort: 8080)] : [],
                                    createdAt: Date(timeIntervalSince1970: 1_800_000_000), createdBy: "me", account: "000000000000")
            service.deploy("td:1", at: now)
        }

        /// One reconcile; started tasks appear PENDING, stopped ones STOPPED (by the scheduler).
        @discardableResult
        mutating func step(advance seconds: TimeInterval = 1) -> [ServiceAction] {
            now = now.addingTimeInterval(seconds)
            let actions = ServiceReconciler.step(&service, observed: tasks, now: now, settings: settings)
            for a in actions {
                switch a {
                case .start(let deployment, _, let count):
                    for _ in 0..<count {
                        next += 1
                        let id = String(format: "%032x", next)
                        tasks[id] = ObservedTask(id: id, phase: .pending)
                        service.tasks.append(ServiceTaskRecord(id: id, arn: "arn:task/c/\(id)", deployment: deployment))
                    }
                case .stop(let id, let reason):
                    tasks[id]?.phase = .stopped(reachedRunning: true, stopCode: "ServiceSchedulerInitiated")
                    stopped.append((id, reason))
                }
            }
            return actions
        }

        mutating func run(_ ids: [String], since: TimeInterval = 0) {
            for id in ids { tasks[id]?.phase = .running(since: now.addingTimeInterval(-since)) }
        }

        func ids(of deployment: String? = nil) -> [String] {
            service.tasks.filter { deployment == nil || $0.deployment == deployment }.filter { t in !(tasks[t.id]?.isGone ?? true) }.map(\.id).sorted()
        }

        var messages: [String] { service.events.map(\.message) }
    }

    @Test func aNewServiceStartsItsTasksCompletesAndIsSteady() {
        var w = World(desired: 3)
        #expect(w.step() == [.start(deployment: w.service.primary!.id, taskDefinition: "td:1", count: 3)])
        #expect(w.step().isEmpty, "pending tasks are not started again")
        w.run(w.ids())
        w.step()
        #expect(w.service.primary?.rolloutState == "IN_PROGRESS", "RUNNING is not yet healthy: the 40 s rule")
        w.step(advance: 40)
        #expect(w.service.primary?.rolloutState == "COMPLETED")
        #expect(w.service.primary?.rolloutStateReason == "ECS deployment \(w.service.primary!.id) completed.")
        #expect(w.messages.prefix(2) == ["(service web) has reached a steady state.", "(service web) (deployment \(w.service.primary!.id)) deployment completed."])
        #expect(w.service.steady)
    }

    @Test func aRollingDeploymentStartsNewTasksThenStopsTheOldWithinItsPercents() {
        var w = World(desired: 3)
        w.step()
        w.run(w.ids(), since: 60)
        w.step()
        let old = w.service.primary!.id, oldTasks = w.ids()
        w.service.deploy("td:2", at: w.now)
        let new = w.service.primary!.id
        #expect(w.step() == [.start(deployment: new, taskDefinition: "td:2", count: 3)], "max 200%: three more at once")
        #expect(w.service.deployments.map(\.status) == ["PRIMARY", "ACTIVE"])
        w.run(w.ids(of: new))
        w.step()
        #expect(w.stopped.isEmpty, "min 100%: no old task stops before new ones are healthy")
        w.step(advance: 40)
        #expect(Set(w.stopped.map(\.0)) == Set(oldTasks))
        #expect(w.stopped.allSatisfy { $0.1 == "Scaling activity initiated by (deployment \(new))" })
        w.step()
        #expect(w.service.deployments.map(\.id) == [new], "the old deployment leaves with its tasks")
        #expect(w.service.primary?.rolloutState == "COMPLETED")
        #expect(!w.messages.contains { $0.contains(old) && $0.contains("completed") && w.service.events.first?.message == $0 })
    }

    @Test func minimumHealthyFiftyStopsHalfFirstWhenMaximumAllowsNoMore() {
        var w = World(desired: 4, min: 50, max: 100)
        w.step()
        w.run(w.ids(), since: 60)
        w.step()
        w.service.deploy("td:2", at: w.now)
        let actions = w.step()
        #expect(actions.filter { if case .stop = $0 { true } else { false } }.count == 2, "\(actions)")
        #expect(!actions.contains { if case .start = $0 { true } else { false } }, "no room to start before stopping")
        let started = w.step()
        #expect(started == [.start(deployment: w.service.primary!.id, taskDefinition: "td:2", count: 2)])
    }

    @Test func aConfigurationThatAllowsNoProgressSaysSo() {
        var w = World(desired: 2, min: 100, max: 100)
        w.step()
        w.run(w.ids(), since: 60)
        w.step()
        w.service.deploy("td:2", at: w.now)
        w.step()
        #expect(w.messages.first == "(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.")
        w.step()
        #expect(w.messages.filter { $0.contains("unable to stop or start") }.count == 1, "not repeated")
    }

    @Test func theCircuitBreakerFailsTheDeploymentAndRollsBackToTheLastCompletedOne() {
        var w = World(desired: 3, breaker: ECS.DeploymentCircuitBreaker(enable: true, rollback: true))
        w.step()
        w.run(w.ids(), since: 60)
        w.step()
        let good = w.service.primary!.id, kept = w.ids()
        w.service.deploy("td:bad", at: w.now)
        let bad = w.service.primary!.id
        var rounds = 0
        while w.service.primary?.id == bad && rounds < 20 {
            w.step()
            for id in w.ids(of: bad) { w.tasks[id]?.phase = .stopped(reachedRunning: false, stopCode: "TaskFailedToStart") }
            rounds += 1
        }
        #expect(w.service.primary?.id == good, "rolled back to \(good)")
        #expect(w.service.deployments.first { $0.id == bad }?.rolloutState ?? "FAILED" == "FAILED")
        #expect(w.messages.contains("(service web) (deployment \(bad)) deployment failed: tasks failed to start."))
        let back = w.messages.firstIndex(of: "(service web) rolling back to deployment \(good).")
        let failed = w.messages.firstIndex(of: "(service web) (deployment \(bad)) deployment failed: tasks failed to start.")
        #expect(back != nil && failed != nil && back! < failed!, "the rollback follows the failure: \(w.messages)")
        #expect(w.ids(of: good) == kept, "the old tasks keep serving")
        w.step()
        w.step()
        #expect(w.service.deployments.map(\.id) == [good] && w.service.primary?.rolloutState == "COMPLETED")
        #expect(w.service.taskDefinition == "td:1")
    }

    @Test func tasksThatKeepFailingToStartAreRetriedLaterAndLater() {
        var w = World(desired: 1)
        var starts: [Date] = []
        for _ in 0..<30 {
            if w.step(advance: 1).contains(where: { if case .start = $0 { true } else { false } }) { starts.append(w.now) }
            for id in w.ids() { w.tasks[id]?.phase = .stopped(reachedRunning: false, stopCode: "TaskFailedToStart") }
        }
        let gaps = zip(starts.dropFirst(), starts).map { $0.timeIntervalSince($1) }
        #expect(gaps.prefix(2).allSatisfy { $0 <= 2 }, "the first retries are at once: \(gaps)")
        #expect(gaps.count >= 4 && gaps[3] > gaps[2], "then each waits longer: \(gaps)")
        #expect(w.messages.filter { $0 == "(service web) is unable to consistently start tasks successfully." }.count == 1)
    }

    @Test func aStoppedTaskIsReplacedAndAnUnhealthyOneStoppedAfterTheGracePeriod() {
        var w = World(desired: 2)
        w.service.healthCheckGracePeriodSeconds = 30
        w.step()
        w.run(w.ids())
        w.step()
        let (a, b) = (w.ids()[0], w.ids()[1])
        w.tasks[a]?.phase = .stopped(reachedRunning: true, stopCode: "EssentialContainerExited")
        #expect(w.step().contains { if case .start(_, _, 1) = $0 { true } else { false } }, "replaced")
        w.tasks[b]?.health = "UNHEALTHY"
        w.tasks[b]?.hasHealthCheck = true
        w.step()
        #expect(w.stopped.isEmpty, "within the grace period")
        w.step(advance: 30)
        #expect(w.stopped.map(\.1) == ["Task failed container health checks"])
        #expect(w.messages.contains("(service web) (task \(b)) failed container health checks."))
    }

    @Test func targetsRegisterWhenHealthyAndDrainBeforeTheirTaskStops() {
        var w = World(desired: 1, loadBalanced: true)
        w.step()
        let first = w.ids()[0]
        w.run([first], since: 60)
        w.step()
        #expect(w.service.primary?.rolloutState == "IN_PROGRESS", "not healthy before its target is")
        w.tasks[first]?.targetHealthy = true
        w.step()
        #expect(w.service.tasks[0].registered && w.service.primary?.rolloutState == "COMPLETED")
        #expect(w.messages.contains("(service web) registered 1 targets in (target-group arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1)"))
        w.service.desiredCount = 0
        w.step()
        #expect(!w.service.tasks[0].registered && w.stopped.isEmpty, "out of the target group, draining")
        w.step(advance: 5)
        #expect(w.stopped.isEmpty)
        w.step(advance: 5)
        #expect(w.stopped.map(\.0) == [first], "stopped after the deregistration delay")
    }

    /// Target health in ELB's words through a task's life: initial (registration, then the
    /// first checks), healthy, draining when deregistered, unused once its stop is asked.
    @Test func targetHealthStatesFollowELBsVocabulary() {
        var w = World(desired: 1, loadBalanced: true)
        w.step()
        let id = w.ids()[0]
        func target() -> TargetHealthRecord? { w.service.tasks.first { $0.id == id }?.target }
        w.step()
        #expect(target() == TargetHealthRecord(state: "initial", reason: "Elb.RegistrationInProgress", description: "Target registration is in progress"))
        w.run([id], since: 60)
        w.step()
        #expect(target()?.state == "initial" && target()?.reason == "Elb.InitialHealthChecking")
        w.tasks[id]?.targetHealthy = true
        w.step()
        #expect(target() == TargetHealthRecord(state: "healthy"), "healthy has no reason, as in ELB")
        w.service.desiredCount = 0
        w.step()
        #expect(target() == TargetHealthRecord(state: "draining", reason: "Target.DeregistrationInProgress", description: "Target deregistration is in progress"))
        w.step(advance: 10)
        #expect(w.stopped.map(\.0) == [id])
        #expect(target()?.state == "unused" && target()?.reason == "Target.NotRegistered", "deregistered, its task stopping")
        w.step()
        #expect(w.service.tasks.isEmpty, "gone with its task")
    }

    /// A registered target that fails its checks: the ECS event, unhealthy (Target.FailedHealthChecks)
    /// in the record from then until its task is gone, a replacement started at once, the task
    /// stopped after the deregistration delay with ECS's reason.
    @Test func anUnhealthyTargetStaysUnhealthyWhileItsTaskIsReplaced() {
        var w = World(desired: 1, loadBalanced: true)
        w.step()
        let id = w.ids()[0]
        w.run([id], since: 60)
        w.tasks[id]?.targetHealthy = true
        w.step()
        #expect(w.service.primary?.rolloutState == "COMPLETED")
        w.tasks[id]?.targetHealthy = false
        let actions = w.step()
        let tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1"
        #expect(w.messages.contains("(service web) (task \(id)) (port 8080) is unhealthy in (target-group \(tg)) due to (reason Health checks failed)."))
        #expect(actions.contains { if case .start(_, _, 1) = $0 { true } else { false } }, "replaced start-first: \(actions)")
        let record = { w.service.tasks.first { $0.id == id } }
        #expect(record()?.target == TargetHealthRecord(state: "unhealthy", reason: "Target.FailedHealthChecks", description: "Health checks failed"))
        #expect(record()?.registered == false, "out of the listener")
        w.step(advance: 5)
        #expect(w.stopped.isEmpty && record()?.target?.state == "unhealthy", "still unhealthy while it drains")
        w.step(advance: 5)
        #expect(w.stopped.map(\.1) == ["Task failed ELB health checks in (target-group \(tg))"])
        #expect(record()?.target?.state == "unhealthy", "and while its task stops")
        w.step()
        #expect(record() == nil)
        let replacement = w.service.tasks.first?.target
        #expect(replacement?.state == "initial", "the replacement: \(String(describing: replacement))")
    }

    /// Within the grace period ECS ignores ELB's verdict: the target shows unhealthy (and gets
    /// no new connections) but its task runs on, and healthy again when its checks pass. A
    /// target that never passes is stopped once the grace period is over, and that counts
    /// against its deployment.
    @Test func theGracePeriodKeepsAnUnhealthyTargetsTaskAndNeverHealthyOnesAreStoppedAfterIt() {
        var w = World(desired: 1, loadBalanced: true)
        w.service.healthCheckGracePeriodSeconds = 30
        w.step()
        let id = w.ids()[0]
        w.run([id])
        w.tasks[id]?.targetHealthy = true
        w.step()
        w.tasks[id]?.targetHealthy = false
        w.step()
        #expect(w.service.tasks[0].target?.state == "unhealthy" && w.service.tasks[0].registered && w.stopped.isEmpty)
        w.tasks[id]?.targetHealthy = true
        w.step()
        #expect(w.service.tasks[0].target?.state == "healthy")

        var v = World(desired: 1, loadBalanced: true)
        v.service.healthCheckGracePeriodSeconds = 30
        v.step()
        let never = v.ids()[0]
        v.run([never])
        v.tasks[never]?.targetHealthy = false
        v.step()
        #expect(v.service.tasks[0].target?.state == "unhealthy" && v.stopped.isEmpty, "within the grace period")
        v.step(advance: 30)
        #expect(v.stopped.map(\.0) == [never], "stopped once the grace period is over")
        #expect(v.service.primary?.failedTasks == 1, "a failure of its deployment (the circuit breaker counts it)")
    }

    @Test func aDeletedServiceStopsEverythingAndBecomesInactive() {
        var w = World(desired: 2)
        w.step()
        w.run(w.ids(), since: 60)
        w.step()
        w.service.status = "DRAINING"
        w.step()
        #expect(w.stopped.count == 2)
        w.step()
        #expect(w.service.status == "INACTIVE")
    }

    @Test func theRulesNumbers() {
        #expect(DeploymentRules.circuitBreakerThreshold(desired: 1) == 3)
        #expect(DeploymentRules.circuitBreakerThreshold(desired: 25) == 13)
        #expect(DeploymentRules.circuitBreakerThreshold(desired: 400) == 200)
        #expect(DeploymentRules.maximumTasks(desired: 3, maximumPercent: 125) == 3)
        #expect(DeploymentRules.minimumHealthy(desired: 2, minimumHealthyPercent: 75) == 2)
        #expect(DeploymentRules.minimumHealthy(desired: 4, minimumHealthyPercent: 50) == 2)
        #expect(DeploymentRules.startDelay(failures: 2) == nil && DeploymentRules.startDelay(failures: 3) == 5)
        #expect(DeploymentRules.startDelay(failures: 50) == 900)
    }

    @Test func discoveryNamesFollowCloudMapAndServiceConnect() {
        var w = World(desired: 1)
        w.service.serviceRegistries = [ECS.ServiceRegistry(registryArn: "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1")]
        w.service.serviceConnect = ECS.ServiceConnectConfiguration(enabled: true, namespace: "arn:aws:servicediscovery:us-east-1:000000000000:namespace/internal",
                                                                   services: [ECS.ServiceConnectService(portName: "http", discoveryName: "api"),
                                                                              ECS.ServiceConnectService(portName: "grpc", clientAliases: [ECS.ServiceConnectClientAlias(port: 9, dnsName: "Grpc.Local")])])
        #expect(ServiceDescription.discoveryNames(w.service, registryNames: [:]) == ["web.c.local", "api.internal", "grpc.local"])
        #expect(ServiceDescription.discoveryNames(w.service, registryNames: ["arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1": "web.prod"]).first == "web.prod")
    }
}
