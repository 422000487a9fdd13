import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules

/// Walks the blocks in height order as the replay goes through the entries, checking each block's
/// range, Merkle root, hash link, supply, reserves, rule set and signature as its last entry goes by,
/// against the replayed state at that entry.
struct BlockChainCheck {
    typealias StoredBlock = (
        height: Int64, header: [UInt8], hash: [UInt8], signature: [UInt8]?, first: Int64, last: Int64, signers: [Int],
        proof: [UInt8]
    )

    private let blocks: [StoredBlock]
    private let region: String
    private let blockPublicKey: [UInt8]
    private let signerProof: AuditPolicy.SignerProof?
    private var ruleSets: [Int64: String] = [:]
    private var blockIndex = 0
    private var leaves: [[UInt8]] = []
    private var previousHash = [UInt8](repeating: 0, count: 32)
    private var lastRulesVersion: Int64 = 0
    /// The header of `blocks[blockIndex]`, parsed once.
    private var header: BlockHeader?

    init(
        connection: SQLiteConnection, region: String, blockPublicKey: [UInt8],
        signerProof: AuditPolicy.SignerProof? = nil
    ) throws {
        // A ledger the node has not opened since migration 0009 has no signer columns: read them as none.
        let columns = Set(try connection.query("PRAGMA table_info(blocks)").map { $0.text(1) })
        let signerColumns = columns.contains("signers") ? "signers, signing_proof" : "NULL, NULL"
        blocks = try connection.query(
            """
            SELECT height, header, block_hash, signature, first_sequence, last_sequence, \(signerColumns)
            FROM blocks ORDER BY height
            """
        ).map { row in
            (
                row.int(0), row.blob(1), row.blob(2), row.optionalBlob(3), row.int(4), row.int(5),
                (row.optionalText(6) ?? "").split(separator: ",").compactMap { Int($0) }, row.optionalBlob(7) ?? []
            )
        }
        self.signerProof = signerProof
        self.region = region
        self.blockPublicKey = blockPublicKey
        for row in try connection.query("SELECT version, sha3, text FROM rule_sets") {
            guard RuleSet.sha3Hex(of: Array(row.text(2).utf8)) == row.text(1) else {
                throw AuditProblem("rule set version \(row.int(0)): its text does not hash to its recorded sha3")
            }
            ruleSets[row.int(0)] = row.text(1)
        }
    }

    mutating func check(_ entry: StoredEntry, replay: AuditReplay, report: inout AuditReport) throws {
        report.entriesChecked += 1
        // Blocks hold consecutive ranges of entries from sequence 1; what follows the last block is unsealed.
        guard blockIndex < blocks.count else {
            report.entriesUnsealed += 1
            return
        }
        let block = blocks[blockIndex]
        let header = try self.header ?? parse(block)
        self.header = header
        guard header.firstSequence + Int64(leaves.count) == entry.sequence else {
            throw AuditProblem(
                "block \(block.height): its range \(header.firstSequence)...\(header.lastSequence) does not continue "
                    + "at \(entry.name)"
            )
        }
        leaves.append(entry.leafHash)
        guard entry.sequence == header.lastSequence else { return }
        try checkChain(block, header)
        try checkState(header, store: replay.store, replay: replay)
        if let signature = block.signature {
            guard Ed25519.verify(signature: signature, message: block.header, publicKey: blockPublicKey) else {
                throw AuditProblem("block \(block.height): signature does not verify with the region key")
            }
            if let signerProof, !block.signers.isEmpty {
                guard signerProof(block.header, signature, block.signers, block.proof) else {
                    throw AuditProblem(
                        "block \(block.height): the recorded signers \(block.signers) are not proven by their shares "
                            + "against the ceremony transcript")
                }
                report.blocksWithProvenSigners += 1
            }
        } else {
            report.blocksUnsigned += 1
        }
        report.blocksChecked += 1
        previousHash = block.hash
        blockIndex += 1
        leaves = []
        self.header = nil
    }

    func finish() throws {
        guard blockIndex == blocks.count else {
            throw AuditProblem("block \(blocks[blockIndex].height): covers entries that are missing")
        }
    }

