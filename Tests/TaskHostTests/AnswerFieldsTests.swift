import ECSModel
import Foundation
@testable import TaskHost
import TaskRuntime
import Testing

/// `run -d` and `wait` read the host's answers with SQLite's JSON functions (`AnswerFields`):
/// they must read what the host's `JSONEncoder` writes, member for member, and refuse what
/// is not an answer.
struct AnswerFieldsTests {
    /// A task as the host describes it, with a reason that needs JSON's escapes.
    let task = ECS.Task(cpu: "256", lastStatus: "STOPPED",
                        stopCode: .essentialContainerExited, stoppedReason: "Essential container \"app\" exited\n\\ é 🚀 \u{1}",
                        taskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef")

    @Test func readsWhatTheHostWritesOfAnEndedTask() throws {
        let answer = try JSONEncoder().encode(ControlAPI.Ended(task: task, exitCode: -2_147_483_648, failure: "x"))
        #expect(!AnswerFields.mayHoldNUL(answer), "read with SQLite")
        let outcome = try AnswerFields.outcome(answer)
        #expect(outcome.exitCode == Int32.min)
        #expect(outcome.task == ControlAPI.TaskSummary(taskArn: task.taskArn, lastStatus: "STOPPED", stopCode: "EssentialContainerExited",
                                                       stoppedReason: task.stoppedReason))
    }

    @Test func readsEachStartedTaskInOrder() throws {
        let running = ECS.Task(lastStatus: "RUNNING", taskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/1")
        let answer = try JSONEncoder().encode(ControlAPI.Tasks(tasks: [running, task, ECS.Task()]))
        let started = try AnswerFields.started(answer)
        #expect(started.tasks == [
            ControlAPI.TaskSummary(taskArn: running.taskArn, lastStatus: "RUNNING", stopCode: nil, stoppedReason: nil),
            ControlAPI.TaskSummary(taskArn: task.taskArn, lastStatus: "STOPPED", stopCode: "EssentialContainerExited", stoppedReason: task.stoppedReason),
            ControlAPI.TaskSummary(taskArn: nil, lastStatus: nil, stopCode: nil, stoppedReason: nil),
        ])
        #expect(try AnswerFields.started(Data(#"{"tasks": []}"#.utf8)).tasks.isEmpty)
        // A member that is not a string is not printed as one.
        #expect(try AnswerFields.started(Data(#"{"tasks": [{"taskArn": 7, "lastStatus": null}]}"#.utf8)).tasks
            == [ControlAPI.TaskSummary(taskArn: nil, lastStatus: nil, stopCode: nil, stoppedReason: nil)])
    }

    /// SQLite 3.40's json_extract would end the reason at the NUL: such an answer is decoded
    /// whole, and refused as the others are when it is not an answer.
    @Test func readsAReasonThatHoldsANULWhole() throws {
        var stopped = task
        stopped.stoppedReason = "stopped by \u{0}ci\u{0}"
        let ended = try JSONEncoder().encode(ControlAPI.Ended(task: stopped, exitCode: 3, failure: nil))
        #expect(AnswerFields.mayHoldNUL(ended))
        let outcome = try AnswerFields.outcome(ended)
        #expect(outcome.exitCode == 3 && outcome.task == ControlAPI.TaskSummary(stopped))
        #expect(outcome.task.stoppedReason == "stopped by \u{0}ci\u{0}" && outcome.task.stopCode == "EssentialContainerExited")
        let started = try AnswerFields.started(JSONEncoder().encode(ControlAPI.Tasks(tasks: [task, stopped])))
        #expect(started.tasks.map(\.stoppedReason) == [task.stoppedReason, stopped.stoppedReason])

        let malformed = #"{"task": {"stoppedReason": "a\u0000"}, "exitCode": "0"}"#
        let error = try #require(throws: TaskRuntimeError.self) { try AnswerFields.outcome(Data(malformed.utf8)) }
        #expect(error.code == .unavailable && error.message.hasPrefix("the host's answer is not "), "\(error)")
        #expect(!AnswerFields.mayHoldNUL(Data(#"{"a": "\\u000"}"#.utf8)) && AnswerFields.mayHoldNUL(Data(#"\u0000"#.utf8)))
    }

    @Test(arguments: ["", "{", "[]", "null", #"{"exitCode": 0}"#, #"{"task": {}, "exitCode": "0"}"#, #"{"task": {}, "exitCode": 1.5}"#,
                      #"{"task": {}, "exitCode": 2147483648}"#, #"{"task": [], "exitCode": 0}"#, #"{"task": {}, "exitCode": 0"#])
    func refusesWhatIsNotAnOutcome(_ answer: String) throws {
        let error = try #require(throws: TaskRuntimeError.self) { try AnswerFields.outcome(Data(answer.utf8)) }
        #expect(error.code == .unavailable && error.message.hasPrefix("the host's answer is not "), "\(error)")
    }

    @Test(arguments: ["", "{", "[]", #"{"tasks": {}}"#, #"{"task": []}"#, #"{"tasks": [}"#])
    func refusesWhatIsNotAListOfTasks(_ answer: String) throws {
        let error = try #require(throws: TaskRuntimeError.self) { try AnswerFields.started(Data(answer.utf8)) }
        #expect(error.code == .unavailable && error.message.hasPrefix("the host's answer is not "), "\(error)")
    }
}
