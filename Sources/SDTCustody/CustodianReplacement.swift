import Foundation
import SDTCore
import SDTCrypto

/// Gives a new holder the share of a departing custodian k without changing the region key: t of the
/// remaining custodians (the helpers: the t lowest identifiers other than k) each send λᵢ(k)·sᵢ, the
/// Lagrange weight at x = k instead of 0, blinded so that only the sum means anything. The masks sum to
/// zero and every helper draws its own: in round one each helper i draws a random rᵢⱼ for every other
/// helper j and seals it to j; in round two it sends λᵢ(k)·sᵢ + Σⱼ rᵢⱼ − Σⱼ rⱼᵢ, sealed to the new
/// holder.
/// The parts add up to s_k; a part alone is uniformly random to anyone who lacks one of the masks in it,
/// so the new holder together with fewer than t − 1 helpers learns no helper's share (t or more of them
/// hold the key anyway). The departing holder's copy stays valid until the next refresh, which must
/// follow at once.
public enum CustodianReplacement {
    /// A helper's round one: a mask for each other helper (identifier → the mask sealed to it).
    public struct Opening: Codable, Sendable {
        public var from: Int
        public var masks: [String: String]
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
        guard current.threshold < current.custodians.count else {
            throw CryptoError(
                "a \(current.threshold)-of-\(current.custodians.count) key cannot replace a custodian: "
                    + "\(current.threshold) helpers are needed and only \(current.custodians.count - 1) remain")
        }
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

    /// A helper's round one: the opening to send, and the masks it drew (kept for its round two).
    public static func open(
        identifier: Int, target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> (opening: Opening, drawn: [Int: BigInteger]) {
        let helpers = helpers(replacing: target, in: next)
        guard helpers.contains(identifier) else {
            throw CryptoError("custodian \(identifier) is not a helper of replacing \(target) (\(helpers))")
        }
        var masks: [String: String] = [:]
        var drawn: [Int: BigInteger] = [:]
        for other in helpers where other != identifier {
            let mask = BigInteger(littleEndian: Ed25519Group.randomScalar())
            drawn[other] = mask
            masks[String(other)] = Hex.encode(
                try SealedBox.seal(mask.littleEndianBytes(count: 32), to: identityKey(other, next)))
        }
        return (Opening(from: identifier, masks: masks), drawn)
    }

    /// A helper's round two: its weighted share plus the masks it drew less the masks the other helpers
    /// drew for it (from their openings, one from each), sealed to the new holder.
    public static func part(
        share: [UInt8], identifier: Int, identity: SigningKey, drawn: [Int: BigInteger], openings: [Opening],
        target: Int, next: CeremonyTranscript
    ) throws(CryptoError) -> String {
        let helpers = helpers(replacing: target, in: next)
        let others = helpers.filter { $0 != identifier }
        guard helpers.contains(identifier), drawn.keys.sorted() == others else {
            throw CryptoError("custodian \(identifier) is not a helper of replacing \(target), or drew the wrong masks")
        }
        guard openings.map(\.from).sorted() == others else {
            throw CryptoError(
                "round two needs one opening from each other helper (\(others)), got \(openings.map(\.from).sorted())")
        }
        let field = PrimeField.ed25519Order
        var part = field.multiply(
            try weight(identifier, remaining: helpers, target: target), BigInteger(littleEndian: share))
        for mask in drawn.values { part = field.add(part, mask) }
        for opening in openings {
            guard let sealed = opening.masks[String(identifier)].flatMap(Hex.decode) else {
                throw CryptoError("custodian \(opening.from)'s opening carries no mask for custodian \(identifier)")
            }
            part = field.subtract(part, BigInteger(littleEndian: try identity.open(sealed: sealed)))
        }
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
