import SDTCore
import SDTEngine
import SDTRules

/// Reads for reserves, rules, account events, dry runs and aggregate statistics.
extension LedgerReader {
    public func reserves() throws(LedgerError) -> ReservesRecord {
        try read { (connection) throws(LedgerError) -> ReservesRecord in
            var supply: [Token: Int64] = [:]
            try connection.each("SELECT token, amount FROM supply") { row in
                if let token = Token(rawValue: row.text(0)) { supply[token] = row.int(1) }
            }
            var sums: [String: Int64] = [:]
            var barsHeld: Int64 = 0
            try connection.each(
                "SELECT kind, COALESCE(SUM(amount), 0), COUNT(*) FROM reserve_records WHERE released_sequence IS NULL GROUP BY kind"
            ) { row in
                sums[row.text(0)] = row.int(1)
                if row.text(0) == "bar" { barsHeld = row.int(2) }
            }
            let block = try connection.query("SELECT header, signature FROM blocks ORDER BY height DESC LIMIT 1").first
                .map { row throws(LedgerError) in try SealedBlock(headerBytes: row.blob(0), signature: row.optionalBlob(1)) }
            return ReservesRecord(
                supply: supply,
                reserves: [.usd: (sums["deposit"] ?? 0) - (sums["withdrawal"] ?? 0), .gold: sums["bar"] ?? 0],
                usdDeposits: sums["deposit"] ?? 0, usdWithdrawals: sums["withdrawal"] ?? 0, barsHeld: barsHeld, block: block
            )
        }
    }

    /// Bars held in the vaults (or, with `includeReleased`, also those released), by serial, paged.
    public func bars(after serial: String, limit: Int, includeReleased: Bool = false) throws(LedgerError) -> [BarRecord] {
        try read { (connection) throws(LedgerError) -> [BarRecord] in
            try connection.query(
                """
                SELECT r.reference, e.signing_bytes, r.sequence, r.released_sequence FROM reserve_records r
                JOIN entries e ON e.sequence = r.sequence
                WHERE r.kind = 'bar' AND r.reference > ? AND (? OR r.released_sequence IS NULL) ORDER BY r.reference, r.sequence LIMIT ?
                """, [.text(serial), .integer(includeReleased ? 1 : 0), .integer(Int64(limit))]
            ).map { row throws(LedgerError) in try Self.bar(row) }
        }
    }

    /// Every record of the bar with this serial, newest first (a bar can return after a release).
    public func bar(serial: String) throws(LedgerError) -> [BarRecord] {
        try read { (connection) throws(LedgerError) -> [BarRecord] in
            try connection.query(
                """
                SELECT r.reference, e.signing_bytes, r.sequence, r.released_sequence FROM reserve_records r
                JOIN entries e ON e.sequence = r.sequence WHERE r.kind = 'bar' AND r.reference = ? ORDER BY r.sequence DESC
                """, [.text(serial)]
            ).map { row throws(LedgerError) in try Self.bar(row) }
        }
    }

    private static func bar(_ row: Row) throws(LedgerError) -> BarRecord {
        guard case .mintGold(let bar)? = (try? OperatorAction(signingBytes: row.blob(1)))?.command else {
            throw LedgerError(.invariant, "the mint of bar \(row.text(0)) does not parse as a mint_gold action")
        }
        return BarRecord(
            serial: row.text(0), vault: bar.vault, refiner: bar.refiner, grossWeightMilligrams: bar.grossWeightMilligrams,
            fineness: bar.fineness, fineWeightMilligrams: bar.amount.minorUnits, mintedSequence: row.int(2),
            releasedSequence: row.optionalInt(3)
        )
    }

    /// The rule set of `version`, or the one in force when nil.
    public func ruleSet(version: Int64?) throws(LedgerError) -> RuleSetRecord? {
        try read { (connection) throws(LedgerError) -> RuleSetRecord? in
            let rows = if let version {
                try connection.query("SELECT version, sha3, text, sequence, installed_at_ms FROM rule_sets WHERE version = ?", [.integer(version)])
            } else {
                try connection.query("SELECT version, sha3, text, sequence, installed_at_ms FROM rule_sets ORDER BY version DESC LIMIT 1")
            }
            return rows.first.map {
                RuleSetRecord(version: $0.int(0), sha3Hex: $0.text(1), text: $0.text(2), sequence: $0.optionalInt(3), installedAtMilliseconds: $0.int(4))
            }
        }
    }

