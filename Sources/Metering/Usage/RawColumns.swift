import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#endif

/// Steps a statement and reads its columns with SQLite's own functions: a million samples in
/// a fraction of the time a decoded `Row` per value takes (Docs/PERFORMANCE.md).
struct RawColumns {
    let statement: OpaquePointer

    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(statement, i) }
    func double(_ i: Int32) -> Double { sqlite3_column_double(statement, i) }
    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(statement, i) == SQLITE_NULL }
    func optionalInt(_ i: Int32) -> Int64? { isNull(i) ? nil : int(i) }
    func string(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(statement, i) else { return "" }
        return String(cString: p)
    }
    func optionalString(_ i: Int32) -> String? { isNull(i) ? nil : string(i) }
    /// A text column's bytes, valid until the next step.
    func bytes(_ i: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let p = sqlite3_column_text(statement, i) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(statement, i)))
    }

    /// Runs `sql` and calls `body` with each row's columns.
    static func forEach(_ db: Database, sql: String, arguments: StatementArguments = [], _ body: (RawColumns) throws -> Void) throws {
        try forEach(try db.makeStatement(sql: sql), arguments: arguments, body)
    }

    /// Steps a prepared statement (with the arguments it has, unless others are given).
    static func forEach(_ statement: Statement, arguments: StatementArguments? = nil, _ body: (RawColumns) throws -> Void) throws {
        let cursor = try Row.fetchCursor(statement, arguments: arguments ?? statement.arguments)
        let columns = RawColumns(statement: statement.sqliteStatement)
        while try cursor.next() != nil { try body(columns) }
    }
}
