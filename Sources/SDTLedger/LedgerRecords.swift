import SDTCore

/// Where one entry stands.
public struct EntryStatusRecord: Sendable, Hashable {
    public let kind: EntryKind
    public let entryID: String
    public let state: EntryState
    public let code: OutcomeCode
    public let sequence: Int64?
    public let blockHeight: Int64?
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
    public let deviceKeys: [DeviceKeyRecord]
    public let balances: [Token: Int64]
}

public struct PostingRecord: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case transferIn = "transfer_in"
        case transferOut = "transfer_out"
        case mint
        case redeem
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
