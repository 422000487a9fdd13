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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(header.utf8.count + fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 } + 1)
        bytes += header.utf8
        bytes.append(0x0A)
        for field in fields {
            bytes += field.name.utf8
            bytes.append(UInt8(ascii: ":"))
            bytes += field.value.utf8
            bytes.append(0x0A)
        }
        return bytes
    }

    /// Parses `bytes` that must start with `header` and carry exactly the fields `names`, in order.
    public static func parse(_ bytes: [UInt8], header: String, names: [String]) throws(RecordError) -> [String] {
        guard bytes.last == 0x0A else { throw RecordError("record does not end in a line feed") }
        let lines = bytes.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false)
        guard let first = lines.first, first.elementsEqual(header.utf8) else {
            throw RecordError("record does not start with \(header)")
        }
        guard lines.count == names.count + 1 else {
            throw RecordError("record has \(lines.count - 1) fields, expected \(names.count)")
        }
        var values: [String] = []
        values.reserveCapacity(names.count)
        for (line, name) in zip(lines.dropFirst(), names) {
            let prefix = name.utf8.count + 1
            guard line.count >= prefix, line.prefix(prefix - 1).elementsEqual(name.utf8),
                  line[line.startIndex + prefix - 1] == UInt8(ascii: ":")
            else { throw RecordError("expected field \(name)") }
            guard let value = String(validating: line.dropFirst(prefix), as: UTF8.self) else {
                throw RecordError("field \(name) is not UTF-8")
            }
            values.append(value)
        }
        return values
    }

    public static func == (lhs: CanonicalRecord, rhs: CanonicalRecord) -> Bool { lhs.bytes == rhs.bytes }
}

/// A signed record that does not parse or whose values are out of their allowed range.
public struct RecordError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The outcome code that names this refusal, when one does (`bar_weight_mismatch`, say); otherwise
    /// the field is just not acceptable (`invalid_field`).
    public let code: OutcomeCode?

    public init(_ description: String, code: OutcomeCode? = nil) {
        self.description = description
        self.code = code
    }
}
