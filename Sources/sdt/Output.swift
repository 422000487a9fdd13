import ArgumentParser
import Foundation

/// `--json` on the read commands: the same facts as the text, as one JSON document on standard output
/// (keys sorted, the API's own field names for what the API answered), for scripts.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document instead of text.") var json = false

    /// Prints `document` as indented JSON with sorted keys.
    func printJSON(_ document: [String: Any]) throws {
        let data = try JSONSerialization.data(
            withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    /// An API answer (or any encodable value) as a JSON value to put in a document.
    static func value(_ encodable: some Encodable) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(encodable), options: [.fragmentsAllowed])
    }
}

/// A progress line on standard error for long work: done of total, rate, and time left, redrawn at most
/// ten times a second. Nothing at all when standard error is not a terminal (a pipe, a CI log), so
/// scripts see only the results.
final class ProgressLine: @unchecked Sendable {
    // @unchecked: one task at a time draws it (the loop, or the benchmark's poller).
    private let label: String
    private let total: Int
    private let unit: String
    private let enabled: Bool
    private let start = ContinuousClock.now
    private var done = 0
    private var drawn = ContinuousClock.now - .seconds(1)
    static let width = 24

    init(_ label: String, total: Int, unit: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled
    }

    /// `count` more done.
    func advance(by count: Int = 1) { set(done: done + count) }

    /// `done` of the total done.
    func set(done: Int) {
        self.done = done
        guard enabled, ContinuousClock.now - drawn >= .milliseconds(100) || done >= total else { return }
        drawn = ContinuousClock.now
        FileHandle.standardError.write(Data(("\r" + line() + "\u{1B}[K").utf8))
    }

    /// Clears the line, so what is printed next starts clean.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// `label [######------] 41% 820/2000 seeds, 12.5/s, 1:34 left`.
    func line() -> String {
        let seconds = (ContinuousClock.now - start).seconds
        let shown = min(done, total)
        let filled = Self.width * shown / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.width - filled)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let left = rate > 0 ? Int((Double(total - shown) / rate).rounded(.up)) : nil
        let time = left.map { String(format: "%d:%02d left", $0 / 60, $0 % 60) } ?? "time left unknown"
        return "\(label) [\(bar)] \(100 * shown / total)% \(shown)/\(total) \(unit), "
            + String(format: "%.1f/s, ", rate) + time
    }
}
