import SDTCore
import SDTCrypto
import Testing
@testable import SDTCustody

@Suite struct DistributedKeyGenerationTests {
    static func sessions() throws -> ([SigningKey], [DistributedKeyGeneration]) {
        let identities = (0..<3).map { _ in SigningKey() }
        let participants = zip(["ana", "ben", "cai"], identities).enumerated().map {
            DistributedKeyGeneration.Participant(identifier: $0.offset + 1, name: $0.element.0, identityKey: $0.element.1.publicKey)
        }
        let sessions = try (1...3).map {
            try DistributedKeyGeneration(region: "us-tx", me: $0, identity: identities[$0 - 1], participants: participants)
        }
        return (identities, sessions)
    }

    @Test func threeCustodiansAgreeOnAKeyNoneOfThemHeld() throws {
        let (_, sessions) = try Self.sessions()
        let roundOne = try sessions.map { try $0.roundOne() }
        let roundTwo = try sessions.map { try $0.roundTwo(roundOne) }
        let results = try sessions.map { try $0.finish(roundOne, roundTwo) }
        #expect(Set(results.map { $0.transcript.signingBytes }).count == 1, "custodians ended with different transcripts")
        var transcript = results[0].transcript
        for (index, session) in sessions.enumerated() {
            let (_, signature) = try session.store(share: results[index].share, transcript: transcript, passphrase: "custodian passphrase")
            transcript.signatures[String(index + 1)] = Hex.encode(signature)
        }
        try transcript.verify(requireAllSignatures: true)
        // Any two shares sign with FROST under the agreed key.
        let message = Array("block".utf8)
        let nonces = try [2, 3].map { try FROST.commit(identifier: $0, secretShare: results[$0 - 1].share) }
        let list = nonces.map(\.commitment)
        var shares: [Int: [UInt8]] = [:]
        for (identifier, signing) in zip([2, 3], nonces) {
            shares[identifier] = try FROST.sign(identifier: identifier, secretShare: results[identifier - 1].share, nonces: signing,
                                                message: message, commitments: list, groupPublicKey: transcript.groupPublicKeyBytes)
        }
        let signature = try FROST.aggregate(commitments: list, shares: shares, groupPublicKey: transcript.groupPublicKeyBytes, message: message)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: transcript.groupPublicKeyBytes))
    }

    @Test func aBadProofOrABadValueAbortsTheCeremony() throws {
        let (_, sessions) = try Self.sessions()
        var roundOne = try sessions.map { try $0.roundOne() }
        let honest = roundOne
        roundOne[1].proofResponse = Hex.encode(Ed25519Group.randomScalar())
        #expect(throws: CryptoError.self) { try sessions[0].roundTwo(roundOne) }
        var roundTwo = try sessions.map { try $0.roundTwo(honest) }
        let stranger = SigningKey()
        roundTwo[2].sealed["1"] = Hex.encode(try SealedBox.seal(Ed25519Group.randomScalar(), to: stranger.publicKey))
        #expect(throws: CryptoError.self) { try sessions[0].finish(honest, roundTwo) }
    }
}
