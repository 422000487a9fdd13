import SDTCore
import SDTCrypto

/// Signs block headers for the region: one region key, or the custodian quorum (threshold signing).
public protocol BlockSigner: Sendable {
    /// The key a verifier checks block signatures against.
    var publicKey: [UInt8] { get }
    /// An Ed25519 signature of `request.headerBytes` that verifies with `publicKey`.
    func sign(_ request: BlockSigningRequest) async throws -> [UInt8]
    /// What went wrong with custodians in the last `sign`, even if it succeeded without them.
    func problemsInLastSigning() async -> [CustodianProblem]
    /// Asks every custodian whether it answers; nil for a single region key.
    func probe() async -> Custody?
}

/// The quorum behind a block signer, as last probed.
public struct Custody: Sendable, Hashable {
    public let threshold: Int
    public let custodians: [CustodianStatus]

    public init(threshold: Int, custodians: [CustodianStatus]) {
        self.threshold = threshold
        self.custodians = custodians
    }

    /// Enough custodians answer to sign a block.
    public var canSign: Bool { custodians.filter(\.reachable).count >= threshold }
}

extension BlockSigner {
    public func problemsInLastSigning() async -> [CustodianProblem] { [] }
    public func probe() async -> Custody? { nil }
}

/// Signs with one region key held by the node: the default without a custody ceremony.
public struct SingleKeyBlockSigner: BlockSigner {
    private let key: SigningKey

    public init(key: SigningKey) { self.key = key }

    public var publicKey: [UInt8] { key.publicKey }

    public func sign(_ request: BlockSigningRequest) async throws -> [UInt8] { key.sign(request.headerBytes) }
}
