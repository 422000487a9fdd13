/// Rules for the identifiers that appear in signed records. Restricting their alphabet keeps the
/// canonical signing format unambiguous: no value can contain the line or field separators.
public enum Identifier {
    /// Account ids: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    public static func isValidAccountID(_ text: Substring) -> Bool {
        guard let first = text.first, text.count <= 64, first.isASCII, first.isLetter || first.isNumber else {
            return false
        }
        return text.allSatisfy { character in
            character.isASCII && (character.isLowercase || character.isNumber || "._-".contains(character))
        }
    }

    /// Region codes: `us-tx` style, 2–16 of `a-z 0-9 -`.
    public static func isValidRegionCode(_ text: Substring) -> Bool {
        (2...16).contains(text.count)
            && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }

    /// Jurisdictions: ISO 3166-1 alpha-2 country (`MX`) or ISO 3166-2 subdivision (`US-TX`).
    public static func isValidJurisdiction(_ text: Substring) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return false }
        guard parts[0].count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isUppercase }) else { return false }
        if parts.count == 2 {
            return (1...3).contains(parts[1].count)
                && parts[1].allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
        }
        return true
    }

    /// Request ids, transaction ids and reserve references: 1–128 printable ASCII characters
    /// without spaces (`!`…`~`).
    public static func isValidToken(_ text: Substring, lengthMax: Int = 128) -> Bool {
        (1...lengthMax).contains(text.count) && text.allSatisfy { $0.isASCII && $0 > " " && $0 <= "~" }
    }

    /// Lowercase hex of exactly `byteCount` bytes.
    public static func isValidHex(_ text: Substring, byteCount: Int) -> Bool {
        text.count == byteCount * 2 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

/// Know-your-customer verification tier of an account holder: 0 (none) to 3 (enhanced due diligence).
public enum KYCTier {
    public static let range: ClosedRange<Int> = 0...3
}
