import SDTCore
import SDTRules

/// The changes of a batch (or of a linked group inside it) as values: what differs from the state
/// below. A store merges it into its caches after it commits; the in-memory store merges it whole.
public struct StagingOverlay: Sendable {
    public internal(set) var nextSequence: Int64?
    /// `.some(rules)` once a rule set was put in force in the batch.
    public internal(set) var ruleSet: RuleSet??
    public internal(set) var accounts: [String: AccountState] = [:]
    public internal(set) var keys: [String: DeviceKeyState] = [:]
    public internal(set) var balances: [BalanceKey: Int64] = [:]
    public internal(set) var reserved: [BalanceKey: Int64] = [:]
    public internal(set) var supply: [Token: Int64] = [:]
    public internal(set) var reserves: [Token: Int64] = [:]
    /// `.some(nil)`: the record was released in the batch.
    public internal(set) var reserveRecords: [ReserveKey: Int64?] = [:]
    public internal(set) var pendings: [String: PendingState] = [:]
    /// `.some(nil)`: the hold was reviewed in the batch.
    public internal(set) var holds: [String: HoldState?] = [:]
    /// Outgoing transfers applied in the batch, per sender and token, in order: for velocity rules.
    public internal(set) var outgoing: [BalanceKey: OutgoingWindow] = [:]
    public internal(set) var positions: [PositionKey: RegionPosition] = [:]
    public internal(set) var links: [String: InterRegionLink] = [:]
    public internal(set) var outbound: [OutboundKey: OutboundState] = [:]
    var decisions: [EntryKey: (kind: PriorDecision.Kind, signingBytes: [UInt8])] = [:]
    var linkGroups: [String: (legs: [[UInt8]], failedLeg: String?)] = [:]

    public init() {}
}

/// An outbound message's place: its counterpart and number.
public struct OutboundKey: Hashable, Sendable {
    public let counterpart: String
    public let number: Int64

    public init(counterpart: String, number: Int64) {
        self.counterpart = counterpart
        self.number = number
    }
}

/// A state with an overlay of changes on top: reads see the overlay first, then the state below.
/// The engine decides a batch over one of these, so nothing reaches the store until the whole batch
/// is decided, and a linked group that fails is dropped by dropping its own staging.
public struct Staging<Base: LedgerState>: LedgerState {
    public let base: Base
    public private(set) var overlay: StagingOverlay

    public init(base: Base, overlay: StagingOverlay = StagingOverlay()) {
        self.base = base
        self.overlay = overlay
    }

    public func nextSequence() throws(LedgerError) -> Int64 {
        if let next = overlay.nextSequence { return next }
        return try base.nextSequence()
    }

    public func ruleSet() throws(LedgerError) -> RuleSet? {
        if let staged = overlay.ruleSet { return staged }
        return try base.ruleSet()
    }

    public func account(_ id: String) throws(LedgerError) -> AccountState? {
        if let staged = overlay.accounts[id] { return staged }
        return try base.account(id)
    }

    public func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> DeviceKeyState? {
        if let staged = overlay.keys[publicKeyHex] { return staged }
        return try base.deviceKey(publicKeyHex)
    }

    public func balance(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        if let staged = overlay.balances[key] { return staged }
        return try base.balance(key)
    }