    private func parse(_ block: StoredBlock) throws -> BlockHeader {
        do {
            return try BlockHeader(signingBytes: block.header)
        } catch {
            throw AuditProblem("block \(block.height): header does not parse: \(error)")
        }
    }

    private func checkChain(_ block: StoredBlock, _ header: BlockHeader) throws {
        let name = "block \(block.height)"
        guard header.height == block.height, header.region == region else {
            throw AuditProblem("\(name): height or region differs from its header")
        }
        // Readers find a block's entries by the stored range: it must be the signed one.
        guard block.first == header.firstSequence, block.last == header.lastSequence else {
            throw AuditProblem("\(name): stored range \(block.first)...\(block.last) differs from its header's")
        }
        guard SHA3.hash256(block.header) == block.hash else {
            throw AuditProblem("\(name): stored hash is not the hash of its header")
        }
        guard header.previousHashHex == Hex.encode(previousHash) else {
            throw AuditProblem("\(name): previous hash does not link to block \(block.height - 1)")
        }
        guard header.entryCount == Int64(leaves.count),
            header.lastSequence - header.firstSequence + 1 == header.entryCount
        else {
            throw AuditProblem("\(name): entry count \(header.entryCount) differs from its \(leaves.count) entries")
        }
        guard header.merkleRootHex == Hex.encode(Merkle.root(leafHashes: leaves)) else {
            throw AuditProblem("\(name): Merkle root does not match its entries")
        }
    }

    /// Supply, reserves and the reserve root must be what the replay holds after the block's last entry,
    /// with supply equal to reserves; the rule set must be one the ledger stores, never older than one
    /// in force before.
    private mutating func checkState(_ header: BlockHeader, store: MemoryLedgerStore, replay: AuditReplay) throws {
        let name = "block \(header.height)"
        let reserves = replay.reserves
        for token in Token.allCases {
            let supply = try store.supply(token)
            guard (header.supply[token] ?? 0) == supply else {
                throw AuditProblem(
                    "\(name): supply of \(token.rawValue) \(header.supply[token] ?? 0) differs from replayed \(supply)")
            }
            guard (header.reserves[token] ?? 0) == (reserves.amounts[token] ?? 0) else {
                throw AuditProblem(
                    "\(name): reserves of \(token.rawValue) \(header.reserves[token] ?? 0) differ from the reserve "
                        + "records \(reserves.amounts[token] ?? 0)"
                )
            }
            for counterpart in Set(header.claims.keys).union(header.obligations.keys).union(replay.counterparts) {
                let position = try store.position(PositionKey(counterpart: counterpart, token: token))
                guard (header.claims[counterpart]?[token] ?? 0) == position.claims,
                    (header.obligations[counterpart]?[token] ?? 0) == position.obligations
                else {
                    throw AuditProblem(
                        "\(name): claims or obligations of \(token.rawValue) with \(counterpart) differ from "
                            + "the replay's \(position.claims) and \(position.obligations)")
                }
            }
            guard (header.reserves[token] ?? 0) + header.netPosition(token) == (header.supply[token] ?? 0) else {
                throw AuditProblem(
                    "\(name): \(token.rawValue) supply \(header.supply[token] ?? 0) is not backed by reserves "
                        + "\(header.reserves[token] ?? 0) plus claims less obligations \(header.netPosition(token))")
            }
        }
        guard header.reserveRootHex == reserves.rootHex else {
            throw AuditProblem("\(name): reserve root does not commit to the reserve records")
        }
        guard header.rules != "none" else {
            guard lastRulesVersion == 0 else {
                throw AuditProblem("\(name): names no rule set after one was in force")
            }
            return
        }
        let parts = header.rules.split(separator: ":")
        guard parts.count == 2, let version = Int64(parts[0]), ruleSets[version] == String(parts[1]) else {
            throw AuditProblem("\(name): rule set \(header.rules) is not a rule set stored in the ledger")
        }
        let signed = replay.signedRuleSets.last?.version ?? 0
        guard version >= lastRulesVersion, version >= signed else {
            throw AuditProblem("\(name): rule set version \(version) is older than one already in force")
        }
        lastRulesVersion = version
    }
}
