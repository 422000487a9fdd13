import SDTCore
import SDTCrypto

/// Signs block headers for the region: one region key, or the custodian quorum (threshold signing).
public protocol BlockSigner: Sendable {
    /// The key a verifier checks block signatures against.
    var publicKey: [UInt8] { get }
    /// An Ed25519 signature of `request.headerBytes` that verifies with `publicKey`.
    func sign(_ request: BlockSigningRequest) async throws -> [UInt8]
}

/// Signs with one region key held by the node: the default without a custody ceremony.
public struct SingleKeyBlockSigner: BlockSigner {
    private let key: SigningKey

    public init(key: SigningKey) { self.key = key }

    public var publicKey: [UInt8] { key.publicKey }

    public func sign(_ request: BlockSigningRequest) async throws -> [UInt8] { key.sign(request.headerBytes) }
}
