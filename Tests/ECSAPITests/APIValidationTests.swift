import ECSModel
import Foundation
import Testing
@testable import ECSAPI

struct APIValidationTests {
    @Test func pagingTokensAreOffsetsAndBadOnesAreRefused() throws {
        let items = Array(1...5)
        let (first, next) = try Paging.page(items, token: nil, max: 2)
        #expect(first == [1, 2] && next != nil)
        let (second, last) = try Paging.page(items, token: next, max: 3)
        #expect(second == [3, 4, 5] && last == nil)
        #expect(throws: ECSError.self) { try Paging.page(items, token: "not a token", max: 2) }
        #expect(throws: ECSError.self) { try Paging.page(items, token: nil, max: 0) }
        #expect(throws: ECSError.self) { try Paging.page(items, token: nil, max: 101) }
    }

    @Test func namesStartedByAndTags() throws {
        #expect(Validation.isName("web-1_a", max: 255) && !Validation.isName("", max: 255) && !Validation.isName("a b", max: 255))
        #expect(!Validation.isName(String(repeating: "a", count: 256), max: 255))
        #expect(Validation.isStartedBy("ecs-svc/123_a-b") && !Validation.isStartedBy("a:b") && !Validation.isStartedBy(String(repeating: "a", count: 129)))
        #expect(try Validation.tags([ECS.Tag(key: "a", value: nil)]).map(\.1) == [""])
        #expect(throws: ECSError.self) { try Validation.tags([ECS.Tag(key: "aws:x", value: "y")]) }
        #expect(throws: ECSError.self) { try Validation.tags([ECS.Tag(key: "a", value: "1"), ECS.Tag(key: "a", value: "2")]) }
        #expect(throws: ECSError.self) { try Validation.tags((0...50).map { ECS.Tag(key: "k\($0)", value: "v") }) }
        #expect(throws: ECSError.self) { try Validation.tags([ECS.Tag(key: "", value: "v")]) }
    }

    @Test func errorsAreShapedAsECSShapesThem() throws {
        let response = ECSAPI.errorResponse(ECSError.clusterNotFound(), requestId: "r-1")
        #expect(response.status == 400)
        let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]
        #expect(body == ["__type": "ClusterNotFoundException", "message": "Cluster not found."])
        #expect(response.headers.contains { $0 == ("x-amzn-RequestId", "r-1") } && response.headers.contains { $0 == ("x-amzn-ErrorType", "ClusterNotFoundException") })
        #expect(ECSError.server("x").status == 500)
    }
}
