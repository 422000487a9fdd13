import SDTCore
import SDTCrypto

/// Walks the entries in sequence order and the blocks in height order together, checking each
/// block's range, Merkle root, hash link, supply line and signature as its last entry goes by.
struct BlockChainCheck {
    typealias StoredBlock = (height: Int64, header: [UInt8], hash: [UInt8], signature: [UInt8]?)

    let blocks: [StoredBlock]
    let region: String
    let blockPublicKey: [UInt8]

    func run(connection: SQLiteConnection, replay: inout LedgerReplay, report: inout AuditReport) throws {
        var blockIndex = 0
        var leaves: [[UInt8]] = []
        var expectedSequence: Int64 = 1
        var previousHash = [UInt8](repeating: 0, count: 32)
        var lastRulesVersion: Int64 = 0
        var ruleSets: [Int64: String] = [:]
        try connection.each("SELECT version, sha3, text FROM rule_sets") { (row) throws(LedgerError) in
            guard Hex.encode(SHA3.hash256(Array(row.text(2).utf8))) == row.text(1) else {
                throw LedgerError(.invariant, "rule set version \(row.int(0)): its text does not hash to its recorded sha3")
            }
            ruleSets[row.int(0)] = row.text(1)
        }
        try connection.each(
            "SELECT sequence, kind, entry_id, signing_bytes, public_key, signature, block_height, leaf_index, applied_at_ms FROM entries ORDER BY sequence"
        ) { (row) throws(LedgerError) in
            let sequence = row.int(0)
            let name = "entry sequence \(sequence) (\(row.text(1)) \(row.text(2)))"
            guard sequence == expectedSequence else { throw LedgerError(.invariant, "entry sequence \(expectedSequence) is missing") }
            expectedSequence += 1
            let expected: [LedgerReplay.Posting]
            do {
                expected = try replay.apply(
                    sequence: sequence, kind: row.text(1), entryID: row.text(2), signingBytes: row.blob(3), publicKeyHex: row.text(4), signature: row.blob(5),
                    appliedAtMilliseconds: row.int(8)
                )
            } catch {
                throw LedgerError(.invariant, "\(name): \(error)")
            }
            let stored = try connection.query("SELECT account_id, token, amount FROM postings WHERE sequence = ? ORDER BY account_id, token",
                                              [.integer(sequence)]).map { "\($0.text(0))/\($0.text(1))/\($0.int(2))" }
            guard stored == expected.map({ "\($0.account)/\($0.token.rawValue)/\($0.amount)" }).sorted() else {
                throw LedgerError(.invariant, "\(name): stored postings \(stored) differ from the signed entry")
            }
            report.entriesChecked += 1
            guard let height = row.optionalInt(6) else {
                report.entriesUnsealed += 1
                return
            }
            guard blockIndex < blocks.count, blocks[blockIndex].height == height, row.optionalInt(7) == Int64(leaves.count) else {
                throw LedgerError(.invariant, "\(name): claims block \(height) leaf \(row.optionalInt(7) ?? -1) out of order")
            }
            guard report.entriesUnsealed == 0 else { throw LedgerError(.invariant, "\(name): sealed after an unsealed entry") }
            leaves.append(Merkle.leafHash(row.blob(3) + row.blob(5)))
            let header = try parse(blocks[blockIndex])
            if sequence == header.lastSequence {
                try check(blocks[blockIndex], header, leaves: leaves, previousHash: previousHash, supply: replay.supply, report: &report)
                try checkReservesAndRules(header, replay: &replay, ruleSets: ruleSets, lastRulesVersion: &lastRulesVersion)
                previousHash = blocks[blockIndex].hash
                blockIndex += 1
                leaves = []
            }
        }
        guard blockIndex == blocks.count else {
            throw LedgerError(.invariant, "block \(blocks[blockIndex].height): covers entries that are missing")
        }
    }

