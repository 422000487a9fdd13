import SDTCore
import SDTCrypto
import Testing

@testable import SDTCustody

/// Custody beyond 2-of-3: the K$ Authority's quorum is 3-of-5. Key generation, signing, refresh and
/// replacement take their threshold and custodian count from the transcript.
@Suite struct ThresholdShapeTests {
    static let passphrase = "custodian passphrase"

    /// A 3-of-5 DKG run in one process; returns the signed transcript, the shares and the identities.
    static func dkg(threshold: Int = 3, count: Int = 5) throws -> (
        CeremonyTranscript, [Int: [UInt8]], [Int: SigningKey]
    ) {
        let identities = (1...count).map { _ in SigningKey() }
        let participants = identities.enumerated().map {
            DistributedKeyGeneration.Participant(
                identifier: $0.offset + 1, name: "k\($0.offset + 1)", identityKey: $0.element.publicKey)
        }
        let sessions = try (1...count).map {
            try DistributedKeyGeneration(
                region: "kdollar", me: $0, identity: identities[$0 - 1], participants: participants,
                threshold: threshold)
        }
        let roundOne = try sessions.map { try $0.roundOne() }
        let roundTwo = try sessions.map { try $0.roundTwo(roundOne) }
        let results = try sessions.map { try $0.finish(roundOne, roundTwo) }
        #expect(
            Set(results.map { $0.transcript.signingBytes }).count == 1, "custodians ended with different transcripts")
        var transcript = results[0].transcript
        for (index, session) in sessions.enumerated() {
            let (_, signature) = try session.store(
                share: results[index].share, transcript: transcript, passphrase: passphrase)
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
        guard
            let signature = try? FROST.aggregate(
                commitments: list, shares: signatureShares, groupPublicKey: key, message: message)
        else { return nil }
        return Ed25519.verify(signature: signature, message: message, publicKey: key) ? signature : nil
    }

    /// Both rounds of a replacement among its helpers, in one process: each helper's sealed part for
    /// the new holder, by helper.
    static func replacementParts(
        target: Int, shares: [Int: [UInt8]], identities: [Int: SigningKey], next: CeremonyTranscript
    ) throws -> [Int: String] {
        let helpers = CustodianReplacement.helpers(replacing: target, in: next)
        var openings: [CustodianReplacement.Opening] = []
        var drawn: [Int: [Int: BigInteger]] = [:]
        for helper in helpers {
            let (opening, masks) = try CustodianReplacement.open(identifier: helper, target: target, next: next)
            openings.append(opening)
            drawn[helper] = masks
        }
        var parts: [Int: String] = [:]
        for helper in helpers {
            parts[helper] = try CustodianReplacement.part(
                share: shares[helper]!, identifier: helper, identity: identities[helper]!, drawn: drawn[helper]!,
                openings: openings.filter { $0.from != helper }, target: target, next: next)
        }
        return parts
    }

