import SDTCore
import SDTCrypto

/// Linked transfers: a group of legs, each signed by its own payer and committing to the group's link
/// id and its place in it, applied all together or not at all. The legs are applied in order inside a
/// savepoint, each seeing the ones before it; the first leg that fails rolls the group back and is
/// named in every other leg's outcome. A group is decided once: its link id cannot be used again.
extension LedgerWriter {
    /// The legs starting at `index`: the leg there and those right after it that continue its group.
    static func linkedGroup(in batch: [Submission], at index: Int) -> ArraySlice<Submission> {
        guard let first = batch[index].link, first.index == 1 else { return batch[index...index] }
        var end = index + 1
        while end < batch.count, end - index < first.count, let next = batch[end].link,
              next.id == first.id, next.count == first.count, next.index == end - index + 1 {
            end += 1
        }
        return batch[index..<end]
    }

    func applyLinked(_ legs: ArraySlice<Submission>, nowMilliseconds: Int64) throws(LedgerError) -> [Outcome] {
        func answer(_ leg: Submission, _ code: OutcomeCode, failedLeg: String? = nil) -> Outcome {
            Outcome(kind: .transfer, entryID: leg.entryID, code: code, sequence: nil, failedLeg: failedLeg)
        }
        guard let link = legs.first?.link, legs.count == link.count, Set(legs.map(\.entryID)).count == legs.count else {
            return legs.map { answer($0, .linkIncomplete) }
        }
        guard legs.allSatisfy({ $0.region == policy.region }) else { return legs.map { answer($0, .regionMismatch) } }
        let groupHash = SHA3.hash256(legs.flatMap(\.signingBytes))
        if let decided = try connection.query("SELECT record_hash, failed_leg FROM link_groups WHERE link_id = ?", [.text(link.id)]).first {
            guard decided.blob(0) == groupHash else { return legs.map { answer($0, .linkIDUsed) } }
            // The same group again: the same answers.
            return try legs.map { (leg) throws(LedgerError) -> Outcome in
                if case .answered(let previous) = try precheck(leg, nowMilliseconds: nowMilliseconds) { return previous }
                return answer(leg, .linkedLegFailed, failedLeg: decided.optionalText(1))
            }
        }
        try checkReservesInvariant()
        try flushWorkingSet()
        try connection.execute("SAVEPOINT linked_group")
        let sequenceBefore = nextSequence
        var outcomes: [Outcome] = []
        var failure: (leg: Submission, outcome: Outcome, decision: TransferDecision?)?
        for leg in legs {
            let idExpired: Bool
            switch try precheck(leg, nowMilliseconds: nowMilliseconds) {
            case .answered(let previous):
                failure = (leg, previous, nil)
            case .proceed(let expired):
                idExpired = expired
                var decision = try decide(leg, idExpired: idExpired, nowMilliseconds: nowMilliseconds)
                if decision.code == .heldForReview { decision = TransferDecision(code: .linkNeedsReview, rules: decision.rules) }
                if decision.code == .accepted {
                    let sequence = try write(leg, decision: decision, nowMilliseconds: nowMilliseconds)
                    outcomes.append(Outcome(kind: .transfer, entryID: leg.entryID, code: .accepted, sequence: sequence))
                } else {
                    failure = (leg, Outcome(kind: .transfer, entryID: leg.entryID, code: decision.code, sequence: nil,
                                            ruleID: decision.rules?.ruleID, ruleSetVersion: decision.rules?.ruleSetVersion), decision)
                }
            }
            if failure != nil { break }
        }
        guard let failure else {
            try connection.execute("RELEASE linked_group")
            try recordGroup(link, hash: groupHash, failedLeg: nil, nowMilliseconds: nowMilliseconds)
            return outcomes
        }
        try connection.execute("ROLLBACK TO linked_group; RELEASE linked_group")
        nextSequence = sequenceBefore
        working.reset()
        try recordGroup(link, hash: groupHash, failedLeg: failure.leg.entryID, nowMilliseconds: nowMilliseconds)
        return try legs.map { (leg) throws(LedgerError) -> Outcome in
            if leg.entryID == failure.leg.entryID {
                // A leg whose id was not issued or already used is answered, never recorded under that id.
                if let decision = failure.decision {
                    try recordRejection(leg, code: decision.code, rules: decision.rules, nowMilliseconds: nowMilliseconds)
                }
                return failure.outcome
            }
            if case .answered(let previous) = try precheck(leg, nowMilliseconds: nowMilliseconds) { return previous }
            try recordRejection(leg, code: .linkedLegFailed, rules: nil, failedLeg: failure.leg.entryID, nowMilliseconds: nowMilliseconds)
            return answer(leg, .linkedLegFailed, failedLeg: failure.leg.entryID)
        }
    }

    private func recordGroup(_ link: Transfer.Link, hash: [UInt8], failedLeg: String?, nowMilliseconds: Int64) throws(LedgerError) {
        try connection.query(
            "INSERT INTO link_groups (link_id, record_hash, legs, decided_at_ms, failed_leg) VALUES (?, ?, ?, ?, ?)",
            [.text(link.id), .blob(hash), .integer(Int64(link.count)), .integer(nowMilliseconds), failedLeg.map { .text($0) } ?? .null]
        )
    }
}
