import Foundation

/// Runs the real `kongflow` executable (built next to the test bundle) as a child process.
public struct KongflowProcess {
    public static var executable: URL { binary(named: "kongflow") }

    /// An executable of this package, from the build directory the tests run from.
    public static func binary(named name: String) -> URL {
        let testBinary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        var dir = testBinary.deletingLastPathComponent()
        // swift test runs `<bin>/kongflowPackageTests.xctest`; on some setups arguments[0] is inside it.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent(name)
    }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs to completion (bounded by `timeout`) and returns status and output.
    /// `input` is written to its standard input (otherwise it reads an empty one).
    public static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil,
                           timeout: Duration = .seconds(60)) async throws -> Result {
        let (process, outData, errData) = makeProcess(arguments, environment: environment, binary: executable)
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        await outData.waitUntilClosed()
        await errData.waitUntilClosed()
        return Result(status: process.terminationStatus, stdout: await outData.text(), stderr: await errData.text())
    }

    /// A process with the test environment (minus any database URL of the developer's shell) and
    /// its output collected as it arrives.
    static func makeProcess(_ arguments: [String], environment: [String: String], binary: URL) -> (Process, OutputCollector, OutputCollector) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "KONGFLOW_DATABASE_URL")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        return (process, OutputCollector(out.fileHandleForReading), OutputCollector(err.fileHandleForReading))
    }

    /// Starts a long-running command (e.g. `serve`); stop it with `terminate()`.
    public static func start(_ arguments: [String], environment: [String: String] = [:], binary: URL = executable) throws -> RunningProcess {
        let (process, stdout, stderr) = makeProcess(arguments, environment: environment, binary: binary)
        let running = RunningProcess(process: process, stdout: stdout, stderr: stderr)
        try process.run()
        return running
    }
}

public final class RunningProcess: @unchecked Sendable {
    public let process: Process
    public let stdout: OutputCollector
    public let stderr: OutputCollector

    init(process: Process, stdout: OutputCollector, stderr: OutputCollector) {
        self.process = process
        self.stdout = stdout
        self.stderr = stderr
    }

    /// A test that throws before `terminate()` must not leave its server running: it would keep its
    /// database connections and its port for the rest of the suite.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits until `pattern` (a regular expression) appears in stderr or stdout, returning its first
    /// capture group (or the whole match). Fails when the process exits or `timeout` passes first.
    public func waitFor(_ pattern: String, timeout: Duration = .seconds(60)) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for text in [await stderr.text(), await stdout.text()] {
                let range = NSRange(text.startIndex..., in: text)
                if let match = regex.firstMatch(in: text, range: range) {
                    let group = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                    return String(text[Range(group, in: text)!])
                }
            }
            if !process.isRunning {
                throw ProcessFailure(description: "process exited (\(process.terminationStatus)) before printing /\(pattern)/: \(await stderr.text())")
            }
            await stderr.waitForMore(timeout: .milliseconds(200))
        }
        throw ProcessFailure(description: "timed out waiting for /\(pattern)/: \(await stderr.text())")
    }

    /// Sends SIGTERM and waits for the exit status.
    @discardableResult
    public func terminate(signal: Int32 = SIGTERM) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        await stdout.waitUntilClosed()
        await stderr.waitUntilClosed()
        return process.terminationStatus
    }
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Collects a pipe's output as it arrives, so long-running processes never block on a full pipe.
public final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var closed = false

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.lock.withLock {
                if chunk.isEmpty {
                    self.closed = true
                    handle.readabilityHandler = nil
                } else {
                    self.data.append(chunk)
                }
            }
        }
    }

    public func text() async -> String { lock.withLock { String(decoding: data, as: UTF8.self) } }

    var isClosed: Bool { lock.withLock { closed } }

    /// Polls until the writer closed the pipe (the process exited) or `timeout` passed.
    public func waitUntilClosed(timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while !isClosed, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    public func waitForMore(timeout: Duration) async {
        try? await Task.sleep(for: min(timeout, .milliseconds(50)))
    }
}
