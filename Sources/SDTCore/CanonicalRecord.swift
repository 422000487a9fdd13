/// The byte format of everything that is signed: a header line, then `name:value` lines, each ending
/// in a single line feed (0x0A), in a fixed order, UTF-8 (in practice ASCII, because every value's
/// alphabet is restricted). There is no whitespace, no escaping and no optional field, so a record has
/// exactly one encoding and any language can produce it with string concatenation.
public struct CanonicalRecord: Sendable, Equatable {
    public let header: String
    public let fields: [(name: String, value: String)]

    public init(header: String, fields: [(name: String, value: String)]) {
        self.header = header
        self.fields = fields
    }

    public var bytes: [UInt8] {
        var text = header + "\n"
        for field in fields {
            text += field.name + ":" + field.value + "\n"
        }
        return Array(text.utf8)
    }

    /// Parses `bytes` that must start with `header` and carry exactly the fields `names`, in order.
    public static func parse(_ bytes: [UInt8], header: String, names: [String]) throws(RecordError) -> [String] {
        guard let text = String(validating: bytes, as: UTF8.self), text.last == "\n" else {
            throw RecordError("record is not UTF-8 text ending in a line feed")
        }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(header) else {
            throw RecordError("record does not start with \(header)")
        }
        guard lines.count == names.count + 1 else {
            throw RecordError("record has \(lines.count - 1) fields, expected \(names.count)")
        }
        var values: [String] = []
        for (line, name) in zip(lines.dropFirst(), names) {
            guard line.hasPrefix(name + ":") else { throw RecordError("expected field \(name), found \(line)") }
            values.append(String(line.dropFirst(name.count + 1)))
        }
        return values
    }

    public static func == (lhs: CanonicalRecord, rhs: CanonicalRecord) -> Bool { lhs.bytes == rhs.bytes }
}

/// A signed record that does not parse or whose values are out of their allowed range.
public struct RecordError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
