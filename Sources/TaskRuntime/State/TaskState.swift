#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Metering
import Sandbox
import TaskNetwork

/// The task's state file (`<root>/tasks/<id>/state.json`): the ECS description plus what is
/// needed to inspect, stop, resume or clean up the task from another process.
public struct TaskState: Codable, Sendable {
    public var task: ECS.Task
    /// Host pids of the containers' init processes.
    public var pids: [String: Int32]
    public var networkNamespace: String?
    /// The task cgroup's directories (one per v1 hierarchy, one on v2).
    public var cgroupDirectories: [String]
    public var ownerPid: Int32
    /// The fargate-run process running the task (pid and start time: pids are recycled).
    public var owner: ProcessIdentity?
    public var network: TaskNetworkAttachment?
    /// What the task is billed for (`gc` bills a task whose fargate-run died with it).
    public var billing: BillableTask?
    public var containerDirectories: [String]?
    /// Snapshot directories the containers run on (`images prune` leaves them alone).
    public var layers: [String]?
    /// The lifecycle's rules and where the task stands in them.
    public var lifecycle: TaskLifecycle?
    /// Who the task is (ARNs, cluster, startedBy, group, tags) and when things happened.
    public var identity: TaskIdentity?
    public var times: TaskTimes?
    /// Manifest digests of the containers' images, by container.
    public var imageDigests: [String: String]?
    /// A hosted task's monitor, which keeps its containers whether or not a host runs.
    public var monitor: ProcessIdentity?
    /// What `exec` needs of each started container (its environment comes from its process).
    public var execProfiles: [String: ExecProfile]?
    /// Scale-in protection (the task-protection API of its metadata endpoint).
    public var protection: TaskProtection?
    /// Config digests of the containers' images (the endpoint's ImageID), by container.
    public var imageIds: [String: String]?

    /// Whether the fargate-run running the task is still there (a state from before owners
    /// were recorded has only the pid).
    public var ownerIsAlive: Bool { owner?.isAlive ?? (kill(ownerPid, 0) == 0) }
    /// Run by a host (`fargate-run serve`), its containers kept by a monitor.
    public var isHosted: Bool { monitor != nil }
    /// Not finished, and its containers are still kept: by its monitor (a hosted task, with
    /// or without a host), else by the fargate-run running it.
    public var isRunning: Bool { !isStopped && (monitor?.isAlive ?? ownerIsAlive) }
    public var isStopped: Bool { task.lastStatus == TaskStatus.stopped.rawValue }

    /// What the task holds on this machine, as recorded.
    public var resources: TaskResources {
        TaskResources(networkNamespace: networkNamespace, cgroupDirectories: cgroupDirectories, network: network,
                      containerDirectories: containerDirectories ?? [])
    }

    /// How state files are written: compact, neither sorted nor indented (`jq . state.json`
    /// for a person). A state file is written several times a task, on the host's own CPU
    /// beside the tasks it starts, and sorting every object's keys and indenting was a share
    /// of that encoding.
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }
}
