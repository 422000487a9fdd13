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
    var reserveReferences: Set<String> = []

    init(operatorKeys: Set<String>?) { self.operatorKeys = operatorKeys }

    /// Checks the entry's signature and effects, applies it, and returns the postings it must have.
    mutating func apply(
        kind: String, entryID: String, signingBytes: [UInt8], publicKeyHex: String, signature: [UInt8]
    ) throws(AuditProblem) -> [Posting] {
        guard let publicKey = Hex.decode(publicKeyHex),
              Ed25519.verify(signature: signature, message: signingBytes, publicKey: publicKey)
        else { throw AuditProblem("signature does not verify") }
        switch kind {
        case EntryKind.transfer.rawValue:
            guard let transfer = try? Transfer(signingBytes: signingBytes) else { throw AuditProblem("signed transfer does not parse") }
            guard transfer.transactionID == entryID, transfer.publicKeyHex == publicKeyHex else {
                throw AuditProblem("stored id or key differs from the signed record")
            }
            return try apply(transfer)
        case EntryKind.operatorAction.rawValue:
            guard let action = try? OperatorAction(signingBytes: signingBytes) else {
                throw AuditProblem("signed operator action does not parse")
            }
            guard action.requestID == entryID, action.operatorKeyHex == publicKeyHex else {
                throw AuditProblem("stored id or key differs from the signed record")
            }
            if let operatorKeys, !operatorKeys.contains(action.operatorKeyHex) {
                throw AuditProblem("operator key \(action.operatorKeyHex) is not in the region configuration")
            }
            return try apply(action)
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
        return try move(transfer.token, transfer.amount.minorUnits, from: transfer.from, to: transfer.to)
    }

    private mutating func apply(_ action: OperatorAction) throws(AuditProblem) -> [Posting] {
        let details = action.details
        let deviceKey = details.deviceKeyHex ?? ""
        switch action.kind {
        case .openAccount:
            guard accounts[action.account] == nil, keys[deviceKey] == nil else { throw AuditProblem("account or key opened twice") }
            accounts[action.account] = (details.jurisdiction ?? "", details.kycTier ?? 0)
            keys[deviceKey] = (action.account, false)
        case .addKey:
            guard accounts[action.account] != nil, keys[deviceKey] == nil else { throw AuditProblem("key added twice or to no account") }
            keys[deviceKey] = (action.account, false)
        case .revokeKey:
            guard keys[deviceKey]?.account == action.account, keys[deviceKey]?.revoked == false else {
                throw AuditProblem("revoked a key that was not active on the account")
            }
            keys[deviceKey]?.revoked = true
        case .mint, .redeem:
            guard let token = action.token, let amount = action.amount, accounts[action.account] != nil else {
                throw AuditProblem("mint or redeem without token, amount or account")
            }
            let reference = "\(token.rawValue)/\(action.kind.rawValue)/\(details.reserveReference ?? "")"
            guard reserveReferences.insert(reference).inserted else { throw AuditProblem("reserve reference used twice") }
            let minting = action.kind == .mint
            return try move(
                token, amount.minorUnits, from: minting ? issuerAccountID : action.account,
                to: minting ? action.account : issuerAccountID
            )
        }
        return []
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
        try connection.each("SELECT public_key, account_id, revoked_sequence IS NOT NULL FROM device_keys") { (row) throws(LedgerError) in
            guard let key = keys[row.text(0)], key.account == row.text(1), key.revoked == (row.int(2) == 1) else {
                throw LedgerError(.invariant, "device_keys table: \(row.text(0)) differs from the signed operator actions")
            }
        }
    }
}
