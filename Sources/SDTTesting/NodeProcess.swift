import Foundation

/// A real `sdt node` process: started with its arguments, ready once it prints its listening line,
/// stopped with SIGTERM (or killed with SIGKILL to test recovery). Its log goes to `logPath`.
public final class NodeProcess: @unchecked Sendable {
    // @unchecked: used from one task at a time by the demo, the benchmark and the tests.
    public let process = Process()
    private let output = Pipe()
    public private(set) var baseURL = ""

    /// The `sdt` executable of this build: the running binary itself, or the `sdt` beside it.
    public static func sdtExecutable() -> String {
        if let override = ProcessInfo.processInfo.environment["SDT_BINARY"] { return override }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if me.lastPathComponent == "sdt" { return me.path }
        return me.deletingLastPathComponent().appendingPathComponent("sdt").path
    }

    public init(arguments: [String], logPath: String, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: Self.sdtExecutable())
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = output
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    }

    /// Starts the process and waits for `marker` on its output (a front's "listening on", an
    /// applier's "applier ready"); returns the line.
    @discardableResult
    public func start(marker: String = "listening on", timeout: Duration = .seconds(30)) async throws -> String {
        try process.run()
        let handle = output.fileHandleForReading
        let line = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                var buffer = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { return nil }
                    buffer.append(chunk)
                    for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.contains(marker) {
                        return String(line)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            // The reader blocks on the pipe until the process writes or exits: end the process so it returns.
            if first == nil, process.isRunning { kill(process.processIdentifier, SIGKILL) }
            return first
        }
        guard let line else {
            stop()
            throw ProcessStartError("sdt \(process.arguments?.joined(separator: " ") ?? "") did not start (no '\(marker)')")
        }
        if let range = line.range(of: "https://") ?? line.range(of: "http://") { baseURL = String(line[range.lowerBound...]) }
        return line
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    public func stop(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill9() }
    }

    /// Sends `signal` and waits up to `within` for the process to exit; returns its exit status, or
    /// nil if it was still running (it is then killed, so a test never leaves it behind).
    public func terminate(_ signal: Int32 = SIGTERM, within: Duration) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + within
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill9()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// `kill -9`: no chance to flush or clean up.
    public func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop(grace: .seconds(2)) }
}

/// A process that did not print its ready line in time; the message names the command.
public struct ProcessStartError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `executable` with `arguments` to completion; returns its exit status and what it printed
/// on standard output and error together. For tests and the demo that drive real tools.
public func runToCompletion(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// Checks `document` with Debian's `xmllint` against the XML Schema at `schemaPath` (no network): an
/// independent check of the ISO 20022 messages the node reads and writes. Returns its exit status and output.
public func xmllint(_ document: [UInt8], schemaPath: String) throws -> (status: Int32, output: String) {
    let folder = TemporaryDirectory("xmllint")
    let path = folder.file("document.xml")
    try Data(document).write(to: URL(fileURLWithPath: path))
    return try runToCompletion("/usr/bin/xmllint", ["--noout", "--nonet", "--schema", schemaPath, path])
}
