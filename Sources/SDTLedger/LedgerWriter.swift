import SDTCore
import SDTCrypto
import SDTRules

/// The single writer of a region's ledger: applies batches of checked submissions in one SQLite
/// transaction each (group commit), and seals applied entries into blocks. Owned by the applier thread.
public final class LedgerWriter: @unchecked Sendable {
    // @unchecked: used only from the applier's own thread.
    let connection: SQLiteConnection
    let policy: LedgerPolicy
    private var nextSequence: Int64
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
                var outcomes: [Outcome] = []
                outcomes.reserveCapacity(batch.count)
                for submission in batch {
                    outcomes.append(try applyOne(submission, nowMilliseconds: nowMilliseconds))
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
    private func checkReservesInvariant() throws(LedgerError) {
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
        // Entries that are not ours are answered but not recorded: they do not consume an id.
        guard submission.region == policy.region else { return outcome(.regionMismatch) }
        // The id's MAC is checked once here; its expiry is decided below, after a resubmission is recognised.
        var idCheck = TransactionIDIssuer.Check.valid
        switch submission {
        case .transfer(let transfer, _):
            idCheck = policy.transactionIDs.check(transfer.transactionID, account: transfer.from, nowMilliseconds: nowMilliseconds)
            if idCheck == .invalid { return outcome(.transactionIDInvalid) }
        case .operatorAction(let action, _, _):
            if !policy.operatorKeys.contains(action.operatorKeyHex) { return outcome(.operatorKeyUnknown) }
        }
        if let previous = try previousDecision(submission) { return previous }
        let decision: TransferDecision = switch submission {
        case .transfer(let transfer, _): try decide(transfer, idExpired: idCheck == .expired, nowMilliseconds: nowMilliseconds)
        case .operatorAction(let action, _, let attachment):
            TransferDecision(code: try decide(action, attachment: attachment, nowMilliseconds: nowMilliseconds))
        }
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
        let sequence = takeSequence()
        try insertEntry(submission, sequence: sequence, nowMilliseconds: nowMilliseconds)
        switch submission {
        case .transfer(let transfer, _): try write(transfer, sequence: sequence, flags: decision.rules, nowMilliseconds: nowMilliseconds)
        case .operatorAction(let action, _, let attachment):
            try write(action, attachment: attachment, sequence: sequence, nowMilliseconds: nowMilliseconds)
        }
        return outcome(.accepted, sequence)
    }

    /// The same signed record again gets the same answer; a different record under a used id is refused.
    private func previousDecision(_ submission: Submission) throws(LedgerError) -> Outcome? {
        let key: [SQLiteConnection.Value] = [.text(submission.kind.rawValue), .text(submission.entryID)]
        let usedCode: OutcomeCode = submission.kind == .transfer ? .transactionIDUsed : .requestIDUsed
        if let row = try connection.query("SELECT sequence, signing_bytes FROM entries WHERE kind = ? AND entry_id = ?", key).first {
            let same = row.blob(1) == submission.signingBytes
            return Outcome(kind: submission.kind, entryID: submission.entryID, code: same ? .accepted : usedCode,
                           sequence: same ? row.int(0) : nil)
        }
        if let row = try connection.query(
            "SELECT record_hash, code, rule_id, rule_set_version FROM rejections WHERE kind = ? AND entry_id = ?", key
        ).first {
            let same = row.blob(0) == SHA3.hash256(submission.signingBytes)
            let code = same ? OutcomeCode(rawValue: UInt16(row.int(1))) ?? usedCode : usedCode
            return Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil,
                           ruleID: same ? row.optionalText(2) : nil, ruleSetVersion: same ? row.optionalInt(3) : nil)
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