    public func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        if let staged = overlay.reserved[key] { return staged }
        return try base.reserved(key)
    }

    public func supply(_ token: Token) throws(LedgerError) -> Int64 {
        if let staged = overlay.supply[token] { return staged }
        return try base.supply(token)
    }

    public func reserves(_ token: Token) throws(LedgerError) -> Int64 {
        if let staged = overlay.reserves[token] { return staged }
        return try base.reserves(token)
    }

    public func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64? {
        if let staged = overlay.reserveRecords[key] { return staged }
        return try base.reserveRecord(key)
    }

    public func pendingTransfer(_ transactionID: String) throws(LedgerError) -> PendingState? {
        if let staged = overlay.pendings[transactionID] { return staged }
        return try base.pendingTransfer(transactionID)
    }

    public func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState] {
        var due = try base.pendingTransfersDue(at: milliseconds).filter { overlay.pendings[$0.transactionID] == nil }
        due += overlay.pendings.values.filter { $0.phase == .pending && $0.expiresAtMilliseconds <= milliseconds }
        return due.sorted { $0.sequence < $1.sequence }
    }

    public func openHold(_ transactionID: String) throws(LedgerError) -> HoldState? {
        if let staged = overlay.holds[transactionID] { return staged }
        return try base.openHold(transactionID)
    }

    public func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision? {
        if let staged = overlay.decisions[key] { return PriorDecision(staged.kind, sameRecord: staged.signingBytes == signingBytes) }
        return try base.priorDecision(key, signingBytes: signingBytes)
    }

    public func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState? {
        if let staged = overlay.linkGroups[id] { return LinkGroupState(sameGroup: staged.legs == legs, failedLeg: staged.failedLeg) }
        return try base.linkGroup(id, legs: legs)
    }

    public func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals {
        let below = try base.outgoing(key, since: since, retainingSince: retainingSince)
        guard let staged = overlay.outgoing[key]?.since(since) else { return below }
        return VelocityTotals(amount: below.amount + staged.amount, count: below.count + staged.count)
    }

    public func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition {
        if let staged = overlay.positions[key] { return staged }
        return try base.position(key)
    }

    public func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
        if let staged = overlay.links[counterpart] { return staged }
        return try base.interRegionLink(counterpart)
    }

    public func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState? {
        if let staged = overlay.outbound[OutboundKey(counterpart: counterpart, number: number)] { return staged }
        return try base.outboundMessage(counterpart: counterpart, number: number)
    }
}

extension Staging {
    /// Puts a rule set in force without an entry: what a node does with its rules file when its ledger
    /// has no rule set yet (and what a replay does at the time the node did it).
    public mutating func putInForce(_ rules: RuleSet) {
        overlay.ruleSet = .some(rules)
    }

    /// Applies one decided change to the overlay, so later decisions see it.
    public mutating func apply(_ change: LedgerChange) throws(LedgerError) {
        switch change {
        case .applied(let entry):
            overlay.nextSequence = entry.sequence + 1
            let key = EntryKey(kind: entry.submission.kind, entryID: entry.submission.entryID)
            overlay.decisions[key] = (.applied(sequence: entry.sequence), entry.submission.signingBytes)
            if case .transfer(let transfer, _) = entry.submission {
                // Velocity counts a transfer when applied; a pending one at its full amount, its post not again.
                overlay.outgoing[BalanceKey(account: transfer.from, token: transfer.token), default: OutgoingWindow()]
                    .append(milliseconds: entry.appliedAtMilliseconds, amount: transfer.amount.minorUnits)
            }
            for effect in entry.effects { try apply(effect, sequence: entry.sequence) }
        case .rejected(let rejection):
            let key = EntryKey(kind: rejection.submission.kind, entryID: rejection.submission.entryID)
            let kind = PriorDecision.Kind.rejected(
                code: rejection.code, ruleID: rejection.ruleID, ruleSetVersion: rejection.ruleSetVersion, failedLeg: rejection.failedLeg
            )
            overlay.decisions[key] = (kind, rejection.submission.signingBytes)
        case .held(let new):
            let transfer = new.hold.transfer
            overlay.holds[transfer.transactionID] = .some(new.hold)
            overlay.decisions[EntryKey(kind: .transfer, entryID: transfer.transactionID)] =
                (.held(ruleID: new.hold.ruleID, ruleSetVersion: new.hold.ruleSetVersion), transfer.signingBytes)
        case .expired(let ids, _):
            for id in ids { try release(id, to: .expired) }
        case .linkGroup(let record):
            overlay.linkGroups[record.linkID] = (record.legs.map(\.signingBytes), record.failedLeg)
        }
    }

