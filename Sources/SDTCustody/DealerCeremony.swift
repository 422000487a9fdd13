import Foundation
import SDTCore
import SDTCrypto

/// The dealer ceremony, for an offline machine: generate the region key, split it t-of-n with Shamir
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

    /// The transcript (unsigned) and, per custodian identifier, its sealed share. Any `threshold` of
    /// the custodians sign together; fewer learn nothing of the key.
    public static func deal(
        region: String, custodians: [Identity], threshold: Int = CeremonyTranscript.defaultThreshold
    ) throws(CryptoError) -> (CeremonyTranscript, [Int: [UInt8]]) {
        let split = try split(custodians: custodians, threshold: threshold)
        var sealed: [Int: [UInt8]] = [:]
        for (share, identity) in zip(split.shares, custodians) {
            var payload = share.value.littleEndianBytes(count: 32)
            sealed[share.identifier] = try SealedBox.seal(payload, to: identity.identityKey)
            payload.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        }
        let transcript = try transcript(region: region, custodians: custodians, commitments: split.commitments,
                                        sealedShareSHA3: sealed.mapValues { SHA3.hash256($0) })
        return (transcript, sealed)
    }

    /// The sharing itself: a random region key split `threshold`-of-`custodians.count`, and its Feldman
    /// commitments. `random` draws the key and the coefficients (the system's generator; a simulation
    /// seeds one).
    public static func split(
        custodians: [Identity], threshold: Int = CeremonyTranscript.defaultThreshold,
        random: any RandomSource = SystemRandom()
    ) throws(CryptoError)
        -> (shares: [ShamirSharing.Share], commitments: [[UInt8]]) {
        try CeremonyTranscript.checkShape(threshold: threshold, custodianCount: custodians.count)
        guard Set(custodians.map(\.identityKey)).count == custodians.count, Set(custodians.map(\.name)).count == custodians.count else {
            throw CryptoError("custodian names and identity keys must all differ")
        }
        func scalar() -> BigInteger {
            while true {
                let candidate = Ed25519Group.reduceWide(random.bytes(64))
                if !candidate.allSatisfy({ $0 == 0 }) { return BigInteger(littleEndian: candidate) }
            }
        }
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: threshold)
        let (shares, coefficients) = try sharing.split(secret: scalar(), count: custodians.count) { scalar() }
        return (shares, try Feldman.commitments(coefficients))
    }

    /// The public transcript of a dealt sharing (unsigned), naming each share's sealed form by its hash.
    public static func transcript(
        region: String, custodians: [Identity], commitments: [[UInt8]], sealedShareSHA3: [Int: [UInt8]]
    ) throws(CryptoError) -> CeremonyTranscript {
        var entries: [CeremonyTranscript.Custodian] = []
        for (index, identity) in custodians.enumerated() {
            let identifier = index + 1
            entries.append(.init(
                identifier: identifier, name: identity.name, identityKey: Hex.encode(identity.identityKey),
                publicShare: Hex.encode(try Feldman.publicShare(identifier: identifier, commitments: commitments)),
                sealedShareSHA3: Hex.encode(sealedShareSHA3[identifier] ?? [])
            ))
        }
        let transcript = CeremonyTranscript(
            format: CeremonyTranscript.formatName, region: region, kind: "dealer", threshold: commitments.count,
            groupPublicKey: Hex.encode(commitments[0]), commitments: commitments.map { Hex.encode($0) }, custodians: entries,
            signatures: [:], previousTranscriptSHA3: nil
        )
        try transcript.verify(requireAllSignatures: false)
        return transcript
    }
}
