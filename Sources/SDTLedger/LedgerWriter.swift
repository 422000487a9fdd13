import SDTCore
import SDTCrypto
import SDTRules

/// The single writer of a region's ledger: applies batches of checked submissions in one SQLite
/// transaction each (group commit), and seals applied entries into blocks. Owned by the applier thread.
public final class LedgerWriter: @unchecked Sendable {
    // @unchecked: used only from the applier's own thread.
    let connection: SQLiteConnection
    let policy: LedgerPolicy
    /// The sequence the next applied entry takes; a rolled-back linked group puts it back.
    var nextSequence: Int64
    var working = WorkingSet()
    /// The rule set in force; nil when the region runs without transfer rules.
    public internal(set) var ruleSet: RuleSet?
    /// Outcomes of entries applied on behalf of another (a held transfer, when its review decides).
    var extraOutcomes: [Outcome] = []

    public init(path: String, policy: LedgerPolicy) throws(LedgerError) {
        connection = try SQLiteConnection(path: path)
        self.policy = policy
        try Migrations.run(on: connection)
        let stored = try connection.query("SELECT value FROM meta WHERE key = 'region'").first?.text(0)
        if let stored, stored != policy.region {
            throw LedgerError(.usage, "\(path) holds the ledger of region \(stored), not \(policy.region)")
        }
        if stored == nil {
            try connection.query("INSERT INTO meta (key, value) VALUES ('region', ?)", [.text(policy.region)])
        }
        nextSequence = (try connection.query("SELECT COALESCE(MAX(sequence), 0) FROM entries").first?.int(0) ?? 0) + 1
    }

    /// Applies `batch` in order inside one transaction and returns one outcome per submission.
    /// Nothing is half-applied: a storage error rolls the whole batch back and is thrown.
    /// The outcomes come in batch order, followed by those of held transfers that a review in the
    /// batch decided.
    public func apply(_ batch: [Submission], nowMilliseconds: Int64) throws(LedgerError) -> [Outcome] {
        let sequenceBefore = nextSequence
        let rulesBefore = ruleSet
        extraOutcomes = []
        do {
            return try connection.transaction { () throws(LedgerError) -> [Outcome] in
                try expirePendingTransfers(nowMilliseconds: nowMilliseconds)
                var outcomes: [Outcome] = []
                outcomes.reserveCapacity(batch.count)
                var index = 0
                while index < batch.count {
                    guard batch[index].link != nil else {
                        outcomes.append(try applyOne(batch[index], nowMilliseconds: nowMilliseconds))
                        index += 1
                        continue
                    }
                    let group = Self.linkedGroup(in: batch, at: index)
                    outcomes += try applyLinked(group, nowMilliseconds: nowMilliseconds)
                    index += group.count
                }
                try checkReservesInvariant()
                try flushWorkingSet()
                return outcomes + extraOutcomes
            }
        } catch {
            nextSequence = sequenceBefore
            ruleSet = rulesBefore
            working.reset()
            throw error
        }
    }

