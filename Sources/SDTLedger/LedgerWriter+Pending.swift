import SDTCore

/// Two-phase transfers. A pending transfer passes every check a transfer does, rules included, then
/// reserves the payer's funds instead of moving them: the payer's balance stays, but what is reserved
/// is not available to any other debit. A post (signed by the payer) moves all or part of it; a void
/// (signed by the payee) or the timeout releases the reservation. No posting is made until the post,
/// so supply still equals the sum of balances, and an expiry needs no entry: it follows from the
/// signed timeout and the time the pending transfer was applied.
extension LedgerWriter {
    struct PendingTransfer {
        let from: String
        let to: String
        let token: Token
        let amount: Int64
        let expiresAtMilliseconds: Int64
        let state: String
    }

    func pendingTransfer(_ transactionID: String) throws(LedgerError) -> PendingTransfer? {
        try connection.query(
            "SELECT from_account, to_account, token, amount, expires_at_ms, state FROM pending_transfers WHERE transaction_id = ?",
            [.text(transactionID)]
        ).first.flatMap { row in
            Token(rawValue: row.text(2)).map {
                PendingTransfer(from: row.text(0), to: row.text(1), token: $0, amount: row.int(3), expiresAtMilliseconds: row.int(4), state: row.text(5))
            }
        }
    }

    /// Marks every open pending transfer whose timeout has come as expired and releases its funds.
    /// Runs before each batch, inside its transaction, and when the applier is idle.
    func expirePendingTransfers(nowMilliseconds: Int64) throws(LedgerError) {
        if working.pendingExpiryNext == nil {
            working.pendingExpiryNext = .some(
                try connection.query("SELECT MIN(expires_at_ms) FROM pending_transfers WHERE state = 'pending'").first?.optionalInt(0)
            )
        }
        guard let next = working.pendingExpiryNext ?? nil, next <= nowMilliseconds else { return }
        let due = try connection.query(
            "SELECT from_account, token, amount FROM pending_transfers WHERE state = 'pending' AND expires_at_ms <= ?",
            [.integer(nowMilliseconds)]
        )
        for row in due {
            guard let token = Token(rawValue: row.text(1)) else { continue }
            let reserved = try reserved(row.text(0), token)
            working.reserved[.init(account: row.text(0), token: token)] = reserved - row.int(2)
        }
        try connection.query(
            "UPDATE pending_transfers SET state = 'expired', resolved_at_ms = ? WHERE state = 'pending' AND expires_at_ms <= ?",
            [.integer(nowMilliseconds), .integer(nowMilliseconds)]
        )
        working.pendingExpiryNext = nil
    }

    /// Expires what is due in a transaction of its own, for when no batch comes to do it.
    public func expireDue(nowMilliseconds: Int64) throws(LedgerError) {
        if let next = working.pendingExpiryNext, next.map({ $0 > nowMilliseconds }) ?? true { return }
        do {
            try connection.transaction { () throws(LedgerError) in try expirePendingTransfers(nowMilliseconds: nowMilliseconds) }
        } catch {
            working.reset()
            throw error
        }
    }

    /// The checks on a post or a void, in their documented order.
    func decide(_ resolution: PendingResolution, idExpired: Bool, nowMilliseconds: Int64) throws(LedgerError) -> OutcomeCode {
        if idExpired { return .transactionIDExpired }
        guard let pending = try pendingTransfer(resolution.pendingID) else { return .pendingUnknown }
        switch pending.state {
        case "posted", "voided": return .pendingResolved
        case "pending" where pending.expiresAtMilliseconds > nowMilliseconds: break
        default: return .pendingExpired
        }
        let party = switch resolution.decision {
        case .post: pending.from
        case .void: pending.to
        }
        guard resolution.account == party else { return .notPendingParty }
        guard let key = try deviceKey(resolution.publicKeyHex), key.account == party else { return .keyNotRegistered }
        guard !key.revoked else { return .keyRevoked }
        guard case .post(let amount) = resolution.decision else { return .accepted }
        guard amount.minorUnits <= pending.amount else { return .postExceedsPending }
        guard try !isFrozen(pending.from), try !isFrozen(pending.to) else { return .accountFrozen }
        // Reserved funds cannot have been spent: every other debit checks the available balance.
        let payerBalance = try balance(pending.from, pending.token)
        guard payerBalance >= pending.amount else {
            throw LedgerError(.invariant, "pending \(resolution.pendingID) reserves \(pending.amount) but \(pending.from) holds \(payerBalance)")
        }
        let (_, overflow) = try balance(pending.to, pending.token).addingReportingOverflow(amount.minorUnits)
        return overflow ? .balanceOverflow : .accepted
    }

    func write(_ resolution: PendingResolution, sequence: Int64, nowMilliseconds: Int64) throws(LedgerError) {
        guard let pending = try pendingTransfer(resolution.pendingID), pending.state == "pending" else {
            preconditionFailure("a decided resolution of \(resolution.pendingID) has an open pending transfer")
        }
        let key = WorkingSet.BalanceKey(account: pending.from, token: pending.token)
        working.reserved[key] = try reserved(pending.from, pending.token) - pending.amount
        switch resolution.decision {
        case .post(let amount):
            try post(sequence: sequence, token: pending.token, amount: amount.minorUnits, from: pending.from, to: pending.to)
            try connection.query(
                "UPDATE pending_transfers SET state = 'posted', posted_amount = ?, resolved_sequence = ?, resolved_at_ms = ? WHERE transaction_id = ?",
                [.integer(amount.minorUnits), .integer(sequence), .integer(nowMilliseconds), .text(resolution.pendingID)]
            )
        case .void:
            try connection.query(
                "UPDATE pending_transfers SET state = 'voided', resolved_sequence = ?, resolved_at_ms = ? WHERE transaction_id = ?",
                [.integer(sequence), .integer(nowMilliseconds), .text(resolution.pendingID)]
            )
        }
        working.pendingExpiryNext = nil
    }

    /// Records a pending transfer and reserves its funds.
    func writePending(_ transfer: Transfer, sequence: Int64, nowMilliseconds: Int64) throws(LedgerError) {
        guard let timeout = transfer.pendingTimeoutSeconds else { preconditionFailure("\(transfer.transactionID) is not pending") }
        let expiresAt = nowMilliseconds + timeout * 1000
        let reservedBefore = try reserved(transfer.from, transfer.token)
        try connection.query(
            """
            INSERT INTO pending_transfers (transaction_id, sequence, from_account, to_account, token, amount, created_at_ms, expires_at_ms, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
            """,
            [.text(transfer.transactionID), .integer(sequence), .text(transfer.from), .text(transfer.to), .text(transfer.token.rawValue),
             .integer(transfer.amount.minorUnits), .integer(nowMilliseconds), .integer(expiresAt)]
        )
        let key = WorkingSet.BalanceKey(account: transfer.from, token: transfer.token)
        working.reserved[key] = reservedBefore + transfer.amount.minorUnits
        if case .some(let next) = working.pendingExpiryNext {
            working.pendingExpiryNext = .some(min(next ?? expiresAt, expiresAt))
        }
    }
}
