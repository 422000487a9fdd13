import SDTCore
import SDTCrypto

/// Replays entries from their signed bytes alone, to recompute what the stored tables must say.
struct LedgerReplay {
    typealias Posting = (account: String, token: Token, amount: Int64)

    let operatorKeys: Set<String>?
    var accounts: [String: (jurisdiction: String, tier: Int)] = [:]
    var keys: [String: (account: String, revoked: Bool)] = [:]
    var balances: [String: [Token: Int64]] = [:]
    var supply: [Token: Int64] = [:]
    var frozen: Set<String> = []
    /// Reserve records in force, in ledger order: what backs the supply.
    var reserveRecords: [(sequence: Int64, token: Token, kind: String, reference: String, amount: Int64, signingBytes: [UInt8])] = []
    var reserveChanged = false
    /// Rule set versions put in force by `set_rules` entries, with the signed hash.
    var signedRuleSets: [(sequence: Int64, version: Int64, sha3Hex: String)] = []
    /// Transfers whose hold a review approved; the next entry must be that transfer.
    var approvedHold: String?

    init(operatorKeys: Set<String>?) { self.operatorKeys = operatorKeys }

    /// Checks the entry's signature and effects, applies it, and returns the postings it must have.
    mutating func apply(
        sequence: Int64, kind: String, entryID: String, signingBytes: [UInt8], publicKeyHex: String, signature: [UInt8]
    ) throws(AuditProblem) -> [Posting] {
        let approved = approvedHold
        approvedHold = nil
        guard let publicKey = Hex.decode(publicKeyHex),
              Ed25519.verify(signature: signature, message: signingBytes, publicKey: publicKey)
        else { throw AuditProblem("signature does not verify") }
        switch kind {
        case EntryKind.transfer.rawValue:
            guard let transfer = try? Transfer(signingBytes: signingBytes) else { throw AuditProblem("signed transfer does not parse") }
            guard transfer.transactionID == entryID, transfer.publicKeyHex == publicKeyHex else {
                throw AuditProblem("stored id or key differs from the signed record")
            }
            if let approved, approved != entryID {
                throw AuditProblem("the review approving \(approved) is followed by another transfer")
            }
            return try apply(transfer)
        case EntryKind.operatorAction.rawValue:
            if let approved { throw AuditProblem("the review approving \(approved) is not followed by that transfer") }
            guard let action = try? OperatorAction(signingBytes: signingBytes) else {
                throw AuditProblem("signed operator action does not parse")
            }
            guard action.requestID == entryID, action.operatorKeyHex == publicKeyHex else {
                throw AuditProblem("stored id or key differs from the signed record")
            }
            if let operatorKeys, !operatorKeys.contains(action.operatorKeyHex) {
                throw AuditProblem("operator key \(action.operatorKeyHex) is not in the region configuration")
            }
            return try apply(action, sequence: sequence, signingBytes: signingBytes)
        default:
            throw AuditProblem("unknown entry kind \(kind)")
        }
    }

    private mutating func apply(_ transfer: Transfer) throws(AuditProblem) -> [Posting] {
        guard let key = keys[transfer.publicKeyHex], key.account == transfer.from, !key.revoked else {
            throw AuditProblem("signing key was not an active key of \(transfer.from)")
        }
        guard accounts[transfer.to] != nil, transfer.from != transfer.to else {
            throw AuditProblem("receiver \(transfer.to) did not exist or is the sender")
        }
        guard !frozen.contains(transfer.from), !frozen.contains(transfer.to) else {
            throw AuditProblem("a transfer between \(transfer.from) and \(transfer.to) while one of them was frozen")
        }
        return try move(transfer.token, transfer.amount.minorUnits, from: transfer.from, to: transfer.to)
    }

