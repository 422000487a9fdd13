import SDTCore
import SDTEngine

/// After the replay: the stored tables against the replayed state.
extension AuditReplay {
    func compareTables() throws {
        let replayed = store.overlay
        try compareBalancesAndSupply(replayed)
        var accounts = 0
        for row in try connection.query("SELECT id, jurisdiction, kyc_tier FROM accounts") {
            accounts += 1
            guard let account = replayed.accounts[row.text(0)], account.jurisdiction == row.text(1), account.kycTier == Int(row.int(2)) else {
                throw AuditProblem("accounts table: \(row.text(0)) differs from its signed opening")
            }
        }
        guard accounts == replayed.accounts.count else { throw AuditProblem("accounts table: accounts are missing") }
        let storedFrozen = Set(try connection.query("SELECT account_id FROM frozen_accounts").map { $0.text(0) })
        guard storedFrozen == Set(replayed.accounts.filter(\.value.frozen).keys) else {
            throw AuditProblem("frozen_accounts table differs from the signed freeze and unfreeze actions")
        }
        var keys = 0
        for row in try connection.query("SELECT public_key, account_id, revoked_sequence IS NOT NULL FROM device_keys") {
            keys += 1
            guard let key = replayed.keys[row.text(0)], key.account == row.text(1), key.revoked == (row.int(2) == 1) else {
                throw AuditProblem("device_keys table: \(row.text(0)) differs from the signed operator actions")
            }
        }
        guard keys == replayed.keys.count else { throw AuditProblem("device_keys table: keys are missing") }
        let storedRecords = try connection.query(
            "SELECT sequence, token, kind, reference, amount FROM reserve_records WHERE released_sequence IS NULL ORDER BY sequence"
        ).map { "\($0.int(0))/\($0.text(1))/\($0.text(2))/\($0.text(3))/\($0.int(4))" }
        let replayedRecords = reserveRecords.map {
            "\($0.sequence)/\($0.key.token.rawValue)/\($0.key.kind.rawValue)/\($0.key.reference)/\($0.amount)"
        }
        guard storedRecords == replayedRecords else { throw AuditProblem("reserve_records table differs from the signed mint and redeem actions") }
        for signed in signedRuleSets {
            let row = try connection.query("SELECT sha3, sequence FROM rule_sets WHERE version = ?", [.integer(signed.version)]).first
            guard row?.text(0) == signed.sha3Hex, row?.optionalInt(1) == signed.sequence else {
                throw AuditProblem("rule set version \(signed.version) stored differs from the set_rules action at sequence \(signed.sequence)")
            }
        }
        try comparePendings(replayed)
        try compareInterRegion(replayed)
    }

    /// Positions, links and outbound messages against the inter-region entries.
    private func compareInterRegion(_ replayed: StagingOverlay) throws {
        let storedPositions = try connection.query(
            "SELECT counterpart, token, claims, obligations FROM region_positions WHERE claims <> 0 OR obligations <> 0"
        ).map { "\($0.text(0))/\($0.text(1))/\($0.int(2))/\($0.int(3))" }.sorted()
        let replayedPositions = replayed.positions.filter { $0.value != .zero }
            .map { "\($0.key.counterpart)/\($0.key.token.rawValue)/\($0.value.claims)/\($0.value.obligations)" }.sorted()
        guard storedPositions == replayedPositions else {
            throw AuditProblem("region_positions table differs from the inter-region entries: \(storedPositions) against \(replayedPositions)")
        }
        let storedLinks = try connection.query("SELECT counterpart, last_outbound, last_inbound FROM inter_region_links")
            .map { "\($0.text(0))/\($0.int(1))/\($0.int(2))" }.sorted()
        let replayedLinks = replayed.links.map { "\($0.key)/\($0.value.lastOutbound)/\($0.value.lastInbound)" }.sorted()
        guard storedLinks == replayedLinks else { throw AuditProblem("inter_region_links table differs from the inter-region entries") }
        let storedOutbound = try connection.query(
            "SELECT counterpart, number, sequence, acknowledged_sequence IS NOT NULL FROM outbound_messages"
        ).map { "\($0.text(0))/\($0.int(1))/\($0.int(2))/\($0.int(3))" }.sorted()
        let replayedOutbound = replayed.outbound.values
            .map { "\($0.message.counterpart)/\($0.message.number)/\($0.sequence)/\($0.acknowledged ? 1 : 0)" }.sorted()
        guard storedOutbound == replayedOutbound else { throw AuditProblem("outbound_messages table differs from the inter-region entries") }
    }

