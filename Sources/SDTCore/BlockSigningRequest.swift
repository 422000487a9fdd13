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
