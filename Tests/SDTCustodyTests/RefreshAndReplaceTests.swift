import SDTTesting
import SDTCore
import SDTCrypto
import Testing
@testable import SDTCustody

@Suite struct RefreshAndReplaceTests {
    static func combine(_ shares: [(Int, [UInt8])]) throws -> String {
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: 2)
        let secret = try KeyAssembly.combine(shares.map { .init(identifier: $0.0, value: BigInteger(littleEndian: $0.1)) }, sharing: sharing)
        return Hex.encode(try Ed25519Group.baseMultiply(secret.littleEndianBytes(count: 32)))
    }

    /// Runs a full refresh; returns the signed next transcript and the new shares.
    static func refresh(_ transcript: CeremonyTranscript, shares: [Int: [UInt8]], identities: [Int: SigningKey]) throws
        -> (CeremonyTranscript, [Int: [UInt8]]) {
        let identifiers = transcript.custodians.map(\.identifier)
        let contributions = try identifiers.map { try ProactiveRefresh.contribute(from: $0, transcript: transcript) }
        var next = try ProactiveRefresh.nextTranscript(transcript, contributions: contributions)
        var newShares: [Int: [UInt8]] = [:]
        for identifier in identifiers {
            let (file, signature) = try ProactiveRefresh.accept(
                share: shares[identifier]!, identity: identities[identifier]!, current: transcript, next: next, contributions: contributions,
                passphrase: Ceremony.passphrase
            )
            next.signatures[String(identifier)] = Hex.encode(signature)
            newShares[identifier] = try file.keystore.openSecret(passphrase: Ceremony.passphrase)
        }
        try next.verify(requireAllSignatures: true)
        return (next, newShares)
    }

    @Test func refreshKeepsTheKeyAndOldSharesStopCombiningWithNewOnes() throws {
        let ceremony = try Ceremony()
        let identities = Dictionary(uniqueKeysWithValues: ceremony.identities.enumerated().map { ($0 + 1, $1) })
        let (next, newShares) = try Self.refresh(ceremony.transcript, shares: ceremony.shares, identities: identities)
        #expect(next.groupPublicKey == ceremony.transcript.groupPublicKey)
        #expect(next.previousTranscriptSHA3 == Hex.encode(ceremony.transcript.hash))
        for identifier in 1...3 { #expect(newShares[identifier] != ceremony.shares[identifier]) }
        #expect(try Self.combine([(1, newShares[1]!), (3, newShares[3]!)]) == next.groupPublicKey)
        #expect(try Self.combine([(1, ceremony.shares[1]!), (3, newShares[3]!)]) != next.groupPublicKey)
        #expect(try Self.combine([(2, newShares[2]!), (3, ceremony.shares[3]!)]) != next.groupPublicKey)
        // The refreshed shares sign with FROST under the unchanged key.
        let message = Array("block".utf8)
        let nonces = try [1, 2].map { try FROST.commit(identifier: $0, secretShare: newShares[$0]!) }
        let list = nonces.map(\.commitment)
        var signatureShares: [Int: [UInt8]] = [:]
        for (identifier, signing) in zip([1, 2], nonces) {
            signatureShares[identifier] = try FROST.sign(identifier: identifier, secretShare: newShares[identifier]!, nonces: signing,
                                                         message: message, commitments: list, groupPublicKey: next.groupPublicKeyBytes)
        }
        let signature = try FROST.aggregate(commitments: list, shares: signatureShares, groupPublicKey: next.groupPublicKeyBytes, message: message)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: next.groupPublicKeyBytes))
    }

    @Test func aContributionThatDoesNotMatchItsCommitmentsIsRefused() throws {
        let ceremony = try Ceremony()
        var contributions = try (1...3).map { try ProactiveRefresh.contribute(from: $0, transcript: ceremony.transcript) }
        contributions[1].sealed["1"] = Hex.encode(try SealedBox.seal(Ed25519Group.randomScalar(), to: ceremony.identities[0].publicKey))
        let next = try ProactiveRefresh.nextTranscript(ceremony.transcript, contributions: contributions)
        #expect(throws: CryptoError.self) {
            try ProactiveRefresh.accept(share: ceremony.shares[1]!, identity: ceremony.identities[0], current: ceremony.transcript, next: next,
                                        contributions: contributions, passphrase: Ceremony.passphrase)
        }
        var tamperedNext = next
        tamperedNext.groupPublicKey = tamperedNext.commitments[1]
        #expect(throws: CryptoError.self) {
            try ProactiveRefresh.accept(share: ceremony.shares[2]!, identity: ceremony.identities[1], current: ceremony.transcript,
                                        next: tamperedNext, contributions: contributions, passphrase: Ceremony.passphrase)
        }
    }

    @Test func aNewHolderReplacesACustodianWithoutChangingTheKey() throws {
        let ceremony = try Ceremony()
        let newcomer = SigningKey()
        var next = try CustodianReplacement.nextTranscript(ceremony.transcript, replacing: 3, name: "dee", identityKey: newcomer.publicKey)
        let parts = try ThresholdShapeTests.replacementParts(
            target: 3, shares: ceremony.shares, identities: [1: ceremony.identities[0], 2: ceremony.identities[1]],
            next: next)
        let (file, signature) = try CustodianReplacement.finish(
            identity: newcomer, target: 3, parts: parts.map(\.value), next: next, passphrase: Ceremony.passphrase)
        let inherited = try file.keystore.openSecret(passphrase: Ceremony.passphrase)
        #expect(inherited == ceremony.shares[3])
        next.signatures["3"] = Hex.encode(signature)
        next.signatures["1"] = Hex.encode(ceremony.identities[0].sign(next.signingBytes))
        next.signatures["2"] = Hex.encode(ceremony.identities[1].sign(next.signingBytes))
        try next.verify(requireAllSignatures: true)
        #expect(next.groupPublicKey == ceremony.transcript.groupPublicKey)
        // A wrong part is refused by the newcomer.
        #expect(throws: CryptoError.self) {
            try CustodianReplacement.finish(
                identity: newcomer, target: 3, parts: [parts[1]!, parts[1]!], next: next,
                passphrase: Ceremony.passphrase)
        }
        // The refresh that follows makes the departing holder's copy useless.
        let identities = [1: ceremony.identities[0], 2: ceremony.identities[1], 3: newcomer]
        let (refreshed, newShares) = try Self.refresh(next, shares: [1: ceremony.shares[1]!, 2: ceremony.shares[2]!, 3: inherited],
                                                     identities: identities)
        #expect(try Self.combine([(1, newShares[1]!), (3, ceremony.shares[3]!)]) != refreshed.groupPublicKey)
        #expect(try Self.combine([(1, newShares[1]!), (3, newShares[3]!)]) == refreshed.groupPublicKey)
    }
}
