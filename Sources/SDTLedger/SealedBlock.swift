import SDTCore
import SDTCrypto

/// A block as stored: its header, the header's bytes and hash, and the signature once it has one.
public struct SealedBlock: Sendable, Hashable {
    public let header: BlockHeader
    public let headerBytes: [UInt8]
    public let hash: [UInt8]
    public let signature: [UInt8]?
    /// The custodians whose shares made the signature (ascending), when the ledger recorded them: empty
    /// for a single region key, for an unsigned block, and for blocks signed before signers were kept.
    public internal(set) var signers: [Int] = []
    /// Their commitments and signature shares, which verify against the ceremony's public shares.
    public internal(set) var signingProof: [UInt8] = []

    public var height: Int64 { header.height }
    public var isFinal: Bool { signature != nil }

    init(headerBytes: [UInt8], signature: [UInt8]?) throws(LedgerError) {
        do {
            header = try BlockHeader(signingBytes: headerBytes)
        } catch {
            throw LedgerError(.invariant, "a stored block header does not parse: \(error)")
        }
        self.headerBytes = headerBytes
        hash = SHA3.hash256(headerBytes)
        self.signature = signature
    }
}

extension SealedBlock {
    /// A block from a row of `header, signature, signers, signing_proof`.
    init(row: Row) throws(LedgerError) {
        try self.init(headerBytes: row.blob(0), signature: row.optionalBlob(1))
        signers = (row.optionalText(2) ?? "").split(separator: ",").compactMap { Int($0) }
        signingProof = row.optionalBlob(3) ?? []
    }
}

extension LedgerWriter {
    /// Whether the next block should be sealed now: when the newest block is already signed (blocks
    /// are signed in order, so all are), or when a full block's worth of entries waits. While a
    /// signature is outstanding, entries gather into one larger block instead of many small ones.
    public func shouldSeal(entriesMax: Int) throws(LedgerError) -> Bool {
        let newestSigned = try connection.query("SELECT signature IS NOT NULL FROM blocks ORDER BY height DESC LIMIT 1").first?.int(0) ?? 1
        if newestSigned == 1 { return true }
        let waiting = try connection.query(
            "SELECT (SELECT COALESCE(MAX(sequence), 0) FROM entries) - (SELECT COALESCE(MAX(last_sequence), 0) FROM blocks)"
        ).first?.int(0) ?? 0
        return waiting >= Int64(entriesMax)
    }

