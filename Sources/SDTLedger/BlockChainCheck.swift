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
        try connection.each(
            "SELECT sequence, kind, entry_id, signing_bytes, public_key, signature, block_height, leaf_index FROM entries ORDER BY sequence"
        ) { (row) throws(LedgerError) in
            let sequence = row.int(0)
            let name = "entry sequence \(sequence) (\(row.text(1)) \(row.text(2)))"
            guard sequence == expectedSequence else { throw LedgerError(.invariant, "entry sequence \(expectedSequence) is missing") }
            expectedSequence += 1
            let expected: [LedgerReplay.Posting]
            do {
                expected = try replay.apply(
                    kind: row.text(1), entryID: row.text(2), signingBytes: row.blob(3), publicKeyHex: row.text(4), signature: row.blob(5)
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
                previousHash = blocks[blockIndex].hash
                blockIndex += 1
                leaves = []
            }
        }
        guard blockIndex == blocks.count else {
            throw LedgerError(.invariant, "block \(blocks[blockIndex].height): covers entries that are missing")
        }
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
