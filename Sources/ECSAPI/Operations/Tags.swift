import ECSModel
import Foundation
import GRDB

/// TagResource, UntagResource, ListTagsForResource for clusters, task definitions, tasks and
/// services, each named by its ARN.
extension ECSAPI {
    /// The resource an ARN names, which must exist: its kind decides the error when it does not.
    func taggable(_ arn: String?) async throws -> String {
        guard let arn, !arn.isEmpty else { throw ECSError.invalidParameter("resourceArn is required") }
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "ecs", let slash = parts[5].firstIndex(of: "/") else {
            throw ECSError.invalidParameter("The ARN provided is invalid.")
        }
        let kind = parts[5][..<slash], path = parts[5][parts[5].index(after: slash)...].split(separator: "/").map(String.init)
        switch (kind, path.count) {
        case ("cluster", 1):
            guard try cluster(path[0]) != nil else { throw ECSError.clusterNotFound() }
        case ("task-definition", 1):
            guard try taskDefinition(path[0]) != nil, path[0].contains(":") else { throw ECSError.client("Unable to describe task definition.") }
        case ("task", 2):
            guard let c = try cluster(path[0]), await task(path[1], in: c) != nil else {
                throw ECSError.invalidParameter("The referenced task was not found.")
            }
        case ("service", 2):
            guard try service(path[1], in: path[0]) != nil else { throw ECSError.serviceNotFound() }
        case ("service", 1):
            throw ECSError.invalidParameter("Long arn format must be used for tagging operations")
        default:
            throw ECSError.invalidParameter("The ARN provided is invalid.")
        }
        return arn
    }

    func tagResource(_ r: ECS.TagResourceRequest, _ caller: Caller) async throws -> ECS.TagResourceResponse {
        let arn = try await taggable(r.resourceArn)
        guard let list = r.tags else { throw ECSError.invalidParameter("tags is required") }
        let tags = try Validation.tags(list)
        try seedTaskTags(arn)
        let existing = Set(try store.tags(of: arn).map(\.0))
        guard existing.union(tags.map(\.0)).count <= 50 else { throw ECSError.invalidParameter("A resource can have at most 50 tags.") }
        try store.setTags(tags, on: arn)
        return ECS.TagResourceResponse()
    }

    func untagResource(_ r: ECS.UntagResourceRequest, _ caller: Caller) async throws -> ECS.UntagResourceResponse {
        let arn = try await taggable(r.resourceArn)
        guard let keys = r.tagKeys else { throw ECSError.invalidParameter("tagKeys is required") }
        try seedTaskTags(arn)
        try store.removeTags(keys, from: arn)
        return ECS.UntagResourceResponse()
    }

    func listTagsForResource(_ r: ECS.ListTagsForResourceRequest, _ caller: Caller) async throws -> ECS.ListTagsForResourceResponse {
        let arn = try await taggable(r.resourceArn)
        if arn.contains(":task/"), let id = arn.split(separator: "/").last, let t = await host.describe(String(id)) ?? host.recorded(String(id))?.task {
            return ECS.ListTagsForResourceResponse(tags: try tags(of: t))
        }
        return ECS.ListTagsForResourceResponse(tags: try store.tags(of: arn).map { ECS.Tag(key: $0.0, value: $0.1) })
    }

    /// A task started with tags (by the CLI, or before its tags were recorded here) gets them
    /// recorded before they are changed, so a change keeps the others.
    func seedTaskTags(_ arn: String) throws {
        guard arn.contains(":task/"), let id = arn.split(separator: "/").last, try !store.hasTagRecord(arn),
              let tags = host.recorded(String(id))?.task.tags else { return }
        try store.setTags(tags.compactMap { t in t.key.map { ($0, t.value ?? "") } }, on: arn)
    }
}
