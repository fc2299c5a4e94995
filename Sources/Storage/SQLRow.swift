import Foundation
import JSON

/// One result row, with values already converted from the driver's representation.
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The columns at `positions`: one table's part of a joined row whose tables share column names.
    public func slice(_ positions: Range<Int>) -> SQLRow {
        SQLRow(columns: Array(columns[positions]), values: Array(values[positions]))
    }

    public subscript(column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }

    public func decode<T: SQLDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(of: column) else { throw StorageError.decoding(column: column, expected: "\(T.self)", found: "no such column") }
        let value = values[index]
        guard let decoded = T(sqlValue: value) else {
            throw StorageError.decoding(column: column, expected: "\(T.self)", found: "\(value)")
        }
        return decoded
    }

    /// A text column holding one of an enum's raw values.
    public func enumeration<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
        let text: String = try decode(column)
        guard let value = T(rawValue: text) else { throw StorageError.decoding(column: column, expected: "\(T.self)", found: text) }
        return value
    }

    public func decodeIfPresent<T: SQLDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        if case .null = self[column] { return nil }
        return try decode(column, as: T.self)
    }
}

/// Types that can be read out of a ``SQLValue``. Conversions are lenient where a backend stores a
/// type as text (SQLite keeps UUIDs, timestamps and JSON as TEXT and booleans as INTEGER).
public protocol SQLDecodable {
    init?(sqlValue: SQLValue)
}

extension String: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .text(let s), .json(let s): self = s
        case .uuid(let u): self = u.lowercasedString
        case .int(let i): self = String(i)
        default: return nil
        }
    }
}

extension Int: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .int(let i): self = Int(i)
        case .double(let d) where d == d.rounded(): self = Int(d)
        case .text(let s): guard let i = Int(s) else { return nil }; self = i
        default: return nil
        }
    }
}

extension Int64: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        guard let i = Int(sqlValue: sqlValue) else { return nil }
        self = Int64(i)
    }
}

extension Double: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .double(let d): self = d
        case .int(let i): self = Double(i)
        default: return nil
        }
    }
}

extension Bool: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .bool(let b): self = b
        case .int(let i): self = i != 0
        default: return nil
        }
    }
}

extension UUID: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .uuid(let u): self = u
        case .text(let s): guard let u = UUID(canonical: s) ?? UUID(uuidString: s) else { return nil }; self = u
        default: return nil
        }
    }
}

extension Date: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .date(let d): self = d
        case .text(let s): guard let d = SQLTimestamp.parse(s) else { return nil }; self = d
        default: return nil
        }
    }
}

extension SQLJSON: SQLDecodable {
    public init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .json(let s), .text(let s): self.init(s)
        default: return nil
        }
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

extension SQLRow {
    /// A JSON column, parsed; nil when NULL.
    public func json(_ column: String) throws -> JSONValue? {
        guard let text = try decodeIfPresent(column, as: SQLJSON.self) else { return nil }
        return try JSONValue.parse(text.text)
    }
}
