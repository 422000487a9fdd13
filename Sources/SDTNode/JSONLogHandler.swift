import Foundation
import Logging

/// Logs one JSON object a line (`sdt node --log-format json`), for log shippers: `time` (UTC, ISO 8601
/// with milliseconds), `level`, `label`, `message`, the metadata's keys (`request_id` among them; one
/// that would collide with those five is written as `metadata_<key>`) and `error` when the event
/// carries one. Each line is written with one call: lines from threads do not interleave in a file,
/// nor on a pipe up to its atomic size (PIPE_BUF, 4 KiB on Linux).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// Writes to standard error unless told otherwise (tests hand it a buffer).
    public init(
        label: String, metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable ([UInt8]) -> Void = { FileHandle.standardError.write(Data($0)) }
    ) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let metadata = event.metadata { merged.merge(metadata) { $1 } }
        var fields: [String: Any] = [:]
        for (key, value) in merged {
            fields[Self.reserved.contains(key) ? "metadata_" + key : key] = Self.json(value)
        }
        fields["time"] = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = event.message.description
        if let error = event.error { fields["error"] = String(describing: error) }
        guard
            let line = try? JSONSerialization.data(
                withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        write(Array(line) + [0x0A])
    }

    static let reserved: Set<String> = ["time", "level", "label", "message", "error"]

    static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }
}
