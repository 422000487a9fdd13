import SDTCore

extension BlockSignatureStore {
    /// The signing request of a sealed block. Blocks are signed in height order, so the previous
    /// block is signed when this one's turn comes: in the ledger, or (`previousSignature`) just now by
    /// the signer, before the applier stored it.
    public func signingRequest(
        for block: SealedBlock, previousSignature known: [UInt8]? = nil
    ) throws(LedgerError) -> BlockSigningRequest {
        let entries = try connection.query(
            "SELECT kind, signing_bytes, signature FROM entries WHERE sequence BETWEEN ? AND ? ORDER BY sequence",
            [.integer(block.header.firstSequence), .integer(block.header.lastSequence)]
        ).map { (row) throws(LedgerError) -> SignedEntry in
            guard let kind = EntryKind(rawValue: row.text(0)) else {
                throw LedgerError(.invariant, "an entry has unknown kind \(row.text(0))")
            }
            return SignedEntry(kind: kind, signingBytes: row.blob(1), signature: row.blob(2))
        }
        let previous = try connection.query(
            "SELECT header, signature FROM blocks WHERE height = ?", [.integer(block.height - 1)]
        ).first
        let previousSignature = previous?.optionalBlob(1) ?? known
        if block.height > 1, previousSignature == nil {
            throw LedgerError(.invariant, "block \(block.height - 1) must be signed before block \(block.height)")
        }
        return BlockSigningRequest(
            headerBytes: block.headerBytes, entries: entries, previousHeader: previous?.blob(0),
            previousSignature: previousSignature
        )
    }
}
