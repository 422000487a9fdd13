import Foundation
import SDTCore
import SDTCrypto

/// Gives a new holder the share of a departing custodian k without changing the region key: the two
/// remaining custodians a and b each send λᵢ(k)·sᵢ, blinded by a mask r that a gives b (a adds r,
/// b subtracts it), so the new holder learns s_k = λ_a s_a + λ_b s_b and nothing else. The departing
/// holder's copy stays valid until the next refresh, which must follow at once.
public enum CustodianReplacement {
    /// What custodian a sends: the mask for b (sealed to b), its part for the new holder (sealed).
    public struct Opening: Codable, Sendable {
        public var from: Int
        public var maskForOther: String
        public var part: String
    }

    /// The next transcript: custodian k's name and identity key replaced; shares and keys unchanged.
    public static func nextTranscript(
        _ current: CeremonyTranscript, replacing identifier: Int, name: String, identityKey: [UInt8]
    ) throws(CryptoError) -> CeremonyTranscript {
        try current.verify(requireAllSignatures: true)
        guard let index = current.custodians.firstIndex(where: { $0.identifier == identifier }) else {
            throw CryptoError("custodian \(identifier) is not in the transcript")
        }
        guard !current.custodians.contains(where: { $0.identityKey == Hex.encode(identityKey) }) else {
            throw CryptoError("the new holder's identity key already belongs to a custodian")
        }
        var next = current
        next.kind = "replace"
        next.previousTranscriptSHA3 = Hex.encode(current.hash)
        next.custodians[index].name = name
        next.custodians[index].identityKey = Hex.encode(identityKey)
        next.signatures = [:]
        try next.verify(requireAllSignatures: false)
        return next
    }

    static func weight(_ identifier: Int, remaining: [Int], target: Int) throws(CryptoError) -> BigInteger {
        // λᵢ evaluated at x = k instead of 0: Π_{j≠i} (k − xⱼ)/(xᵢ − xⱼ).
        let field = PrimeField.ed25519Order
        var numerator = BigInteger(1)
        var denominator = BigInteger(1)
        for other in remaining where other != identifier {
            numerator = field.multiply(numerator, field.subtract(BigInteger(UInt(target)), BigInteger(UInt(other))))
            denominator = field.multiply(denominator, field.subtract(BigInteger(UInt(identifier)), BigInteger(UInt(other))))
        }
        guard let inverse = field.inverse(denominator) else { throw CryptoError("identifiers collide") }
        return field.multiply(numerator, inverse)
    }

    /// Custodian a's step.
    public static func open(
        share: [UInt8], identifier: Int, other: Int, target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> Opening {
        let field = PrimeField.ed25519Order
        let mask = BigInteger(littleEndian: Ed25519Group.randomScalar())
        let part = field.add(field.multiply(try weight(identifier, remaining: [identifier, other], target: target), BigInteger(littleEndian: share)), mask)
        return Opening(
            from: identifier,
            maskForOther: Hex.encode(try SealedBox.seal(mask.littleEndianBytes(count: 32), to: identityKey(other, next))),
            part: Hex.encode(try SealedBox.seal(part.littleEndianBytes(count: 32), to: identityKey(target, next)))
        )
    }

    /// Custodian b's step: its part for the new holder, sealed, with a's mask taken off.
    public static func answer(
        share: [UInt8], identifier: Int, identity: SigningKey, opening: Opening, target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> String {
        let field = PrimeField.ed25519Order
        let mask = BigInteger(littleEndian: try identity.open(sealed: Hex.decode(opening.maskForOther) ?? []))
        let part = field.subtract(
            field.multiply(try weight(identifier, remaining: [opening.from, identifier], target: target), BigInteger(littleEndian: share)), mask
        )
        return Hex.encode(try SealedBox.seal(part.littleEndianBytes(count: 32), to: identityKey(target, next)))
    }

    /// The new holder's step: add the two parts, check the sum against the unchanged public share,
    /// store it and sign the next transcript.
    public static func finish(
        identity: SigningKey, target: Int, parts: [String], next: CeremonyTranscript, passphrase: String
    ) throws(CryptoError) -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        guard parts.count == 2 else { throw CryptoError("the new holder needs the parts of both remaining custodians") }
        let field = PrimeField.ed25519Order
        var total = BigInteger(0)
        for part in parts { total = field.add(total, BigInteger(littleEndian: try identity.open(sealed: Hex.decode(part) ?? []))) }
        let share = total.littleEndianBytes(count: 32)
        guard let entry = next.custodians.first(where: { $0.identifier == target }), entry.identityKey == identity.publicKeyHex,
              Hex.encode(try Ed25519Group.baseMultiply(share)) == entry.publicShare
        else { throw CryptoError("the parts do not add up to custodian \(target)'s share: refuse the replacement") }
        return try CustodianShareFile.make(share: share, identifier: target, transcript: next, identity: identity, passphrase: passphrase)
    }

    static func identityKey(_ identifier: Int, _ transcript: CeremonyTranscript) throws(CryptoError) -> [UInt8] {
        guard let key = transcript.custodians.first(where: { $0.identifier == identifier }).flatMap({ Hex.decode($0.identityKey) }) else {
            throw CryptoError("custodian \(identifier) is not in the transcript")
        }
        return key
    }
}
