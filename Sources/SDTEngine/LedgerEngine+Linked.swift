import SDTCore

/// Linked transfers: a group of legs, each signed by its own payer and committing to the group's link
/// id and its place in it, applied all together or not at all. The legs are decided in order over a
/// staging of their own, each seeing the ones before it; the first leg that fails drops that staging
/// and is named in every other leg's outcome. A group is decided once: its link id cannot be used again.
extension LedgerEngine {
    func decideLinked<State: LedgerState>(_ legs: [Submission], state: State, now: Int64) throws(LedgerError) -> Decision {
        func everyLeg(_ code: OutcomeCode) -> Decision {
            Decision(outcomes: legs.map { answer($0, code) }, changes: [])
        }
        guard let link = legs.first?.link, legs.count == link.count, Set(legs.map(\.entryID)).count == legs.count else {
            return everyLeg(.linkIncomplete)
        }
        guard legs.allSatisfy({ $0.region == policy.region }) else { return everyLeg(.regionMismatch) }
        let bytes = legs.map(\.signingBytes)
        if let decided = try state.linkGroup(link.id, legs: bytes) {
            guard decided.sameGroup else { return everyLeg(.linkIDUsed) }
            // The same group again: the same answers.
            return Decision(outcomes: try legs.map { (leg) throws(LedgerError) -> Outcome in
                if case .answered(let previous) = try precheck(leg, state: state, now: now) { return previous }
                return answer(leg, .linkedLegFailed, failedLeg: decided.failedLeg)
            }, changes: [])
        }
        var staging = Staging(base: state)
        var applied: [LedgerChange] = []
        var outcomes: [Outcome] = []
        for leg in legs {
            guard let failure = try decideLeg(leg, staging: &staging, applied: &applied, now: now) else {
                outcomes.append(answer(leg, .accepted, sequence: try staging.nextSequence() - 1))
                continue
            }
            return try failedGroup(legs, link: link, failedLeg: leg, failure: failure, state: state, now: now)
        }
        let record = LinkGroupRecord(linkID: link.id, legs: legs, failedLeg: nil, decidedAtMilliseconds: now)
        return Decision(outcomes: outcomes, changes: applied + [.linkGroup(record)])
    }

    /// How a leg failed: its own decision, recorded (`decision` set), or an answer that records nothing.
    struct LegFailure {
        let outcome: Outcome
        let decision: Decision?
    }

    /// Decides one leg over the group's staging; applies it there if accepted. Returns its failure, if any.
    private func decideLeg<State: LedgerState>(
        _ leg: Submission, staging: inout Staging<State>, applied: inout [LedgerChange], now: Int64
    ) throws(LedgerError) -> LegFailure? {
        let decision: Decision
        switch try precheck(leg, state: staging, now: now) {
        case .answered(let outcome): return LegFailure(outcome: outcome, decision: nil)
        case .rejected(let code): decision = rejected(leg, code, now: now)
        case .proceed:
            guard case .transfer(let transfer, let signature) = leg else { preconditionFailure("a leg is a transfer") }
            decision = try decideTransfer(transfer, signature: signature, submission: leg, state: staging, now: now)
        }
        guard let outcome = decision.outcomes.first else { preconditionFailure("a decision answers its entry") }
        switch outcome.code {
        case .accepted:
            for change in decision.changes { try staging.apply(change) }
            applied += decision.changes
            return nil
        case .heldForReview:
            // A group applies at once or not at all: a leg a rule would hold refuses the group.
            let refusal = rejected(leg, .linkNeedsReview, ruleID: outcome.ruleID, ruleSetVersion: outcome.ruleSetVersion,
                                   failedLeg: nil, now: now)
            return LegFailure(outcome: refusal.outcomes[0], decision: refusal)
        default:
            return LegFailure(outcome: outcome, decision: decision)
        }
    }

    /// Nothing of the group is applied: the failing leg is answered (and recorded) with its own code,
    /// every other leg with `linked_leg_failed` naming it, unless its precheck already answers it.
    private func failedGroup<State: LedgerState>(
        _ legs: [Submission], link: Transfer.Link, failedLeg: Submission, failure: LegFailure, state: State, now: Int64
    ) throws(LedgerError) -> Decision {
        var outcomes: [Outcome] = []
        var changes: [LedgerChange] = []
        for leg in legs {
            if leg.entryID == failedLeg.entryID {
                outcomes.append(failure.outcome)
                changes += failure.decision?.changes ?? []
                continue
            }
            if case .answered(let previous) = try precheck(leg, state: state, now: now) {
                outcomes.append(previous)
                continue
            }
            let refusal = rejected(leg, .linkedLegFailed, failedLeg: failedLeg.entryID, now: now)
            outcomes += refusal.outcomes
            changes += refusal.changes
        }
        let record = LinkGroupRecord(linkID: link.id, legs: legs, failedLeg: failedLeg.entryID, decidedAtMilliseconds: now)
        return Decision(outcomes: outcomes, changes: changes + [.linkGroup(record)])
    }
}
