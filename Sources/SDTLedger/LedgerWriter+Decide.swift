import SDTCore
import SDTCrypto
import SDTRules

/// The checks, in their documented order. They only read; the writes follow in `LedgerWriter+Write`.
extension LedgerWriter {
    /// The decision on a transfer: an outcome code, and the rules' decision when the rules were asked.
    struct TransferDecision {
        let code: OutcomeCode
        var rules: RuleDecision?
    }

    /// `applyRules: false` is for a held transfer an operator approved: the rules already spoke.
    func decide(_ transfer: Transfer, idExpired: Bool, applyRules: Bool = true, nowMilliseconds: Int64) throws(LedgerError) -> TransferDecision {
        if idExpired { return TransferDecision(code: .transactionIDExpired) }
        guard let sender = try account(transfer.from) else { return TransferDecision(code: .accountUnknown) }
        guard let key = try deviceKey(transfer.publicKeyHex), key.account == transfer.from else { return TransferDecision(code: .keyNotRegistered) }
        guard !key.revoked else { return TransferDecision(code: .keyRevoked) }
        guard let receiver = try account(transfer.to) else { return TransferDecision(code: .receiverUnknown) }
        guard transfer.from != transfer.to else { return TransferDecision(code: .sameAccount) }
        guard policy.tokensOffered.contains(transfer.token) else { return TransferDecision(code: .tokenNotOffered) }
        guard try !isFrozen(transfer.from), try !isFrozen(transfer.to) else { return TransferDecision(code: .accountFrozen) }
        guard try available(transfer.from, transfer.token) >= transfer.amount.minorUnits else { return TransferDecision(code: .insufficientFunds) }
        let (_, overflow) = try balance(transfer.to, transfer.token).addingReportingOverflow(transfer.amount.minorUnits)
        guard !overflow else { return TransferDecision(code: .balanceOverflow) }
        guard applyRules, let ruleSet else { return TransferDecision(code: .accepted) }
        let facts = TransferFacts(
            from: transfer.from, to: transfer.to, token: transfer.token, amount: transfer.amount.minorUnits,
            senderJurisdiction: sender.jurisdiction, receiverJurisdiction: receiver.jurisdiction,
            senderKYCTier: sender.kycTier, receiverKYCTier: receiver.kycTier, nowMilliseconds: nowMilliseconds
        )
        let keepSince = nowMilliseconds - ruleSet.longestVelocityWindowMilliseconds
        let decision = try ruleSet.evaluate(facts) { (account, token, since) throws(LedgerError) in
            try outgoing(account, token, since: since, keepSince: keepSince)
        }
        let code: OutcomeCode = switch decision.verdict {
        case .accept: .accepted
        case .hold: .heldForReview
        case .reject: .ruleRejected
        }
        return TransferDecision(code: code, rules: decision)
    }

    func decide(_ action: OperatorAction, attachment: [UInt8], nowMilliseconds: Int64) throws(LedgerError) -> OutcomeCode {
        switch action.kind {
        case .setRules: return try decideRules(action, text: attachment)
        case .review: return try decideReview(action, nowMilliseconds: nowMilliseconds)
        default: break
        }
        guard let account = try account(action.account) else {
            guard action.kind == .openAccount else { return .accountUnknown }
            return try deviceKey(action[.deviceKey] ?? "") == nil ? .accepted : .deviceKeyInUse
        }
        switch action.kind {
        case .openAccount:
            return .accountExists
        case .addKey:
            return try deviceKey(action[.deviceKey] ?? "") == nil ? .accepted : .deviceKeyInUse
        case .revokeKey:
            guard let key = try deviceKey(action[.deviceKey] ?? ""), key.account == action.account, !key.revoked else {
                return .deviceKeyUnknown
            }
            return .accepted
        case .setKYCTier:
            return account.kycTier == Int(action.integer(.kycTier) ?? -1) ? .kycTierUnchanged : .accepted
        case .freeze:
            return try isFrozen(action.account) ? .alreadyFrozen : .accepted
        case .unfreeze:
            return try isFrozen(action.account) ? .accepted : .notFrozen
        case .mintUSD, .redeemUSD, .mintGold, .redeemGold:
            return try decideReserve(action)
        case .clawback:
            guard let token = action.token, let amount = action.amount else { preconditionFailure("a validated clawback has a token and an amount") }
            guard let treasury = policy.treasuryAccount, action[.treasury] == treasury, try accountExists(treasury),
                  treasury != action.account
            else { return .treasuryUnknown }
            guard try available(action.account, token) >= amount.minorUnits else { return .insufficientFunds }
            let (_, overflow) = try balance(treasury, token).addingReportingOverflow(amount.minorUnits)
            return overflow ? .balanceOverflow : .accepted
        case .setRules, .review:
            preconditionFailure("decided above")
        }
    }

