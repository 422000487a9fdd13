import SDTCore
import SDTRules

/// A ledger with nothing in it: the bottom of an in-memory store.
public struct EmptyLedgerState: LedgerState, Sendable {
    public init() {}
    public func nextSequence() -> Int64 { 1 }
    public func ruleSet() -> RuleSet? { nil }
    public func account(_ id: String) -> AccountState? { nil }
    public func deviceKey(_ publicKeyHex: String) -> DeviceKeyState? { nil }
    public func balance(_ key: BalanceKey) -> Int64 { 0 }
    public func reserved(_ key: BalanceKey) -> Int64 { 0 }
    public func supply(_ token: Token) -> Int64 { 0 }
    public func reserves(_ token: Token) -> Int64 { 0 }
    public func reserveRecord(_ key: ReserveKey) -> Int64? { nil }
    public func pendingTransfer(_ transactionID: String) -> PendingState? { nil }
    public func pendingTransfersDue(at milliseconds: Int64) -> [PendingState] { [] }
    public func openHold(_ transactionID: String) -> HoldState? { nil }
    public func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) -> PriorDecision? { nil }
    public func linkGroup(_ id: String, legs: [[UInt8]]) -> LinkGroupState? { nil }
    public func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) -> VelocityTotals { .zero }
    public func position(_ key: PositionKey) -> RegionPosition { .zero }
    public func interRegionLink(_ counterpart: String) -> InterRegionLink { .zero }
    public func outboundMessage(counterpart: String, number: Int64) -> OutboundState? { nil }
}

/// The in-memory store: every change the engine decided, applied to a staging over an empty ledger,
/// so that applying a change means exactly what it means in a batch. It keeps the applied entries in
/// order. The audit replays a ledger into one, and the simulator runs nodes on them.
public struct MemoryLedgerStore: LedgerStore, Sendable {
    public private(set) var state = Staging(base: EmptyLedgerState())
    public private(set) var entries: [AppliedEntry] = []
    public private(set) var rejections: [Rejection] = []

    public init() {}

    /// Takes in a decided batch, all of it.
    public mutating func commit(_ result: BatchResult) throws(LedgerError) {
        for change in result.changes { try commit(change) }
    }

    /// Takes in one decided change (the audit also uses this to put a held transfer back in place).
    public mutating func commit(_ change: LedgerChange) throws(LedgerError) {
        try state.apply(change)
        switch change {
        case .applied(let entry): entries.append(entry)
        case .rejected(let rejection): rejections.append(rejection)
        default: break
        }
    }

    /// Puts a rule set in force without an entry (see `Staging.putInForce`).
    public mutating func putInForce(_ rules: RuleSet) { state.putInForce(rules) }

    /// The committed values, for comparisons with another store's tables.
    public var overlay: StagingOverlay { state.overlay }

    public func nextSequence() throws(LedgerError) -> Int64 { try state.nextSequence() }
    public func ruleSet() throws(LedgerError) -> RuleSet? { try state.ruleSet() }
    public func account(_ id: String) throws(LedgerError) -> AccountState? { try state.account(id) }
    public func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> DeviceKeyState? { try state.deviceKey(publicKeyHex) }
    public func balance(_ key: BalanceKey) throws(LedgerError) -> Int64 { try state.balance(key) }
    public func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64 { try state.reserved(key) }
    public func supply(_ token: Token) throws(LedgerError) -> Int64 { try state.supply(token) }
    public func reserves(_ token: Token) throws(LedgerError) -> Int64 { try state.reserves(token) }
    public func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64? { try state.reserveRecord(key) }
    public func pendingTransfer(_ id: String) throws(LedgerError) -> PendingState? { try state.pendingTransfer(id) }
    public func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState] {
        try state.pendingTransfersDue(at: milliseconds)
    }
    public func openHold(_ transactionID: String) throws(LedgerError) -> HoldState? { try state.openHold(transactionID) }
    public func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision? {
        try state.priorDecision(key, signingBytes: signingBytes)
    }
    public func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState? {
        try state.linkGroup(id, legs: legs)
    }
    public func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals {
        try state.outgoing(key, since: since, retainingSince: retainingSince)
    }
    public func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition { try state.position(key) }
    public func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
        try state.interRegionLink(counterpart)
    }
    public func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState? {
        try state.outboundMessage(counterpart: counterpart, number: number)
    }
}