    private func compareBalancesAndSupply(_ replayed: StagingOverlay) throws {
        var stored: [BalanceKey: Int64] = [:]
        for row in try connection.query("SELECT account_id, token, amount FROM balances WHERE amount <> 0") {
            guard let token = Token(rawValue: row.text(1)) else { throw AuditProblem("balances table: unknown token \(row.text(1))") }
            stored[BalanceKey(account: row.text(0), token: token)] = row.int(2)
        }
        let balances = replayed.balances.filter { $0.value != 0 }
        for key in Set(stored.keys).union(balances.keys).sorted(by: { ($0.account, $0.token.rawValue) < ($1.account, $1.token.rawValue) })
        where stored[key] != balances[key] {
            throw AuditProblem("balances table: \(key.account) holds \(stored[key] ?? 0) \(key.token.rawValue), postings give \(balances[key] ?? 0)")
        }
        var storedSupply: [Token: Int64] = [:]
        for row in try connection.query("SELECT token, amount FROM supply") {
            if let token = Token(rawValue: row.text(0)) { storedSupply[token] = row.int(1) }
        }
        for token in Token.allCases {
            let supply = replayed.supply[token] ?? 0
            guard (storedSupply[token] ?? 0) == supply else {
                throw AuditProblem("supply table: \(token.rawValue) is \(storedSupply[token] ?? 0), entries give \(supply)")
            }
            let holders = balances.filter { $0.key.token == token }.reduce(Int64(0)) { $0 + $1.value }
            guard holders == supply else {
                throw AuditProblem("\(token.rawValue): supply \(supply) differs from the sum of balances \(holders)")
            }
        }
    }

    /// The pending transfers table against the signed pending transfers, posts and voids. An open one
    /// may be marked expired only once its timeout has passed; open and expired are alike otherwise,
    /// since the node marks expiry when it next looks, not at an entry.
    private func comparePendings(_ replayed: StagingOverlay) throws {
        var stored: [String] = []
        for row in try connection.query(
            """
            SELECT transaction_id, sequence, from_account, to_account, token, amount, expires_at_ms, state, posted_amount,
                   resolved_sequence, resolved_at_ms FROM pending_transfers ORDER BY transaction_id
            """
        ) {
            if row.text(7) == "expired", row.int(10) < row.int(6) {
                throw AuditProblem("pending_transfers table: \(row.text(0)) marked expired before its timeout")
            }
            let resolution = switch row.text(7) {
            case "posted": "\(row.int(8))@\(row.int(9))"
            case "voided": "0@\(row.int(9))"
            default: "open"
            }
            stored.append("\(row.text(0))/\(row.int(1))/\(row.text(2))/\(row.text(3))/\(row.text(4))/\(row.int(5))/\(row.int(6))/\(resolution)")
        }
        let mine = replayed.pendings.values.sorted { $0.transactionID < $1.transactionID }.map { pending in
            let resolution = resolutions[pending.transactionID].map { "\($0.amount)@\($0.sequence)" } ?? "open"
            return "\(pending.transactionID)/\(pending.sequence)/\(pending.from)/\(pending.to)/\(pending.token.rawValue)/"
                + "\(pending.amount)/\(pending.expiresAtMilliseconds)/\(resolution)"
        }
        guard stored == mine else { throw AuditProblem("pending_transfers table differs from the signed pending transfers, posts and voids") }
    }
}
