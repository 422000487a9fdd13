import SDTCore
import SDTCrypto

/// The single writer of a region's ledger: applies batches of checked submissions in one SQLite
/// transaction each (group commit), and seals applied entries into blocks. Owned by the applier thread.
public final class LedgerWriter: @unchecked Sendable {
    // @unchecked: used only from the applier's own thread.
    let connection: SQLiteConnection
    let policy: LedgerPolicy
    private var nextSequence: Int64
    var working = WorkingSet()

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
    public func apply(_ batch: [Submission], nowMilliseconds: Int64) throws(LedgerError) -> [Outcome] {
        let sequenceBefore = nextSequence
        do {
            return try connection.transaction { () throws(LedgerError) -> [Outcome] in
                var outcomes: [Outcome] = []
                outcomes.reserveCapacity(batch.count)
                for submission in batch {
                    outcomes.append(try applyOne(submission, nowMilliseconds: nowMilliseconds))
                }
                try flushWorkingSet()
                return outcomes
            }
        } catch {
            nextSequence = sequenceBefore
            working.reset()
            throw error
        }
    }

    private func applyOne(_ submission: Submission, nowMilliseconds: Int64) throws(LedgerError) -> Outcome {
        func outcome(_ code: OutcomeCode, _ sequence: Int64? = nil) -> Outcome {
            Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: sequence)
        }
        // Entries that are not ours are answered but not recorded: they do not consume an id.
        guard submission.region == policy.region else { return outcome(.regionMismatch) }
        // The id's MAC is checked once here; its expiry is decided below, after a resubmission is recognised.
        var idCheck = TransactionIDIssuer.Check.valid
        switch submission {
        case .transfer(let transfer, _):
            idCheck = policy.transactionIDs.check(transfer.transactionID, account: transfer.from, nowMilliseconds: nowMilliseconds)
            if idCheck == .invalid { return outcome(.transactionIDInvalid) }
        case .operatorAction(let action, _):
            if !policy.operatorKeys.contains(action.operatorKeyHex) { return outcome(.operatorKeyUnknown) }
        }
        if let previous = try previousDecision(submission) { return previous }
        let code: OutcomeCode = switch submission {
        case .transfer(let transfer, _): try decide(transfer, idExpired: idCheck == .expired)
        case .operatorAction(let action, _): try decide(action)
        }
        guard code == .accepted else {
            try connection.query(
                "INSERT INTO rejections (kind, entry_id, record_hash, code, decided_at_ms) VALUES (?, ?, ?, ?, ?)",
                [.text(submission.kind.rawValue), .text(submission.entryID), .blob(SHA3.hash256(submission.signingBytes)),
                 .integer(Int64(code.rawValue)), .integer(nowMilliseconds)]
            )
            return outcome(code)
        }
        let sequence = nextSequence
        nextSequence += 1
        try connection.query(
            """
            INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(sequence), .text(submission.kind.rawValue), .text(submission.entryID),
             .blob(submission.signingBytes), .text(submission.publicKeyHex), .blob(submission.signature),
             .integer(nowMilliseconds)]
        )
        switch submission {
        case .transfer(let transfer, _): try write(transfer, sequence: sequence)
        case .operatorAction(let action, _): try write(action, sequence: sequence)
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
        if let row = try connection.query("SELECT record_hash, code FROM rejections WHERE kind = ? AND entry_id = ?", key).first {
            let same = row.blob(0) == SHA3.hash256(submission.signingBytes)
            let code = same ? OutcomeCode(rawValue: UInt16(row.int(1))) ?? usedCode : usedCode
            return Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil)
        }
        return nil
    }
}
