import SDTCore
import SDTCrypto
import Testing

@testable import SDTCustody

/// Custody beyond 2-of-3: the K$ Authority's quorum is 3-of-5. Key generation, signing, refresh and
/// replacement take their threshold and custodian count from the transcript.
@Suite struct ThresholdShapeTests {
    static let passphrase = "custodian passphrase"

    /// A 3-of-5 DKG run in one process; returns the signed transcript, the shares and the identities.
    static func dkg(threshold: Int = 3, count: Int = 5) throws -> (CeremonyTranscript, [Int: [UInt8]], [Int: SigningKey]) {
        let identities = (1...count).map { _ in SigningKey() }
        let participants = identities.enumerated().map {
            DistributedKeyGeneration.Participant(identifier: $0.offset + 1, name: "k\($0.offset + 1)", identityKey: $0.element.publicKey)
        }
        let sessions = try (1...count).map {
            try DistributedKeyGeneration(
                region: "kdollar", me: $0, identity: identities[$0 - 1], participants: participants, threshold: threshold)
        }
        let roundOne = try sessions.map { try $0.roundOne() }
        let roundTwo = try sessions.map { try $0.roundTwo(roundOne) }
        let results = try sessions.map { try $0.finish(roundOne, roundTwo) }
        #expect(Set(results.map { $0.transcript.signingBytes }).count == 1, "custodians ended with different transcripts")
        var transcript = results[0].transcript
        for (index, session) in sessions.enumerated() {
            let (_, signature) = try session.store(share: results[index].share, transcript: transcript, passphrase: passphrase)
            transcript.signatures[String(index + 1)] = Hex.encode(signature)
        }
        try transcript.verify(requireAllSignatures: true)
        let shares = Dictionary(uniqueKeysWithValues: results.enumerated().map { ($0.offset + 1, $0.element.share) })
        let keys = Dictionary(uniqueKeysWithValues: identities.enumerated().map { ($0.offset + 1, $0.element) })
        return (transcript, shares, keys)
    }

    /// A FROST signature by `signers`, or nil when their shares do not make one the group key verifies.
    static func sign(_ signers: [Int], shares: [Int: [UInt8]], key: [UInt8]) throws -> [UInt8]? {
        let message = Array("block".utf8)
        let nonces = try signers.map { try FROST.commit(identifier: $0, secretShare: shares[$0]!) }
        let list = nonces.map(\.commitment)
        var signatureShares: [Int: [UInt8]] = [:]
        for (identifier, signing) in zip(signers, nonces) {
            signatureShares[identifier] = try FROST.sign(
                identifier: identifier, secretShare: shares[identifier]!, nonces: signing, message: message,
                commitments: list, groupPublicKey: key)
        }
        guard let signature = try? FROST.aggregate(commitments: list, shares: signatureShares, groupPublicKey: key, message: message)
        else { return nil }
        return Ed25519.verify(signature: signature, message: message, publicKey: key) ? signature : nil
    }

    /// Every set of three identifiers out of 1...count.
    static func triples(_ count: Int) -> [[Int]] {
        (1...count).flatMap { a in
            stride(from: a + 1, through: count, by: 1).flatMap { b in
                stride(from: b + 1, through: count, by: 1).map { c in [a, b, c] }
            }
        }
    }

    @Test func everyThreeOfFiveSignAndNoTwoDo() throws {
        let (transcript, shares, _) = try Self.dkg()
        #expect(transcript.threshold == 3 && transcript.custodians.count == 5 && transcript.commitments.count == 3)
        let triples = Self.triples(5)
        #expect(triples.count == 10)
        for signers in triples {
            #expect(try Self.sign(signers, shares: shares, key: transcript.groupPublicKeyBytes) != nil, "\(signers)")
        }
        #expect(try Self.sign([1, 2], shares: shares, key: transcript.groupPublicKeyBytes) == nil)
        #expect(try Self.sign([4, 5], shares: shares, key: transcript.groupPublicKeyBytes) == nil)
    }

    @Test func aDealtThreeOfFiveKeyVerifiesAndImpossibleShapesAreRefused() throws {
        let identities = (1...5).map { DealerCeremony.Identity(name: "k\($0)", identityKey: SigningKey().publicKey) }
        let (transcript, sealed) = try DealerCeremony.deal(region: "kdollar", custodians: identities, threshold: 3)
        #expect(transcript.threshold == 3 && sealed.count == 5)
        try transcript.verify(requireAllSignatures: false)
        for (threshold, count) in [(1, 3), (4, 3), (2, 1), (2, 16)] {
            #expect(throws: CryptoError.self, "\(threshold)-of-\(count)") {
                try DealerCeremony.deal(
                    region: "kdollar", custodians: Array(repeating: identities[0], count: count).enumerated().map {
                        DealerCeremony.Identity(name: "c\($0.offset)", identityKey: SigningKey().publicKey)
                    }, threshold: threshold)
            }
        }
        // A transcript that claims fewer commitments than its threshold is refused.
        var short = transcript
        short.commitments.removeLast()
        #expect(throws: CryptoError.self) { try short.verify(requireAllSignatures: false) }
    }

    @Test func refreshAndReplacementKeepAThreeOfFiveKey() throws {
        let (transcript, shares, identities) = try Self.dkg()
        let (refreshed, refreshedShares) = try RefreshAndReplaceTests.refresh(transcript, shares: shares, identities: identities)
        #expect(refreshed.groupPublicKey == transcript.groupPublicKey)
        #expect(try Self.sign([2, 4, 5], shares: refreshedShares, key: refreshed.groupPublicKeyBytes) != nil)
        var mixed = refreshedShares
        mixed[4] = shares[4]
        #expect(try Self.sign([2, 4, 5], shares: mixed, key: refreshed.groupPublicKeyBytes) == nil)

        // Custodian 2 leaves: helpers 1, 3, 4 send parts; custodian 5 only signs the next transcript.
        let newcomer = SigningKey()
        var next = try CustodianReplacement.nextTranscript(refreshed, replacing: 2, name: "k2b", identityKey: newcomer.publicKey)
        #expect(CustodianReplacement.helpers(replacing: 2, in: next) == [1, 3, 4])
        let opening = try CustodianReplacement.open(share: refreshedShares[1]!, identifier: 1, target: 2, next: next)
        let answers = try [3, 4].map {
            try CustodianReplacement.answer(
                share: refreshedShares[$0]!, identifier: $0, identity: identities[$0]!, opening: opening, target: 2, next: next)
        }
        // Custodian 5 is no helper: it cannot answer.
        #expect(throws: CryptoError.self) {
            try CustodianReplacement.answer(
                share: refreshedShares[5]!, identifier: 5, identity: identities[5]!, opening: opening, target: 2, next: next)
        }
        #expect(throws: CryptoError.self) {
            try CustodianReplacement.finish(
                identity: newcomer, target: 2, parts: [opening.part, answers[0]], next: next, passphrase: Self.passphrase)
        }
        let (file, signature) = try CustodianReplacement.finish(
            identity: newcomer, target: 2, parts: [opening.part] + answers, next: next, passphrase: Self.passphrase)
        let inherited = try file.keystore.openSecret(passphrase: Self.passphrase)
        #expect(inherited == refreshedShares[2])
        next.signatures["2"] = Hex.encode(signature)
        for identifier in [1, 3, 4, 5] { next.signatures[String(identifier)] = Hex.encode(identities[identifier]!.sign(next.signingBytes)) }
        try next.verify(requireAllSignatures: true)
        #expect(next.groupPublicKey == transcript.groupPublicKey)
    }
}
