@testable import HTTPAPI
import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import Testing

/// A connection a shutting-down server accepted but never served (`GuardedHTTP1Channel`).
@Suite struct GuardedHTTP1ChannelTests {
    /// The server drops the connection's async channel before the connection becomes active. Without
    /// the guard, swift-nio 2.101 traps right there ("Deinited NIOAsyncWriter without calling
    /// finish()"), which ends the process running this test.
    @Test func anUnservedConnectionOutlivesItsDroppedChannelUntilItCloses() async throws {
        let channel = EmbeddedChannel()
        let guarded = GuardedHTTP1Channel(base: HTTP1Channel(responder: { _, _, _ in }))
        var value: GuardedHTTP1Channel.Value? = try await guarded.setup(channel: channel, logger: Logger(label: "test")).get()
        #expect(value != nil)
        value = nil
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get()
        #expect(channel.isActive, "active, with nobody left to serve it")
        try await channel.close()
        #expect(!channel.isActive)
    }
}