    private mutating func apply(_ effect: Effect, sequence: Int64) throws(LedgerError) {
        switch effect {
        case .posting(let posting):
            try move(posting)
        case .accountOpened(let account, let state, _):
            overlay.accounts[account] = state
        case .keyAdded(let publicKeyHex, let account):
            overlay.keys[publicKeyHex] = DeviceKeyState(account: account, revoked: false)
        case .keyRevoked(let publicKeyHex):
            guard var key = try deviceKey(publicKeyHex) else { throw missing("device key \(publicKeyHex)") }
            key.revoked = true
            overlay.keys[publicKeyHex] = key
        case .kycTierSet(let account, let tier):
            try changeAccount(account) { $0.kycTier = tier }
        case .frozen(let account):
            try changeAccount(account) { $0.frozen = true }
        case .unfrozen(let account):
            try changeAccount(account) { $0.frozen = false }
        case .accountEvent, .flagRaised:
            break
        case .reserveRecorded(let key, let amount):
            overlay.reserveRecords[key] = .some(amount)
            overlay.reserves[key.token] = try reserves(key.token) + (key.kind == .withdrawal ? -amount : amount)
        case .reserveReleased(let key):
            guard let amount = try reserveRecord(key) else { throw missing("reserve record \(key.reference)") }
            overlay.reserveRecords[key] = .some(nil)
            overlay.reserves[key.token] = try reserves(key.token) - amount
        case .pendingOpened(let pending):
            overlay.pendings[pending.transactionID] = pending
            let key = BalanceKey(account: pending.from, token: pending.token)
            overlay.reserved[key] = try reserved(key) + pending.amount
        case .pendingPosted(let id, _):
            try release(id, to: .posted)
        case .pendingVoided(let id):
            try release(id, to: .voided)
        case .holdReviewed(let id):
            overlay.holds[id] = .some(nil)
        case .ruleSetInstalled(let rules):
            overlay.ruleSet = .some(rules)
        case .outboundSent(let message):
            var link = try interRegionLink(message.counterpart)
            guard message.number == link.lastOutbound + 1 else { throw missing("outbound number \(message.number - 1)") }
            link.lastOutbound = message.number
            overlay.links[message.counterpart] = link
            overlay.outbound[OutboundKey(counterpart: message.counterpart, number: message.number)] =
                OutboundState(message: message, sequence: sequence, acknowledged: false)
        case .inboundDecided(let counterpart, let number):
            var link = try interRegionLink(counterpart)
            guard number == link.lastInbound + 1 else { throw missing("inbound number \(number - 1)") }
            link.lastInbound = number
            overlay.links[counterpart] = link
        case .acknowledged(let counterpart, let number):
            guard var state = try outboundMessage(counterpart: counterpart, number: number), !state.acknowledged else {
                throw missing("open outbound message \(counterpart) \(number)")
            }
            state.acknowledged = true
            overlay.outbound[OutboundKey(counterpart: counterpart, number: number)] = state
        case .claimChanged(let key, let delta):
            var position = try position(key)
            position.claims += delta
            guard position.claims >= 0 else { throw LedgerError(.invariant, "claims on \(key.counterpart) would become negative") }
            overlay.positions[key] = position
        case .obligationChanged(let key, let delta):
            var position = try position(key)
            position.obligations += delta
            guard position.obligations >= 0 else {
                throw LedgerError(.invariant, "obligations to \(key.counterpart) would become negative")
            }
            overlay.positions[key] = position
        }
    }

    /// Debits and credits one posting. The issuer account has no balance: its postings move the supply.
    private mutating func move(_ posting: Posting) throws(LedgerError) {
        for (account, delta) in [(posting.from, -posting.amount), (posting.to, posting.amount)] {
            if account == issuerAccountID {
                let supply = try supply(posting.token) - delta
                guard supply >= 0 else { throw LedgerError(.invariant, "\(posting.token.rawValue) supply would become \(supply)") }
                overlay.supply[posting.token] = supply
            } else {
                let key = BalanceKey(account: account, token: posting.token)
                let (balance, overflow) = try balance(key).addingReportingOverflow(delta)
                guard !overflow, balance >= 0 else {
                    throw LedgerError(.invariant, "balance of \(account) in \(posting.token.rawValue) would leave 0...Int64.max")
                }
                overlay.balances[key] = balance
            }
        }
    }

    private mutating func release(_ id: String, to phase: PendingState.Phase) throws(LedgerError) {
        guard var pending = try pendingTransfer(id), pending.phase == .pending else { throw missing("open pending transfer \(id)") }
        pending.phase = phase
        overlay.pendings[id] = pending
        let key = BalanceKey(account: pending.from, token: pending.token)
        overlay.reserved[key] = try reserved(key) - pending.amount
    }

    private mutating func changeAccount(_ id: String, _ change: (inout AccountState) -> Void) throws(LedgerError) {
        guard var account = try account(id) else { throw missing("account \(id)") }
        change(&account)
        overlay.accounts[id] = account
    }

    private func missing(_ what: String) -> LedgerError {
        LedgerError(.invariant, "a decided change refers to \(what), which the state does not hold")
    }
}

extension Staging: Sendable where Base: Sendable {}
