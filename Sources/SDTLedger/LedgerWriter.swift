import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules

/// The single writer of a region's ledger: decides each batch with the ledger engine over the SQLite
/// store, commits the batch's changes in one transaction (group commit), and seals applied entries
/// into blocks. Owned by the applier thread.
public final class LedgerWriter: @unchecked Sendable {
    // @unchecked: used only from the applier's own thread.
    let connection: SQLiteConnection
    let policy: LedgerPolicy
    let engine: any BatchDecider
    let store: SQLiteLedgerStore

    /// How long the last batch took to decide, and to write and commit (fsync included): for benchmarks.
    public private(set) var lastTimings = (decide: Duration.zero, commit: Duration.zero)

    /// The rule set in force; nil when the region runs without transfer rules.
    public var ruleSet: RuleSet? { try? store.ruleSet() }

    /// `decider` is the ledger engine unless a test plugs in another; `durable: false` is for
    /// simulations (no fsync).
    public init(path: String, policy: LedgerPolicy, decider: (any BatchDecider)? = nil, durable: Bool = true) throws(LedgerError) {
        connection = try SQLiteConnection(path: path, durable: durable)
        self.policy = policy
        engine = decider ?? LedgerEngine(policy: policy.engine)
        store = SQLiteLedgerStore(connection: connection)
        try Migrations.run(on: connection)
        let stored = try connection.query("SELECT value FROM meta WHERE key = 'region'").first?.text(0)
        if let stored, stored != policy.region {
            throw LedgerError(.usage, "\(path) holds the ledger of region \(stored), not \(policy.region)")
        }
        if stored == nil {
            try connection.query("INSERT INTO meta (key, value) VALUES ('region', ?)", [.text(policy.region)])
        }
    }

    /// Decides `batch` in order and commits it in one transaction; returns one outcome per submission,
    /// followed by those of held transfers that a review in the batch decided. Nothing is half-applied:
    /// a storage error or a broken invariant rolls the whole batch back and is thrown.
    public func apply(_ batch: [Submission], nowMilliseconds: Int64) throws(LedgerError) -> [Outcome] {
        try apply(batch, nowMilliseconds: nowMilliseconds, signatures: [], publicKey: [])
    }

    /// The same, storing `signatures` of sealed blocks in the batch's transaction: the applier's way of
    /// recording what the custodians signed without a transaction (and an fsync) of its own. Each is
    /// checked against `publicKey` first; a wrong one fails the call and nothing is written.
    public func apply(
        _ batch: [Submission], nowMilliseconds: Int64, signatures: [BlockSignatureRecord], publicKey: [UInt8]
    ) throws(LedgerError) -> [Outcome] {
        try Self.check(signatures, publicKey: publicKey)
        // The applier is the only writer: what it reads before the transaction is what it commits over.
        let start = ContinuousClock.now
        try store.prepare(now: nowMilliseconds)
        let result = try engine.apply(batch, to: store, now: nowMilliseconds)
        let decided = ContinuousClock.now
        try store.commit(result, signatures: signatures)
        lastTimings = (decided - start, ContinuousClock.now - decided)
        return zip(result.outcomes, result.records).map { outcome, record in
            var answered = outcome
            answered.recordSHA3 = SHA3.hash256(record.signingBytes)
            return answered
        }
    }

    /// Expires what is due in a transaction of its own, for when no batch comes to do it.
    public func expireDue(nowMilliseconds: Int64) throws(LedgerError) {
        if let next = store.working.pendingExpiryNext, next.map({ $0 > nowMilliseconds }) ?? true { return }
        _ = try apply([], nowMilliseconds: nowMilliseconds)
    }

    /// Puts the region's rule file in force at start. A ledger that has no rule set takes the file's
    /// as its first; otherwise the file must be a version the ledger already knows, unchanged.
    /// Newer versions are put in force only by a signed `set_rules` action. Returns a notice to log.
    public func installRules(fromFile file: RuleSet?, nowMilliseconds: Int64) throws(LedgerError) -> String? {
        let inForce = try store.ruleSet()
        guard let file else { return nil }
        guard file.region == policy.region else {
            throw LedgerError(.usage, "the rules file is for region \(file.region), not \(policy.region)")
        }
        guard let inForce else {
            try connection.query(
                "INSERT INTO rule_sets (version, sha3, text, sequence, installed_at_ms) VALUES (?, ?, ?, NULL, ?)",
                [.integer(file.version), .text(file.sha3Hex), .text(file.text), .integer(nowMilliseconds)]
            )
            store.working.ruleSet = .some(file)
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
}