    private mutating func apply(_ action: OperatorAction, sequence: Int64, signingBytes: [UInt8]) throws(AuditProblem) -> [Posting] {
        let deviceKey = action[.deviceKey] ?? ""
        if action.kind != .openAccount, !action.account.isEmpty, accounts[action.account] == nil {
            throw AuditProblem("\(action.kind.rawValue) on account \(action.account), which was not open")
        }
        switch action.kind {
        case .openAccount:
            guard accounts[action.account] == nil, keys[deviceKey] == nil else { throw AuditProblem("account or key opened twice") }
            accounts[action.account] = (action[.jurisdiction] ?? "", Int(action.integer(.kycTier) ?? 0))
            keys[deviceKey] = (action.account, false)
        case .addKey:
            guard keys[deviceKey] == nil else { throw AuditProblem("key added twice") }
            keys[deviceKey] = (action.account, false)
        case .revokeKey:
            guard keys[deviceKey]?.account == action.account, keys[deviceKey]?.revoked == false else {
                throw AuditProblem("revoked a key that was not active on the account")
            }
            keys[deviceKey]?.revoked = true
        case .setKYCTier:
            accounts[action.account]?.tier = Int(action.integer(.kycTier) ?? 0)
        case .freeze:
            guard frozen.insert(action.account).inserted else { throw AuditProblem("froze \(action.account) twice") }
        case .unfreeze:
            guard frozen.remove(action.account) != nil else { throw AuditProblem("unfroze \(action.account), which was not frozen") }
        case .mintUSD, .redeemUSD, .mintGold, .redeemGold:
            return try applyReserve(action, sequence: sequence, signingBytes: signingBytes)
        case .clawback:
            guard let token = action.token, let amount = action.amount, let treasury = action[.treasury], accounts[treasury] != nil else {
                throw AuditProblem("clawback to a treasury account that was not open")
            }
            return try move(token, amount.minorUnits, from: action.account, to: treasury)
        case .setRules:
            guard let version = action.integer(.rulesVersion), version > (signedRuleSets.last?.version ?? 0) else {
                throw AuditProblem("set_rules does not raise the rule set version")
            }
            signedRuleSets.append((sequence, version, action[.rulesSHA3] ?? ""))
        case .review:
            if action[.decision] == "approve" { approvedHold = action[.transactionID] }
        }
        return []
    }

    private mutating func applyReserve(_ action: OperatorAction, sequence: Int64, signingBytes: [UInt8]) throws(AuditProblem) -> [Posting] {
        guard let token = action.kind.reserveToken, let amount = action.amount?.minorUnits else {
            throw AuditProblem("reserve action without token or amount")
        }
        let record = LedgerWriter.reserveRecord(action)
        reserveChanged = true
        if action.kind == .redeemGold {
            guard let index = reserveRecords.firstIndex(where: { $0.kind == "bar" && $0.reference == record.reference }),
                  reserveRecords[index].amount == amount
            else { throw AuditProblem("redeemed bar \(record.reference), which was not held at that fine weight") }
            reserveRecords.remove(at: index)
        } else {
            guard !reserveRecords.contains(where: { $0.token == token && $0.kind == record.kind && $0.reference == record.reference }) else {
                throw AuditProblem("reserve record \(record.kind) \(record.reference) used twice")
            }
            reserveRecords.append((sequence, token, record.kind, record.reference, amount, signingBytes))
        }
        let minting = action.kind == .mintUSD || action.kind == .mintGold
        return try move(token, amount, from: minting ? issuerAccountID : action.account, to: minting ? action.account : issuerAccountID)
    }

    /// Reserves per token and their Merkle root, as the block header after the current entry must state.
    var reserves: (amounts: [Token: Int64], rootHex: String) {
        var amounts: [Token: Int64] = [:]
        for record in reserveRecords { amounts[record.token, default: 0] += record.kind == "withdrawal" ? -record.amount : record.amount }
        return (amounts, Hex.encode(Merkle.root(leafHashesOrNone: reserveRecords.map { Merkle.leafHash($0.signingBytes) })))
    }