    public func ruleSetVersions() throws(LedgerError) -> [Int64] {
        try read { (connection) throws(LedgerError) -> [Int64] in
            try connection.query("SELECT version FROM rule_sets ORDER BY version").map { $0.int(0) }
        }
    }

    public func events(_ account: String, after: Int64, limit: Int) throws(LedgerError) -> [AccountEventRecord] {
        try read { (connection) throws(LedgerError) -> [AccountEventRecord] in
            try connection.query(
                """
                SELECT e.sequence, e.signing_bytes, (\(Self.blockOfEntry)) FROM account_events a JOIN entries e ON e.sequence = a.sequence
                WHERE a.account_id = ? AND a.sequence > ? ORDER BY a.sequence LIMIT ?
                """, [.text(account), .integer(after), .integer(Int64(limit))]
            ).compactMap { row in
                guard let action = try? OperatorAction(signingBytes: row.blob(1)) else { return nil }
                return AccountEventRecord(
                    sequence: row.int(0), requestID: action.requestID, action: action.kind.rawValue,
                    legalDirective: action.command.legalDirective, reason: action.command.reason, blockHeight: row.optionalInt(2)
                )
            }
        }
    }

    /// The holder's personal data as stored: sealed with the node's data key, or nil.
    public func sealedHolderData(_ account: String) throws(LedgerError) -> [UInt8]? {
        try read { (connection) throws(LedgerError) -> [UInt8]? in
            try connection.query("SELECT sealed FROM holder_data WHERE account_id = ?", [.text(account)]).first?.blob(0)
        }
    }

    /// What the ledger's checks and rules would decide on a transfer now, from committed state: the
    /// engine's dry run (no signer, no funds checks). Changes nothing.
    public func dryRun(
        from: String, to: String, token: Token, amount: Int64, tokensOffered: Set<Token>, nowMilliseconds: Int64
    ) throws(LedgerError) -> LedgerEngine.TransferCheck {
        try read { (connection) throws(LedgerError) -> LedgerEngine.TransferCheck in
            let region = try connection.query("SELECT value FROM meta WHERE key = 'region'").first?.text(0) ?? ""
            let engine = LedgerEngine(policy: EnginePolicy(
                region: region, tokensOffered: tokensOffered, operatorKeys: [], treasuryAccount: nil,
                checkTransactionID: { _, _, _ in .invalid }
            ))
            return try engine.dryRun(from: from, to: to, token: token, amount: amount, state: SQLiteStateReads(connection: connection),
                                     now: nowMilliseconds)
        }
    }

    /// Transfers of `token` sent in `[fromMs, toMs)` by accounts of `jurisdiction` (a country code
    /// includes its subdivisions; nil: every jurisdiction): count, volume, distinct sending accounts.
    public func statistics(token: Token, jurisdiction: String?, fromMilliseconds: Int64, toMilliseconds: Int64) throws(LedgerError) -> TransferStatistics {
        try read { (connection) throws(LedgerError) -> TransferStatistics in
            let row = try connection.query(
                """
                SELECT COUNT(*), COALESCE(SUM(m.amount), 0), COUNT(DISTINCT m.from_account)
                FROM movements m JOIN entries e ON e.sequence = m.sequence JOIN accounts a ON a.id = m.from_account
                WHERE e.kind = 'transfer' AND m.token = ? AND e.applied_at_ms >= ? AND e.applied_at_ms < ?
                  AND (? = '' OR a.jurisdiction = ? OR a.jurisdiction LIKE ? || '-%')
                """,
                [.text(token.rawValue), .integer(fromMilliseconds), .integer(toMilliseconds),
                 .text(jurisdiction ?? ""), .text(jurisdiction ?? ""), .text(jurisdiction ?? "")]
            ).first
            return TransferStatistics(transfers: row?.int(0) ?? 0, volume: row?.int(1) ?? 0, accounts: row?.int(2) ?? 0)
        }
    }
}
