import SDTCore
import SDTRules

/// Payments between regions, in the one check ladder. The payer's region decides its side with its
/// rules and records the outbound message; the payee's region decides its side with its own rules and
/// records its decision; the payer's region records that decision (an acknowledgement) and either
/// turns the in-transit amount into an obligation or refunds the payer. Each region's supply stays
/// equal to its reserves plus claims on other regions minus obligations to them.
extension LedgerEngine {
    /// A party in another region as this region's rules see it: its jurisdiction is its region code in
    /// capitals and its KYC tier is not known here, so it counts as 0 (a rule on the other party's tier
    /// applies to every payment across the border).
    static func remoteParty(_ region: String) -> AccountState {
        AccountState(jurisdiction: region.uppercased(), kycTier: 0, frozen: false)
    }

    /// The ladder of a transfer to another region, after the payer and signer checks (`CheckOrder.outgoing`).
    func checkOutgoing<State: LedgerState>(
        _ question: TransferQuestion, to region: String, sender: AccountState, state: State, now: Int64,
        applyRules: Bool
    ) throws(LedgerError) -> TransferCheck {
        func refused(_ code: OutcomeCode) -> TransferCheck { TransferCheck(code: code, rules: nil) }
        guard policy.counterparts.contains(region) else { return refused(.counterpartUnknown) }
        guard policy.tokensOffered.contains(question.token) else { return refused(.tokenNotOffered) }
        guard !sender.frozen else { return refused(.accountFrozen) }
        if !question.isDryRun {
            let payer = BalanceKey(account: question.from, token: question.token)
            guard try available(payer, state: state) >= question.amount else { return refused(.insufficientFunds) }
            let transit = BalanceKey(account: inTransitAccountID(region), token: question.token)
            guard !(try state.balance(transit).addingReportingOverflow(question.amount).overflow) else {
                return refused(.balanceOverflow)
            }
        }
        guard applyRules, let ruleSet = try state.ruleSet() else { return refused(.accepted) }
        let decision = try evaluate(
            ruleSet, question, sender: sender, receiver: Self.remoteParty(region), state: state, now: now)
        let code: OutcomeCode =
            switch decision.verdict {
            case .accept: .accepted
            case .hold: .heldForReview
            case .reject: .ruleRejected
            }
        return TransferCheck(code: code, rules: decision)
    }

    /// For an accepted transfer to another region: the outbound message, recorded at `sequence` right
    /// after the transfer. Nothing for a transfer inside the region.
    func outboundChanges<State: LedgerState>(
        _ transfer: Transfer, sequence: Int64, state: State, now: Int64
    )
        throws(LedgerError) -> [LedgerChange]
    {
        guard let region = transfer.toRegion else { return [] }
        guard let sender = try state.account(transfer.from) else {
            throw LedgerError(.invariant, "an accepted transfer's payer \(transfer.from) has no account")
        }
        let message = OutboundMessage(
            region: policy.region, counterpart: region, number: try state.interRegionLink(region).lastOutbound + 1,
            transactionID: transfer.transactionID, from: transfer.from, to: transfer.to, token: transfer.token,
            amount: transfer.amount, senderJurisdiction: sender.jurisdiction, senderKYCTier: sender.kycTier
        )
        let entry = AppliedEntry(
            sequence: sequence, submission: .interRegion(.outbound(message)), appliedAtMilliseconds: now,
            effects: [.outboundSent(message)])
        return [.applied(entry)]
    }

    /// An inter-region entry: a delivery from another region or an acknowledgement of one of ours.
    func decideInterRegion<State: LedgerState>(
        _ entry: InterRegionEntry, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        let submission = Submission.interRegion(entry)
        guard entry.region == policy.region else { return answered(submission, .regionMismatch) }
        switch entry {
        case .outbound, .incoming:
            return answered(submission, .interRegionRecordNotInput)
        case .delivery(let delivery):
            return try decideDelivery(delivery, submission: submission, state: state, now: now)
        case .acknowledgement(let acknowledgement):
            return try decideAcknowledgement(acknowledgement, submission: submission, state: state, now: now)
        }
    }

