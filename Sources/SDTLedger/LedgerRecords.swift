import SDTCore

/// Where one entry stands.
public struct EntryStatusRecord: Sendable, Hashable {
    public let kind: EntryKind
    public let entryID: String
    public let state: EntryState
    public let code: OutcomeCode
    public let sequence: Int64?
    public let blockHeight: Int64?
    /// The rule that rejected or holds a transfer, and its rule set's version.
    public var ruleID: String?
    public var ruleSetVersion: Int64?
    /// Flags rules raised on an accepted transfer (for example `currency_transaction_report`).
    public var flags: [String] = []
    /// For a leg of a linked group that was not applied: the leg that failed.
    public var failedLeg: String?
    /// For a pending transfer: where its reservation stands.
    public var pending: PendingRecord?
    /// SHA3-256 of the signing bytes of the record this status is about: several signed bodies can carry
    /// one id, and a client compares this with its own to know whether the status is about its body.
    public var recordSHA3: [UInt8]?
}

/// A pending transfer's reservation: `state` is `pending`, `posted`, `voided` or `expired`.
public struct PendingRecord: Sendable, Hashable {
    public let state: String
    public let token: Token
    public let amount: Int64
    public let postedAmount: Int64?
    public let expiresAtMilliseconds: Int64
    public let resolvedSequence: Int64?
}

/// Everything needed to check offline that a transfer is in a signed block.
public struct ReceiptRecord: Sendable, Hashable {
    public let entryID: String
    public let kind: EntryKind
    public let signingBytes: [UInt8]
    public let publicKeyHex: String
    public let signature: [UInt8]
    public let leafIndex: Int
    public let entryCount: Int
    public let path: [[UInt8]]
    public let block: SealedBlock
}

public enum ReceiptLookup: Sendable {
    case notFound
    case notFinal(EntryStatusRecord)
    case found(ReceiptRecord)
}

public struct DeviceKeyRecord: Sendable, Hashable {
    public let publicKeyHex: String
    public let revoked: Bool
}

public struct AccountRecord: Sendable, Hashable {
    public let id: String
    public let jurisdiction: String
    public let kycTier: Int
    public let frozen: Bool
    public let deviceKeys: [DeviceKeyRecord]
    public let balances: [Token: Int64]
    /// What open pending transfers reserve of each balance.
    public var reserved: [Token: Int64] = [:]
}

public struct PostingRecord: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case transferIn = "transfer_in"
        case transferOut = "transfer_out"
        case mint
        case redeem
        case clawbackOut = "clawback_out"
        case clawbackIn = "clawback_in"
    }

    public let sequence: Int64
    public let entryID: String
    public let kind: Kind
    public let token: Token
    public let amount: Int64
    public let counterparty: String?
    public let blockHeight: Int64?
}

public struct LedgerHead: Sendable, Hashable {
    public let appliedSequence: Int64
    public let sealedHeight: Int64
    public let sealedSequence: Int64
    public let finalHeight: Int64
    public let finalSequence: Int64
    public let supply: [Token: Int64]
}

/// An operator action on an account (freeze, clawback, key and tier changes), for its history.
public struct AccountEventRecord: Sendable, Hashable {
    public let sequence: Int64
    public let requestID: String
    public let action: String
    public let legalDirective: String?
    public let reason: String?
    public let blockHeight: Int64?
}

public struct ReservesRecord: Sendable, Hashable {
    public let supply: [Token: Int64]
    public let reserves: [Token: Int64]
    public let usdDeposits: Int64
    public let usdWithdrawals: Int64
    public let barsHeld: Int64
    /// The newest block's signed statement of reserves, when a block exists.
    public let block: SealedBlock?
}

public struct BarRecord: Sendable, Hashable {
    public let serial: String
    public let vault: String
    public let refiner: String
    public let grossWeightMilligrams: Int64
    public let fineness: Int64
    public let fineWeightMilligrams: Int64
    public let mintedSequence: Int64
    public let releasedSequence: Int64?
}

public struct RuleSetRecord: Sendable, Hashable {
    public let version: Int64
    public let sha3Hex: String
    public let text: String
    /// The `set_rules` entry that put it in force; nil for the set taken from the rules file at first start.
    public let sequence: Int64?
    public let installedAtMilliseconds: Int64
}

public struct TransferStatistics: Sendable, Hashable {
    public let transfers: Int64
    public let volume: Int64
    public let accounts: Int64
}
