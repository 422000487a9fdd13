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

    var accounts: Set<String> = []
    var keys: [String: (account: String, revoked: Bool)] = [:]
    var balances: [BalanceKey: Int64] = [:]
    var supply: [Token: Int64] = [:]
    var dirtyBalances: Set<BalanceKey> = []
    var dirtySupply: Set<Token> = []

    mutating func reset() { self = WorkingSet() }
}

extension LedgerWriter {
    func accountExists(_ id: String) throws(LedgerError) -> Bool {
        if working.accounts.contains(id) { return true }
        let exists = try !connection.query("SELECT 1 FROM accounts WHERE id = ?", [.text(id)]).isEmpty
        if exists { working.accounts.insert(id) }
        return exists
    }

    func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> (account: String, revoked: Bool)? {
        if let key = working.keys[publicKeyHex] { return key }
        let key = try connection.query("SELECT account_id, revoked_sequence FROM device_keys WHERE public_key = ?", [.text(publicKeyHex)])
            .first.map { ($0.text(0), $0.optionalInt(1) != nil) }
        if let key { working.keys[publicKeyHex] = key }
        return key
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
