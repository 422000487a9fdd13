/// A positive amount of a token in its minor unit (cents, milligrams). Never floating point.
public struct Amount: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The largest amount one entry may move: 10^15 minor units (ten trillion dollars in cents).
    /// Keeping single amounts this far below `Int64.max` leaves room for sums of many of them.
    public static let minorUnitsMax: Int64 = 1_000_000_000_000_000

    public let minorUnits: Int64

    /// Returns nil unless `1 <= minorUnits <= minorUnitsMax`.
    public init?(minorUnits: Int64) {
        guard minorUnits >= 1, minorUnits <= Amount.minorUnitsMax else { return nil }
        self.minorUnits = minorUnits
    }

    /// Parses the canonical decimal form: digits only, no sign, no leading zero.
    public init?(canonical text: Substring) {
        guard !text.isEmpty, text.utf8.count <= 16, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        guard text == "0" || text.first != "0", let value = Int64(text) else { return nil }
        self.init(minorUnits: value)
    }

    public var description: String { String(minorUnits) }

    public static func < (lhs: Amount, rhs: Amount) -> Bool { lhs.minorUnits < rhs.minorUnits }

    /// Formats minor units for people: "1234.56 USD", "12.345 g GOLD".
    public static func display(_ minorUnits: Int64, _ token: Token) -> String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        switch token {
        case .usd:
            let cents = magnitude % 100
            return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents) USD"
        case .gold:
            let milligrams = String(magnitude % 1000)
            let padded = String(repeating: "0", count: 3 - milligrams.count) + milligrams
            return "\(sign)\(magnitude / 1000).\(padded) g GOLD"
        }
    }
}

/// A balance that can grow and shrink with overflow checked on every step.
public struct Balance: Sendable, Hashable {
    public private(set) var minorUnits: Int64

    public init(minorUnits: Int64 = 0) { self.minorUnits = minorUnits }

    /// Adds `amount`; returns false (and changes nothing) on overflow.
    public mutating func credit(_ amount: Amount) -> Bool {
        let (sum, overflow) = minorUnits.addingReportingOverflow(amount.minorUnits)
        guard !overflow else { return false }
        minorUnits = sum
        return true
    }

    /// Subtracts `amount`; returns false (and changes nothing) when the balance is too small.
    public mutating func debit(_ amount: Amount) -> Bool {
        guard minorUnits >= amount.minorUnits else { return false }
        minorUnits -= amount.minorUnits
        return true
    }
}

extension Token {
    /// Digits after the decimal point of the token's display unit (dollars, grams).
    public var fractionDigits: Int {
        switch self {
        case .usd: 2
        case .gold: 3
        }
    }

    /// Parses a decimal amount in display units ("12.50" USD, "31.103" GOLD grams) into minor units,
    /// exactly, without floating point. Nil for more fraction digits than the token has, signs,
    /// exponents, or anything outside `Amount`'s range.
    public func minorUnits(decimal text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 13, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return nil
        }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= fractionDigits, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !fraction.isEmpty,
              let wholeValue = Int64(whole)
        else { return nil }
        let padded = fraction + String(repeating: "0", count: fractionDigits - fraction.count)
        var scale: Int64 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        let value = wholeValue * scale + (Int64(padded) ?? 0)
        return Amount(minorUnits: value)?.minorUnits
    }
}
