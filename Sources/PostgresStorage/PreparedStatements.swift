import NIOConcurrencyHelpers
import PostgresNIO
import Storage

/// Which statements run as named prepared statements, and under which name.
///
/// postgres-nio sends every ad-hoc query as the unnamed statement, which the server parses and plans
/// again on every call (about an eighth of the machine under the API benchmark). Its prepared
/// statements are parsed once per connection and then cost a Bind and an Execute, but it prepares only
/// statements declared as types with static SQL (`PostgresPreparedStatement`); ours are built at run
/// time. `RuntimeStatement` bridges that, and this registry decides what is worth a name.
///
/// A name stands for one SQL text *and* the kinds of its binds: the server fixes each parameter's type
/// when the statement is prepared (from the first call's binds; a NULL's type is inferred), so a later
/// call that bound an integer where the first bound NULL must not reuse it.
///
/// A statement is named the second time it is seen, so one-off statements (migrations, `IN` lists of a
/// length seen once) never occupy the server; names are never reused or released, because postgres-nio
/// keeps every connection's prepared statements for the connection's life. Past `capacity` names, new
/// statements stay unnamed.
package final class PreparedStatements: Sendable {
    struct Key: Hashable, Sendable {
        let sql: String
        let kinds: [UInt8]
    }

    private struct State {
        var names: [Key: String] = [:]
        var seenOnce: Set<Key> = []
    }

    package let capacity: Int
    private let state = NIOLockedValueBox(State())

    package init(capacity: Int = 500) {
        self.capacity = capacity
    }

    /// The name to prepare `sql` under, or nil to send it unnamed this time.
    package func name(for sql: String, binds: [SQLValue]) -> String? {
        let key = Key(sql: sql, kinds: binds.map(Self.kind))
        return state.withLockedValue { state in
            if let name = state.names[key] { return name }
            guard state.names.count < capacity else { return nil }
            guard state.seenOnce.remove(key) != nil else {
                // Bounded like the names: a flood of distinct statements forgets, it does not grow.
                if state.seenOnce.count >= capacity * 4 { state.seenOnce.removeAll(keepingCapacity: true) }
                state.seenOnce.insert(key)
                return nil
            }
            let name = "kf_\(state.names.count + 1)"
            state.names[key] = name
            return name
        }
    }

    package var count: Int { state.withLockedValue { $0.names.count } }

    private static func kind(_ value: SQLValue) -> UInt8 {
        switch value {
        case .null: 0
        case .bool: 1
        case .int: 2
        case .double: 3
        case .text: 4
        case .uuid: 5
        case .date: 6
        case .json: 7
        }
    }
}

/// A prepared statement whose name and SQL are chosen at run time. postgres-nio reads a statement
/// type's static `name` and `sql` once, synchronously, when `execute` is called and before anything is
/// sent (1.33.2, `PostgresConnection.execute`), so a task-local set around that call supplies them;
/// `PreparedStatementTests` checks that the server really holds the statements under our names.
struct RuntimeStatement: PostgresPreparedStatement {
    struct Text: Sendable {
        let name: String
        let sql: String
    }

    @TaskLocal static var current: Text?

    static var name: String { current?.name ?? "" }
    static var sql: String { current?.sql ?? "" }

    typealias Row = PostgresRow
    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
