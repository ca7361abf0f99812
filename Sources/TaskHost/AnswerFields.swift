import Foundation
#if canImport(GRDBSQLite)
import GRDBSQLite
#endif
import TaskRuntime

/// The few members of the host's answers that `run -d` and `wait` print, read with SQLite's
/// JSON functions rather than `JSONDecoder`. Codable's first use of each type makes the Swift
/// runtime scan all 12,400 conformance records of the binary (0.1-0.4 ms a scan, five of them
/// in `run -d`, three in `wait`); SQLite, linked anyway for the ledger, reads the same JSON in
/// about 0.15 ms with no type of ours involved (Docs/PERFORMANCE.md). (ECSModel's
/// `JSONParser` would build the whole task's tree, and checks member names with a
/// `Set<String>`: a scan of its own.)
///
/// SQLite 3.40's `json_extract` ends a string at an escaped NUL (`\u0000`), which a reason
/// given to StopTask may hold: an answer with one is decoded whole by `JSONDecoder` instead.
enum AnswerFields {
    /// `GET /v1/tasks/ID/wait`'s `{task, exitCode}`.
    static func outcome(_ answer: Data) throws -> ControlAPI.Outcome {
        if mayHoldNUL(answer) {
            let ended = try decoded(ControlAPI.Ended.self, answer, "an object with task and an integer exitCode")
            return ControlAPI.Outcome(task: ControlAPI.TaskSummary(ended.task), exitCode: ended.exitCode)
        }
        var outcome: ControlAPI.Outcome?
        try rows(answer, """
            SELECT json_extract(?1, '$.task.taskArn'), json_extract(?1, '$.task.lastStatus'), json_extract(?1, '$.task.stopCode'),
                   json_extract(?1, '$.task.stoppedReason'), json_extract(?1, '$.exitCode')
            WHERE json_type(?1, '$.task') = 'object' AND json_type(?1, '$.exitCode') = 'integer'
            """) { row in
            let code = sqlite3_column_int64(row, 4)
            guard let exitCode = Int32(exactly: code) else { return }
            outcome = ControlAPI.Outcome(task: summary(row), exitCode: exitCode)
        }
        guard let outcome else { throw unexpected(answer, "an object with task and an integer exitCode") }
        return outcome
    }

    /// `POST /v1/tasks`' `{tasks: [Task]}`.
    static func started(_ answer: Data) throws -> ControlAPI.Started {
        if mayHoldNUL(answer) {
            let all = try decoded(ControlAPI.Tasks.self, answer, "an object with a tasks array")
            return ControlAPI.Started(tasks: all.tasks.map(ControlAPI.TaskSummary.init))
        }
        var tasks: [ControlAPI.TaskSummary] = []
        var isArray = false
        // One row more than the tasks: whether there is a tasks array (an empty one has no
        // task row to say so).
        try rows(answer, """
            SELECT json_type(?1, '$.tasks') = 'array', NULL, NULL, NULL, NULL, -1
            UNION ALL
            SELECT NULL, json_extract(value, '$.taskArn'), json_extract(value, '$.lastStatus'), json_extract(value, '$.stopCode'),
                   json_extract(value, '$.stoppedReason'), key
            FROM json_each(?1, '$.tasks') WHERE json_type(?1, '$.tasks') = 'array'
            ORDER BY 6
            """) { row in
            if sqlite3_column_int64(row, 5) < 0 {
                isArray = sqlite3_column_int(row, 0) == 1
            } else {
                tasks.append(summary(row, from: 1))
            }
        }
        guard isArray else { throw unexpected(answer, "an object with a tasks array") }
        return ControlAPI.Started(tasks: tasks)
    }

    /// Four columns of a row from `first` on as a task's summary; a member that is not a
    /// string is nil.
    private static func summary(_ row: OpaquePointer, from first: Int32 = 0) -> ControlAPI.TaskSummary {
        func text(_ i: Int32) -> String? {
            guard sqlite3_column_type(row, first + i) == SQLITE_TEXT, let p = sqlite3_column_text(row, first + i) else { return nil }
            return String(cString: p)
        }
        return ControlAPI.TaskSummary(taskArn: text(0), lastStatus: text(1), stopCode: text(2), stoppedReason: text(3))
    }

    /// Runs `sql` with the answer bound to ?1 in a private in-memory database, calling `body`
    /// with each row. Malformed JSON is an error, as SQLite reports it.
    private static func rows(_ answer: Data, _ sql: String, _ body: (OpaquePointer) -> Void) throws {
        var db: OpaquePointer?
        guard sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let db else {
            sqlite3_close(db)
            throw TaskRuntimeError(.internal, "reading the host's answer: SQLite could not open an in-memory database")
        }
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw TaskRuntimeError(.internal, "reading the host's answer: \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        var result: Int32 = SQLITE_OK
        answer.withUnsafeBytes { bytes in
            // SQLITE_STATIC (nil): the bytes outlive the steps, all made here; no bytes bind NULL.
            _ = sqlite3_bind_text(statement, 1, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
            while true {
                result = sqlite3_step(statement)
                guard result == SQLITE_ROW else { break }
                body(statement)
            }
        }
        guard result == SQLITE_DONE else {
            throw unexpected(answer, "JSON (\(String(cString: sqlite3_errmsg(db))))")
        }
    }

    /// Whether the answer holds the escape `\u0000` (or something that ends with its bytes,
    /// such as an escaped backslash before `u0000`: decoded whole too, which is only slower).
    static func mayHoldNUL(_ answer: Data) -> Bool {
        answer.firstRange(of: Array(#"\u0000"#.utf8)) != nil
    }

    private static func decoded<T: Decodable>(_ type: T.Type, _ answer: Data, _ expected: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: answer)
        } catch {
            throw unexpected(answer, expected)
        }
    }

    private static func unexpected(_ answer: Data, _ expected: String) -> TaskRuntimeError {
        TaskRuntimeError(.unavailable, "the host's answer is not \(expected): \(String(decoding: answer.prefix(200), as: UTF8.self))")
    }
}