    private mutating func move(_ token: Token, _ amount: Int64, from: String, to: String) throws(AuditProblem) -> [Posting] {
        for (account, delta) in [(from, -amount), (to, amount)] {
            if account == issuerAccountID {
                supply[token, default: 0] -= delta
            } else {
                let (balance, overflow) = balances[account, default: [:]][token, default: 0].addingReportingOverflow(delta)
                guard !overflow, balance >= 0 else { throw AuditProblem("balance of \(account) in \(token.rawValue) would be negative") }
                balances[account, default: [:]][token] = balance
            }
        }
        return [(from, token, -amount), (to, token, amount)]
    }

    /// Compares the replayed state with the stored balances, supply, accounts and keys.
    func compareState(with connection: SQLiteConnection) throws {
        var storedBalances: [String: [Token: Int64]] = [:]
        try connection.each("SELECT account_id, token, amount FROM balances") { row in
            if let token = Token(rawValue: row.text(1)), row.int(2) != 0 { storedBalances[row.text(0), default: [:]][token] = row.int(2) }
        }
        let replayed = balances.mapValues { $0.filter { $0.value != 0 } }.filter { !$0.value.isEmpty }
        for account in Set(storedBalances.keys).union(replayed.keys).sorted() where storedBalances[account] != replayed[account] {
            throw AuditProblem("balances table: \(account) holds \(storedBalances[account] ?? [:]), postings give \(replayed[account] ?? [:])")
        }
        var storedSupply: [Token: Int64] = [:]
        try connection.each("SELECT token, amount FROM supply") { row in
            if let token = Token(rawValue: row.text(0)) { storedSupply[token] = row.int(1) }
        }
        for token in Token.allCases where (storedSupply[token] ?? 0) != (supply[token] ?? 0) {
            throw AuditProblem("supply table: \(token.rawValue) is \(storedSupply[token] ?? 0), entries give \(supply[token] ?? 0)")
        }
        for token in Token.allCases {
            let holders = balances.values.reduce(Int64(0)) { $0 + ($1[token] ?? 0) }
            guard holders == (supply[token] ?? 0) else {
                throw AuditProblem("\(token.rawValue): supply \(supply[token] ?? 0) differs from the sum of balances \(holders)")
            }
        }
        try connection.each("SELECT id, jurisdiction, kyc_tier FROM accounts") { (row) throws(LedgerError) in
            guard let account = accounts[row.text(0)], account.jurisdiction == row.text(1), account.tier == Int(row.int(2)) else {
                throw LedgerError(.invariant, "accounts table: \(row.text(0)) differs from its signed opening")
            }
        }
        var storedRecords: [String] = []
        try connection.each("SELECT sequence, token, kind, reference, amount FROM reserve_records WHERE released_sequence IS NULL ORDER BY sequence") { row in
            storedRecords.append("\(row.int(0))/\(row.text(1))/\(row.text(2))/\(row.text(3))/\(row.int(4))")
        }
        let replayedRecords = reserveRecords.map { "\($0.sequence)/\($0.token.rawValue)/\($0.kind)/\($0.reference)/\($0.amount)" }
        guard storedRecords == replayedRecords else {
            throw AuditProblem("reserve_records table differs from the signed mint and redeem actions")
        }
        let storedFrozen = Set(try connection.query("SELECT account_id FROM frozen_accounts").map { $0.text(0) })
        guard storedFrozen == frozen else { throw AuditProblem("frozen_accounts table differs from the signed freeze and unfreeze actions") }
        for signed in signedRuleSets {
            let row = try connection.query("SELECT sha3, sequence FROM rule_sets WHERE version = ?", [.integer(signed.version)]).first
            guard row?.text(0) == signed.sha3Hex, row?.optionalInt(1) == signed.sequence else {
                throw AuditProblem("rule set version \(signed.version) stored differs from the set_rules action at sequence \(signed.sequence)")
            }
        }
        try connection.each("SELECT public_key, account_id, revoked_sequence IS NOT NULL FROM device_keys") { (row) throws(LedgerError) in
            guard let key = keys[row.text(0)], key.account == row.text(1), key.revoked == (row.int(2) == 1) else {
                throw LedgerError(.invariant, "device_keys table: \(row.text(0)) differs from the signed operator actions")
            }
        }
    }
}
