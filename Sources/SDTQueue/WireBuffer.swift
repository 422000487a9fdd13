/// Little-endian framing helpers for queue messages: fixed-width integers and length-prefixed bytes.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func write<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(bytes value: [UInt8]) {
        write(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func write(string value: String) { write(bytes: Array(value.utf8)) }
}

/// Reads what `WireWriter` wrote; every read checks bounds and fails with `WireError`, never traps.
public struct WireReader: Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    /// Longest length-prefixed field a reader accepts.
    public static let fieldByteCountMax = 1 << 20

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func read<Integer: FixedWidthInteger>(_: Integer.Type = Integer.self) throws(WireError) -> Integer {
        let size = MemoryLayout<Integer>.size
        guard bytes.count - offset >= size else { throw WireError("message ends inside an integer at \(offset)") }
        var value: Integer = 0
        for index in 0..<size { value |= Integer(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    public mutating func readBytes() throws(WireError) -> [UInt8] {
        let count = Int(try read(UInt32.self))
        guard count <= Self.fieldByteCountMax, bytes.count - offset >= count else {
            throw WireError("field of \(count) bytes at \(offset) is longer than the message")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readString() throws(WireError) -> String {
        guard let text = String(validating: try readBytes(), as: UTF8.self) else { throw WireError("field is not UTF-8") }
        return text
    }
}

public struct WireError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
