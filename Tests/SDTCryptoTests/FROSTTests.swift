import SDTTesting
import Foundation
import SDTCore
import Testing
@testable import SDTCrypto

@Suite struct FROSTTests {
    static func vector(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors"))
        return try Data(contentsOf: url)
    }

    @Test(arguments: ["frost-ed25519-sha512-rfc9591", "frost-ed25519-sha512-zf-extra-1", "frost-ed25519-sha512-zf-big-identifiers"])
    func publishedVectorsRecompute(name: String) throws {
        let checks = try FROSTVectorCheck.run(json: Self.vector(name))
        #expect(checks.count > 20)
        for check in checks { #expect(check.passed, "\(name): \(check.name): \(check.detail)") }
    }

    @Test func aChangedVectorValueFails() throws {
        var text = String(decoding: try Self.vector("frost-ed25519-sha512-rfc9591"), as: UTF8.self)
        text = text.replacingOccurrences(of: "001719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603",
                                          with: "011719ab5a53ee1a12095cd088fd149702c0720ce5fd2f29dbecf24b7281b603")
        let failed = try FROSTVectorCheck.run(json: Data(text.utf8)).filter { !$0.passed }.map(\.name)
        #expect(failed == ["participant 1 signature share"])
    }

    /// Deals a fresh 2-of-3 key with Shamir over GMP and returns the shares and group key.
    static func deal() throws -> (shares: [Int: [UInt8]], commitments: [[UInt8]], groupPublicKey: [UInt8]) {
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: 2)
        let secret = BigInteger(littleEndian: Ed25519Group.randomScalar())
        let (shares, coefficients) = try sharing.split(secret: secret, count: 3) { BigInteger(littleEndian: Ed25519Group.randomScalar()) }
        let commitments = try Feldman.commitments(coefficients)
        return (Dictionary(uniqueKeysWithValues: shares.map { ($0.identifier, $0.value.littleEndianBytes(count: 32)) }),
                commitments, commitments[0])
    }

    static func sign(_ signers: [Int], _ deal: (shares: [Int: [UInt8]], commitments: [[UInt8]], groupPublicKey: [UInt8]),
                     message: [UInt8]) throws -> [UInt8] {
        let nonces = try signers.map { try FROST.commit(identifier: $0, secretShare: deal.shares[$0]!) }
        let list = nonces.map(\.commitment)
        var shares: [Int: [UInt8]] = [:]
        for (identifier, signing) in zip(signers, nonces) {
            shares[identifier] = try FROST.sign(identifier: identifier, secretShare: deal.shares[identifier]!, nonces: signing,
                                                message: message, commitments: list, groupPublicKey: deal.groupPublicKey)
        }
        return try FROST.aggregate(commitments: list, shares: shares, groupPublicKey: deal.groupPublicKey, message: message)
    }

    @Test func everyPairOfThreeSignsAnOrdinaryEd25519Signature() throws {
        let deal = try Self.deal()
        let message = Array("SDT-BLOCK-V1\nheight:1\n".utf8)
        for signers in [[1, 2], [1, 3], [2, 3], [1, 2, 3]] {
            let signature = try Self.sign(signers, deal, message: message)
            #expect(Ed25519.verify(signature: signature, message: message, publicKey: deal.groupPublicKey), "signers \(signers)")
        }
    }

    @Test func oneSignerAloneCannotProduceAValidSignature() throws {
        let deal = try Self.deal()
        let message = Array("block".utf8)
        let signature = try Self.sign([2], deal, message: message)
        #expect(!Ed25519.verify(signature: signature, message: message, publicKey: deal.groupPublicKey))
    }

