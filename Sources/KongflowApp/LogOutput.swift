import Logging
import NIOConcurrencyHelpers

/// The process's log output: lines on stderr in swift-log's `StreamLogHandler` format (so `--json`
/// output on stdout stays machine-readable), at one level for every logger.
public enum LogOutput {
    private static let done = NIOLockedValueBox(false)

    /// swift-log may be bootstrapped once per process; later calls change nothing.
    public static func bootstrap(level: Logger.Level) {
        done.withLockedValue { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var output = StreamLogHandler.standardError(label: label)
                output.logLevel = level
                return DeferredMetadataLogHandler(output: output)
            }
        }
    }
}

/// `StreamLogHandler` renders a logger's whole metadata to text again on every change, and the
/// request path changes it several times per request for messages that are rarely written: the
/// authenticated environment, postgres-nio's connection id on every statement, async-http-client's
/// request id on every call (profiled at ~3% of a `POST /api/v1/endpoints`). This keeps the metadata
/// as a dictionary and hands it over with each message that is written, which renders the same line.
struct DeferredMetadataLogHandler: LogHandler {
    var output: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { output.metadataProvider }
        set { output.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        output.log(event: event)
    }
}
