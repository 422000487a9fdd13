/// A token the platform issues. The two domains never mix in one transfer.
public enum Token: String, Sendable, CaseIterable, Codable, Comparable {
    /// Backed 1:1 by dollars on deposit. Minor unit: one cent.
    case usd = "USD"
    /// Backed by allocated fine gold in a vault. Minor unit: one milligram of fine gold.
    case gold = "GOLD"

    /// What one minor unit of the token is, for people reading amounts.
    public var minorUnitName: String {
        switch self {
        case .usd: "cent"
        case .gold: "milligram of fine gold"
        }
    }

    /// The kind of reserve record that backs a mint of this token.
    public var reserveRecordName: String {
        switch self {
        case .usd: "deposit reference"
        case .gold: "vault receipt"
        }
    }

    public static func < (lhs: Token, rhs: Token) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The account that mints debit and redemptions credit; its balance is minus the supply. Its id cannot
/// collide with a holder's, whose alphabet has no `$`.
public let issuerAccountID = "$issuer"
