import ECSModel
import Foundation
import Metering

/// Usage sampling of a task: its runner registers it with the process's sampler once the task
/// is RUNNING, and takes its last sample once its containers have stopped and before its bill,
/// so the bill and the samples end together.
extension TaskRunner {
    /// Registers the task with `config.usageSampler` the first time it is seen RUNNING (also
    /// when a host resumes it: sampling goes on from its last stored sample).
    func sampleOnceRunning() {
        guard usageRegistration == nil, lifecycle.startedAt != nil, lifecycle.status < .deprovisioning,
              let sampler = config.usageSampler, let opening = ledgerOpening, let start = times.pullStartedAt else { return }
        let (directories, known) = (backend.resources.cgroupDirectories, backend.cgroup)
        let task = usageTask(start: start)
        let logger = self.logger
        usageRegistration = Task.detached {
            guard let cgroup = known ?? (directories.isEmpty ? nil : TaskResources.cgroup(at: directories)) else { return false }
            do {
                guard let ledger = try await opening.value else { return false }
                try sampler.register(task, source: CgroupUsageSource(taskCgroup: cgroup, containers: task.containers.map(\.name)), ledger: ledger)
                return true
            } catch {
                logger.warning("usage sampling not started", metadata: ["error": "\(error)"])
                return false
            }
        }
    }

    /// Takes the task's last sample and writes it, off the runner, once its registration with
    /// the sampler is done (a task that ran for a few milliseconds may still be making it),
    /// whether or not that succeeded: a registration that failed halfway may have left the
    /// task with the sampler. Answers what kept the sample from being written.
    func finishSampling() -> Task<(any Error)?, Never>? {
        guard let registration = usageRegistration, let sampler = config.usageSampler else { return nil }
        let arn = taskArn
        return Task.detached {
            _ = await registration.value
            do { try sampler.finish(arn) } catch { return error }
            return nil
        }
    }

    /// The task as the usage tables record it: its request, its containers', who it ran for.
    func usageTask(start: Date) -> UsageTask {
        UsageTask(taskArn: taskArn, family: plan.family, revision: plan.revision, cpu: plan.size.cpu, memory: plan.size.memory,
                  startMicros: Billing.micros(start),
                  containers: plan.containers.map {
                      UsageTask.Container(name: $0.name, cpu: $0.definition.cpu, memory: $0.definition.memory,
                                          memoryReservation: $0.definition.memoryReservation)
                  },
                  attribution: identity.attribution(family: plan.family))
    }
}

extension TaskIdentity {
    /// Who the task runs for, as its bill records it: RunTask's group defaults to
    /// "family:FAMILY", as on ECS.
    public func attribution(family: String) -> TaskAttribution {
        var tagMap: [String: String] = [:]
        for t in tags ?? [] { if let k = t.key { tagMap[k] = t.value ?? "" } }
        return TaskAttribution(cluster: cluster, startedBy: startedBy, group: group ?? "family:\(family)", tags: tagMap)
    }
}
