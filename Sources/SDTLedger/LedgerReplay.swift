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
    /// Pending transfers by transaction id, and the time the entry being replayed was applied.
    var pendings: [String: ReplayPending] = [:]
    /// Ids of the pending transfers each payer may still have open, per token: what `reserved` reads.
    var openPendingIDs: [String: [Token: [String]]] = [:]
    var appliedAtMilliseconds: Int64 = 0
    /// The linked group being replayed: its id, the leg expected next and the number of legs.
    var openLink: (id: String, next: Int, count: Int)?
    var linkIDs: Set<String> = []

    struct ReplayPending {
        let sequence: Int64
        let from: String
        let to: String
        let token: Token
        let amount: Int64
        let expiresAtMilliseconds: Int64
        /// nil while open (pending, or expired without an entry); the post's amount or 0 for a void,
        /// with the resolving entry's sequence.
        var resolution: (amount: Int64, sequence: Int64)?
    }

    init(operatorKeys: Set<String>?) { self.operatorKeys = operatorKeys }

    /// Checks the entry's signature and effects, applies it, and returns the postings it must have.
    mutating func apply(
        sequence: Int64, kind: String, entryID: String, signingBytes: [UInt8], publicKeyHex: String, signature: [UInt8],
        appliedAtMilliseconds: Int64
    ) throws(AuditProblem) -> [Posting] {
        let approved = approvedHold
        approvedHold = nil
        self.appliedAtMilliseconds = appliedAtMilliseconds
        guard let publicKey = Hex.decode(publicKeyHex),
              Ed25519.verify(signature: signature, message: signingBytes, publicKey: publicKey)
        else { throw AuditProblem("signature does not verify") }
        switch kind {
        case EntryKind.transfer.rawValue:
            guard let record = try? TransferEntryRecord(signingBytes: signingBytes) else { throw AuditProblem("signed transfer does not parse") }
            guard record.transactionID == entryID, record.publicKeyHex == publicKeyHex else {
                throw AuditProblem("stored id or key differs from the signed record")
            }
            if let approved, approved != entryID {
                throw AuditProblem("the review approving \(approved) is followed by another transfer")
            }
            switch record {
            case .transfer(let transfer):
                try followLink(transfer.link)
                return try apply(transfer, sequence: sequence)
            case .resolution(let resolution):
                try followLink(nil)
                return try apply(resolution, sequence: sequence)
            }
        case EntryKind.operatorAction.rawValue:
            try followLink(nil)
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

    private mutating func apply(_ transfer: Transfer, sequence: Int64) throws(AuditProblem) -> [Posting] {
        guard let key = keys[transfer.publicKeyHex], key.account == transfer.from, !key.revoked else {
            throw AuditProblem("signing key was not an active key of \(transfer.from)")
        }
        guard accounts[transfer.to] != nil, transfer.from != transfer.to else {
            throw AuditProblem("receiver \(transfer.to) did not exist or is the sender")
        }
        guard !frozen.contains(transfer.from), !frozen.contains(transfer.to) else {
            throw AuditProblem("a transfer between \(transfer.from) and \(transfer.to) while one of them was frozen")
        }
        guard let timeout = transfer.pendingTimeoutSeconds else {
            return try move(transfer.token, transfer.amount.minorUnits, from: transfer.from, to: transfer.to)
        }
        let available = balances[transfer.from, default: [:]][transfer.token, default: 0] - reserved(transfer.from, transfer.token)
        guard available >= transfer.amount.minorUnits else {
            throw AuditProblem("pending transfer reserves \(transfer.amount.minorUnits) but \(transfer.from) had \(available) available")
        }
        openPendingIDs[transfer.from, default: [:]][transfer.token, default: []].append(transfer.transactionID)
        pendings[transfer.transactionID] = ReplayPending(
            sequence: sequence, from: transfer.from, to: transfer.to, token: transfer.token, amount: transfer.amount.minorUnits,
            expiresAtMilliseconds: appliedAtMilliseconds + timeout * 1000
        )
        return []
    }

    private mutating func apply(_ resolution: PendingResolution, sequence: Int64) throws(AuditProblem) -> [Posting] {
        guard let pending = pendings[resolution.pendingID], pending.resolution == nil else {
            throw AuditProblem("resolves \(resolution.pendingID), which was not an open pending transfer")
        }
        guard appliedAtMilliseconds < pending.expiresAtMilliseconds else {
            throw AuditProblem("resolves \(resolution.pendingID) after it expired")
        }
        let party = if case .post = resolution.decision { pending.from } else { pending.to }
        guard resolution.account == party, let key = keys[resolution.publicKeyHex], key.account == party, !key.revoked else {
            throw AuditProblem("resolution of \(resolution.pendingID) is not signed by an active key of \(party)")
        }
        guard case .post(let amount) = resolution.decision else {
            pendings[resolution.pendingID]?.resolution = (0, sequence)
            return []
        }
        guard amount.minorUnits <= pending.amount, !frozen.contains(pending.from), !frozen.contains(pending.to) else {
            throw AuditProblem("post of \(resolution.pendingID) exceeds its amount or moves funds of a frozen account")
        }
        pendings[resolution.pendingID]?.resolution = (amount.minorUnits, sequence)
        return try move(pending.token, amount.minorUnits, from: pending.from, to: pending.to)
    }

    /// What open, unexpired pending transfers of `account` reserve of `token` at the entry's time.
    /// Resolved and expired ones are dropped from the payer's list as they are met.
    private mutating func reserved(_ account: String, _ token: Token) -> Int64 {
        guard let ids = openPendingIDs[account]?[token] else { return 0 }
        let open = ids.filter { id in
            pendings[id].map { $0.resolution == nil && $0.expiresAtMilliseconds > appliedAtMilliseconds } ?? false
        }
        openPendingIDs[account]?[token] = open.isEmpty ? nil : open
        return open.reduce(0) { $0 + (pendings[$1]?.amount ?? 0) }
    }

    /// The legs of a linked group sit next to each other, complete and in order; a link id is used once.
    private mutating func followLink(_ link: Transfer.Link?) throws(AuditProblem) {
        if let open = openLink {
            guard let link, link.id == open.id, link.index == open.next, link.count == open.count else {
                throw AuditProblem("linked group \(open.id) stops after \(open.next - 1) of its \(open.count) legs")
            }
            openLink = link.index == link.count ? nil : (link.id, link.index + 1, link.count)
            return
        }
        guard let link else { return }
        guard link.index == 1, linkIDs.insert(link.id).inserted else {
            throw AuditProblem("leg \(link.index)/\(link.count) of linked group \(link.id) does not start a new group")
        }
        openLink = (link.id, 2, link.count)
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
                guard delta > 0 || balance >= reserved(account, token) else {
                    throw AuditProblem("\(account) spent \(token.rawValue) that pending transfers reserved")
                }
                balances[account, default: [:]][token] = balance
            }
        }
        return [(from, token, -amount), (to, token, amount)]
    }

    /// Compares the replayed state with the stored balances, supply, accounts and keys.
    func compareState(with connection: SQLiteConnection) throws {
        if let open = openLink { throw AuditProblem("linked group \(open.id) stops after \(open.next - 1) of its \(open.count) legs") }
        try comparePendings(with: connection)
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

extension LedgerReplay {
    /// The pending transfers table against the signed pending transfers, posts and voids. An open
    /// one may be marked expired only once its timeout has passed.
    func comparePendings(with connection: SQLiteConnection) throws {
        var stored: [String] = []
        try connection.each(
            """
            SELECT transaction_id, sequence, from_account, to_account, token, amount, expires_at_ms, state, posted_amount,
                   resolved_sequence, resolved_at_ms FROM pending_transfers ORDER BY transaction_id
            """
        ) { (row) throws(LedgerError) in
            let state = row.text(7)
            if state == "expired", row.int(10) < row.int(6) {
                throw LedgerError(.invariant, "pending_transfers table: \(row.text(0)) marked expired before its timeout")
            }
            let resolution = switch state {
            case "posted": "\(row.int(8))@\(row.int(9))"
            case "voided": "0@\(row.int(9))"
            default: "open"
            }
            stored.append("\(row.text(0))/\(row.int(1))/\(row.text(2))/\(row.text(3))/\(row.text(4))/\(row.int(5))/\(row.int(6))/\(resolution)")
        }
        let replayed = pendings.sorted { $0.key < $1.key }.map { id, pending in
            let resolution = pending.resolution.map { "\($0.amount)@\($0.sequence)" } ?? "open"
            return "\(id)/\(pending.sequence)/\(pending.from)/\(pending.to)/\(pending.token.rawValue)/\(pending.amount)/\(pending.expiresAtMilliseconds)/\(resolution)"
        }
        guard stored == replayed else { throw AuditProblem("pending_transfers table differs from the signed pending transfers, posts and voids") }
    }
}
