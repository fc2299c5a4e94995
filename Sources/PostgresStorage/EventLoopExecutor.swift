import NIOCore

/// Runs a task's jobs on one NIO event loop. A leased body runs on its connection's loop, where
/// postgres-nio writes requests and completes their results: each statement then costs no thread
/// hand-offs (there were four per statement: to the loop to write, back for the result, and the same
/// for the row stream), and the statements of a transaction follow each other on one thread.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
