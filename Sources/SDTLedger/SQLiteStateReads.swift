import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules

/// The engine's reads answered from SQLite's committed tables, one query each, nothing kept. The dry
/// run reads through this; the applier's `SQLiteLedgerStore` keeps the hot answers in memory on top.
struct SQLiteStateReads: LedgerState {
    let connection: SQLiteConnection

    func nextSequence() throws(LedgerError) -> Int64 {
        (try connection.query("SELECT COALESCE(MAX(sequence), 0) FROM entries").first?.int(0) ?? 0) + 1
    }

    func ruleSet() throws(LedgerError) -> RuleSet? {
        guard let newest = try connection.query("SELECT version, text FROM rule_sets ORDER BY version DESC LIMIT 1").first else {
            return nil
        }
        do {
            return try RuleSet(text: newest.text(1))
        } catch {
            throw LedgerError(.invariant, "the ledger's rule set version \(newest.int(0)) does not parse: \(error)")
        }
    }

    func account(_ id: String) throws(LedgerError) -> AccountState? {
        try connection.query(
            "SELECT jurisdiction, kyc_tier, EXISTS (SELECT 1 FROM frozen_accounts WHERE account_id = id) FROM accounts WHERE id = ?",
            [.text(id)]
        ).first.map { AccountState(jurisdiction: $0.text(0), kycTier: Int($0.int(1)), frozen: $0.int(2) == 1) }
    }

    func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> DeviceKeyState? {
        try connection.query("SELECT account_id, revoked_sequence FROM device_keys WHERE public_key = ?", [.text(publicKeyHex)])
            .first.map { DeviceKeyState(account: $0.text(0), revoked: $0.optionalInt(1) != nil) }
    }

    func balance(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        try connection.query(
            "SELECT amount FROM balances WHERE account_id = ? AND token = ?", [.text(key.account), .text(key.token.rawValue)]
        ).first?.int(0) ?? 0
    }

    func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64 {
        try connection.query(
            "SELECT COALESCE(SUM(amount), 0) FROM pending_transfers WHERE from_account = ? AND token = ? AND state = 'pending'",
            [.text(key.account), .text(key.token.rawValue)]
        ).first?.int(0) ?? 0
    }

    func supply(_ token: Token) throws(LedgerError) -> Int64 {
        try connection.query("SELECT amount FROM supply WHERE token = ?", [.text(token.rawValue)]).first?.int(0) ?? 0
    }

    func reserves(_ token: Token) throws(LedgerError) -> Int64 {
        try connection.query(
            """
            SELECT COALESCE(SUM(CASE kind WHEN 'withdrawal' THEN -amount ELSE amount END), 0)
            FROM reserve_records WHERE token = ? AND released_sequence IS NULL
            """, [.text(token.rawValue)]
        ).first?.int(0) ?? 0
    }

    func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64? {
        try connection.query(
            "SELECT amount FROM reserve_records WHERE token = ? AND kind = ? AND reference = ? AND released_sequence IS NULL",
            [.text(key.token.rawValue), .text(key.kind.rawValue), .text(key.reference)]
        ).first?.int(0)
    }

    static let pendingColumns = """
        transaction_id, sequence, from_account, to_account, token, amount, created_at_ms, expires_at_ms, state
        """

    func pendingTransfer(_ transactionID: String) throws(LedgerError) -> PendingState? {
        try connection.query("SELECT \(Self.pendingColumns) FROM pending_transfers WHERE transaction_id = ?", [.text(transactionID)])
            .first.map { row throws(LedgerError) in try Self.pending(row) }
    }

