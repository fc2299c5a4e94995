/// One numbered schema change with its inverse. `up` and `down` hold SQL per backend; a migration
/// whose SQL both backends agree on sets both to the same text.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    let up: [SQLDialect: String]
    let down: [SQLDialect: String]

    public init(version: Int, name: String, up: [SQLDialect: String], down: [SQLDialect: String]) {
        self.version = version
        self.name = name
        self.up = up
        self.down = down
    }

    /// One script for both backends. Where their types differ, the script names the type with a
    /// token that each backend renders its own way (`Migration.types`).
    public init(version: Int, name: String, up: String, down: String) {
        self.init(version: version, name: name,
                  up: Dictionary(uniqueKeysWithValues: SQLDialect.allCases.map { ($0, Migration.render(up, for: $0)) }),
                  down: Dictionary(uniqueKeysWithValues: SQLDialect.allCases.map { ($0, Migration.render(down, for: $0)) }))
    }

    /// PostgreSQL gets its native types; SQLite stores UUIDs, timestamps and JSON as TEXT (the
    /// application writes only values it formatted itself).
    static let types: [String: [SQLDialect: String]] = [
        "{UUID}": [.postgres: "UUID", .sqlite: "TEXT"],
        "{TIMESTAMP}": [.postgres: "TIMESTAMPTZ", .sqlite: "TEXT"],
        "{JSON}": [.postgres: "JSONB", .sqlite: "TEXT"],
        "{SERIAL_PRIMARY_KEY}": [.postgres: "BIGSERIAL PRIMARY KEY", .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"],
    ]

    static func render(_ script: String, for dialect: SQLDialect) -> String {
        types.reduce(script) { text, entry in text.replacingOccurrences(of: entry.key, with: entry.value[dialect]!) }
    }

    func statements(_ direction: Direction, for dialect: SQLDialect) throws -> [String] {
        let sql = direction == .up ? up[dialect] : down[dialect]
        guard let sql else { throw StorageError.migration("migration \(version) has no \(direction) SQL for \(dialect)") }
        return Migration.split(sql)
    }

    public enum Direction: String, Sendable { case up, down }

    /// Splits a script into statements at semicolons that end a line. Migration scripts keep
    /// semicolons inside literals off line ends, so this stays a few lines instead of a SQL lexer.
    static func split(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if statement.count > 1 { statements.append(String(statement.dropLast())) }
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}

import Foundation
