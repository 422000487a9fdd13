import ArgumentParser
import Foundation
import SDTCore
import SDTCustody
import SDTLedger
import SDTNode

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Re-verify a node's whole ledger offline. Exit 0 when intact; otherwise name the first bad block or entry."
    )

    @Option(help: "The node's data directory.") var data: String
    @Option(help: "Region config: its operator keys must have signed every operator action.") var region: String?
    @Option(help: "Hex block public key to check signatures against (default: the key the node recorded).")
    var blockPublicKey: String?
    @Option(help: "Ceremony transcript: check block signatures against its region key (all custodians must have signed it).")
    var transcript: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let nodeData = try NodeData(directory: data)
        guard FileManager.default.fileExists(atPath: nodeData.ledgerPath) else { throw fail("\(nodeData.ledgerPath) does not exist") }
        let key: [UInt8]
        var signerProof: AuditPolicy.SignerProof?
        if let transcript {
            let loaded = try CeremonyTranscript.read(from: transcript)
            try loaded.verify(requireAllSignatures: true)
            key = loaded.groupPublicKeyBytes
            let publicShares = Dictionary(
                uniqueKeysWithValues: loaded.custodians.compactMap { custodian in
                    Hex.decode(custodian.publicShare).map { (custodian.identifier, $0) }
                })
            let threshold = loaded.threshold
            signerProof = { header, signature, signers, proof in
                QuorumSignature.verifiedSigners(
                    proof: proof, signature: signature, threshold: threshold, publicShares: publicShares,
                    groupPublicKey: key, message: header) == signers
            }
        } else if let blockPublicKey {
            guard let decoded = Hex.decode(blockPublicKey), decoded.count == 32 else { throw ValidationError("--block-public-key must be 64 hex") }
            key = decoded
        } else {
            key = try nodeData.existingBlockPublicKey()
        }
        let operators = try region.map { Set(try RegionConfig.load(path: $0).operatorKeys) }
        // The audit only reads: the total comes from its own read-only connection, not a reader that
        // would open the file for writing.
        var progress: ProgressLine?
        let report = try LedgerAudit.run(
            path: nodeData.ledgerPath, blockPublicKey: key,
            policy: AuditPolicy(operatorKeys: operators, signerProof: signerProof),
            progress: { checked, total in
                if progress == nil { progress = ProgressLine("audit", total: Int(total), unit: "entries") }
                progress?.set(done: Int(checked))
            })
        progress?.finish()
        if output.json {
            var supply: [String: Int64] = [:]
            for token in Token.allCases { supply[token.rawValue] = report.supply[token] ?? 0 }
            try output.printJSON([
                "region": report.region, "intact": report.firstProblem == nil, "entries_checked": report.entriesChecked,
                "blocks_checked": report.blocksChecked, "blocks_unsigned": report.blocksUnsigned,
                "blocks_with_proven_signers": report.blocksWithProvenSigners,
                "entries_unsealed": report.entriesUnsealed, "first_problem": report.firstProblem ?? NSNull(),
                "supply_minor_units": supply,
            ])
            if report.firstProblem != nil { throw ExitCode(2) }
            return
        }
        print("region \(report.region): \(report.entriesChecked) entries, \(report.blocksChecked) blocks checked "
              + "(\(report.blocksUnsigned) sealed but not yet signed, \(report.entriesUnsealed) entries not yet sealed)")
        if let problem = report.firstProblem {
            print("AUDIT FAILED: \(problem)")
            throw ExitCode(2)
        }
        for token in Token.allCases { print("  supply \(Amount.display(report.supply[token] ?? 0, token)) = sum of balances") }
        if transcript != nil {
            print("  \(report.blocksWithProvenSigners) blocks name their signing custodians, each proven by its share")
        }
        print("audit passed: signatures, hash links, Merkle roots, block signatures, balances and supply are intact")
    }
}
