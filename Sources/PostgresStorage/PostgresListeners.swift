import Logging
import PostgresNIO
import Storage

/// One connection (outside the pool) per LISTENed channel, fanned out to in-process subscribers. When the
/// connection drops it reconnects and sends an empty payload, since notifications sent while it was
/// down are lost and subscribers must look at the database again.
///
/// Read with postgres-nio's notification sequence, not its callback `addListener`: a callback listener
/// whose start is lost (written to a connection that just closed) traps when it is released (1.33.2,
/// `NotificationListener.deinit`), and the sequence also says when LISTEN has taken effect.
actor PostgresListeners {
    private let pool: ConnectionPool
    private let logger: Logger
    private let hub = NotificationHub()
    private var tasks: [String: Task<Void, Never>] = [:]

    init(pool: ConnectionPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    func subscribe(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws -> NotificationSubscription {
        let subscription = hub.subscribe(channel, handler)
        if tasks[channel] == nil {
            let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
            tasks[channel] = Task { [pool, hub, logger] in
                var first = true
                while !Task.isCancelled {
                    do {
                        let connection = try await pool.connectUnpooled()
                        do {
                            try await connection.listen(on: channel) { notifications in
                                if first { readyContinuation.yield(()); readyContinuation.finish(); first = false }
                                else { hub.send(channel, "") }
                                for try await notification in notifications {
                                    hub.send(channel, notification.payload)
                                }
                            }
                            try? await connection.close()
                        } catch {
                            try? await connection.close()
                            throw error
                        }
                    } catch {
                        if Task.isCancelled { break }
                        logger.warning("LISTEN connection lost; reconnecting", metadata: ["channel": "\(channel)", "error": "\(error)"])
                        try? await Task.sleep(for: .milliseconds(500))
                    }
                }
                readyContinuation.finish()
            }
            for await _ in ready { break }
        }
        return subscription
    }

    func close() {
        for task in tasks.values { task.cancel() }
        tasks = [:]
        hub.removeAll()
    }
}
