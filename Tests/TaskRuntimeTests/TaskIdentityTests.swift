import Foundation
@testable import TaskRuntime
import Testing

/// The ids a task is given: their shapes are what ECS clients and the agent's endpoints show.
struct TaskIdentityTests {
    @Test func taskIdsAreThirtyTwoLowerCaseHexDigits() {
        let ids = (0..<200).map { _ in TaskIdentity.newTaskId() }
        #expect(ids.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } })
        #expect(Set(ids).count == ids.count)
        #expect(TaskIdentity.hex([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    }

    @Test func credentialsIdsAreVersionFourUUIDs() {
        for _ in 0..<200 {
            let id = TaskIdentity.newCredentialsId()
            let parts = id.split(separator: "-").map(String.init)
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(parts[2].hasPrefix("4") && "89ab".contains(parts[3].first!), "\(id)")
            #expect(UUID(uuidString: id) != nil, "\(id)")
        }
    }

    /// "<task id>-<10 digits>", the digits a hash of the container's name, zero-padded.
    @Test func runtimeIdsAreTheTaskIdAndTenDigits() {
        let task = "5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b"
        for name in ["web", "side", "", "a-very-long-container-name_1"] {
            var h: UInt32 = 2_166_136_261
            for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            #expect(TaskIdentity.runtimeId(taskId: task, container: name) == task + "-" + String(format: "%010u", h))
        }
        #expect(TaskIdentity.runtimeId(taskId: task, container: "web") == TaskIdentity.runtimeId(taskId: task, container: "web"))
    }
}
