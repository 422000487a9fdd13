import Foundation
import SDTCore
import SDTCrypto

/// Proactive re-sharing: every custodian deals a random polynomial with constant term zero and sends
/// each custodian its value, sealed. New share = old share + every custodian's value. The region key (the
/// sum of constant terms) does not change; the shares do, so old shares and new shares do not combine.
public enum ProactiveRefresh {
    /// One custodian's contribution: Feldman commitments to its zero-constant polynomial's higher
    /// coefficients, and its value for each custodian, sealed to that custodian's identity key.
    public struct Contribution: Codable, Sendable, Equatable {
        public var from: Int
        public var commitments: [String]
        public var sealed: [String: String]
    }

    public static func contribute(from identifier: Int, transcript: CeremonyTranscript) throws(CryptoError) -> Contribution {
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: transcript.threshold)
        let (values, coefficients) = try sharing.split(secret: BigInteger(0), count: transcript.custodians.count) {
            BigInteger(littleEndian: Ed25519Group.randomScalar())
        }
        let commitments = try Feldman.commitments(Array(coefficients.dropFirst()))
        var sealed: [String: String] = [:]
        for (value, custodian) in zip(values, transcript.custodians) {
            sealed[String(custodian.identifier)] = Hex.encode(
                try SealedBox.seal(value.value.littleEndianBytes(count: 32), to: Hex.decode(custodian.identityKey) ?? [])
            )
        }
        return Contribution(from: identifier, commitments: commitments.map { Hex.encode($0) }, sealed: sealed)
    }

    /// The next epoch's transcript, computed from public data only: higher commitments add up, the
    /// constant commitment (the region key) stays, and each public share follows. Unsigned.
    public static func nextTranscript(_ current: CeremonyTranscript, contributions: [Contribution]) throws(CryptoError) -> CeremonyTranscript {
        try current.verify(requireAllSignatures: true)
        guard contributions.map(\.from).sorted() == current.custodians.map(\.identifier) else {
            throw CryptoError("a refresh needs one contribution from every custodian")
        }
        var commitments = current.commitments.compactMap { Hex.decode($0) }
        for contribution in contributions {
            let points = contribution.commitments.compactMap { Hex.decode($0) }
            guard points.count == commitments.count - 1, points.allSatisfy(Ed25519Group.isValidElement) else {
                throw CryptoError("custodian \(contribution.from)'s refresh commitments are malformed")
            }
            for (index, point) in points.enumerated() { commitments[index + 1] = try Ed25519Group.add(commitments[index + 1], point) }
        }
        var next = current
        next.kind = "refresh"
        next.previousTranscriptSHA3 = Hex.encode(current.hash)
        next.commitments = commitments.map { Hex.encode($0) }
        next.signatures = [:]
        for index in next.custodians.indices {
            let identifier = next.custodians[index].identifier
            next.custodians[index].publicShare = Hex.encode(try Feldman.publicShare(identifier: identifier, commitments: commitments))
            let received = contributions.sorted { $0.from < $1.from }.map { $0.sealed[String(identifier)] ?? "" }.joined()
            next.custodians[index].sealedShareSHA3 = Hex.encode(SHA3.hash256(Array(received.utf8)))
        }
        try next.verify(requireAllSignatures: false)
        return next
    }

    /// A custodian's side: recompute the next transcript, open and check each value it was sent,
    /// add them to its share, check the result against its new public share, store it and sign.
    public static func accept(
        share: [UInt8], identity: SigningKey, current: CeremonyTranscript, next: CeremonyTranscript, contributions: [Contribution],
        passphrase: String
    ) throws(CryptoError) -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        var expected = try nextTranscript(current, contributions: contributions)
        expected.signatures = next.signatures
        guard expected == next else { throw CryptoError("the proposed transcript is not the one these contributions give") }
        guard let mine = current.custodians.first(where: { $0.identityKey == identity.publicKeyHex }) else {
            throw CryptoError("this identity key is not a custodian in the transcript")
        }
        let field = PrimeField.ed25519Order
        var total = BigInteger(littleEndian: share)
        for contribution in contributions {
            guard let sealed = contribution.sealed[String(mine.identifier)].flatMap({ Hex.decode($0) }) else {
                throw CryptoError("custodian \(contribution.from) sent nothing to custodian \(mine.identifier)")
            }
            let value = try identity.open(sealed: sealed)
            let commitments = contribution.commitments.compactMap { Hex.decode($0) }
            guard (try? Feldman.publicShare(identifier: mine.identifier, commitments: commitments, firstPower: 1)) == (try? Ed25519Group.baseMultiply(value)) else {
                throw CryptoError("custodian \(contribution.from)'s value does not match its commitments: refuse the refresh")
            }
            total = field.add(total, BigInteger(littleEndian: value))
        }
        let newShare = total.littleEndianBytes(count: 32)
        guard let entry = next.custodians.first(where: { $0.identifier == mine.identifier }),
              Hex.encode(try Ed25519Group.baseMultiply(newShare)) == entry.publicShare
        else { throw CryptoError("the refreshed share does not match the new public share") }
        return try CustodianShareFile.make(share: newShare, identifier: mine.identifier, transcript: next, identity: identity, passphrase: passphrase)
    }
}

extension CustodianShareFile {
    /// Stores `share` for `transcript` and signs the transcript with the custodian's identity key.
    static func make(
        share: [UInt8], identifier: Int, transcript: CeremonyTranscript, identity: SigningKey, passphrase: String
    ) throws(CryptoError) -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        guard let entry = transcript.custodians.first(where: { $0.identifier == identifier }) else {
            throw CryptoError("custodian \(identifier) is not in the transcript")
        }
        let keystore = try Keystore.seal(secret: share, publicKeyHex: entry.publicShare, purpose: "custodian-share", passphrase: passphrase)
        let file = CustodianShareFile(
            format: formatName, region: transcript.region, identifier: identifier, groupPublicKey: transcript.groupPublicKey,
            transcriptSHA3: Hex.encode(transcript.hash), keystore: keystore
        )
        return (file, identity.sign(transcript.signingBytes))
    }
}
