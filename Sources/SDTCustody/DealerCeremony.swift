import Foundation
import SDTCore
import SDTCrypto

/// The dealer ceremony, for an offline machine: generate the region key, split it 2-of-3 with Shamir
/// over GMP, publish Feldman commitments, seal each share to its custodian's identity key, and forget
/// the key (its GMP limbs are wiped when the values go away at the end of `deal`).
public enum DealerCeremony {
    public struct Identity: Sendable {
        public let name: String
        public let identityKey: [UInt8]

        public init(name: String, identityKey: [UInt8]) {
            self.name = name
            self.identityKey = identityKey
        }
    }

    /// The transcript (unsigned) and, per custodian identifier, its sealed share.
    public static func deal(region: String, custodians: [Identity]) throws(CryptoError) -> (CeremonyTranscript, [Int: [UInt8]]) {
        guard custodians.count == CeremonyTranscript.custodianCount else {
            throw CryptoError("a ceremony needs exactly \(CeremonyTranscript.custodianCount) custodians, got \(custodians.count)")
        }
        guard Set(custodians.map(\.identityKey)).count == custodians.count, Set(custodians.map(\.name)).count == custodians.count else {
            throw CryptoError("custodian names and identity keys must all differ")
        }
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: CeremonyTranscript.threshold)
        let secret = BigInteger(littleEndian: Ed25519Group.randomScalar())
        let (shares, coefficients) = try sharing.split(secret: secret, count: custodians.count) {
            BigInteger(littleEndian: Ed25519Group.randomScalar())
        }
        let commitments = try Feldman.commitments(coefficients)
        var sealed: [Int: [UInt8]] = [:]
        var entries: [CeremonyTranscript.Custodian] = []
        for (share, identity) in zip(shares, custodians) {
            var payload = share.value.littleEndianBytes(count: 32)
            let box = try SealedBox.seal(payload, to: identity.identityKey)
            payload.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
            sealed[share.identifier] = box
            entries.append(.init(
                identifier: share.identifier, name: identity.name, identityKey: Hex.encode(identity.identityKey),
                publicShare: Hex.encode(try Feldman.publicShare(identifier: share.identifier, commitments: commitments)),
                sealedShareSHA3: Hex.encode(SHA3.hash256(box))
            ))
        }
        let transcript = CeremonyTranscript(
            format: CeremonyTranscript.formatName, region: region, kind: "dealer", threshold: CeremonyTranscript.threshold,
            groupPublicKey: Hex.encode(commitments[0]), commitments: commitments.map { Hex.encode($0) }, custodians: entries,
            signatures: [:], previousTranscriptSHA3: nil
        )
        try transcript.verify(requireAllSignatures: false)
        return (transcript, sealed)
    }
}