    /// The header's reserves and reserve root must be what the replay holds after its last entry, equal
    /// to the supply; its rule set must be one the ledger stores, never older than one signed before.
    private func checkReservesAndRules(
        _ header: BlockHeader, replay: inout LedgerReplay, ruleSets: [Int64: String], lastRulesVersion: inout Int64
    ) throws(LedgerError) {
        let name = "block \(header.height)"
        let reserves = replay.reserves
        for token in Token.allCases where (header.reserves[token] ?? 0) != (reserves.amounts[token] ?? 0) {
            throw LedgerError(.invariant, "\(name): reserves of \(token.rawValue) \(header.reserves[token] ?? 0) differ from the reserve records \(reserves.amounts[token] ?? 0)")
        }
        for token in Token.allCases where (header.reserves[token] ?? 0) != (header.supply[token] ?? 0) {
            throw LedgerError(.invariant, "\(name): \(token.rawValue) supply \(header.supply[token] ?? 0) is not backed by reserves \(header.reserves[token] ?? 0)")
        }
        guard header.reserveRootHex == reserves.rootHex else { throw LedgerError(.invariant, "\(name): reserve root does not commit to the reserve records") }
        replay.reserveChanged = false
        guard header.rules != "none" else {
            guard lastRulesVersion == 0 else { throw LedgerError(.invariant, "\(name): names no rule set after one was in force") }
            return
        }
        let parts = header.rules.split(separator: ":")
        guard parts.count == 2, let version = Int64(parts[0]), ruleSets[version] == String(parts[1]) else {
            throw LedgerError(.invariant, "\(name): rule set \(header.rules) is not a rule set stored in the ledger")
        }
        let signed = replay.signedRuleSets.last?.version ?? 0
        guard version >= lastRulesVersion, version >= signed else {
            throw LedgerError(.invariant, "\(name): rule set version \(version) is older than one already in force")
        }
        lastRulesVersion = version
    }

    private func parse(_ block: StoredBlock) throws(LedgerError) -> BlockHeader {
        do {
            return try BlockHeader(signingBytes: block.header)
        } catch {
            throw LedgerError(.invariant, "block \(block.height): header does not parse: \(error)")
        }
    }

    private func check(
        _ block: StoredBlock, _ header: BlockHeader, leaves: [[UInt8]], previousHash: [UInt8], supply: [Token: Int64],
        report: inout AuditReport
    ) throws(LedgerError) {
        let name = "block \(block.height)"
        guard header.height == block.height, header.region == region else { throw LedgerError(.invariant, "\(name): height or region differs from its header") }
        guard SHA3.hash256(block.header) == block.hash else { throw LedgerError(.invariant, "\(name): stored hash is not the hash of its header") }
        guard header.previousHashHex == Hex.encode(previousHash) else { throw LedgerError(.invariant, "\(name): previous hash does not link to block \(block.height - 1)") }
        guard header.entryCount == Int64(leaves.count), header.lastSequence - header.firstSequence + 1 == header.entryCount else {
            throw LedgerError(.invariant, "\(name): entry count \(header.entryCount) differs from its \(leaves.count) entries")
        }
        guard header.merkleRootHex == Hex.encode(Merkle.root(leafHashes: leaves)) else {
            throw LedgerError(.invariant, "\(name): Merkle root does not match its entries")
        }
        for token in Token.allCases where (header.supply[token] ?? 0) != (supply[token] ?? 0) {
            throw LedgerError(.invariant, "\(name): supply of \(token.rawValue) \(header.supply[token] ?? 0) differs from replayed \(supply[token] ?? 0)")
        }
        if let signature = block.signature {
            guard Ed25519.verify(signature: signature, message: block.header, publicKey: blockPublicKey) else {
                throw LedgerError(.invariant, "\(name): signature does not verify with the region key")
            }
        } else {
            report.blocksUnsigned += 1
        }
        report.blocksChecked += 1
    }
}
