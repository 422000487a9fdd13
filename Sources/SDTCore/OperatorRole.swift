/// What an operator key is for, named in the region config beside the key. Reads follow seed 002's
/// "no read up": each datum has a level, and a reader sees what is at or below its own.
public enum OperatorRole: String, Sendable, CaseIterable, Comparable {
    /// Opens accounts, adds and revokes device keys, sets KYC tiers.
    case onboarding
    /// Mints and redeems against reserves.
    case minting
    /// Freezes, unfreezes, claws back, reviews held transfers; reads compliance data.
    case compliance
    /// Puts new rule sets in force.
    case rules
    /// Reads everything, changes nothing.
    case auditor
    /// Reads accounts and their history to help holders, but not holders' compliance data.
    case support

    public static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How much of the ledger's data a reader may see; a datum at a level is shown to readers at that
/// level or above.
public enum ReadLevel: Int, Sendable, Comparable {
    /// Anyone: the region, rules, blocks, reserves, statistics of large cohorts, statuses by id.
    case `public` = 0
    /// The holder of an account: its balances, keys, postings and the events on it.
    case holder = 1
    /// An operator: any account's facts, balances, postings and events.
    case `operator` = 2
    /// Compliance: the legal directives and reasons behind actions on accounts.
    case compliance = 3

    public static func < (lhs: ReadLevel, rhs: ReadLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The level an operator with `roles` reads at.
    public init(roles: Set<OperatorRole>) {
        self = roles.contains(.auditor) || roles.contains(.compliance) ? .compliance : .operator
    }
}

extension OperatorCommand {
    /// The role an operator key needs to sign this command: separation of duties, so that the key that
    /// onboards holders cannot mint and the key that mints cannot freeze.
    public var requiredRole: OperatorRole {
        switch self {
        case .openAccount, .addKey, .revokeKey, .setKYCTier: .onboarding
        case .mintUSD, .redeemUSD, .mintGold, .redeemGold: .minting
        case .freeze, .unfreeze, .clawback, .review: .compliance
        case .setRules: .rules
        }
    }
}
