/// Rules for the identifiers that appear in signed records. Restricting their alphabet keeps the
/// canonical signing format unambiguous: no value can contain the line or field separators. The
/// checks work on UTF-8 bytes, since they run for every transfer on the hot path.
public enum Identifier {
    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Account ids: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    public static func isValidAccountID(_ text: Substring) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= 64, isLower(first) || isDigit(first) else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Region codes: `us-tx` style, 2–16 of `a-z 0-9 -`.
    public static func isValidRegionCode(_ text: Substring) -> Bool {
        let bytes = text.utf8
        return (2...16).contains(bytes.count) && bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// Jurisdictions: ISO 3166-1 alpha-2 country (`MX`) or ISO 3166-2 subdivision (`US-TX`).
    public static func isValidJurisdiction(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 2 || (4...6).contains(bytes.count), isUpper(bytes[0]), isUpper(bytes[1]) else { return false }
        guard bytes.count > 2 else { return true }
        return bytes[2] == UInt8(ascii: "-") && bytes[3...].allSatisfy { isUpper($0) || isDigit($0) }
    }

    /// Request ids, transaction ids and reserve references: 1–128 printable ASCII characters
    /// without spaces (`!`…`~`).
    public static func isValidToken(_ text: Substring, lengthMax: Int = 128) -> Bool {
        let bytes = text.utf8
        return (1...lengthMax).contains(bytes.count) && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    /// Free text in operator records (reasons, legal directives, bank and vault names): 1–`lengthMax`
    /// printable ASCII characters, spaces allowed inside but not at either end, no line breaks.
    public static func isValidText(_ text: Substring, lengthMax: Int = 200) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20 else { return false }
        return bytes.count <= lengthMax && bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
    }

    /// A calendar date `YYYY-MM-DD` (proleptic Gregorian, years 2000–2999).
    public static func isValidDate(_ text: Substring) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (2000...2999).contains(year), (1...12).contains(month), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// A canonical decimal integer (no sign, no leading zeros) within `range`.
    public static func canonicalInteger(_ text: Substring, in range: ClosedRange<Int64>) -> Int64? {
        guard let value = Int64(text), String(value) == text, range.contains(value) else { return nil }
        return value
    }

    /// Lowercase hex of exactly `byteCount` bytes.
    public static func isValidHex(_ text: Substring, byteCount: Int) -> Bool {
        let bytes = text.utf8
        return bytes.count == byteCount * 2 && bytes.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }
}

/// Know-your-customer verification tier of an account holder: 0 (none) to 3 (enhanced due diligence).
public enum KYCTier {
    public static let range: ClosedRange<Int> = 0...3
}

/// A client's value as an error message repeats it: in quotes, at most `Echo.lengthMax` characters
/// (then an ellipsis and the full length), control characters escaped. Problem details quote input
/// through this, so no detail grows with what was sent.
public enum Echo {
    public static let lengthMax = 64

    public static func quoted(_ value: some StringProtocol) -> String {
        var shown = ""
        for scalar in value.unicodeScalars.prefix(lengthMax) {
            shown += scalar.value < 0x20 || scalar.value == 0x7F ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }
        let count = value.unicodeScalars.count
        return count > lengthMax ? "'\(shown)…' (\(count) characters)" : "'\(shown)'"
    }
}