    /// The new holder and one helper pool what they know in a 3-of-5 replacement: the helper's own masks,
    /// the masks sealed to it, and every part the new holder opened. They still cannot take another
    /// helper's weighted share out of its part (with masks drawn by one helper alone, they could).
    @Test func theNewHolderAndOneHelperLearnNoOtherHelpersShare() throws {
        let (transcript, shares, identities) = try Self.dkg()
        let newcomer = SigningKey()
        let next = try CustodianReplacement.nextTranscript(
            transcript, replacing: 5, name: "k5b", identityKey: newcomer.publicKey)
        let helpers = CustodianReplacement.helpers(replacing: 5, in: next)
        #expect(helpers == [1, 2, 3])
        var openings: [CustodianReplacement.Opening] = []
        var drawn: [Int: [Int: BigInteger]] = [:]
        for helper in helpers {
            let (opening, masks) = try CustodianReplacement.open(identifier: helper, target: 5, next: next)
            openings.append(opening)
            drawn[helper] = masks
        }
        func part(_ helper: Int) throws -> BigInteger {
            let sealed = try CustodianReplacement.part(
                share: shares[helper]!, identifier: helper, identity: identities[helper]!, drawn: drawn[helper]!,
                openings: openings.filter { $0.from != helper }, target: 5, next: next)
            return BigInteger(littleEndian: try newcomer.open(sealed: Hex.decode(sealed)!))
        }
        let field = PrimeField.ed25519Order
        // Helper 1 colludes: it knows r₁₂, r₁₃ (drawn) and r₂₁, r₃₁ (sealed to it). Helper 3's part is
        // λ₃s₃ + r₃₁ + r₃₂ − r₁₃ − r₂₃: the pair can take off r₃₁ and r₁₃,
        // never r₃₂ or r₂₃.
        let fromThree = openings.first { $0.from == 3 }!
        let r31 = BigInteger(littleEndian: try identities[1]!.open(sealed: Hex.decode(fromThree.masks["1"]!)!))
        let r13 = drawn[1]![3]!
        let guess = field.add(field.subtract(try part(3), r31), r13)
        let weight = try CustodianReplacement.weight(3, remaining: helpers, target: 5)
        let truth = field.multiply(weight, BigInteger(littleEndian: shares[3]!))
        #expect(guess.littleEndianBytes(count: 32) != truth.littleEndianBytes(count: 32))
        // The parts still add up to the departing custodian's share.
        var total = BigInteger(0)
        for helper in helpers { total = field.add(total, try part(helper)) }
        #expect(total.littleEndianBytes(count: 32) == shares[5]!)
    }

    @Test func aKeyWhereEveryCustodianMustSignCannotReplaceOne() throws {
        let (transcript, _, _) = try Self.dkg(threshold: 3, count: 3)
        #expect(throws: CryptoError.self) {
            try CustodianReplacement.nextTranscript(
                transcript, replacing: 1, name: "new", identityKey: SigningKey().publicKey)
        }
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
                    region: "kdollar",
                    custodians: Array(repeating: identities[0], count: count).enumerated().map {
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
        let (refreshed, refreshedShares) = try RefreshAndReplaceTests.refresh(
            transcript, shares: shares, identities: identities)
        #expect(refreshed.groupPublicKey == transcript.groupPublicKey)
        #expect(try Self.sign([2, 4, 5], shares: refreshedShares, key: refreshed.groupPublicKeyBytes) != nil)
        var mixed = refreshedShares
        mixed[4] = shares[4]
        #expect(try Self.sign([2, 4, 5], shares: mixed, key: refreshed.groupPublicKeyBytes) == nil)

        // Custodian 2 leaves: helpers 1, 3, 4 send parts; custodian 5 only signs the next transcript.
        let newcomer = SigningKey()
        var next = try CustodianReplacement.nextTranscript(
            refreshed, replacing: 2, name: "k2b", identityKey: newcomer.publicKey)
        #expect(CustodianReplacement.helpers(replacing: 2, in: next) == [1, 3, 4])
        // Custodian 5 is no helper: it has no round to take part in.
        #expect(throws: CryptoError.self) { try CustodianReplacement.open(identifier: 5, target: 2, next: next) }
        let parts = try Self.replacementParts(target: 2, shares: refreshedShares, identities: identities, next: next)
        #expect(parts.keys.sorted() == [1, 3, 4])
        #expect(throws: CryptoError.self) {
            try CustodianReplacement.finish(
                identity: newcomer, target: 2, parts: [parts[1]!, parts[3]!], next: next, passphrase: Self.passphrase)
        }
        let (file, signature) = try CustodianReplacement.finish(
            identity: newcomer, target: 2, parts: parts.keys.sorted().map { parts[$0]! }, next: next,
            passphrase: Self.passphrase)
        let inherited = try file.keystore.openSecret(passphrase: Self.passphrase)
        #expect(inherited == refreshedShares[2])
        next.signatures["2"] = Hex.encode(signature)
        for identifier in [1, 3, 4, 5] {
            next.signatures[String(identifier)] = Hex.encode(identities[identifier]!.sign(next.signingBytes))
        }
        try next.verify(requireAllSignatures: true)
        #expect(next.groupPublicKey == transcript.groupPublicKey)
    }
}
