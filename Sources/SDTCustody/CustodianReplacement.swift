import Foundation
import SDTCore
import SDTCrypto

/// Gives a new holder the share of a departing custodian k without changing the region key: t of the
/// remaining custodians (the helpers: the t lowest identifiers other than k) each send λᵢ(k)·sᵢ, the
/// Lagrange weight at x = k instead of 0, blinded so that only the sum means anything. The first
/// helper draws a mask rⱼ for every other helper j, seals it to j, and adds Σ rⱼ to its part; helper j
/// subtracts rⱼ. The new holder learns s_k = Σ λᵢ(k)·sᵢ and nothing else. The departing holder's copy
/// stays valid until the next refresh, which must follow at once.
public enum CustodianReplacement {
    /// What the first helper sends: a mask for each other helper (identifier → sealed to it) and its
    /// own part for the new holder (sealed to the new holder).
    public struct Opening: Codable, Sendable {
        public var from: Int
        public var masks: [String: String]
        public var part: String
    }

    /// The helpers of replacing `target`: the `transcript.threshold` lowest identifiers besides it.
    public static func helpers(replacing target: Int, in transcript: CeremonyTranscript) -> [Int] {
        Array(transcript.custodians.map(\.identifier).filter { $0 != target }.sorted().prefix(transcript.threshold))
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

    /// The first helper's step: its blinded part and the masks for the other helpers.
    public static func open(
        share: [UInt8], identifier: Int, target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> Opening {
        let helpers = helpers(replacing: target, in: next)
        guard helpers.first == identifier else {
            throw CryptoError("custodian \(identifier) is not the first helper of replacing \(target) (\(helpers))")
        }
        let field = PrimeField.ed25519Order
        var part = field.multiply(
            try weight(identifier, remaining: helpers, target: target), BigInteger(littleEndian: share))
        var masks: [String: String] = [:]
        for other in helpers.dropFirst() {
            let mask = BigInteger(littleEndian: Ed25519Group.randomScalar())
            part = field.add(part, mask)
            masks[String(other)] = Hex.encode(
                try SealedBox.seal(mask.littleEndianBytes(count: 32), to: identityKey(other, next)))
        }
        return Opening(
            from: identifier, masks: masks,
            part: Hex.encode(try SealedBox.seal(part.littleEndianBytes(count: 32), to: identityKey(target, next))))
    }

    /// Another helper's step: its part for the new holder, sealed, with its mask from the opening taken off.
    public static func answer(
        share: [UInt8], identifier: Int, identity: SigningKey, opening: Opening, target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> String {
        let helpers = helpers(replacing: target, in: next)
        guard helpers.dropFirst().contains(identifier), opening.from == helpers.first else {
            throw CryptoError(
                "custodian \(identifier) is not a helper answering \(helpers.first ?? 0) for replacing \(target)")
        }
        guard let sealedMask = opening.masks[String(identifier)].flatMap(Hex.decode) else {
            throw CryptoError("the opening carries no mask for custodian \(identifier)")
        }
        let field = PrimeField.ed25519Order
        let mask = BigInteger(littleEndian: try identity.open(sealed: sealedMask))
        let part = field.subtract(
            field.multiply(try weight(identifier, remaining: helpers, target: target), BigInteger(littleEndian: share)),
            mask)
        return Hex.encode(try SealedBox.seal(part.littleEndianBytes(count: 32), to: identityKey(target, next)))
    }

    /// The new holder's step: add the helpers' parts, check the sum against the unchanged public share,
    /// store it and sign the next transcript.
    public static func finish(
        identity: SigningKey, target: Int, parts: [String], next: CeremonyTranscript, passphrase: String
    ) throws(CryptoError) -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        guard parts.count == next.threshold else {
            throw CryptoError("the new holder needs the parts of \(next.threshold) helpers, got \(parts.count)")
        }
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
