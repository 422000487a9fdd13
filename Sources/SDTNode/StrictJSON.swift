/// The JSON a body may be, beyond what the generated decoder checks: UTF-8 without a byte-order mark,
/// one value, and no object with a repeated key (parsers disagree on which of two values wins, so a
/// proxy and the node could read different amounts from one body). The scanner follows RFC 8259's
/// grammar and keeps no values, only each open object's keys.
enum StrictJSON {
    /// Nesting deeper than this is refused: no body of the contract nests beyond a few levels.
    static let depthMax = 32

    /// Why `bytes` is not acceptable JSON, or nil when it is.
    static func problem(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return "the body starts with a byte-order mark; send UTF-8 without one" }
        guard String(validating: bytes, as: UTF8.self) != nil else { return "the body is not UTF-8" }
        var scanner = Scanner(bytes: bytes)
        do throws(Failure) {
            scanner.skipSpace()
            try scanner.value(depth: 0)
            scanner.skipSpace()
            guard scanner.index == bytes.count else { throw Failure("text after the JSON value at byte \(scanner.index)") }
            return nil
        } catch {
            return error.reason
        }
    }

    struct Failure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            guard current == byte else { throw Failure("expected '\(Character(UnicodeScalar(byte)))' at byte \(index)") }
            index += 1
        }

        mutating func value(depth: Int) throws(Failure) {
            guard depth < StrictJSON.depthMax else { throw Failure("the body nests deeper than \(StrictJSON.depthMax) levels") }
            switch current {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): try number()
            default: throw Failure("expected a JSON value at byte \(index)")
            }
        }

        mutating func object(depth: Int) throws(Failure) {
            let start = index
            try expect(UInt8(ascii: "{"))
            var keys: Set<ArraySlice<UInt8>> = []
            skipSpace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                let key = try string(asKey: true)
                guard keys.insert(key).inserted else {
                    let name = String(decoding: key.prefix(40), as: UTF8.self)
                    throw Failure("the object at byte \(start) has the key \"\(name)\" twice; send each field once")
                }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        mutating func array(depth: Int) throws(Failure) {
            try expect(UInt8(ascii: "["))
            skipSpace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        /// A string. For a key, its bytes with escapes decoded, so that `"a"` and `"\u0061"` are the same
        /// key; a value is only checked, without copying (bodies carry hundreds of hex strings).
        mutating func string(asKey: Bool = false) throws(Failure) -> ArraySlice<UInt8> {
            try expect(UInt8(ascii: "\""))
            let start = index
            // The decoded key, from its first escape on; until then the key is its raw bytes.
            var decoded: [UInt8]?
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard asKey else { return [] }
                    return decoded.map { $0[...] } ?? bytes[start..<(index - 1)]
                case UInt8(ascii: "\\"):
                    let before = index - 1
                    let scalar = try escape()
                    if asKey {
                        if decoded == nil { decoded = Array(bytes[start..<before]) }
                        UTF8.encode(scalar) { decoded?.append($0) }
                    }
                case 0x00..<0x20:
                    throw Failure("a control character (0x\(String(byte, radix: 16))) inside a string at byte \(index - 1)")
                default:
                    decoded?.append(byte)
                }
            }
            throw Failure("a string is not closed")
        }

        mutating func escape() throws(Failure) -> Unicode.Scalar {
            guard let byte = current else { throw Failure("an escape is not finished") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let high = try hex4()
                guard (0xD800..<0xDC00).contains(high) else {
                    guard let scalar = Unicode.Scalar(high) else { throw Failure("a lone surrogate escape at byte \(index - 6)") }
                    return scalar
                }
                guard current == UInt8(ascii: "\\") else { throw Failure("a lone surrogate escape at byte \(index - 6)") }
                index += 1
                try expect(UInt8(ascii: "u"))
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low),
                      let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else { throw Failure("a lone surrogate escape at byte \(index - 12)") }
                return scalar
            default:
                throw Failure("an unknown escape \\\(Character(UnicodeScalar(byte))) at byte \(index - 2)")
            }
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current else { throw Failure("a \\u escape is not finished") }
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw Failure("a \\u escape needs four hex digits at byte \(index)")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func literal(_ word: String) throws(Failure) {
            for byte in word.utf8 {
                guard current == byte else { throw Failure("expected \(word) at byte \(index)") }
                index += 1
            }
        }

        mutating func number() throws(Failure) {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, first >= 0x30, first <= 0x39 else { throw Failure("a number without digits at byte \(start)") }
            if first == 0x30 {
                index += 1
            } else {
                digits()
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw Failure("a number without digits after its point at byte \(start)") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw Failure("a number without digits in its exponent at byte \(start)") }
            }
        }

        @discardableResult
        mutating func digits() -> Int {
            let start = index
            while let byte = current, byte >= 0x30, byte <= 0x39 { index += 1 }
            return index - start
        }
    }
}
