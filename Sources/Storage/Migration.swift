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

    /// The same SQL for both backends.
    public init(version: Int, name: String, up: String, down: String) {
        self.init(version: version, name: name,
                  up: [.sqlite: up, .postgres: up], down: [.sqlite: down, .postgres: down])
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
