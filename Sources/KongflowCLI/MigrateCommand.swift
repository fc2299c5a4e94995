import ArgumentParser
import Foundation
import Storage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply, revert or list schema migrations.",
        subcommands: [Up.self, Down.self, Status.self])

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Stop after this version.") var to: Int?

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.migrate")
            try await withDatabase(database, logger: logger) { db in
                let runner = MigrationRunner(database: db, logger: logger)
                let applied = try await runner.up(to: to)
                print(applied.isEmpty ? "Already at version \(try await runner.currentVersion())." : "Applied \(applied.map(String.init).joined(separator: ", ")); now at version \(try await runner.currentVersion()).")
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revert migrations newer than --to (default: all).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Keep this version and older.") var to: Int = 0

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.migrate")
            try await withDatabase(database, logger: logger) { db in
                let runner = MigrationRunner(database: db, logger: logger)
                let reverted = try await runner.down(to: to)
                print(reverted.isEmpty ? "Nothing to revert; at version \(try await runner.currentVersion())." : "Reverted \(reverted.map(String.init).joined(separator: ", ")); now at version \(try await runner.currentVersion()).")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List migrations and whether each is applied.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        struct Line: Encodable { let version: Int; let name: String; let applied: Bool; let appliedAt: Date? }

        func run() async throws {
            let logger = try logging.makeLogger("kongflow.migrate")
            try await withDatabase(database, logger: logger) { db in
                let status = try await MigrationRunner(database: db, logger: logger).status()
                if json {
                    try printJSON(status.map { Line(version: $0.version, name: $0.name, applied: $0.appliedAt != nil, appliedAt: $0.appliedAt) })
                } else {
                    print("Database: \(db.displayName)")
                    for line in status {
                        print(String(format: "%4d  %-32@ %@", line.version, line.name as NSString, (line.appliedAt.map { "applied \(SQLTimestamp.format($0))" } ?? "pending") as NSString))
                    }
                }
            }
        }
    }
}
