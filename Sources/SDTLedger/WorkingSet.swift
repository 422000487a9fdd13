import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules

/// The applier's in-memory copy of the committed state its checks read most: accounts, device keys,
/// balances, reservations, supply, reserves, velocity windows. The applier is the ledger's only writer,
/// so what it has read or committed stays exact; entries are loaded from SQLite on first use and
/// refreshed from each committed batch's overlay. After a rollback the whole set is dropped.
struct WorkingSet {
    var nextSequence: Int64?
    var ruleSet: RuleSet??
    var accounts: [String: AccountState] = [:]
    var keys: [String: DeviceKeyState] = [:]
    var balances: [BalanceKey: Int64] = [:]
    var reserved: [BalanceKey: Int64] = [:]
    var supply: [Token: Int64] = [:]
    var reserves: [Token: Int64] = [:]
    /// Outgoing transfers per account and token since the longest velocity window, for velocity rules.
    var outgoing: [BalanceKey: OutgoingWindow] = [:]
    /// Positions with counterpart regions and the links' numbering: every batch's reserve check reads them.
    var positions: [PositionKey: RegionPosition] = [:]
    var links: [String: InterRegionLink] = [:]
    /// Transfers waiting for review; while there are none, a resubmission needs no look at `holds`.
    var openHolds: Int64?
    /// When the earliest open pending transfer expires; `.some(nil)` when none is open.
    var pendingExpiryNext: Int64??
    /// The transfer ids decided that can still be decided, so that a new id needs no lookup.
    var recentIDs: RecentIDs?

    /// Takes in what a committed batch left: its overlay holds exact values for what it touched.
    mutating func merge(_ overlay: StagingOverlay) {
        if let next = overlay.nextSequence { nextSequence = next }
        if let rules = overlay.ruleSet { ruleSet = .some(rules) }
        accounts.merge(overlay.accounts) { $1 }
        keys.merge(overlay.keys) { $1 }
        balances.merge(overlay.balances) { $1 }
        reserved.merge(overlay.reserved) { $1 }
        supply.merge(overlay.supply) { $1 }
        reserves.merge(overlay.reserves) { $1 }
        positions.merge(overlay.positions) { $1 }
        links.merge(overlay.links) { $1 }
        for (key, sent) in overlay.outgoing where outgoing[key] != nil {
            for transfer in sent.entries { outgoing[key]?.append(milliseconds: transfer.atMilliseconds, amount: transfer.amount) }
        }
        if !overlay.pendings.isEmpty { pendingExpiryNext = nil }
        if !overlay.holds.isEmpty { openHolds = nil }
    }
}

/// The applier's store: the engine's reads from SQLite with `WorkingSet` in front of the hot ones, and
/// the writes of each decided batch in one transaction. Owned by the applier thread.
final class SQLiteLedgerStore: LedgerStore, @unchecked Sendable {
    // @unchecked: used only from the applier's own thread, like its connection.
    let connection: SQLiteConnection
    private let reads: SQLiteStateReads
    var working = WorkingSet()

    init(connection: SQLiteConnection) {
        self.connection = connection
        reads = SQLiteStateReads(connection: connection)
    }

    /// Readies the store for a batch decided at `now`: loads the recent ids on first use, and forgets
    /// those that have expired since.
    func prepare(now: Int64) throws(LedgerError) {
        guard working.recentIDs != nil else {
            var recent = RecentIDs(floorMilliseconds: now)
            let floor = TransactionIDIssuer.prefix + String(UInt64(bitPattern: recent.floorMilliseconds), radix: 16).leftPadded(to: 16)
            try connection.each(
                """
                SELECT entry_id FROM entries WHERE kind = 'transfer' AND entry_id >= ?1
                UNION ALL SELECT entry_id FROM rejections WHERE kind = 'transfer' AND entry_id >= ?1
                UNION ALL SELECT transaction_id FROM holds WHERE transaction_id >= ?1
                """, [.text(floor)]
            ) { row in recent.insert(row.text(0)) }
            working.recentIDs = recent
            return
        }
        working.recentIDs?.forget(before: now)
    }

    /// Writes the batch in one transaction (one fsync), then keeps what it left in `working`. On an
    /// error nothing is written and `working` is dropped, to be read again.
    func commit(_ result: BatchResult) throws(LedgerError) {
        try commit(result, signatures: [])
    }

