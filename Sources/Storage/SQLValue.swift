import Foundation
import JSON

/// A value bound to, or read from, a SQL statement. Drivers map each case to their native type:
/// PostgreSQL gets `uuid`, `timestamptz` and `jsonb`; SQLite stores UUIDs, timestamps and JSON as text.
public enum SQLValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case text(String)
    case uuid(UUID)
    case date(Date)
    /// JSON document text. Stored as `jsonb` on PostgreSQL and validated text on SQLite.
    case json(String)
}

/// Types that can be bound as a statement parameter.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable {
    public var sqlValue: SQLValue { self }
}
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .double(self) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .bool(self) } }
extension UUID: SQLBindable { public var sqlValue: SQLValue { .uuid(self) } }
extension Date: SQLBindable { public var sqlValue: SQLValue { .date(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A JSON document to bind; wraps already-encoded JSON text.
public struct SQLJSON: SQLBindable, Hashable {
    public let text: String
    public init(_ text: String) { self.text = text }
    public init<T: Encodable>(encoding value: T) throws {
        self.text = try JSONValue.print(value)
    }
    public init(_ value: JSONValue) {
        self.text = value.jsonString()
    }
    public var sqlValue: SQLValue { .json(text) }
}
