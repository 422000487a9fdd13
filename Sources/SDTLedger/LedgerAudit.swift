import SDTCore
import SDTCrypto
import SDTEngine

/// What an audit found: counts, and the first problem (nil when the ledger is intact).
public struct AuditReport: Sendable {
    public var region = ""
    public var entriesChecked = 0
    public var blocksChecked = 0
    public var blocksUnsigned = 0
    /// Signed blocks whose recorded signers were proven by their shares (with a transcript only).
    public var blocksWithProvenSigners = 0
    public var entriesUnsealed = 0
    public var supply: [Token: Int64] = [:]
    public var firstProblem: String?

    public var isIntact: Bool { firstProblem == nil }
}

/// What the audit knows of the region beyond the ledger file. Without a region config, every token
/// counts as offered, every operator key that signed counts as listed, and the treasury is the one the
/// ledger's clawbacks name.
public struct AuditPolicy: Sendable {
    public var operatorKeys: Set<String>?
    public var tokensOffered: Set<Token>?
    public var treasuryAccount: String?
    /// Whether a block header's recorded signers are proven by their proof (see `QuorumSignature` in
    /// SDTCustody, which the caller supplies with the ceremony transcript's public shares); nil to skip.
    public var signerProof: SignerProof?

    public typealias SignerProof =
        @Sendable (_ header: [UInt8], _ signature: [UInt8], _ signers: [Int], _ proof: [UInt8]) -> Bool

    public init(
        operatorKeys: Set<String>? = nil, tokensOffered: Set<Token>? = nil, treasuryAccount: String? = nil,
        signerProof: SignerProof? = nil
    ) {
        self.operatorKeys = operatorKeys
        self.tokensOffered = tokensOffered
        self.treasuryAccount = treasuryAccount
        self.signerProof = signerProof
    }
}

/// Re-verifies a ledger file offline: every entry's signature; a replay of every entry, in order,
/// through the same ledger engine that applied it, which must accept each one again and reproduce its
/// stored postings; every block's hash link, Merkle root, entry count, supply, reserves, reserve root,
/// rule set and signature against the replayed state at its last entry; and at the end the stored
/// balances, supply, accounts, keys, freezes, reserve records, pending transfers and rule sets against
/// the replayed state.
public enum LedgerAudit {
    public static func run(path: String, blockPublicKey: [UInt8], operatorKeys: Set<String>?) throws(LedgerError) -> AuditReport {
        try run(path: path, blockPublicKey: blockPublicKey, policy: AuditPolicy(operatorKeys: operatorKeys))
    }

    /// `progress`, if given, hears how many entries have been checked so far and how many there are
    /// (for a progress line), read on the audit's own read-only connection.
    public static func run(
        path: String, blockPublicKey: [UInt8], policy: AuditPolicy,
        progress: ((_ checked: Int64, _ total: Int64) -> Void)? = nil
    ) throws(LedgerError) -> AuditReport {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        var report = AuditReport()
        report.region = try connection.query("SELECT value FROM meta WHERE key = 'region'").first?.text(0) ?? ""
        do {
            var replay = try AuditReplay(connection: connection, region: report.region, policy: policy)
            var chain = try BlockChainCheck(
                connection: connection, region: report.region, blockPublicKey: blockPublicKey,
                signerProof: policy.signerProof)
            var checked: Int64 = 0
            let total =
                progress == nil
                ? 0 : try connection.query("SELECT COALESCE(MAX(sequence), 0) FROM entries").first?.int(0) ?? 0
            try replay.run { (entry, replayed) throws in
                try chain.check(entry, replay: replayed, report: &report)
                checked += 1
                progress?(checked, total)
            }
            try chain.finish()
            try replay.compareTables()
            report.supply = replay.supply
        } catch let problem as AuditProblem {
            report.firstProblem = problem.description
        } catch {
            report.firstProblem = "\(error)"
        }
        return report
    }
}

struct AuditProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
