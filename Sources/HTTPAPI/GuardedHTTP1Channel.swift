import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 channel, holding each connection's async channel until the connection closes.
///
/// A server that is shutting down can still accept a connection after it has stopped taking them from
/// its accept stream. That connection's `NIOAsyncChannel` is then dropped unused, and swift-nio 2.101
/// traps when its writer is freed unfinished ("Deinited NIOAsyncWriter without calling finish()", a
/// `preconditionFailure`, from `NIOAsyncChannelHandler.channelActive`). It took the whole test process
/// down (a worker calling a test endpoint as the endpoint stopped), and would take `serve` down on the
/// same race at shutdown. Held here and finished when the connection closes, the writer is never
/// freed unfinished; a connection that is served finishes it itself first.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).map { value in
            channel.closeFuture.whenComplete { _ in value.outbound.finish() }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as `.http1()`, without its trap at shutdown (`GuardedHTTP1Channel`). Every server here
    /// and in the tests is built with it.
    public static func guardedHTTP1(configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration)) }
    }
}
