import SDTCore
import SDTRules

/// The reads the ledger engine needs to decide on an entry. Stores implement it (in memory, SQLite,
/// PostgreSQL); `Staging` layers a batch's changes over a store so each entry sees the ones before it.
/// Reads may throw only for a failure of the store itself, never for a business rejection.
public protocol LedgerState {
    /// The sequence the next applied entry takes.
    func nextSequence() throws(LedgerError) -> Int64
    /// The rule set in force; nil when the region runs without transfer rules.
    func ruleSet() throws(LedgerError) -> RuleSet?
    func account(_ id: String) throws(LedgerError) -> AccountState?
    func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> DeviceKeyState?
    /// Balance of a holder; the issuer account has none (its postings move the supply).
    func balance(_ key: BalanceKey) throws(LedgerError) -> Int64
    /// What open pending transfers of the account reserve of the token.
    func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64
    func supply(_ token: Token) throws(LedgerError) -> Int64
    /// Attested reserves: USD deposits minus withdrawals, GOLD fine weight of the bars held.
    func reserves(_ token: Token) throws(LedgerError) -> Int64
    /// The amount of the reserve record in force under `key`, or nil when none is.
    func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64?
    func pendingTransfer(_ transactionID: String) throws(LedgerError) -> PendingState?
    /// Open pending transfers whose timeout has come at `milliseconds`.
    func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState]
    /// A transfer a rule holds for review, until a review decides it.
    func openHold(_ transactionID: String) throws(LedgerError) -> HoldState?
    /// What was decided before on this id, and whether it was this very record (`signingBytes`).
    func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision?
    /// How a link id was decided, and whether it was this very group of legs.
    func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState?
    /// Outgoing transfers of `key` applied at or after `since` (ms), for velocity rules. A store that
    /// keeps a window in memory may forget what is older than `retainingSince`.
    func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals
    /// Claims on a counterpart region and obligations to it, in one token, until settlement clears them.
    func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition
    /// The last message numbers of the links with a counterpart, outbound and inbound.
    func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink
    /// An outbound message of this region, and whether the counterpart's decision on it was recorded.
    func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState?
}

/// A counterpart region and a token: the key of a position.
public struct PositionKey: Hashable, Sendable, Comparable {
    public let counterpart: String
    public let token: Token

    public init(counterpart: String, token: Token) {
        self.counterpart = counterpart
        self.token = token
    }

    public static func < (lhs: PositionKey, rhs: PositionKey) -> Bool {
        (lhs.counterpart, lhs.token.rawValue) < (rhs.counterpart, rhs.token.rawValue)
    }
}

/// What a counterpart region owes this one (claims: payments this region credited for it) and what
/// this one owes it (obligations: payments it credited for this region), in minor units.
public struct RegionPosition: Sendable, Hashable {
    public var claims: Int64
    public var obligations: Int64

    public init(claims: Int64, obligations: Int64) {
        self.claims = claims
        self.obligations = obligations
    }

    public static let zero = RegionPosition(claims: 0, obligations: 0)
}

/// The numbering of the two links with a counterpart: the last outbound message this region recorded,
/// and the last inbound message it decided (0 for none). Each link numbers from 1 without gaps.
public struct InterRegionLink: Sendable, Hashable {
    public var lastOutbound: Int64
    public var lastInbound: Int64

    public init(lastOutbound: Int64, lastInbound: Int64) {
        self.lastOutbound = lastOutbound
        self.lastInbound = lastInbound
    }

    public static let zero = InterRegionLink(lastOutbound: 0, lastInbound: 0)
}

/// An outbound message and whether its acknowledgement is recorded.
public struct OutboundState: Sendable, Hashable {
    public let message: OutboundMessage
    /// The sequence of the message's own entry.
    public let sequence: Int64
    public var acknowledged: Bool

    public init(message: OutboundMessage, sequence: Int64, acknowledged: Bool) {
        self.message = message
        self.sequence = sequence
        self.acknowledged = acknowledged
    }
}

/// An account and token: the key of balances, reservations and velocity windows.
public struct BalanceKey: Hashable, Sendable {
    public let account: String
    public let token: Token

    public init(account: String, token: Token) {
        self.account = account
        self.token = token
    }
}

/// What the checks read of an account.
public struct AccountState: Sendable, Hashable {
    public var jurisdiction: String
    public var kycTier: Int
    public var frozen: Bool

