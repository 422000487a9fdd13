import CSodium
import SDTCore
import Synchronization

/// FROST(Ed25519, SHA-512), RFC 9591: two-round threshold Schnorr signing whose aggregate is an
/// ordinary Ed25519 signature. Composed from libsodium's scalar and point operations and SHA-512;
/// checked against the RFC's published vectors.
public enum FROST {
    public static let contextString = Array("FROST-ED25519-SHA512-v1".utf8)

    static func h1(_ message: [UInt8]) -> [UInt8] { Ed25519Group.reduceWide(Ed25519Group.sha512(contextString + Array("rho".utf8), message)) }
    /// The challenge hash has no context prefix: it is RFC 8032's, so aggregates verify as Ed25519.
    static func h2(_ message: [UInt8]) -> [UInt8] { Ed25519Group.reduceWide(Ed25519Group.sha512(message)) }
    static func h3(_ message: [UInt8]) -> [UInt8] { Ed25519Group.reduceWide(Ed25519Group.sha512(contextString + Array("nonce".utf8), message)) }
    static func h4(_ message: [UInt8]) -> [UInt8] { Ed25519Group.sha512(contextString + Array("msg".utf8), message) }
    static func h5(_ message: [UInt8]) -> [UInt8] { Ed25519Group.sha512(contextString + Array("com".utf8), message) }

    /// A signer's public round-one output.
    public struct Commitment: Sendable, Hashable, Codable {
        public let identifier: Int
        public let hiding: [UInt8]
        public let binding: [UInt8]

        public init(identifier: Int, hiding: [UInt8], binding: [UInt8]) {
            self.identifier = identifier
            self.hiding = hiding
            self.binding = binding
        }
    }

    /// A signer's secret round-one nonces. They can be used for one signature share only, and are
    /// wiped when used or dropped.
    public final class SigningNonces: Sendable {
        /// hiding ‖ binding, or empty once used.
        private let secret: Mutex<[UInt8]>
        public let commitment: Commitment

        init(hiding: [UInt8], binding: [UInt8], commitment: Commitment) {
            secret = Mutex(hiding + binding)
            self.commitment = commitment
        }

        /// The nonces, once; a second call throws, so one commitment never signs twice.
        func consume() throws(CryptoError) -> (hiding: [UInt8], binding: [UInt8]) {
            let pair: (hiding: [UInt8], binding: [UInt8])? = secret.withLock { secret in
                guard secret.count == 64 else { return nil }
                let pair = (Array(secret[0..<32]), Array(secret[32..<64]))
                sodium_memzero(&secret, secret.count)
                secret = []
                return pair
            }
            guard let pair else { throw CryptoError("these nonces were already used for a signature share; commit again") }
            return pair
        }

        deinit { secret.withLock { sodium_memzero(&$0, $0.count) } }
    }

    /// nonce_generate: H3(random_bytes(32) ‖ SerializeScalar(secret)).
    static func nonce(secret: [UInt8], randomness: [UInt8]) -> [UInt8] { h3(randomness + secret) }

    /// Round one. Randomness comes from `random` (the system's generator unless a simulation seeds
    /// one) unless given outright (for published vectors).
    public static func commit(
        identifier: Int, secretShare: [UInt8], hidingRandomness: [UInt8]? = nil, bindingRandomness: [UInt8]? = nil,
        random: any RandomSource = SystemRandom()
    ) throws(CryptoError) -> SigningNonces {
        let hiding = nonce(secret: secretShare, randomness: hidingRandomness ?? random.bytes(32))
        let binding = nonce(secret: secretShare, randomness: bindingRandomness ?? random.bytes(32))
        let commitment = Commitment(
            identifier: identifier, hiding: try Ed25519Group.baseMultiply(hiding), binding: try Ed25519Group.baseMultiply(binding)
        )
        return SigningNonces(hiding: hiding, binding: binding, commitment: commitment)
    }

    /// Checks a commitment list: sorted by identifier, distinct, non-zero, every point valid.
    static func check(_ commitments: [Commitment]) throws(CryptoError) {
        let identifiers = commitments.map(\.identifier)
        guard !identifiers.isEmpty, identifiers == identifiers.sorted(), Set(identifiers).count == identifiers.count,
              identifiers.allSatisfy({ $0 > 0 })
        else { throw CryptoError("commitments must be sorted by distinct, positive identifiers") }
        for commitment in commitments where !Ed25519Group.isValidElement(commitment.hiding) || !Ed25519Group.isValidElement(commitment.binding) {
            throw CryptoError("participant \(commitment.identifier)'s commitment is not a valid group element")
        }
    }

    static func encode(_ commitments: [Commitment]) -> [UInt8] {
        commitments.flatMap { Ed25519Group.scalar(UInt($0.identifier)) + $0.hiding + $0.binding }
    }

    /// The binding factor input for `identifier`: PK ‖ H4(msg) ‖ H5(commitment list) ‖ SerializeScalar(id).
    public static func bindingFactorInput(groupPublicKey: [UInt8], commitments: [Commitment], message: [UInt8], identifier: Int) -> [UInt8] {
        groupPublicKey + h4(message) + h5(encode(commitments)) + Ed25519Group.scalar(UInt(identifier))
    }