    func takeSequence() -> Int64 {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// At every commit: the supply of each token changed in the batch equals its attested reserves.
    /// (Postings move supply and balances together, so supply also equals the sum of balances.)
    func checkReservesInvariant() throws(LedgerError) {
        for token in working.dirtySupply {
            let supply = try supply(token)
            let reserves = try reserves(token)
            guard supply == reserves else {
                throw LedgerError(.invariant, "\(token.rawValue) supply \(supply) differs from attested reserves \(reserves); batch rolled back")
            }
        }
    }

    /// Puts the region's rule file in force at start. A ledger that has no rule set takes the file's
    /// as its first; otherwise the file must be a version the ledger already knows, unchanged.
    /// Newer versions are put in force only by a signed `set_rules` action. Returns a notice to log.
    public func installRules(fromFile file: RuleSet?, nowMilliseconds: Int64) throws(LedgerError) -> String? {
        let newest = try connection.query("SELECT version, text FROM rule_sets ORDER BY version DESC LIMIT 1").first
        if let newest {
            do {
                ruleSet = try RuleSet(text: newest.text(1))
            } catch {
                throw LedgerError(.invariant, "the ledger's rule set version \(newest.int(0)) does not parse: \(error)")
            }
        }
        guard let file else { return nil }
        guard file.region == policy.region else {
            throw LedgerError(.usage, "the rules file is for region \(file.region), not \(policy.region)")
        }
        guard let inForce = ruleSet else {
            try connection.query(
                "INSERT INTO rule_sets (version, sha3, text, sequence, installed_at_ms) VALUES (?, ?, ?, NULL, ?)",
                [.integer(file.version), .text(file.sha3Hex), .text(file.text), .integer(nowMilliseconds)]
            )
            ruleSet = file
            return "rule set version \(file.version) (sha3 \(file.sha3Hex)) put in force from the rules file"
        }
        let known = try connection.query("SELECT sha3 FROM rule_sets WHERE version = ?", [.integer(file.version)]).first?.text(0)
        if let known {
            guard known == file.sha3Hex else {
                throw LedgerError(.usage, """
                    the rules file says version \(file.version) but differs from the version \(file.version) recorded in the ledger \
                    (sha3 \(known)); give a changed rule set a new version and put it in force with `sdt admin set-rules`
                    """)
            }
            return file.version == inForce.version ? nil
                : "the rules file is version \(file.version); version \(inForce.version), put in force later, stays in force"
        }
        guard file.version > inForce.version else {
            throw LedgerError(.usage, "the rules file's version \(file.version) was never in force in this ledger (in force: \(inForce.version))")
        }
        throw LedgerError(.usage, """
            the rules file is version \(file.version) but version \(inForce.version) is in force; a rule change is a signed operator \
            action: run `sdt admin set-rules --rules FILE --reason TEXT` against the running node
            """)
    }

    private func applyOne(_ submission: Submission, nowMilliseconds: Int64) throws(LedgerError) -> Outcome {
        func outcome(_ code: OutcomeCode, _ sequence: Int64? = nil, _ rules: RuleDecision? = nil) -> Outcome {
            Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: sequence,
                    ruleID: rules?.ruleID, ruleSetVersion: rules?.ruleSetVersion)
        }
        let idExpired: Bool
        switch try precheck(submission, nowMilliseconds: nowMilliseconds) {
        case .answered(let answer): return answer
        case .proceed(let expired): idExpired = expired
        }
        // A leg is applied only with its whole group (see `applyLinked`); alone it is answered, not recorded.
        if submission.link != nil { return outcome(.linkIncomplete) }
        let decision = try decide(submission, idExpired: idExpired, nowMilliseconds: nowMilliseconds)
        switch decision.code {
        case .accepted:
            break
        case .heldForReview:
            guard case .transfer(let transfer, let signature) = submission, let rules = decision.rules else {
                preconditionFailure("only transfers are held, by a rule")
            }
            try recordHold(transfer, signature: signature, rules: rules, nowMilliseconds: nowMilliseconds)
            return outcome(.heldForReview, nil, rules)
        default:
            try recordRejection(submission, code: decision.code, rules: decision.rules, nowMilliseconds: nowMilliseconds)
            return outcome(decision.code, nil, decision.rules)
        }
        return outcome(.accepted, try write(submission, decision: decision, nowMilliseconds: nowMilliseconds))
    }

    enum Precheck {
        case answered(Outcome)
        /// Go on to the checks on the ledger's state; an expired id is refused there, after a
        /// resubmission was recognised.
        case proceed(idExpired: Bool)
    }

