import SDTCore
import SDTCrypto

/// Signs block headers for the region: one region key, or the custodian quorum (threshold signing).
public protocol BlockSigner: Sendable {
    /// The key a verifier checks block signatures against.
    var publicKey: [UInt8] { get }
    /// An Ed25519 signature of `request.headerBytes` that verifies with `publicKey`, with who made it.
    func sign(_ request: BlockSigningRequest) async throws -> QuorumSignature
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

    public func sign(_ request: BlockSigningRequest) async throws -> QuorumSignature {
        QuorumSignature(signature: key.sign(request.headerBytes), signers: [], proof: [])
    }
}

/// A block signature and who made it. A FROST signature is an ordinary Ed25519 signature that does not
/// show which custodians took part, so the coordinator keeps the evidence: each signer's commitments and
/// signature share (`proof`), which anyone holding the ceremony transcript's public shares can check
/// (`verifiedSigners`). A single region key has no signers and no proof.
public struct QuorumSignature: Sendable, Hashable {
    public let signature: [UInt8]
    /// The custodians' identifiers, ascending; empty for a single region key.
    public let signers: [Int]
    /// Per signer, ascending: identifier (2 bytes, big-endian), hiding and binding commitments and the
    /// signature share (32 bytes each).
    public let proof: [UInt8]

    public init(signature: [UInt8], signers: [Int], proof: [UInt8]) {
        self.signature = signature
        self.signers = signers
        self.proof = proof
    }

    static let partBytes = 2 + 32 * 3

    /// The proof of `commitments` and their `shares`.
    static func proof(_ commitments: [FROST.Commitment], shares: [Int: [UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for commitment in commitments.sorted(by: { $0.identifier < $1.identifier }) {
            bytes.append(UInt8(commitment.identifier >> 8))
            bytes.append(UInt8(commitment.identifier & 0xFF))
            bytes += commitment.hiding
            bytes += commitment.binding
            bytes += shares[commitment.identifier] ?? []
        }
        return bytes
    }

    /// The signers `proof` proves made `signature` of `message`: at least `threshold` of them, every share
    /// verifies against its custodian's public share in `publicShares` and the commitments of all, and the
    /// shares aggregate to exactly `signature`. Nil when any of that fails.
    public static func verifiedSigners(
        proof: [UInt8], signature: [UInt8], threshold: Int, publicShares: [Int: [UInt8]], groupPublicKey: [UInt8],
        message: [UInt8]
    ) -> [Int]? {
        guard !proof.isEmpty, proof.count % partBytes == 0, proof.count / partBytes >= threshold else { return nil }
        var commitments: [FROST.Commitment] = []
        var shares: [Int: [UInt8]] = [:]
        for start in stride(from: 0, to: proof.count, by: partBytes) {
            let part = Array(proof[start..<(start + partBytes)])
            let identifier = Int(part[0]) << 8 | Int(part[1])
            guard shares[identifier] == nil else { return nil }
            commitments.append(
                .init(identifier: identifier, hiding: Array(part[2..<34]), binding: Array(part[34..<66])))
            shares[identifier] = Array(part[66..<98])
        }
        for commitment in commitments {
            guard let publicShare = publicShares[commitment.identifier], let share = shares[commitment.identifier],
                FROST.verifyShare(
                    identifier: commitment.identifier, publicShare: publicShare, signatureShare: share,
                    commitments: commitments, groupPublicKey: groupPublicKey, message: message)
            else { return nil }
        }
        guard
            let aggregate = try? FROST.aggregate(
                commitments: commitments, shares: shares, groupPublicKey: groupPublicKey, message: message),
            aggregate == signature
        else { return nil }
        return commitments.map(\.identifier)
    }
}
