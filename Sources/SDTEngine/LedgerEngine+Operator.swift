import SDTCore
import SDTRules

/// Operator actions, decided on their typed command, in `CheckOrder.operatorAction`'s order.
extension LedgerEngine {
    func decideOperator<State: LedgerState>(
        _ action: OperatorAction, attachment: [UInt8], submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        func refused(_ code: OutcomeCode) -> Decision { rejected(submission, code, now: now) }
        func accept(_ effects: [Effect]) throws(LedgerError) -> Decision {
            try accepted(submission, effects: effects, state: state, now: now)
        }
        let command = action.command
        switch command {
        case .setRules(let version, let sha3Hex, _):
            return try decideRules(version: version, sha3Hex: sha3Hex, text: attachment, submission: submission, state: state, now: now)
        case .review(let transactionID, let approve, _):
            return try decideReview(transactionID, approve: approve, submission: submission, state: state, now: now)
        default:
            break
        }
        guard let id = command.account else { preconditionFailure("\(action.kind.rawValue) names an account") }
        guard let account = try state.account(id) else {
            guard case .openAccount(_, let jurisdiction, let tier, let deviceKey) = command else { return refused(.accountUnknown) }
            guard try state.deviceKey(deviceKey) == nil else { return refused(.deviceKeyInUse) }
            let opened = AccountState(jurisdiction: jurisdiction, kycTier: tier, frozen: false)
            return try accept([.accountOpened(account: id, state: opened, holderData: attachment), .accountEvent(account: id),
                               .keyAdded(publicKeyHex: deviceKey, account: id)])
        }
        let event = Effect.accountEvent(account: id)
        switch command {
        case .openAccount:
            return refused(.accountExists)
        case .addKey(_, let deviceKey):
            guard try state.deviceKey(deviceKey) == nil else { return refused(.deviceKeyInUse) }
            return try accept([event, .keyAdded(publicKeyHex: deviceKey, account: id)])
        case .revokeKey(_, let deviceKey):
            guard let key = try state.deviceKey(deviceKey), key.account == id, !key.revoked else { return refused(.deviceKeyUnknown) }
            return try accept([event, .keyRevoked(publicKeyHex: deviceKey)])
        case .setKYCTier(_, let tier, _):
            guard account.kycTier != tier else { return refused(.kycTierUnchanged) }
            return try accept([event, .kycTierSet(account: id, kycTier: tier)])
        case .freeze:
            guard !account.frozen else { return refused(.alreadyFrozen) }
            return try accept([event, .frozen(account: id)])
        case .unfreeze:
            guard account.frozen else { return refused(.notFrozen) }
            return try accept([event, .unfrozen(account: id)])
        case .mintUSD, .redeemUSD, .mintGold, .redeemGold:
            let reserve = try decideReserve(command, account: id, state: state)
            guard let effects = reserve.effects else { return refused(reserve.code) }
            return try accept([event] + effects)
        case .clawback(let clawback):
            guard let treasury = policy.treasuryAccount, clawback.treasury == treasury, try state.account(treasury) != nil,
                  treasury != id
            else { return refused(.treasuryUnknown) }
            let amount = clawback.amount.minorUnits
            guard try available(BalanceKey(account: id, token: clawback.token), state: state) >= amount else {
                return refused(.insufficientFunds)
            }
            let treasuryBalance = try state.balance(BalanceKey(account: treasury, token: clawback.token))
            guard !treasuryBalance.addingReportingOverflow(amount).overflow else { return refused(.balanceOverflow) }
            return try accept([event, .posting(Posting(token: clawback.token, amount: amount, from: id, to: treasury))])
        case .setRules, .review:
            preconditionFailure("decided above")
        }
    }