    /// The same, with block signatures stored in the same transaction (already checked by the caller).
    func commit(_ result: BatchResult, signatures: [BlockSignatureRecord]) throws(LedgerError) {
        do {
            try connection.transaction { () throws(LedgerError) in
                try write(result)
                for record in signatures { try connection.query(BlockSignatureRecord.update, record.values) }
            }
            working.merge(result.overlay)
            working.recentIDs?.insert(result.changes)
        } catch {
            working = WorkingSet()
            throw error
        }
    }

    func nextSequence() throws(LedgerError) -> Int64 {
        if let next = working.nextSequence { return next }
        let next = try reads.nextSequence()
        working.nextSequence = next
        return next
    }

    func ruleSet() throws(LedgerError) -> RuleSet? {
        if let cached = working.ruleSet { return cached }
        let rules = try reads.ruleSet()
        working.ruleSet = .some(rules)
        return rules
    }

    func account(_ id: String) throws(LedgerError) -> AccountState? {
        if let cached = working.accounts[id] { return cached }
        let account = try reads.account(id)
        if let account { working.accounts[id] = account }
        return account
    }

    func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> DeviceKeyState? {
        if let cached = working.keys[publicKeyHex] { return cached }
        let key = try reads.deviceKey(publicKeyHex)
        if let key { working.keys[publicKeyHex] = key }
        return key
    }

    func balance(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        if let cached = working.balances[key] { return cached }
        let balance = try reads.balance(key)
        working.balances[key] = balance
        return balance
    }

    func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        if let cached = working.reserved[key] { return cached }
        // Known to have no open pending transfer at all: nothing to look up.
        if case .some(.none) = working.pendingExpiryNext { return 0 }
        let reserved = try reads.reserved(key)
        working.reserved[key] = reserved
        return reserved
    }

    func supply(_ token: Token) throws(LedgerError) -> Int64 {
        if let cached = working.supply[token] { return cached }
        let supply = try reads.supply(token)
        working.supply[token] = supply
        return supply
    }

    func reserves(_ token: Token) throws(LedgerError) -> Int64 {
        if let cached = working.reserves[token] { return cached }
        let reserves = try reads.reserves(token)
        working.reserves[token] = reserves
        return reserves
    }

    func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64? { try reads.reserveRecord(key) }

    func pendingTransfer(_ transactionID: String) throws(LedgerError) -> PendingState? { try reads.pendingTransfer(transactionID) }

    func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState] {
        if working.pendingExpiryNext == nil {
            working.pendingExpiryNext = .some(
                try connection.query("SELECT MIN(expires_at_ms) FROM pending_transfers WHERE state = 'pending'").first?.optionalInt(0)
            )
        }
        guard let next = working.pendingExpiryNext ?? nil, next <= milliseconds else { return [] }
        return try reads.pendingTransfersDue(at: milliseconds)
    }

    func openHold(_ transactionID: String) throws(LedgerError) -> HoldState? { try reads.openHold(transactionID) }

    func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision? {
        if key.kind == .transfer, let recent = working.recentIDs, !recent.mayBeDecided(key.entryID) { return nil }
        if working.openHolds == nil {
            working.openHolds = try connection.query("SELECT COUNT(*) FROM holds WHERE review_sequence IS NULL").first?.int(0) ?? 0
        }
        return try reads.priorDecision(key, signingBytes: signingBytes, holdsOpen: working.openHolds != 0)
    }

    func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState? { try reads.linkGroup(id, legs: legs) }

    func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals {
        if working.outgoing[key] == nil {
            var loaded = OutgoingWindow()
            try connection.each(
                "SELECT at_ms, amount FROM (\(SQLiteStateReads.outgoingSQL)) ORDER BY sequence",
                [.text(key.account), .text(key.token.rawValue), .integer(retainingSince)]
            ) { row in loaded.append(milliseconds: row.int(0), amount: row.int(1)) }
            working.outgoing[key] = loaded
        }
        working.outgoing[key]?.drop(before: retainingSince)
        return working.outgoing[key]?.since(since) ?? .zero
    }

    func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition {
        if let cached = working.positions[key] { return cached }
        let position = try reads.position(key)
        working.positions[key] = position
        return position
    }

    func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
        if let cached = working.links[counterpart] { return cached }
        let link = try reads.interRegionLink(counterpart)
        working.links[counterpart] = link
        return link
    }

    func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState? {
        try reads.outboundMessage(counterpart: counterpart, number: number)
    }
}

extension String {
    /// The string with zeros in front, to `length` characters.
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
