import SDTCore

/// The applier's in-memory view of the state its checks read: accounts, device keys, balances and
/// supply. The applier is the ledger's only writer, so what it has read or written stays exact;
/// entries are loaded from SQLite on first use. Changed balances and supply are written back once
/// per batch, inside the batch's transaction. After a rollback the whole set is dropped and reloaded.
struct WorkingSet {
    struct BalanceKey: Hashable {
        let account: String
        let token: Token
    }

    struct AccountFacts {
        var jurisdiction: String
        var kycTier: Int
    }

    var accounts: [String: AccountFacts] = [:]
    var frozen: [String: Bool] = [:]
    /// Attested reserves per token: USD deposits minus withdrawals, GOLD fine weight of bars held.
    var reserves: [Token: Int64] = [:]
    /// Outgoing transfers per account and token at or after `outgoingSince`, for velocity rules.
    var outgoing: [BalanceKey: OutgoingWindow] = [:]
    /// Transfers waiting for review; while there are none, a resubmission needs no look at `holds`.
    var openHolds: Int64?
    var keys: [String: (account: String, revoked: Bool)] = [:]
    /// Funds of an account that open pending transfers reserve: not available to any other debit.
    var reserved: [BalanceKey: Int64] = [:]
    /// When the earliest open pending transfer expires; `.some(nil)` when none is open.
    var pendingExpiryNext: Int64??
    var balances: [BalanceKey: Int64] = [:]
    var supply: [Token: Int64] = [:]
    var dirtyBalances: Set<BalanceKey> = []
    var dirtySupply: Set<Token> = []

    mutating func reset() { self = WorkingSet() }
}

/// One account's outgoing transfers of one token in time order, with running totals, so a velocity
/// rule's question (how much and how many since T) costs a binary search, not a scan.
struct OutgoingWindow {
    private var times: [Int64] = []
    /// `totals[i]`: the sum of amounts of entries `0...i`.
    private var totals: [Int64] = []
    private var start = 0

    mutating func append(milliseconds: Int64, amount: Int64) {
        times.append(milliseconds)
        totals.append((totals.last ?? 0) + amount)
    }

    func since(_ milliseconds: Int64) -> (amount: Int64, count: Int64) {
        var low = start
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < milliseconds { low = middle + 1 } else { high = middle }
        }
        guard low < times.count else { return (0, 0) }
        let before = low > 0 ? totals[low - 1] : 0
        return ((totals.last ?? 0) - before, Int64(times.count - low))
    }

    /// Forgets entries older than `milliseconds`, compacting once half the storage is stale.
    mutating func drop(before milliseconds: Int64) {
        while start < times.count, times[start] < milliseconds { start += 1 }
        guard start > 64, start * 2 > times.count else { return }
        let base = totals[start - 1]
        times.removeFirst(start)
        totals = totals[start...].map { $0 - base }
        start = 0
    }
}

extension LedgerWriter {
    func accountExists(_ id: String) throws(LedgerError) -> Bool { try account(id) != nil }

    func account(_ id: String) throws(LedgerError) -> WorkingSet.AccountFacts? {
        if let facts = working.accounts[id] { return facts }
        let facts = try connection.query("SELECT jurisdiction, kyc_tier FROM accounts WHERE id = ?", [.text(id)]).first
            .map { WorkingSet.AccountFacts(jurisdiction: $0.text(0), kycTier: Int($0.int(1))) }
        if let facts { working.accounts[id] = facts }
        return facts
    }

    func isFrozen(_ id: String) throws(LedgerError) -> Bool {
        if let frozen = working.frozen[id] { return frozen }
        let frozen = try !connection.query("SELECT 1 FROM frozen_accounts WHERE account_id = ?", [.text(id)]).isEmpty
        working.frozen[id] = frozen
        return frozen
    }

    func reserves(_ token: Token) throws(LedgerError) -> Int64 {
        if let cached = working.reserves[token] { return cached }
        let stored = try connection.query(
            """
            SELECT COALESCE(SUM(CASE kind WHEN 'withdrawal' THEN -amount ELSE amount END), 0)
            FROM reserve_records WHERE token = ? AND released_sequence IS NULL
            """, [.text(token.rawValue)]
        ).first?.int(0) ?? 0
        working.reserves[token] = stored
        return stored
    }

    /// What velocity rules count as an account's outgoing transfers (`?1` account, `?2` token, `?3`
    /// since, in ms): each transfer when applied; a pending transfer when it reserves the funds, at its
    /// full amount, and its post not again. Columns `at_ms`, `amount`, `sequence`.
    static let outgoingSQL = """
        SELECT e.applied_at_ms AS at_ms, -p.amount AS amount, p.sequence AS sequence
        FROM postings p JOIN entries e ON e.sequence = p.sequence
        WHERE p.account_id = ?1 AND p.token = ?2 AND p.amount < 0 AND e.kind = 'transfer' AND e.applied_at_ms >= ?3
          AND NOT EXISTS (SELECT 1 FROM pending_transfers x WHERE x.resolved_sequence = p.sequence)
        UNION ALL
        SELECT created_at_ms, amount, sequence FROM pending_transfers WHERE from_account = ?1 AND token = ?2 AND created_at_ms >= ?3
        """