    public static func bindingFactors(groupPublicKey: [UInt8], commitments: [Commitment], message: [UInt8]) -> [Int: [UInt8]] {
        let prefix = groupPublicKey + h4(message) + h5(encode(commitments))
        var factors: [Int: [UInt8]] = [:]
        for commitment in commitments { factors[commitment.identifier] = h1(prefix + Ed25519Group.scalar(UInt(commitment.identifier))) }
        return factors
    }

    /// R = Σ (Dᵢ + [ρᵢ]Eᵢ).
    static func groupCommitment(_ commitments: [Commitment], factors: [Int: [UInt8]]) throws(CryptoError) -> [UInt8] {
        var sum: [UInt8]?
        for commitment in commitments {
            let term = try Ed25519Group.add(commitment.hiding, try Ed25519Group.multiply(commitment.binding, factors[commitment.identifier]!))
            sum = try sum.map { (existing) throws(CryptoError) in try Ed25519Group.add(existing, term) } ?? term
        }
        guard let sum else { throw CryptoError("no commitments") }
        return sum
    }

    static func challenge(groupCommitment: [UInt8], groupPublicKey: [UInt8], message: [UInt8]) -> [UInt8] {
        h2(groupCommitment + groupPublicKey + message)
    }

    /// λᵢ for the signers in `commitments`, computed in GMP over the group order.
    static func lagrange(_ identifier: Int, _ commitments: [Commitment]) throws(CryptoError) -> [UInt8] {
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: commitments.count)
        return try sharing.lagrangeCoefficient(for: identifier, among: commitments.map(\.identifier)).littleEndianBytes(count: 32)
    }

    /// Round two: zᵢ = dᵢ + eᵢρᵢ + λᵢ sᵢ c. The nonces are consumed.
    public static func sign(
        identifier: Int, secretShare: [UInt8], nonces: SigningNonces, message: [UInt8], commitments: [Commitment],
        groupPublicKey: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        try check(commitments)
        guard commitments.contains(nonces.commitment) else {
            throw CryptoError("participant \(identifier)'s own commitment is not in the signing package")
        }
        let factors = bindingFactors(groupPublicKey: groupPublicKey, commitments: commitments, message: message)
        let challenge = challenge(
            groupCommitment: try groupCommitment(commitments, factors: factors), groupPublicKey: groupPublicKey, message: message
        )
        let lambda = try lagrange(identifier, commitments)
        let (hiding, binding) = try nonces.consume()
        let weighted = Ed25519Group.scalarMultiply(Ed25519Group.scalarMultiply(lambda, secretShare), challenge)
        return Ed25519Group.scalarAdd(Ed25519Group.scalarAdd(hiding, Ed25519Group.scalarMultiply(binding, factors[identifier]!)), weighted)
    }

    /// [zᵢ]B = Dᵢ + [ρᵢ]Eᵢ + [cλᵢ]Yᵢ: identifies the signer of a bad share.
    public static func verifyShare(
        identifier: Int, publicShare: [UInt8], signatureShare: [UInt8], commitments: [Commitment], groupPublicKey: [UInt8],
        message: [UInt8]
    ) -> Bool {
        guard (try? check(commitments)) != nil, Ed25519Group.isCanonicalScalar(signatureShare),
              let commitment = commitments.first(where: { $0.identifier == identifier })
        else { return false }
        let factors = bindingFactors(groupPublicKey: groupPublicKey, commitments: commitments, message: message)
        guard let groupCommitment = try? groupCommitment(commitments, factors: factors),
              let lambda = try? lagrange(identifier, commitments),
              let left = try? Ed25519Group.baseMultiply(signatureShare)
        else { return false }
        let c = challenge(groupCommitment: groupCommitment, groupPublicKey: groupPublicKey, message: message)
        let right = try? Ed25519Group.add(
            try Ed25519Group.add(commitment.hiding, try Ed25519Group.multiply(commitment.binding, factors[identifier]!)),
            try Ed25519Group.multiply(publicShare, Ed25519Group.scalarMultiply(c, lambda))
        )
        return right == left
    }

    /// Aggregates shares into R ‖ z, an Ed25519 signature of `message` under `groupPublicKey`.
    public static func aggregate(
        commitments: [Commitment], shares: [Int: [UInt8]], groupPublicKey: [UInt8], message: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        try check(commitments)
        guard Set(shares.keys) == Set(commitments.map(\.identifier)) else {
            throw CryptoError("shares from \(shares.keys.sorted()) do not match the committed signers \(commitments.map(\.identifier))")
        }
        let factors = bindingFactors(groupPublicKey: groupPublicKey, commitments: commitments, message: message)
        let r = try groupCommitment(commitments, factors: factors)
        var z = [UInt8](repeating: 0, count: 32)
        for commitment in commitments { z = Ed25519Group.scalarAdd(z, shares[commitment.identifier]!) }
        return r + z
    }
}

