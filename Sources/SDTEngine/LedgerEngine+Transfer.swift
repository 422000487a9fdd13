import SDTCore
import SDTRules

/// A transfer's checks on the ledger's state, in `CheckOrder.transfer`'s order. The dry run asks the
/// same ladder, without the signer checks; a held transfer an operator approves asks it without the rules.
extension LedgerEngine {
    /// A transfer as the ladder sees it. A dry run has no signer, and is not told about balances: it is
    /// public, and must not tell anyone whether an account holds an amount.
    public struct TransferQuestion: Sendable {
        public let from: String
        public let to: String
        /// The payee's region for a payment to another region.
        public let toRegion: String?
        public let token: Token
        public let amount: Int64
        /// The device key that signed; nil for a dry run, which skips the signer and funds checks.
        public let signerKeyHex: String?

        /// A dry run's question.
        public init(from: String, to: String, token: Token, amount: Int64) {
            self.init(from: from, to: to, toRegion: nil, token: token, amount: amount, signerKeyHex: nil)
        }

        init(from: String, to: String, toRegion: String?, token: Token, amount: Int64, signerKeyHex: String?) {
            self.from = from
            self.to = to
            self.toRegion = toRegion
            self.token = token
            self.amount = amount
            self.signerKeyHex = signerKeyHex
        }

        init(_ transfer: Transfer) {
            self.init(from: transfer.from, to: transfer.to, toRegion: transfer.toRegion, token: transfer.token,
                      amount: transfer.amount.minorUnits, signerKeyHex: transfer.publicKeyHex)
        }

        var isDryRun: Bool { signerKeyHex == nil }
    }

    /// The ladder's answer: the first check that failed (or `accepted`, `held_for_review`), and the
    /// rules' decision when the rules were asked.
    public struct TransferCheck: Sendable {
        public let code: OutcomeCode
        public let rules: RuleDecision?
    }

    /// Checks a transfer against the state. `applyRules: false` is for a held transfer an operator
    /// approved: the rules already spoke.
    public func check<State: LedgerState>(_ question: TransferQuestion, state: State, now: Int64, applyRules: Bool = true)
        throws(LedgerError) -> TransferCheck {
        func refused(_ code: OutcomeCode) -> TransferCheck { TransferCheck(code: code, rules: nil) }
        guard let sender = try state.account(question.from) else { return refused(.accountUnknown) }
        if let signer = question.signerKeyHex {
            guard let key = try state.deviceKey(signer), key.account == question.from else { return refused(.keyNotRegistered) }
            guard !key.revoked else { return refused(.keyRevoked) }
        }
        if let region = question.toRegion {
            return try checkOutgoing(question, to: region, sender: sender, state: state, now: now, applyRules: applyRules)
        }
        guard let receiver = try state.account(question.to) else { return refused(.receiverUnknown) }
        guard question.from != question.to else { return refused(.sameAccount) }
        guard policy.tokensOffered.contains(question.token) else { return refused(.tokenNotOffered) }
        guard !sender.frozen, !receiver.frozen else { return refused(.accountFrozen) }
        if !question.isDryRun {
            let payer = BalanceKey(account: question.from, token: question.token)
            guard try available(payer, state: state) >= question.amount else { return refused(.insufficientFunds) }
            let payee = BalanceKey(account: question.to, token: question.token)
            guard !(try state.balance(payee).addingReportingOverflow(question.amount).overflow) else {
                return refused(.balanceOverflow)
            }
        }
        guard applyRules, let ruleSet = try state.ruleSet() else { return refused(.accepted) }
        let decision = try evaluate(ruleSet, question, sender: sender, receiver: receiver, state: state, now: now)
        let code: OutcomeCode = switch decision.verdict {
        case .accept: .accepted
        case .hold: .heldForReview
        case .reject: .ruleRejected
        }
        return TransferCheck(code: code, rules: decision)
    }

    func evaluate<State: LedgerState>(
        _ ruleSet: RuleSet, _ question: TransferQuestion, sender: AccountState, receiver: AccountState, state: State, now: Int64
    ) throws(LedgerError) -> RuleDecision {
        // A payee in another region is named with its region, so no rule on a local account matches it.
        let facts = TransferFacts(
            from: question.from, to: question.toRegion.map { "\($0):\(question.to)" } ?? question.to,
            token: question.token, amount: question.amount,
            senderJurisdiction: sender.jurisdiction, receiverJurisdiction: receiver.jurisdiction,
            senderKYCTier: sender.kycTier, receiverKYCTier: receiver.kycTier, nowMilliseconds: now
        )
        let retainingSince = now - ruleSet.longestVelocityWindowMilliseconds
        return try ruleSet.evaluate(facts) { (account, token, since) throws(LedgerError) in
            let totals = try state.outgoing(BalanceKey(account: account, token: token), since: since, retainingSince: retainingSince)
            return (totals.amount, totals.count)
        }
    }

    /// What an account may still spend of a token: its balance less what pending transfers reserve.
    func available<State: LedgerState>(_ key: BalanceKey, state: State) throws(LedgerError) -> Int64 {
        try state.balance(key) - state.reserved(key)
    }

