@testable import KongflowApp
import Logging
import NIOConcurrencyHelpers
import Testing

/// The deferred-metadata handler writes what `StreamLogHandler` writes for the same logger.
@Suite struct LogOutputTests {
    final class Lines: TextOutputStream, @unchecked Sendable {
        private let lines = NIOLockedValueBox<[String]>([])
        func write(_ string: String) { lines.withLockedValue { $0.append(string) } }
        var all: [String] { lines.withLockedValue { $0 } }
    }

    /// A line without its timestamp (everything before the level).
    static func body(_ line: String) -> Substring { line[line.range(of: " info ")!.lowerBound...] }

    @Test func rendersTheSameLineAsStreamLogHandler() {
        let deferred = Lines(), stream = Lines()
        var handler = DeferredMetadataLogHandler(output: StreamLogHandler(label: "kongflow.test", stream: deferred, metadataProvider: nil))
        var plain = StreamLogHandler(label: "kongflow.test", stream: stream, metadataProvider: nil)
        for key in ["environment_id", "pg.connection.id", "environment_id"] {
            handler[metadataKey: key] = "\(key)-value"
            plain[metadataKey: key] = "\(key)-value"
        }
        handler[metadataKey: "gone"] = "x"
        handler[metadataKey: "gone"] = nil
        #expect(handler[metadataKey: "environment_id"] == "environment_id-value")
        let (deferredHandler, plainHandler) = (handler, plain)
        for var logger in [Logger(label: "kongflow.test") { _ in deferredHandler }, Logger(label: "kongflow.test") { _ in plainHandler }] {
            logger.logLevel = .info
            logger.info("registered", metadata: ["endpoint_id": "e1", "environment_id": "explicit wins"])
            logger.debug("below the level")
            logger.info("no extra metadata")
        }
        #expect(deferred.all.count == 2)
        #expect(deferred.all.map(Self.body) == stream.all.map(Self.body))
        #expect(deferred.all[0].contains("environment_id=explicit wins") && deferred.all[0].contains("pg.connection.id=pg.connection.id-value"))
        #expect(!deferred.all.joined().contains("gone"))
    }
}