    func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState] {
        try connection.query(
            "SELECT \(Self.pendingColumns) FROM pending_transfers WHERE state = 'pending' AND expires_at_ms <= ? ORDER BY sequence",
            [.integer(milliseconds)]
        ).map { row throws(LedgerError) in try Self.pending(row) }
    }

    static func pending(_ row: Row) throws(LedgerError) -> PendingState {
        guard let token = Token(rawValue: row.text(4)), let phase = PendingState.Phase(rawValue: row.text(8)) else {
            throw LedgerError(.invariant, "pending transfer \(row.text(0)) has token \(row.text(4)), state \(row.text(8))")
        }
        return PendingState(
            transactionID: row.text(0), sequence: row.int(1), from: row.text(2), to: row.text(3), token: token, amount: row.int(5),
            createdAtMilliseconds: row.int(6), expiresAtMilliseconds: row.int(7), phase: phase
        )
    }

    func openHold(_ transactionID: String) throws(LedgerError) -> HoldState? {
        guard let row = try connection.query(
            "SELECT signing_bytes, signature, rule_id, rule_set_version FROM holds WHERE transaction_id = ? AND review_sequence IS NULL",
            [.text(transactionID)]
        ).first else { return nil }
        do {
            return HoldState(transfer: try Transfer(signingBytes: row.blob(0)), signature: row.blob(1), ruleID: row.text(2),
                             ruleSetVersion: row.int(3))
        } catch {
            throw LedgerError(.invariant, "held transfer \(transactionID) does not parse: \(error)")
        }
    }

    func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision? {
        try priorDecision(key, signingBytes: signingBytes, holdsOpen: true)
    }

    /// `holdsOpen: false` skips the look at `holds` when the caller knows none is open.
    func priorDecision(_ key: EntryKey, signingBytes: [UInt8], holdsOpen: Bool) throws(LedgerError) -> PriorDecision? {
        let values: [SQLiteConnection.Value] = [.text(key.kind.rawValue), .text(key.entryID)]
        if let row = try connection.query("SELECT sequence, signing_bytes FROM entries WHERE kind = ? AND entry_id = ?", values).first {
            return PriorDecision(.applied(sequence: row.int(0)), sameRecord: row.blob(1) == signingBytes)
        }
        if let row = try connection.query(
            "SELECT record_hash, code, rule_id, rule_set_version, failed_leg FROM rejections WHERE kind = ? AND entry_id = ?", values
        ).first {
            guard let code = OutcomeCode(rawValue: UInt16(row.int(1))) else {
                throw LedgerError(.invariant, "rejection of \(key.entryID) has unknown code \(row.int(1))")
            }
            let kind = PriorDecision.Kind.rejected(code: code, ruleID: row.optionalText(2), ruleSetVersion: row.optionalInt(3),
                                                   failedLeg: row.optionalText(4))
            return PriorDecision(kind, sameRecord: row.blob(0) == SHA3.hash256(signingBytes))
        }
        guard holdsOpen, key.kind == .transfer, let row = try connection.query(
            "SELECT signing_bytes, rule_id, rule_set_version FROM holds WHERE transaction_id = ? AND review_sequence IS NULL",
            [.text(key.entryID)]
        ).first else { return nil }
        return PriorDecision(.held(ruleID: row.text(1), ruleSetVersion: row.int(2)), sameRecord: row.blob(0) == signingBytes)
    }

    func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState? {
        try connection.query("SELECT record_hash, failed_leg FROM link_groups WHERE link_id = ?", [.text(id)]).first.map {
            LinkGroupState(sameGroup: $0.blob(0) == Self.groupHash(legs), failedLeg: $0.optionalText(1))
        }
    }

    /// What identifies a linked group: SHA3-256 over its legs' signed bytes, in order.
    static func groupHash(_ legs: [[UInt8]]) -> [UInt8] { SHA3.hash256(legs.flatMap { $0 }) }

    /// What velocity rules count as an account's outgoing transfers (`?1` account, `?2` token, `?3`
    /// since, in ms): each transfer when applied; a pending transfer when it reserves the funds, at its
    /// full amount, and its post not again. Columns `at_ms`, `amount`, `sequence`.
    static let outgoingSQL = """
        SELECT e.applied_at_ms AS at_ms, m.amount AS amount, m.sequence AS sequence
        FROM movements m JOIN entries e ON e.sequence = m.sequence
        WHERE m.from_account = ?1 AND m.token = ?2 AND e.kind = 'transfer' AND e.applied_at_ms >= ?3
          AND NOT EXISTS (SELECT 1 FROM pending_transfers x WHERE x.resolved_sequence = m.sequence)
        UNION ALL
        SELECT created_at_ms, amount, sequence FROM pending_transfers WHERE from_account = ?1 AND token = ?2 AND created_at_ms >= ?3
        """

    func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals {
        let row = try connection.query(
            "SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM (\(Self.outgoingSQL))",
            [.text(key.account), .text(key.token.rawValue), .integer(since)]
        ).first
        return VelocityTotals(amount: row?.int(0) ?? 0, count: row?.int(1) ?? 0)
    }

    func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition {
        try connection.query(
            "SELECT claims, obligations FROM region_positions WHERE counterpart = ? AND token = ?",
            [.text(key.counterpart), .text(key.token.rawValue)]
        ).first.map { RegionPosition(claims: $0.int(0), obligations: $0.int(1)) } ?? .zero
    }

    func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
        try connection.query("SELECT last_outbound, last_inbound FROM inter_region_links WHERE counterpart = ?", [.text(counterpart)])
            .first.map { InterRegionLink(lastOutbound: $0.int(0), lastInbound: $0.int(1)) } ?? .zero
    }

    func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState? {
        guard let row = try connection.query(
            """
            SELECT o.sequence, e.signing_bytes, o.acknowledged_sequence FROM outbound_messages o
            JOIN entries e ON e.sequence = o.sequence WHERE o.counterpart = ? AND o.number = ?
            """, [.text(counterpart), .integer(number)]
        ).first else { return nil }
        do {
            return OutboundState(message: try OutboundMessage(signingBytes: row.blob(1)), sequence: row.int(0),
                                 acknowledged: row.optionalInt(2) != nil)
        } catch {
            throw LedgerError(.invariant, "outbound message \(counterpart) \(number) does not parse: \(error)")
        }
    }
}