    func decideTransfer<State: LedgerState>(
        _ transfer: Transfer, signature: [UInt8], submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        let check = try check(TransferQuestion(transfer), state: state, now: now)
        switch check.code {
        case .accepted:
            let sequence = try state.nextSequence()
            var decision = try accepted(
                submission, effects: transferEffects(transfer, sequence: sequence, flags: check.rules, now: now), state: state, now: now
            )
            decision.changes += try outboundChanges(transfer, sequence: sequence + 1, state: state, now: now)
            return decision
        case .heldForReview:
            guard let rules = check.rules else { preconditionFailure("only a rule holds a transfer") }
            let hold = HoldState(transfer: transfer, signature: signature, ruleID: rules.ruleID ?? "", ruleSetVersion: rules.ruleSetVersion)
            return Decision(outcomes: [answer(submission, .heldForReview, rules: rules)],
                            changes: [.held(NewHold(hold: hold, heldAtMilliseconds: now))])
        default:
            return rejected(submission, check.code, rules: check.rules, now: now)
        }
    }

    /// An applied transfer moves the funds, or for a pending one reserves them; then the rules' flags.
    func transferEffects(_ transfer: Transfer, sequence: Int64, flags: RuleDecision?, now: Int64) -> [Effect] {
        var effects: [Effect]
        if let timeout = transfer.pendingTimeoutSeconds {
            effects = [.pendingOpened(PendingState(
                transactionID: transfer.transactionID, sequence: sequence, from: transfer.from, to: transfer.to,
                token: transfer.token, amount: transfer.amount.minorUnits, createdAtMilliseconds: now,
                expiresAtMilliseconds: now + timeout * 1000, phase: .pending
            ))]
        } else {
            // A payment to another region goes to the in-transit account for that region until it decides.
            let payee = transfer.toRegion.map(inTransitAccountID) ?? transfer.to
            effects = [.posting(Posting(token: transfer.token, amount: transfer.amount.minorUnits, from: transfer.from, to: payee))]
        }
        for flag in flags?.flags ?? [] {
            // The rule that raised the flag: the first matching rule that carries it.
            let ruleID = flags?.flagRules[flag] ?? ""
            effects.append(.flagRaised(flag: flag, ruleID: ruleID))
        }
        return effects
    }

    /// What the ledger's checks and rules would decide on a transfer now, without the signer and funds
    /// checks; changes nothing.
    public func dryRun<State: LedgerState>(
        from: String, to: String, token: Token, amount: Int64, state: State, now: Int64
    ) throws(LedgerError) -> TransferCheck {
        try check(TransferQuestion(from: from, to: to, token: token, amount: amount), state: state, now: now)
    }
}

// MARK: - Posts and voids

extension LedgerEngine {
    /// The checks on a post or a void, in `CheckOrder.resolution`'s order.
    func decideResolution<State: LedgerState>(
        _ resolution: PendingResolution, submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        func refused(_ code: OutcomeCode) -> Decision { rejected(submission, code, now: now) }
        guard let pending = try state.pendingTransfer(resolution.pendingID) else { return refused(.pendingUnknown) }
        switch pending.phase {
        case .posted, .voided: return refused(.pendingResolved)
        case .pending where pending.expiresAtMilliseconds > now: break
        case .pending, .expired: return refused(.pendingExpired)
        }
        let party = switch resolution.decision {
        case .post: pending.from
        case .void: pending.to
        }
        guard resolution.account == party else { return refused(.notPendingParty) }
        guard let key = try state.deviceKey(resolution.publicKeyHex), key.account == party else { return refused(.keyNotRegistered) }
        guard !key.revoked else { return refused(.keyRevoked) }
        guard case .post(let amount) = resolution.decision else {
            return try accepted(submission, effects: [.pendingVoided(transactionID: pending.transactionID)], state: state, now: now)
        }
        guard amount.minorUnits <= pending.amount else { return refused(.postExceedsPending) }
        guard let payer = try state.account(pending.from), let payee = try state.account(pending.to), !payer.frozen, !payee.frozen else {
            return refused(.accountFrozen)
        }
        // Reserved funds cannot have been spent: every other debit checks the available balance.
        let payerBalance = try state.balance(BalanceKey(account: pending.from, token: pending.token))
        guard payerBalance >= pending.amount else {
            throw LedgerError(.invariant, "pending \(pending.transactionID) reserves \(pending.amount) but \(pending.from) holds \(payerBalance)")
        }
        let payeeBalance = try state.balance(BalanceKey(account: pending.to, token: pending.token))
        guard !payeeBalance.addingReportingOverflow(amount.minorUnits).overflow else { return refused(.balanceOverflow) }
        let posting = Posting(token: pending.token, amount: amount.minorUnits, from: pending.from, to: pending.to)
        return try accepted(submission, effects: [.pendingPosted(transactionID: pending.transactionID, amount: amount.minorUnits),
                                                  .posting(posting)], state: state, now: now)
    }
}
