/// One signed entry as it is stored and sealed: its signed record and its signature.
public struct SignedEntry: Sendable, Hashable {
    public let kind: EntryKind
    public let signingBytes: [UInt8]
    public let signature: [UInt8]

    public init(kind: EntryKind, signingBytes: [UInt8], signature: [UInt8]) {
        self.kind = kind
        self.signingBytes = signingBytes
        self.signature = signature
    }
}

/// Everything a signer needs to check a block before signing it: the header, the entries it seals
/// (to recompute the Merkle root and check every client signature), and the previous block's header
/// and signature (to check that the chain continues from a block the quorum already signed).
public struct BlockSigningRequest: Sendable {
    public let headerBytes: [UInt8]
    public let entries: [SignedEntry]
    public let previousHeader: [UInt8]?
    public let previousSignature: [UInt8]?

    public init(headerBytes: [UInt8], entries: [SignedEntry], previousHeader: [UInt8]?, previousSignature: [UInt8]?) {
        self.headerBytes = headerBytes
        self.entries = entries
        self.previousHeader = previousHeader
        self.previousSignature = previousSignature
    }
}

extension BlockSignatureStore {
    /// The signing request of a sealed block. Blocks are signed in height order, so the previous
    /// block is already signed when this one's turn comes.
    public func signingRequest(for block: SealedBlock) throws(LedgerError) -> BlockSigningRequest {
        let entries = try connection.query(
            "SELECT kind, signing_bytes, signature FROM entries WHERE block_height = ? ORDER BY leaf_index", [.integer(block.height)]
        ).map { SignedEntry(kind: EntryKind(rawValue: $0.text(0)) ?? .transfer, signingBytes: $0.blob(1), signature: $0.blob(2)) }
        let previous = try connection.query("SELECT header, signature FROM blocks WHERE height = ?", [.integer(block.height - 1)]).first
        if block.height > 1, previous?.optionalBlob(1) == nil {
            throw LedgerError(.invariant, "block \(block.height - 1) must be signed before block \(block.height)")
        }
        return BlockSigningRequest(
            headerBytes: block.headerBytes, entries: entries, previousHeader: previous?.blob(0), previousSignature: previous?.optionalBlob(1)
        )
    }
}