    /// Seals up to `entriesMax` applied, unsealed entries into the next block, in one transaction.
    /// Returns nil when there is nothing to seal. The block is not final until it is signed.
    public func sealNextBlock(entriesMax: Int, nowMilliseconds: Int64) throws(LedgerError) -> SealedBlock? {
        try connection.transaction { () throws(LedgerError) -> SealedBlock? in
            let rows = try connection.query(
                """
                SELECT sequence, signing_bytes, signature FROM entries
                WHERE sequence > (SELECT COALESCE(MAX(last_sequence), 0) FROM blocks) ORDER BY sequence LIMIT ?
                """, [.integer(Int64(entriesMax))]
            )
            guard let first = rows.first?.int(0), let last = rows.last?.int(0) else { return nil }
            let previous = try connection.query("SELECT header FROM blocks ORDER BY height DESC LIMIT 1").first
                .map { row throws(LedgerError) in try SealedBlock(headerBytes: row.blob(0), signature: nil) }
            let expectedFirst = (previous?.header.lastSequence ?? 0) + 1
            guard first == expectedFirst, last - first + 1 == Int64(rows.count) else {
                throw LedgerError(.invariant, "unsealed entries \(first)...\(last) do not follow block at sequence \(expectedFirst - 1)")
            }
            let leaves = rows.map { Merkle.leafHash($0.blob(1) + $0.blob(2)) }
            var supply = previous?.header.supply ?? [:]
            // Supply grows by what the issuer account sends (mints) and shrinks by what it receives (redemptions).
            try connection.each(
                """
                SELECT token, SUM(CASE WHEN from_account = ?1 THEN amount ELSE -amount END) FROM movements
                WHERE sequence BETWEEN ?2 AND ?3 AND (from_account = ?1 OR to_account = ?1) GROUP BY token
                """,
                [.text(issuerAccountID), .integer(first), .integer(last)]
            ) { row in
                if let token = Token(rawValue: row.text(0)) { supply[token, default: 0] += row.int(1) }
            }
            let reserves = try reservesAfter(sequence: last, first: first, previous: previous?.header)
            let positions = try positionsAfter(first: first, last: last, previous: previous?.header)
            let header = BlockHeader(
                region: policy.region, height: 0, previousHashHex: "", merkleRootHex: "", entryCount: 0, firstSequence: first,
                lastSequence: last, supply: supply, reserves: reserves.amounts, reserveRootHex: "", rules: "", sealedAtMilliseconds: 0,
                claims: positions.claims, obligations: positions.obligations
            )
            for token in Token.allCases where (supply[token] ?? 0) != (reserves.amounts[token] ?? 0) + header.netPosition(token) {
                throw LedgerError(.invariant, "block after sequence \(last): \(token.rawValue) supply \(supply[token] ?? 0) differs from "
                                  + "reserves \(reserves.amounts[token] ?? 0) plus claims less obligations \(header.netPosition(token))")
            }
            let rules = try connection.query(
                "SELECT version, sha3 FROM rule_sets WHERE sequence IS NULL OR sequence <= ? ORDER BY version DESC LIMIT 1", [.integer(last)]
            ).first.map { "\($0.int(0)):\($0.text(1))" } ?? "none"
            let sealed = BlockHeader(
                region: policy.region, height: (previous?.height ?? 0) + 1,
                previousHashHex: previous.map { Hex.encode($0.hash) } ?? BlockHeader.genesisPreviousHashHex,
                merkleRootHex: Hex.encode(Merkle.root(leafHashes: leaves)), entryCount: Int64(rows.count),
                firstSequence: first, lastSequence: last, supply: supply, reserves: reserves.amounts,
                reserveRootHex: reserves.rootHex, rules: rules, sealedAtMilliseconds: nowMilliseconds,
                claims: positions.claims, obligations: positions.obligations
            )
            let block = try SealedBlock(headerBytes: sealed.signingBytes, signature: nil)
            try connection.query(
                "INSERT INTO blocks (height, header, block_hash, first_sequence, last_sequence) VALUES (?, ?, ?, ?, ?)",
                [.integer(sealed.height), .blob(block.headerBytes), .blob(block.hash), .integer(first), .integer(last)]
            )
            return block
        }
    }
}

extension LedgerWriter {
    /// Claims and obligations after entry `last`: the previous block's, moved by the credits decided in
    /// `first...last` (a payment this region credited for another is a claim on it; an acknowledged
    /// credit of one of ours by another is an obligation to it).
    func positionsAfter(first: Int64, last: Int64, previous: BlockHeader?) throws(LedgerError)
        -> (claims: [String: [Token: Int64]], obligations: [String: [Token: Int64]]) {
        var claims = previous?.claims ?? [:]
        var obligations = previous?.obligations ?? [:]
        let rows = try connection.query(
            "SELECT sequence, signing_bytes FROM entries WHERE kind = 'inter_region' AND sequence BETWEEN ? AND ? ORDER BY sequence",
            [.integer(first), .integer(last)]
        )
        for row in rows {
            let entry: InterRegionEntry
            do {
                entry = try InterRegionEntry(recordedBytes: row.blob(1))
            } catch {
                throw LedgerError(.invariant, "inter-region entry \(row.int(0)) does not parse: \(error)")
            }
            entry.moving(claims: &claims, obligations: &obligations)
        }
        return (claims, obligations)
    }

    /// Reserves and their commitment after entry `sequence`. Recomputed only when a reserve record was
    /// created or released in `first...sequence`; otherwise the previous block's carry over.
    func reservesAfter(sequence: Int64, first: Int64, previous: BlockHeader?) throws(LedgerError) -> (amounts: [Token: Int64], rootHex: String) {
        let range: [SQLiteConnection.Value] = [.integer(first), .integer(sequence)]
        let created = try connection.query("SELECT 1 FROM reserve_records WHERE sequence BETWEEN ? AND ? LIMIT 1", range)
        let released = try connection.query("SELECT 1 FROM reserve_records WHERE released_sequence BETWEEN ? AND ? LIMIT 1", range)
        let changed = !created.isEmpty || !released.isEmpty
        if let previous, !changed { return (previous.reserves, previous.reserveRootHex) }
        var amounts: [Token: Int64] = [:]
        var leaves: [[UInt8]] = []
        try connection.each(
            """
            SELECT r.token, r.kind, r.amount, e.signing_bytes FROM reserve_records r JOIN entries e ON e.sequence = r.sequence
            WHERE r.sequence <= ? AND (r.released_sequence IS NULL OR r.released_sequence > ?) ORDER BY r.sequence
            """, [.integer(sequence), .integer(sequence)]
        ) { row in
            guard let token = Token(rawValue: row.text(0)) else { return }
            amounts[token, default: 0] += row.text(1) == "withdrawal" ? -row.int(2) : row.int(2)
            leaves.append(Merkle.leafHash(row.blob(3)))
        }
        return (amounts, Hex.encode(Merkle.root(leafHashesOrNone: leaves)))
    }
}