    /// Mints need a reserve record that is new; redemptions a balance, and for gold a bar in the vault
    /// whose fine weight is the amount. Returns the effects, or the code that refuses the action.
    private func decideReserve<State: LedgerState>(_ command: OperatorCommand, account: String, state: State) throws(LedgerError)
        -> (code: OutcomeCode, effects: [Effect]?) {
        let (key, amount, minting): (ReserveKey, Int64, Bool) = switch command {
        case .mintUSD(let deposit):
            (ReserveKey(token: .usd, kind: .deposit, reference: "\(deposit.bank)/\(deposit.reference)"), deposit.amount.minorUnits, true)
        case .redeemUSD(let withdrawal):
            (ReserveKey(token: .usd, kind: .withdrawal, reference: "\(withdrawal.bank)/\(withdrawal.reference)"),
             withdrawal.amount.minorUnits, false)
        case .mintGold(let bar): (ReserveKey(token: .gold, kind: .bar, reference: bar.serial), bar.amount.minorUnits, true)
        case .redeemGold(_, let amount, let serial): (ReserveKey(token: .gold, kind: .bar, reference: serial), amount.minorUnits, false)
        default: preconditionFailure("not a reserve action: \(command)")
        }
        guard policy.tokensOffered.contains(key.token) else { return (.tokenNotOffered, nil) }
        let recorded = try state.reserveRecord(key)
        let record: Effect
        if case .redeemGold = command {
            guard let fineWeight = recorded else { return (.barUnknown, nil) }
            guard fineWeight == amount else { return (.barWeightMismatch, nil) }
            record = .reserveReleased(key)
        } else {
            guard recorded == nil else { return (.reserveReferenceUsed, nil) }
            record = .reserveRecorded(key, amount: amount)
        }
        if minting {
            guard !(try state.supply(key.token).addingReportingOverflow(amount).overflow) else { return (.balanceOverflow, nil) }
            return (.accepted, [record, .posting(Posting(token: key.token, amount: amount, from: issuerAccountID, to: account))])
        }
        guard try available(BalanceKey(account: account, token: key.token), state: state) >= amount else {
            return (.insufficientFunds, nil)
        }
        return (.accepted, [record, .posting(Posting(token: key.token, amount: amount, from: account, to: issuerAccountID))])
    }

    private func decideRules<State: LedgerState>(
        version: Int64, sha3Hex: String, text: [UInt8], submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        guard RuleSet.sha3Hex(of: text) == sha3Hex else { return rejected(submission, .rulesHashMismatch, now: now) }
        guard let string = String(validating: text, as: UTF8.self), let candidate = try? RuleSet(text: string),
              candidate.region == policy.region, candidate.version == version
        else { return rejected(submission, .rulesInvalid, now: now) }
        guard candidate.version > (try state.ruleSet()?.version ?? 0) else { return rejected(submission, .rulesVersionNotNewer, now: now) }
        return try accepted(submission, effects: [.ruleSetInstalled(candidate)], state: state, now: now)
    }

    /// A review decides a held transfer. An approval applies it right after the review, at the next
    /// sequence, if it still passes every ledger check (the rules already spoke); if not, the review is
    /// refused with that check's code and the transfer stays held. A rejection records the transfer's
    /// `review_rejected`.
    private func decideReview<State: LedgerState>(
        _ transactionID: String, approve: Bool, submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        guard let held = try state.openHold(transactionID) else { return rejected(submission, .holdUnknown, now: now) }
        let heldSubmission = Submission.transfer(held.transfer, signature: held.signature)
        let reviewed: [Effect] = [.holdReviewed(transactionID: transactionID)]
        guard approve else {
            var decision = try accepted(submission, effects: reviewed, state: state, now: now)
            let refusal = rejected(heldSubmission, .reviewRejected, now: now)
            decision.changes += refusal.changes
            decision.consequences = [Consequence(outcome: refusal.outcomes[0], submission: heldSubmission)]
            return decision
        }
        let question = TransferQuestion(held.transfer)
        let check = try check(question, state: state, now: now, applyRules: false)
        guard check.code == .accepted else { return rejected(submission, check.code, now: now) }
        // The flags its rules raise (a currency transaction report, say) are recorded as for any transfer.
        var flags: RuleDecision?
        let receiver = if let region = question.toRegion { Self.remoteParty(region) } else { try state.account(question.to) }
        if let ruleSet = try state.ruleSet(), let sender = try state.account(question.from), let receiver {
            flags = try evaluate(ruleSet, question, sender: sender, receiver: receiver, state: state, now: now)
        }
        var decision = try accepted(submission, effects: reviewed, state: state, now: now)
        let sequence = try state.nextSequence() + 1
        let entry = AppliedEntry(
            sequence: sequence, submission: heldSubmission, appliedAtMilliseconds: now,
            effects: transferEffects(held.transfer, sequence: sequence, flags: flags, now: now)
        )
        decision.changes.append(.applied(entry))
        decision.changes += try outboundChanges(held.transfer, sequence: sequence + 1, state: state, now: now)
        decision.consequences = [Consequence(outcome: answer(heldSubmission, .accepted, sequence: sequence), submission: heldSubmission)]
        return decision
    }
}
