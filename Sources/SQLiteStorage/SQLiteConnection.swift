import Foundation
import Storage
import VaporCSQLite

/// One SQLite connection driven through SQLite's C API, in the caller's thread.
///
/// Not thread-safe by itself: `SQLiteStore` uses it only while it holds its gate, so one statement
/// runs at a time and each runs to completion before the gate is released (the connection is opened
/// with `SQLITE_OPEN_NOMUTEX` because of that). Statements run inline rather than on a thread pool:
/// an indexed read is a few microseconds, less than the two thread hand-offs a pool costs, which were a
/// quarter of an authenticated request's CPU. Prepared statements are kept by SQL text, so the parser
/// runs once per distinct statement rather than once per call.
///
/// The C library is the amalgamation sqlite-nio builds (its `VaporCSQLite` module, symbols prefixed
/// `sqlite_nio_`), so the embedded backend needs no system SQLite and keeps the version it was tested with.
final class SQLiteConnection: @unchecked Sendable {
    /// Statements kept prepared. Statements with generated `IN (…)` lists differ by their length, so the
    /// cache is bounded; when it is full the least recently used statement is finalized.
    static let statementCacheCapacity = 256

    private var handle: OpaquePointer?
    private var cache: [String: CachedStatement] = [:]
    private var useCounter: UInt64 = 0

    private final class CachedStatement {
        let pointer: OpaquePointer
        let columns: [String]
        var lastUse: UInt64
        init(pointer: OpaquePointer, columns: [String], lastUse: UInt64) {
            self.pointer = pointer
            self.columns = columns
            self.lastUse = lastUse
        }
    }

    init(path: String) throws(SQLiteFailure) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let failure = SQLiteFailure(code: code, message: handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory")
            sqlite_nio_sqlite3_close_v2(handle)
            throw failure
        }
        sqlite_nio_sqlite3_extended_result_codes(handle, 1)
        self.handle = handle
    }

    deinit { close() }

    func close() {
        for statement in cache.values { sqlite_nio_sqlite3_finalize(statement.pointer) }
        cache.removeAll()
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one statement to completion and returns its rows. `SQLITE_BUSY` before the first row is
    /// reported as `.busy` with nothing changed, so the caller may wait and run it again.
    func run(_ sql: String, _ binds: [SQLValue]) throws(SQLiteFailure) -> [SQLRow] {
        guard let handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed") }
        let statement = try prepared(sql, handle: handle)
        let pointer = statement.pointer
        var holdsLargeValue = false
        defer {
            sqlite_nio_sqlite3_reset(pointer)
            // Every parameter is bound anew on each use, so bindings are cleared only to free a large
            // copied value: clearing marks a statement whose plan looked at its parameters for
            // re-preparation, which was a whole parse per call for the endpoint list.
            if holdsLargeValue { sqlite_nio_sqlite3_clear_bindings(pointer) }
        }
        for (offset, value) in binds.enumerated() {
            if case .text(let text) = value, text.utf8.count > 4_096 { holdsLargeValue = true }
            if case .json(let text) = value, text.utf8.count > 4_096 { holdsLargeValue = true }
            let code = Self.bind(value, at: Int32(offset + 1), in: pointer)
            guard code == SQLITE_OK else { throw failure(code, handle: handle) }
        }
        var rows: [SQLRow] = []
        let columns = statement.columns
        while true {
            let code = sqlite_nio_sqlite3_step(pointer)
            if code == SQLITE_ROW {
                var values: [SQLValue] = []
                values.reserveCapacity(columns.count)
                for column in 0..<Int32(columns.count) { values.append(Self.read(column, of: pointer)) }
                rows.append(SQLRow(columns: columns, values: values))
            } else if code == SQLITE_DONE {
                return rows
            } else {
                throw failure(code, handle: handle)
            }
        }
    }

    private func prepared(_ sql: String, handle: OpaquePointer) throws(SQLiteFailure) -> CachedStatement {
        useCounter &+= 1
        if let cached = cache[sql] {
            cached.lastUse = useCounter
            return cached
        }
        var pointer: OpaquePointer?
        let code = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard code == SQLITE_OK else { throw failure(code, handle: handle) }
        guard let pointer else {
            // Only whitespace or a comment: SQLite has nothing to run. Callers never send that.
            throw SQLiteFailure(code: SQLITE_MISUSE, message: "empty statement")
        }
        let count = sqlite_nio_sqlite3_column_count(pointer)
        let columns = (0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(pointer, $0)) }
        if cache.count >= Self.statementCacheCapacity, let oldest = cache.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            sqlite_nio_sqlite3_finalize(oldest.value.pointer)
            cache.removeValue(forKey: oldest.key)
        }
        let statement = CachedStatement(pointer: pointer, columns: columns, lastUse: useCounter)
        cache[sql] = statement
        return statement
    }

    private func failure(_ code: Int32, handle: OpaquePointer) -> SQLiteFailure {
        SQLiteFailure(code: sqlite_nio_sqlite3_extended_errcode(handle), message: String(cString: sqlite_nio_sqlite3_errmsg(handle)), stepCode: code)
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns (the macro is a cast, which
    /// Swift does not import).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .null: return sqlite_nio_sqlite3_bind_null(statement, index)
        case .bool(let b): return sqlite_nio_sqlite3_bind_int64(statement, index, b ? 1 : 0)
        case .int(let i): return sqlite_nio_sqlite3_bind_int64(statement, index, i)
        case .double(let d): return sqlite_nio_sqlite3_bind_double(statement, index, d)
        case .text(let s), .json(let s): return bindText(s, at: index, in: statement)
        case .uuid(let u): return bindText(u.lowercasedString, at: index, in: statement)
        case .date(let d): return bindText(SQLTimestamp.format(d), at: index, in: statement)
        }
    }

    private static func bindText(_ text: String, at index: Int32, in statement: OpaquePointer) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            // A zero-length buffer may have no base address, and SQLite binds a NULL pointer as NULL,
            // not as the empty string.
            guard let base = bytes.baseAddress else { return sqlite_nio_sqlite3_bind_text(statement, index, "", 0, transient) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                sqlite_nio_sqlite3_bind_text(statement, index, chars, Int32(bytes.count), transient)
            }
        }
    }

    private static func read(_ column: Int32, of statement: OpaquePointer) -> SQLValue {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(sqlite_nio_sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: return .double(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            // The pointer first, then the length: that is the order SQLite's documentation asks for.
            guard let bytes = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        default:
            // BLOB, read as UTF-8 text: the schema stores no binary data.
            guard let bytes = sqlite_nio_sqlite3_column_blob(statement, column) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeRawBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
    }
}

/// An error SQLite returned: its extended result code and message.
struct SQLiteFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    /// What `sqlite3_step` or the call itself returned, when it differs from the connection's last error.
    var stepCode: Int32? = nil

    var primaryCode: Int32 { code & 0xff }
    var isBusy: Bool { primaryCode == SQLITE_BUSY }
    var description: String { "SQLite error \(code): \(message)" }
}
