/// A signed entry whose signature the front has already checked, on its way to the applier.
public enum Submission: Sendable, Hashable {
    case transfer(Transfer, signature: [UInt8])
    /// The post or void of a pending transfer; its transaction id shares the transfers' namespace.
    case resolution(PendingResolution, signature: [UInt8])
    /// `attachment` travels with the action but is not signed by it: the text of a `set_rules`
    /// (whose SHA3-256 the action signs) or the encrypted personal data of an `open_account`.
    case operatorAction(OperatorAction, signature: [UInt8], attachment: [UInt8] = [])
    /// A payment between regions: no client signs it; a region's quorum vouches for it by signing the
    /// block that holds it (`InterRegionEntry`).
    case interRegion(InterRegionEntry)

    public var kind: EntryKind {
        switch self {
        case .transfer, .resolution: .transfer
        case .operatorAction: .operatorAction
        case .interRegion: .interRegion
        }
    }

    /// The transaction id of a transfer, the request id of an operator action.
    public var entryID: String {
        switch self {
        case .transfer(let transfer, _): transfer.transactionID
        case .resolution(let resolution, _): resolution.transactionID
        case .operatorAction(let action, _, _): action.requestID
        case .interRegion(let entry): entry.entryID
        }
    }

    public var signingBytes: [UInt8] {
        switch self {
        case .transfer(let transfer, _): transfer.signingBytes
        case .resolution(let resolution, _): resolution.signingBytes
        case .operatorAction(let action, _, _): action.signingBytes
        case .interRegion(let entry): entry.signingBytes
        }
    }

    public var signature: [UInt8] {
        switch self {
        case .transfer(_, let signature), .resolution(_, let signature), .operatorAction(_, let signature, _): signature
        case .interRegion: []
        }
    }

    public var publicKeyHex: String {
        switch self {
        case .transfer(let transfer, _): transfer.publicKeyHex
        case .resolution(let resolution, _): resolution.publicKeyHex
        case .operatorAction(let action, _, _): action.operatorKeyHex
        case .interRegion: ""
        }
    }

    public var region: String {
        switch self {
        case .transfer(let transfer, _): transfer.region
        case .resolution(let resolution, _): resolution.region
        case .operatorAction(let action, _, _): action.region
        case .interRegion(let entry): entry.region
        }
    }
}

public enum EntryKind: String, Sendable, Codable {
    case transfer
    case operatorAction = "operator"
    case interRegion = "inter_region"

    /// The byte that names the kind on the wire (the queue's outcomes, custodians' signing requests).
    public var wireCode: UInt8 {
        switch self {
        case .transfer: 1
        case .operatorAction: 2
        case .interRegion: 3
        }
    }

    /// The kind a wire byte names; nil for a byte that names none.
    public init?(wireCode: UInt8) {
        switch wireCode {
        case 1: self = .transfer
        case 2: self = .operatorAction
        case 3: self = .interRegion
        default: return nil
        }
    }
}

/// The applier's answer for one submission.
public struct Outcome: Sendable, Hashable {
    public let kind: EntryKind
    public let entryID: String
    public let code: OutcomeCode
    /// The ledger sequence of an accepted entry.
    public let sequence: Int64?
    /// The rule that rejected or held a transfer, and the version of its rule set.
    public let ruleID: String?
    public let ruleSetVersion: Int64?
    /// For a leg of a linked group that was not applied: the transaction id of the leg that failed.
    public let failedLeg: String?
    /// SHA3-256 of the signed record this outcome answers, so that an answer reaches the submitter of
    /// that record and no other (two different records may carry one id); nil until the applier sets it.
    public var recordSHA3: [UInt8]?

    public init(
        kind: EntryKind, entryID: String, code: OutcomeCode, sequence: Int64?, ruleID: String? = nil, ruleSetVersion: Int64? = nil,
        failedLeg: String? = nil
    ) {
        self.kind = kind
        self.entryID = entryID
        self.code = code
        self.sequence = sequence
        self.ruleID = ruleID
        self.ruleSetVersion = ruleSetVersion
        self.failedLeg = failedLeg
    }
}

extension Submission {
    /// The account a transaction id was issued for: the signer of a transfer, post or void.
    public var idAccount: String? {
        switch self {
        case .transfer(let transfer, _): transfer.from
        case .resolution(let resolution, _): resolution.account
        case .operatorAction, .interRegion: nil
        }
    }

    /// The linked group a transfer is a leg of.
    public var link: Transfer.Link? {
        guard case .transfer(let transfer, _) = self else { return nil }
        return transfer.link
    }
}