    /// The sender's outgoing transfers of `token` since `since` (ms), before the current one.
    func outgoing(_ account: String, _ token: Token, since: Int64, keepSince: Int64) throws(LedgerError) -> (amount: Int64, count: Int64) {
        let key = WorkingSet.BalanceKey(account: account, token: token)
        if working.outgoing[key] == nil {
            var loaded = OutgoingWindow()
            try connection.each(
                "SELECT at_ms, amount FROM (\(Self.outgoingSQL)) ORDER BY sequence", [.text(account), .text(token.rawValue), .integer(keepSince)]
            ) { row in loaded.append(milliseconds: row.int(0), amount: row.int(1)) }
            working.outgoing[key] = loaded
        }
        return working.outgoing[key]?.since(since) ?? (0, 0)
    }

    /// Remembers an applied transfer for velocity rules, when the sender's history is loaded.
    func noteOutgoing(_ account: String, _ token: Token, amount: Int64, at milliseconds: Int64, keepSince: Int64) {
        let key = WorkingSet.BalanceKey(account: account, token: token)
        guard working.outgoing[key] != nil else { return }
        working.outgoing[key]?.drop(before: keepSince)
        working.outgoing[key]?.append(milliseconds: milliseconds, amount: amount)
    }

    func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> (account: String, revoked: Bool)? {
        if let key = working.keys[publicKeyHex] { return key }
        let key = try connection.query("SELECT account_id, revoked_sequence FROM device_keys WHERE public_key = ?", [.text(publicKeyHex)])
            .first.map { ($0.text(0), $0.optionalInt(1) != nil) }
        if let key { working.keys[publicKeyHex] = key }
        return key
    }

    /// What `account` may still spend of `token`: its balance less what pending transfers reserve.
    func available(_ account: String, _ token: Token) throws(LedgerError) -> Int64 {
        try balance(account, token) - reserved(account, token)
    }

    func reserved(_ account: String, _ token: Token) throws(LedgerError) -> Int64 {
        let key = WorkingSet.BalanceKey(account: account, token: token)
        if let cached = working.reserved[key] { return cached }
        // Known to have no open pending transfer at all: nothing to look up.
        if case .some(.none) = working.pendingExpiryNext { return 0 }
        let stored = try connection.query(
            "SELECT COALESCE(SUM(amount), 0) FROM pending_transfers WHERE from_account = ? AND token = ? AND state = 'pending'",
            [.text(account), .text(token.rawValue)]
        ).first?.int(0) ?? 0
        working.reserved[key] = stored
        return stored
    }

    func balance(_ account: String, _ token: Token) throws(LedgerError) -> Int64 {
        let key = WorkingSet.BalanceKey(account: account, token: token)
        if let cached = working.balances[key] { return cached }
        let stored = try connection.query(
            "SELECT amount FROM balances WHERE account_id = ? AND token = ?", [.text(account), .text(token.rawValue)]
        ).first?.int(0) ?? 0
        working.balances[key] = stored
        return stored
    }

    func supply(_ token: Token) throws(LedgerError) -> Int64 {
        if let cached = working.supply[token] { return cached }
        let stored = try connection.query("SELECT amount FROM supply WHERE token = ?", [.text(token.rawValue)]).first?.int(0) ?? 0
        working.supply[token] = stored
        return stored
    }

    func setBalance(_ account: String, _ token: Token, _ amount: Int64) {
        let key = WorkingSet.BalanceKey(account: account, token: token)
        working.balances[key] = amount
        working.dirtyBalances.insert(key)
    }

    func setSupply(_ token: Token, _ amount: Int64) {
        working.supply[token] = amount
        working.dirtySupply.insert(token)
    }

    /// Writes the balances and supply the batch changed; runs inside the batch's transaction.
    func flushWorkingSet() throws(LedgerError) {
        for key in working.dirtyBalances {
            try connection.query(
                """
                INSERT INTO balances (account_id, token, amount) VALUES (?, ?, ?)
                ON CONFLICT (account_id, token) DO UPDATE SET amount = excluded.amount
                """,
                [.text(key.account), .text(key.token.rawValue), .integer(working.balances[key] ?? 0)]
            )
        }
        for token in working.dirtySupply {
            try connection.query(
                "INSERT INTO supply (token, amount) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET amount = excluded.amount",
                [.text(token.rawValue), .integer(working.supply[token] ?? 0)]
            )
        }
        working.dirtyBalances.removeAll(keepingCapacity: true)
        working.dirtySupply.removeAll(keepingCapacity: true)
    }
}