    /// Mints need a reserve record that is new; redemptions a balance, and for gold a bar in the vault
    /// whose fine weight is the amount.
    private func decideReserve(_ action: OperatorAction) throws(LedgerError) -> OutcomeCode {
        guard let token = action.kind.reserveToken, let amount = action.amount?.minorUnits else {
            preconditionFailure("a validated \(action.kind.rawValue) has a token and an amount")
        }
        guard policy.tokensOffered.contains(token) else { return .tokenNotOffered }
        let record = Self.reserveRecord(action)
        if action.kind == .redeemGold {
            guard let fineWeight = try heldBarFineWeight(record.reference) else { return .barUnknown }
            guard fineWeight == amount else { return .barWeightMismatch }
        } else {
            let used = try !connection.query(
                "SELECT 1 FROM reserve_records WHERE token = ? AND kind = ? AND reference = ? AND released_sequence IS NULL",
                [.text(token.rawValue), .text(record.kind), .text(record.reference)]
            ).isEmpty
            guard !used else { return .reserveReferenceUsed }
        }
        switch action.kind {
        case .redeemUSD, .redeemGold:
            return try available(action.account, token) >= amount ? .accepted : .insufficientFunds
        default:
            let (_, overflow) = try supply(token).addingReportingOverflow(amount)
            return overflow ? .balanceOverflow : .accepted
        }
    }

    /// The reserve record a reserve action creates (or, for `redeem_gold`, releases). USD references
    /// are unique per bank and direction; a bar is identified by its serial.
    static func reserveRecord(_ action: OperatorAction) -> (kind: String, reference: String) {
        switch action.kind {
        case .mintUSD: ("deposit", "\(action[.bank] ?? "")/\(action[.reference] ?? "")")
        case .redeemUSD: ("withdrawal", "\(action[.bank] ?? "")/\(action[.reference] ?? "")")
        default: ("bar", action[.barSerial] ?? "")
        }
    }

    private func heldBarFineWeight(_ serial: String) throws(LedgerError) -> Int64? {
        try connection.query(
            "SELECT amount FROM reserve_records WHERE token = 'GOLD' AND kind = 'bar' AND reference = ? AND released_sequence IS NULL",
            [.text(serial)]
        ).first?.int(0)
    }

    private func decideRules(_ action: OperatorAction, text: [UInt8]) throws(LedgerError) -> OutcomeCode {
        guard Hex.encode(SHA3.hash256(text)) == action[.rulesSHA3] else { return .rulesHashMismatch }
        guard let string = String(validating: text, as: UTF8.self), let candidate = try? RuleSet(text: string),
              candidate.region == policy.region, candidate.version == action.integer(.rulesVersion)
        else { return .rulesInvalid }
        return candidate.version > (ruleSet?.version ?? 0) ? .accepted : .rulesVersionNotNewer
    }

    private func decideReview(_ action: OperatorAction, nowMilliseconds: Int64) throws(LedgerError) -> OutcomeCode {
        guard let held = try openHold(action[.transactionID] ?? "") else { return .holdUnknown }
        guard action[.decision] == "approve" else { return .accepted }
        // An approved transfer must still pass every ledger check at the time of approval.
        return try decide(held.transfer, idExpired: false, applyRules: false, nowMilliseconds: nowMilliseconds).code
    }

    func openHold(_ transactionID: String) throws(LedgerError) -> (transfer: Transfer, signature: [UInt8])? {
        guard let row = try connection.query(
            "SELECT signing_bytes, signature FROM holds WHERE transaction_id = ? AND review_sequence IS NULL", [.text(transactionID)]
        ).first else { return nil }
        do {
            return (try Transfer(signingBytes: row.blob(0)), row.blob(1))
        } catch {
            throw LedgerError(.invariant, "held transfer \(transactionID) does not parse: \(error)")
        }
    }
}