    @Test func aBadShareIsIdentifiedAndNoncesAreSingleUse() throws {
        let deal = try Self.deal()
        let message = Array("block".utf8)
        let nonces = try [1, 3].map { try FROST.commit(identifier: $0, secretShare: deal.shares[$0]!) }
        let list = nonces.map(\.commitment)
        let good = try FROST.sign(identifier: 1, secretShare: deal.shares[1]!, nonces: nonces[0], message: message,
                                  commitments: list, groupPublicKey: deal.groupPublicKey)
        var bad = try FROST.sign(identifier: 3, secretShare: deal.shares[3]!, nonces: nonces[1], message: message,
                                 commitments: list, groupPublicKey: deal.groupPublicKey)
        bad = Ed25519Group.scalarAdd(bad, Ed25519Group.scalar(1))
        for (identifier, share, expected) in [(1, good, true), (3, bad, false)] {
            let publicShare = try Feldman.publicShare(identifier: identifier, commitments: deal.commitments)
            #expect(FROST.verifyShare(identifier: identifier, publicShare: publicShare, signatureShare: share, commitments: list,
                                      groupPublicKey: deal.groupPublicKey, message: message) == expected)
        }
        #expect(throws: CryptoError.self) {
            try FROST.sign(identifier: 1, secretShare: deal.shares[1]!, nonces: nonces[0], message: message, commitments: list,
                           groupPublicKey: deal.groupPublicKey)
        }
    }
}

@Suite struct ShamirTests {
    let field = PrimeField.ed25519Order

    @Test func anyThresholdSubsetRecoversTheSecretAndFewerDoNot() throws {
        let sharing = try ShamirSharing(field: field, threshold: 3)
        let secret = BigInteger(littleEndian: Ed25519Group.randomScalar())
        let (shares, _) = try sharing.split(secret: secret, count: 5) { BigInteger(littleEndian: Ed25519Group.randomScalar()) }
        for subset in [[0, 1, 2], [0, 2, 4], [4, 3, 1], [0, 1, 2, 3, 4]] {
            #expect(try KeyAssembly.combine(subset.map { shares[$0] }, sharing: sharing) == secret)
        }
        #expect(throws: CryptoError.self) { try KeyAssembly.combine([shares[0], shares[1]], sharing: sharing) }
        let twoOnly = try KeyAssembly.combine([shares[0], shares[1]], sharing: ShamirSharing(field: field, threshold: 2))
        #expect(!(twoOnly == secret))
    }

    @Test func polynomialAndLagrangeOverASmallPrime() throws {
        let small = try PrimeField(modulus: BigInteger(97))
        let sharing = try ShamirSharing(field: small, threshold: 2)
        let coefficients = [BigInteger(42), BigInteger(5)]
        #expect(sharing.evaluate(coefficients, at: BigInteger(3)) == BigInteger(57))
        #expect(sharing.evaluate(coefficients, at: BigInteger(20)) == BigInteger(142 % 97))
        // λ₁ for {1, 2} at 0 is 2/(2−1) = 2; λ₂ is 1/(1−2) = −1 = 96.
        #expect(try sharing.lagrangeCoefficient(for: 1, among: [1, 2]) == BigInteger(2))
        #expect(try sharing.lagrangeCoefficient(for: 2, among: [1, 2]) == BigInteger(96))
        #expect(throws: CryptoError.self) { try sharing.lagrangeCoefficient(for: 1, among: [1, 1]) }
        #expect(throws: CryptoError.self) { try PrimeField(modulus: BigInteger(91)) }
    }

    @Test func feldmanCommitmentsAcceptTheRightShareAndRefuseAWrongOne() throws {
        let sharing = try ShamirSharing(field: field, threshold: 2)
        let (shares, coefficients) = try sharing.split(secret: BigInteger(littleEndian: Ed25519Group.randomScalar()), count: 3) {
            BigInteger(littleEndian: Ed25519Group.randomScalar())
        }
        let commitments = try Feldman.commitments(coefficients)
        for share in shares { #expect(Feldman.verify(share: share, commitments: commitments)) }
        let wrong = ShamirSharing.Share(identifier: 2, value: field.add(shares[1].value, BigInteger(1)))
        #expect(!Feldman.verify(share: wrong, commitments: commitments))
        let misplaced = ShamirSharing.Share(identifier: 3, value: shares[1].value)
        #expect(!Feldman.verify(share: misplaced, commitments: commitments))
    }

    @Test func pointsOutsideThePrimeOrderSubgroupAreRefused() throws {
        // A point of order 8 (RFC 8032's small-order list): on the curve, not in the prime-order subgroup.
        let smallOrder = Hex.decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa")!
        #expect(!Ed25519Group.isValidElement(smallOrder))
        #expect(Ed25519Group.isValidElement(try Ed25519Group.baseMultiply(Ed25519Group.randomScalar())))
    }
}