/// A block's signature as the ledger stores it, with the custodians who made it and their evidence
/// (see `QuorumSignature` in SDTCustody); `signers` and `proof` are empty for a single region key.
public struct BlockSignatureRecord: Sendable, Hashable {
    public let block: SealedBlock
    public let signature: [UInt8]
    public let signers: [Int]
    public let proof: [UInt8]

    public init(block: SealedBlock, signature: [UInt8], signers: [Int] = [], proof: [UInt8] = []) {
        self.block = block
        self.signature = signature
        self.signers = signers
        self.proof = proof
    }

    static let update =
        "UPDATE blocks SET signature = ?, signers = ?, signing_proof = ? WHERE height = ? AND signature IS NULL"

    /// The values of `update`.
    var values: [SQLiteConnection.Value] {
        [.blob(signature), signers.isEmpty ? .null : .text(signers.map(String.init).joined(separator: ",")),
         proof.isEmpty ? .null : .blob(proof), .integer(block.height)]
    }
}

extension LedgerWriter {
    static func check(_ signed: [BlockSignatureRecord], publicKey: [UInt8]) throws(LedgerError) {
        for record in signed
        where !Ed25519.verify(signature: record.signature, message: record.block.headerBytes, publicKey: publicKey) {
            let block = record.block
            throw LedgerError(.invariant, "the signature for block \(block.height) does not verify; not stored")
        }
    }

    /// Stores block signatures in one transaction, each checked against `publicKey` first: a wrong
    /// signature is never stored. The applier calls this, so the ledger has one writer.
    public func storeSignatures(_ signed: [BlockSignatureRecord], publicKey: [UInt8]) throws(LedgerError) {
        guard !signed.isEmpty else { return }
        try Self.check(signed, publicKey: publicKey)
        try connection.transaction { () throws(LedgerError) in
            for record in signed { try connection.query(BlockSignatureRecord.update, record.values) }
        }
    }
}

/// Reads sealed blocks for signing (and, in tests and the simulator, stores their signatures). It has
/// its own connection so that signing, which may wait on custodians, never holds up the applier.
public final class BlockSignatureStore: @unchecked Sendable {
    // @unchecked: owned by the one task that signs blocks.
    let connection: SQLiteConnection

    public init(path: String, durable: Bool = true) throws(LedgerError) {
        connection = try SQLiteConnection(path: path, durable: durable)
        try Migrations.run(on: connection)
    }

    /// Sealed blocks without a signature, oldest first.
    public func unsignedBlocks(limit: Int) throws(LedgerError) -> [SealedBlock] {
        try connection.query(
            "SELECT header FROM blocks WHERE signature IS NULL ORDER BY height LIMIT ?", [.integer(Int64(limit))]
        ).map { row throws(LedgerError) in try SealedBlock(headerBytes: row.blob(0), signature: nil) }
    }

    /// Stores `signature` after checking it against `publicKey`: a wrong signature is never stored.
    public func store(
        signature: [UInt8], for block: SealedBlock, publicKey: [UInt8], signers: [Int] = [], proof: [UInt8] = []
    ) throws(LedgerError) {
        guard Ed25519.verify(signature: signature, message: block.headerBytes, publicKey: publicKey) else {
            throw LedgerError(.invariant, "the signature for block \(block.height) does not verify; not stored")
        }
        let record = BlockSignatureRecord(block: block, signature: signature, signers: signers, proof: proof)
        try connection.query(BlockSignatureRecord.update, record.values)
    }
}