    /// What is answered before any check on the ledger's state: a record for another region, an
    /// unknown operator key, an id this node did not issue, or a resubmission (the same answer again).
    /// Answers for the first three are not recorded: they do not consume an id.
    func precheck(_ submission: Submission, nowMilliseconds: Int64) throws(LedgerError) -> Precheck {
        func answered(_ code: OutcomeCode) -> Precheck {
            .answered(Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil))
        }
        guard submission.region == policy.region else { return answered(.regionMismatch) }
        if case .operatorAction(let action, _, _) = submission, !policy.operatorKeys.contains(action.operatorKeyHex) {
            return answered(.operatorKeyUnknown)
        }
        let idCheck = submission.idAccount.map {
            policy.transactionIDs.check(submission.entryID, account: $0, nowMilliseconds: nowMilliseconds)
        } ?? .valid
        if idCheck == .invalid { return answered(.transactionIDInvalid) }
        if let previous = try previousDecision(submission) { return .answered(previous) }
        return .proceed(idExpired: idCheck == .expired)
    }

    /// The checks on the ledger's state, in their documented order.
    func decide(_ submission: Submission, idExpired: Bool, nowMilliseconds: Int64) throws(LedgerError) -> TransferDecision {
        switch submission {
        case .transfer(let transfer, _): try decide(transfer, idExpired: idExpired, nowMilliseconds: nowMilliseconds)
        case .resolution(let resolution, _):
            TransferDecision(code: try decide(resolution, idExpired: idExpired, nowMilliseconds: nowMilliseconds))
        case .operatorAction(let action, _, let attachment):
            TransferDecision(code: try decide(action, attachment: attachment, nowMilliseconds: nowMilliseconds))
        }
    }

    /// Applies an accepted entry: its ledger entry, then its effects. Returns its sequence.
    func write(_ submission: Submission, decision: TransferDecision, nowMilliseconds: Int64) throws(LedgerError) -> Int64 {
        let sequence = takeSequence()
        try insertEntry(submission, sequence: sequence, nowMilliseconds: nowMilliseconds)
        switch submission {
        case .transfer(let transfer, _): try write(transfer, sequence: sequence, flags: decision.rules, nowMilliseconds: nowMilliseconds)
        case .resolution(let resolution, _): try write(resolution, sequence: sequence, nowMilliseconds: nowMilliseconds)
        case .operatorAction(let action, _, let attachment):
            try write(action, attachment: attachment, sequence: sequence, nowMilliseconds: nowMilliseconds)
        }
        return sequence
    }

    /// The same signed record again gets the same answer; a different record under a used id is refused.
    func previousDecision(_ submission: Submission) throws(LedgerError) -> Outcome? {
        let key: [SQLiteConnection.Value] = [.text(submission.kind.rawValue), .text(submission.entryID)]
        let usedCode: OutcomeCode = submission.kind == .transfer ? .transactionIDUsed : .requestIDUsed
        if let row = try connection.query("SELECT sequence, signing_bytes FROM entries WHERE kind = ? AND entry_id = ?", key).first {
            let same = row.blob(1) == submission.signingBytes
            return Outcome(kind: submission.kind, entryID: submission.entryID, code: same ? .accepted : usedCode,
                           sequence: same ? row.int(0) : nil)
        }
        if let row = try connection.query(
            "SELECT record_hash, code, rule_id, rule_set_version, failed_leg FROM rejections WHERE kind = ? AND entry_id = ?", key
        ).first {
            let same = row.blob(0) == SHA3.hash256(submission.signingBytes)
            let code = same ? OutcomeCode(rawValue: UInt16(row.int(1))) ?? usedCode : usedCode
            return Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil,
                           ruleID: same ? row.optionalText(2) : nil, ruleSetVersion: same ? row.optionalInt(3) : nil,
                           failedLeg: same ? row.optionalText(4) : nil)
        }
        if working.openHolds == nil {
            working.openHolds = try connection.query("SELECT COUNT(*) FROM holds WHERE review_sequence IS NULL").first?.int(0) ?? 0
        }
        if submission.kind == .transfer, working.openHolds != 0, let row = try connection.query(
            "SELECT signing_bytes, rule_id, rule_set_version FROM holds WHERE transaction_id = ? AND review_sequence IS NULL",
            [.text(submission.entryID)]
        ).first {
            let same = row.blob(0) == submission.signingBytes
            return Outcome(kind: .transfer, entryID: submission.entryID, code: same ? .heldForReview : usedCode, sequence: nil,
                           ruleID: same ? row.text(1) : nil, ruleSetVersion: same ? row.int(2) : nil)
        }
        return nil
    }
}
