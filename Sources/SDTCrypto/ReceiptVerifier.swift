import SDTCore

/// Checks a receipt offline with nothing but the region's block public key: the block header's
/// signature, the Merkle path from the entry to the header's root, and the client's own signature.
public enum ReceiptVerifier {
    public struct Input: Sendable {
        public var signingBytes: [UInt8]
        public var entryPublicKey: [UInt8]
        public var entrySignature: [UInt8]
        public var leafIndex: Int
        public var entryCount: Int
        public var path: [[UInt8]]
        public var headerBytes: [UInt8]
        public var blockSignature: [UInt8]

        public init(
            signingBytes: [UInt8], entryPublicKey: [UInt8], entrySignature: [UInt8], leafIndex: Int, entryCount: Int,
            path: [[UInt8]], headerBytes: [UInt8], blockSignature: [UInt8]
        ) {
            self.signingBytes = signingBytes
            self.entryPublicKey = entryPublicKey
            self.entrySignature = entrySignature
            self.leafIndex = leafIndex
            self.entryCount = entryCount
            self.path = path
            self.headerBytes = headerBytes
            self.blockSignature = blockSignature
        }
    }

    /// Returns the verified block header, or throws naming the first check that failed.
    public static func verify(_ input: Input, blockPublicKey: [UInt8]) throws(CryptoError) -> BlockHeader {
        guard Ed25519.verify(signature: input.blockSignature, message: input.headerBytes, publicKey: blockPublicKey) else {
            throw CryptoError("the block signature does not verify with the region key")
        }
        let header: BlockHeader
        do {
            header = try BlockHeader(signingBytes: input.headerBytes)
        } catch {
            throw CryptoError("the block header does not parse: \(error)")
        }
        guard Int64(input.entryCount) == header.entryCount else {
            throw CryptoError("the receipt's entry count \(input.entryCount) differs from the header's \(header.entryCount)")
        }
        guard let root = Hex.decode(header.merkleRootHex),
              Merkle.verify(
                  leafHash: Merkle.leafHash(input.signingBytes + input.entrySignature), index: input.leafIndex,
                  count: input.entryCount, path: input.path, root: root
              )
        else { throw CryptoError("the Merkle path does not lead from the entry to the block's root") }
        guard Ed25519.verify(signature: input.entrySignature, message: input.signingBytes, publicKey: input.entryPublicKey) else {
            throw CryptoError("the entry's signature does not verify with its key")
        }
        return header
    }
}