    /// A message from another region (`CheckOrder.delivery`). Already decided: the same answer, nothing
    /// recorded (the node answers the sender from the recorded decision). Not the next on its link:
    /// answered `message_out_of_order`, nothing recorded, so the earlier ones can still come. Otherwise
    /// this region's checks and rules decide, and the decision is recorded either way: a credit backed
    /// by a claim on the sender's region, or a refusal naming the check or rule. A rule that would hold
    /// the payment for review refuses it: a payment between regions does not wait on a person.
    func decideDelivery<State: LedgerState>(
        _ delivery: Delivery, submission: Submission, state: State, now: Int64
    )
        throws(LedgerError) -> Decision
    {
        let message = delivery.message
        guard policy.counterparts.contains(message.region) else { return answered(submission, .counterpartUnknown) }
        if let prior = try state.priorDecision(
            EntryKey(kind: .interRegion, entryID: submission.entryID), signingBytes: [])
        {
            return Decision(outcomes: [Self.outcome(of: prior.kind, for: submission)], changes: [])
        }
        guard message.number == (try state.interRegionLink(message.region).lastInbound) + 1 else {
            return answered(submission, .messageOutOfOrder)
        }
        let (verdict, rules) = try incomingVerdict(message, state: state, now: now)
        let key = PositionKey(counterpart: message.region, token: message.token)
        var effects: [Effect] = [.inboundDecided(counterpart: message.region, number: message.number)]
        if verdict == .credited {
            let amount = message.amount.minorUnits
            effects += [
                .posting(Posting(token: message.token, amount: amount, from: issuerAccountID, to: message.to)),
                .claimChanged(key, delta: amount),
            ]
            for flag in rules?.flags ?? [] {
                effects.append(.flagRaised(flag: flag, ruleID: rules?.flagRules[flag] ?? ""))
            }
        }
        let recorded = Submission.interRegion(.incoming(delivery.decided(verdict)))
        let sequence = try state.nextSequence()
        let entry = AppliedEntry(sequence: sequence, submission: recorded, appliedAtMilliseconds: now, effects: effects)
        let outcome: Outcome =
            switch verdict {
            case .credited: answer(submission, .accepted, sequence: sequence)
            case .refused(let code, let ruleID, let version):
                Outcome(
                    kind: .interRegion, entryID: submission.entryID, code: code, sequence: sequence, ruleID: ruleID,
                    ruleSetVersion: version)
            }
        return Decision(outcomes: [outcome], changes: [.applied(entry)])
    }

    /// The payee's side of the ladder: the account, the token, a freeze, the balance's room, the rules.
    private func incomingVerdict<State: LedgerState>(
        _ message: OutboundMessage, state: State, now: Int64
    )
        throws(LedgerError) -> (InterRegionVerdict, RuleDecision?)
    {
        func refused(_ code: OutcomeCode) -> (InterRegionVerdict, RuleDecision?) {
            (.refused(code: code, ruleID: nil, ruleSetVersion: nil), nil)
        }
        guard let receiver = try state.account(message.to) else { return refused(.receiverUnknown) }
        guard policy.tokensOffered.contains(message.token) else { return refused(.tokenNotOffered) }
        guard !receiver.frozen else { return refused(.accountFrozen) }
        let payee = BalanceKey(account: message.to, token: message.token)
        guard !(try state.balance(payee).addingReportingOverflow(message.amount.minorUnits).overflow) else {
            return refused(.balanceOverflow)
        }
        guard let ruleSet = try state.ruleSet() else { return (.credited, nil) }
        // The payer as the sending region vouched for it; named with its region, so that no rule on a
        // local account and no local velocity window counts it.
        let sender = AccountState(
            jurisdiction: message.senderJurisdiction, kycTier: message.senderKYCTier, frozen: false)
        let question = TransferQuestion(
            from: "\(message.region):\(message.from)", to: message.to, toRegion: nil,
            token: message.token, amount: message.amount.minorUnits, signerKeyHex: nil)
        let decision = try evaluate(ruleSet, question, sender: sender, receiver: receiver, state: state, now: now)
        switch decision.verdict {
        case .accept: return (.credited, decision)
        case .hold, .reject:
            return (
                .refused(code: .ruleRejected, ruleID: decision.ruleID, ruleSetVersion: decision.ruleSetVersion),
                decision
            )
        }
    }

    /// The payee region's decision on one of this region's messages (`CheckOrder.acknowledgement`). The
    /// node has checked the payee's quorum signature, the Merkle path and that the decision names this
    /// very message; the engine checks that the message is open and the token and amount are its own.
    /// A credit turns the in-transit amount into an obligation to the payee's region; a refusal refunds
    /// the payer (even a frozen one: it is the payer's own money coming back).
    func decideAcknowledgement<State: LedgerState>(
        _ acknowledgement: Acknowledgement, submission: Submission, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        let counterpart = acknowledgement.counterpart
        guard policy.counterparts.contains(counterpart) else { return answered(submission, .counterpartUnknown) }
        let key = EntryKey(kind: .interRegion, entryID: submission.entryID)
        if let prior = try state.priorDecision(key, signingBytes: submission.signingBytes) {
            guard prior.sameRecord else { return answered(submission, .acknowledgementUnmatched) }
            return Decision(outcomes: [Self.outcome(of: prior.kind, for: submission)], changes: [])
        }
        guard let open = try state.outboundMessage(counterpart: counterpart, number: acknowledgement.number),
            !open.acknowledged,
            open.message.token == acknowledgement.token, open.message.amount == acknowledgement.amount
        else { return answered(submission, .acknowledgementUnmatched) }
        let amount = acknowledgement.amount.minorUnits
        let transit = inTransitAccountID(counterpart)
        var effects: [Effect] = [.acknowledged(counterpart: counterpart, number: acknowledgement.number)]
        switch acknowledgement.verdict {
        case .credited:
            effects += [
                .posting(Posting(token: acknowledgement.token, amount: amount, from: transit, to: issuerAccountID)),
                .obligationChanged(PositionKey(counterpart: counterpart, token: acknowledgement.token), delta: amount),
            ]
        case .refused:
            effects.append(
                .posting(Posting(token: acknowledgement.token, amount: amount, from: transit, to: open.message.from)))
        }
        return try accepted(submission, effects: effects, state: state, now: now)
    }
}
