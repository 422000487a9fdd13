import SDTCore
import SDTCrypto

/// What an audit found: counts, and the first problem (nil when the ledger is intact).
public struct AuditReport: Sendable {
    public var region = ""
    public var entriesChecked = 0
    public var blocksChecked = 0
    public var blocksUnsigned = 0
    public var entriesUnsealed = 0
    public var supply: [Token: Int64] = [:]
    public var firstProblem: String?

    public var isIntact: Bool { firstProblem == nil }
}

/// Re-verifies a ledger file offline: every entry's signature, a replay of every entry that must
/// reproduce the stored postings, balances, supply, accounts and keys, every block's hash link,
/// Merkle root, supply line and signature.
public enum LedgerAudit {
    public static func run(path: String, blockPublicKey: [UInt8], operatorKeys: Set<String>?) throws(LedgerError) -> AuditReport {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        var replay = LedgerReplay(operatorKeys: operatorKeys)
        var report = AuditReport()
        report.region = try connection.query("SELECT value FROM meta WHERE key = 'region'").first?.text(0) ?? ""
        let blocks = try connection.query("SELECT height, header, block_hash, signature FROM blocks ORDER BY height")
            .map { row in (row.int(0), row.blob(1), row.blob(2), row.optionalBlob(3)) }
        do {
            try BlockChainCheck(blocks: blocks, region: report.region, blockPublicKey: blockPublicKey)
                .run(connection: connection, replay: &replay, report: &report)
            try replay.compareState(with: connection)
        } catch let problem as AuditProblem {
            report.firstProblem = problem.description
        } catch {
            report.firstProblem = "\(error)"
        }
        report.supply = replay.supply
        return report
    }
}

struct AuditProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