    public init(jurisdiction: String, kycTier: Int, frozen: Bool) {
        self.jurisdiction = jurisdiction
        self.kycTier = kycTier
        self.frozen = frozen
    }
}

public struct DeviceKeyState: Sendable, Hashable {
    public let account: String
    public var revoked: Bool

    public init(account: String, revoked: Bool) {
        self.account = account
        self.revoked = revoked
    }
}

/// A reserve record's identity: USD references are unique per bank and direction, a bar by its serial.
public struct ReserveKey: Hashable, Sendable, Comparable {
    public enum Kind: String, Sendable, CaseIterable {
        case deposit
        case withdrawal
        case bar
    }

    public let token: Token
    public let kind: Kind
    public let reference: String

    public init(token: Token, kind: Kind, reference: String) {
        self.token = token
        self.kind = kind
        self.reference = reference
    }

    public static func < (lhs: ReserveKey, rhs: ReserveKey) -> Bool {
        (lhs.token.rawValue, lhs.kind.rawValue, lhs.reference) < (rhs.token.rawValue, rhs.kind.rawValue, rhs.reference)
    }
}

/// A pending transfer's reservation and where it stands.
public struct PendingState: Sendable, Hashable {
    public enum Phase: String, Sendable {
        case pending
        case posted
        case voided
        case expired
    }

    public let transactionID: String
    /// The sequence of the pending transfer's own entry.
    public let sequence: Int64
    public let from: String
    public let to: String
    public let token: Token
    public let amount: Int64
    public let createdAtMilliseconds: Int64
    public let expiresAtMilliseconds: Int64
    public var phase: Phase

    public init(
        transactionID: String, sequence: Int64, from: String, to: String, token: Token, amount: Int64,
        createdAtMilliseconds: Int64, expiresAtMilliseconds: Int64, phase: Phase
    ) {
        self.transactionID = transactionID
        self.sequence = sequence
        self.from = from
        self.to = to
        self.token = token
        self.amount = amount
        self.createdAtMilliseconds = createdAtMilliseconds
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.phase = phase
    }
}

/// A transfer held for review: the signed transfer, and the rule that held it.
public struct HoldState: Sendable, Hashable {
    public let transfer: Transfer
    public let signature: [UInt8]
    public let ruleID: String
    public let ruleSetVersion: Int64

    public init(transfer: Transfer, signature: [UInt8], ruleID: String, ruleSetVersion: Int64) {
        self.transfer = transfer
        self.signature = signature
        self.ruleID = ruleID
        self.ruleSetVersion = ruleSetVersion
    }
}

/// The key under which an entry's id is unique: transfers (with posts and voids) and operator actions
/// have separate namespaces.
public struct EntryKey: Hashable, Sendable {
    public let kind: EntryKind
    public let entryID: String

    public init(kind: EntryKind, entryID: String) {
        self.kind = kind
        self.entryID = entryID
    }
}

/// An earlier decision on an id. `sameRecord` tells whether it was the record now submitted: the same
/// record gets the same answer again; a different one finds the id used.
public struct PriorDecision: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case applied(sequence: Int64)
        case rejected(code: OutcomeCode, ruleID: String?, ruleSetVersion: Int64?, failedLeg: String?)
        case held(ruleID: String, ruleSetVersion: Int64)
    }

    public let kind: Kind
    public let sameRecord: Bool

    public init(_ kind: Kind, sameRecord: Bool) {
        self.kind = kind
        self.sameRecord = sameRecord
    }
}

/// How a linked group was decided: the leg that failed, or nil when all were applied.
public struct LinkGroupState: Sendable, Hashable {
    public let sameGroup: Bool
    public let failedLeg: String?

    public init(sameGroup: Bool, failedLeg: String?) {
        self.sameGroup = sameGroup
        self.failedLeg = failedLeg
    }
}

/// How much and how many an account sent of a token within a window.
public struct VelocityTotals: Sendable, Hashable {
    public let amount: Int64
    public let count: Int64

    public init(amount: Int64, count: Int64) {
        self.amount = amount
        self.count = count
    }

    public static let zero = VelocityTotals(amount: 0, count: 0)
}

/// A store the engine's decisions go into: its reads, and an atomic commit of a decided batch (all of
/// it, or on an error nothing). In memory, SQLite, and PostgreSQL behind the same two doors.
public protocol LedgerStore: LedgerState {
    mutating func commit(_ result: BatchResult) throws(LedgerError)
}
