import SDTTesting
import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import Testing
@testable import SDTCustody

/// A dealt and accepted ceremony: identity keys, shares (in memory) and the transcript signed by all.
struct Ceremony {
    let identities = (0..<3).map { _ in SigningKey() }
    var transcript: CeremonyTranscript
    var shares: [Int: [UInt8]] = [:]
    var shareFiles: [Int: CustodianShareFile] = [:]
    static let passphrase = "custodian passphrase"

    init(region: String = "us-tx") throws {
        let names = ["ana", "ben", "cai"]
        let (dealt, sealed) = try DealerCeremony.deal(
            region: region, custodians: zip(names, identities).map { .init(name: $0, identityKey: $1.publicKey) }
        )
        transcript = dealt
        for (index, identity) in identities.enumerated() {
            let (file, signature) = try CustodianShareFile.accept(
                transcript: dealt, sealedShare: sealed[index + 1]!, identity: identity, passphrase: Self.passphrase
            )
            transcript.signatures[String(index + 1)] = Hex.encode(signature)
            shareFiles[index + 1] = file
        }
        for (identifier, file) in shareFiles { shares[identifier] = try file.open(passphrase: Self.passphrase, transcript: transcript) }
    }
}

@Suite struct CeremonyTests {
    @Test func dealtSharesVerifyAndTheTranscriptNeedsEverySignature() throws {
        let ceremony = try Ceremony()
        try ceremony.transcript.verify(requireAllSignatures: true)
        var unsigned = ceremony.transcript
        unsigned.signatures["2"] = nil
        #expect(throws: CryptoError.self) { try unsigned.verify(requireAllSignatures: true) }
        var forgedSignature = ceremony.transcript
        forgedSignature.signatures["3"] = forgedSignature.signatures["1"]
        #expect(throws: CryptoError.self) { try forgedSignature.verify(requireAllSignatures: true) }
        var otherKey = ceremony.transcript
        otherKey.groupPublicKey = Hex.encode(try Ed25519Group.baseMultiply(Ed25519Group.randomScalar()))
        #expect(throws: CryptoError.self) { try otherKey.verify(requireAllSignatures: false) }
        // Any two shares recombine to the key whose public key the transcript publishes.
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: 2)
        for pair in [[1, 2], [1, 3], [2, 3]] {
            let secret = try KeyAssembly.combine(pair.map { .init(identifier: $0, value: BigInteger(littleEndian: ceremony.shares[$0]!)) }, sharing: sharing)
            #expect(Hex.encode(try Ed25519Group.baseMultiply(secret.littleEndianBytes(count: 32))) == ceremony.transcript.groupPublicKey)
        }
    }

    @Test func aWrongShareIsRefusedAndTheFileHoldsNoPlaintext() throws {
        let identity = SigningKey()
        let others = [SigningKey(), SigningKey()]
        var (transcript, sealed) = try DealerCeremony.deal(
            region: "us-tx", custodians: [.init(name: "ana", identityKey: identity.publicKey), .init(name: "ben", identityKey: others[0].publicKey),
                                          .init(name: "cai", identityKey: others[1].publicKey)]
        )
        // A dealer who sends a share that does not match the commitments (and fixes up the hash to hide it).
        let forged = try SealedBox.seal(Ed25519Group.randomScalar(), to: identity.publicKey)
        transcript.custodians[0].sealedShareSHA3 = Hex.encode(SHA3.hash256(forged))
        #expect(throws: CryptoError.self) {
            try CustodianShareFile.accept(transcript: transcript, sealedShare: forged, identity: identity, passphrase: Ceremony.passphrase)
        }
        transcript.custodians[0].sealedShareSHA3 = Hex.encode(SHA3.hash256(sealed[1]!))
        let (file, _) = try CustodianShareFile.accept(transcript: transcript, sealedShare: sealed[1]!, identity: identity,
                                                      passphrase: Ceremony.passphrase)
        let share = try file.open(passphrase: Ceremony.passphrase, transcript: transcript)
        let json = String(decoding: try JSONEncoder().encode(file), as: UTF8.self)
        #expect(!json.contains(Hex.encode(share)))
        #expect(throws: CryptoError.self) { try file.open(passphrase: "wrong passphrase", transcript: transcript) }
    }
}

@Suite struct CheckPolicyTests {
    @Test func policiesParseAndTheSampledOneChecksLargeTransfersAndOperatorActions() throws {
        #expect(CheckPolicy("full") == .full)
        #expect(CheckPolicy("sampled:100000:50") == .sampled(thresholdMinorUnits: 100_000, samplePerMille: 50))
        #expect(CheckPolicy("sampled:0:50") == nil)
        #expect(CheckPolicy("sampled:100:1001") == nil)
        #expect(CheckPolicy("some") == nil)
        let key = SigningKey()
        func entry(_ amount: Int64) throws -> SignedEntry {
            let transfer = try Transfer(region: "us-tx", transactionID: "tx", from: "a", to: "b", token: "USD", amountMinorUnits: amount,
                                        publicKeyHex: key.publicKeyHex)
            return .init(kind: .transfer, signingBytes: transfer.signingBytes, signature: key.sign(transfer.signingBytes))
        }
        #expect(CheckPolicy.amount(in: try entry(123_456).signingBytes) == 123_456)
        let never = CheckPolicy.sampled(thresholdMinorUnits: 100_000, samplePerMille: 0)
        #expect(never.requiresCheck(try entry(100_000), random: SystemRandom()))
        #expect(!never.requiresCheck(try entry(99_999), random: SystemRandom()))
        #expect(never.requiresCheck(.init(kind: .operatorAction, signingBytes: [], signature: []), random: SystemRandom()))
        #expect(CheckPolicy.sampled(thresholdMinorUnits: 100_000, samplePerMille: 1000).requiresCheck(try entry(1), random: SystemRandom()))
    }
}
