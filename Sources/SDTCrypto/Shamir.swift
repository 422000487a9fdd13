/// Shamir's secret sharing over a prime field in GMP: the secret is the constant term of a random
/// polynomial of degree threshold−1; participant i holds f(i). Any `threshold` shares recover the
/// secret by Lagrange interpolation at 0; fewer reveal nothing about it.
public struct ShamirSharing: Sendable {
    public let field: PrimeField
    public let threshold: Int

    public struct Share: Sendable {
        /// The participant's identifier, x = 1, 2, …; never 0 (f(0) is the secret).
        public let identifier: Int
        public let value: BigInteger

        public init(identifier: Int, value: BigInteger) {
            self.identifier = identifier
            self.value = value
        }
    }

    public init(field: PrimeField, threshold: Int) throws(CryptoError) {
        guard threshold >= 1 else { throw CryptoError("the threshold must be at least 1") }
        self.field = field
        self.threshold = threshold
    }

    /// Splits `secret` among participants 1...count. `coefficients` (a₁…a_{t−1}) are drawn with
    /// `randomCoefficient` unless given (published test vectors give them).
    public func split(
        secret: BigInteger, count: Int, coefficients given: [BigInteger]? = nil, randomCoefficient: () -> BigInteger
    ) throws(CryptoError) -> (shares: [Share], coefficients: [BigInteger]) {
        guard count >= threshold else { throw CryptoError("\(count) participants cannot meet a threshold of \(threshold)") }
        guard field.isCanonical(secret) else { throw CryptoError("the secret is not below the field modulus") }
        let higher = given ?? (1..<threshold).map { _ in randomCoefficient() }
        guard higher.count == threshold - 1 else { throw CryptoError("expected \(threshold - 1) coefficients, got \(higher.count)") }
        let coefficients = [secret] + higher
        let shares = (1...count).map { Share(identifier: $0, value: evaluate(coefficients, at: BigInteger(UInt($0)))) }
        return (shares, coefficients)
    }

    /// f(x) by Horner's rule.
    public func evaluate(_ coefficients: [BigInteger], at x: BigInteger) -> BigInteger {
        var result = BigInteger(0)
        for coefficient in coefficients.reversed() {
            result = field.add(field.multiply(result, x), coefficient)
        }
        return result
    }

    /// λᵢ = Π_{j≠i} xⱼ / (xⱼ − xᵢ): the weight of participant i's share when `identifiers` combine at 0.
    public func lagrangeCoefficient(for identifier: Int, among identifiers: [Int]) throws(CryptoError) -> BigInteger {
        guard identifiers.contains(identifier), Set(identifiers).count == identifiers.count, !identifiers.contains(0) else {
            throw CryptoError("identifiers must be distinct, non-zero and include \(identifier)")
        }
        var numerator = BigInteger(1)
        var denominator = BigInteger(1)
        let xi = BigInteger(UInt(identifier))
        for other in identifiers where other != identifier {
            let xj = BigInteger(UInt(other))
            numerator = field.multiply(numerator, xj)
            denominator = field.multiply(denominator, field.subtract(xj, xi))
        }
        guard let inverse = field.inverse(denominator) else { throw CryptoError("identifiers collide modulo the field") }
        return field.multiply(numerator, inverse)
    }
}

/// Feldman's verifiable secret sharing on Ed25519: the dealer publishes Cⱼ = [aⱼ]B for each
/// coefficient, and participant i checks [f(i)]B = Σⱼ [iʲ]Cⱼ without learning anything else.
public enum Feldman {
    public static func commitments(_ coefficients: [BigInteger]) throws(CryptoError) -> [[UInt8]] {
        var commitments: [[UInt8]] = []
        for coefficient in coefficients {
            commitments.append(try Ed25519Group.baseMultiply(coefficient.littleEndianBytes(count: 32)))
        }
        return commitments
    }

    /// True when `share` is f(identifier) for the polynomial the commitments describe.
    public static func verify(share: ShamirSharing.Share, commitments: [[UInt8]]) -> Bool {
        guard !commitments.isEmpty, commitments.allSatisfy(Ed25519Group.isValidElement),
              let left = try? Ed25519Group.baseMultiply(share.value.littleEndianBytes(count: 32))
        else { return false }
        return (try? publicShare(identifier: share.identifier, commitments: commitments)) == left
    }

    /// The public key share Y_i = Σⱼ [iʲ]Cⱼ of participant i, from the commitments alone. With
    /// `firstPower` 1 the commitments are of a polynomial without constant term (a refresh's).
    public static func publicShare(identifier: Int, commitments: [[UInt8]], firstPower: UInt = 0) throws(CryptoError) -> [UInt8] {
        let field = PrimeField.ed25519Order
        let x = BigInteger(UInt(identifier))
        var power = firstPower == 0 ? BigInteger(1) : field.power(x, BigInteger(firstPower))
        var sum: [UInt8]?
        for commitment in commitments {
            let term = try Ed25519Group.multiply(commitment, power.littleEndianBytes(count: 32))
            sum = try sum.map { (existing) throws(CryptoError) in try Ed25519Group.add(existing, term) } ?? term
            power = field.multiply(power, x)
        }
        guard let sum else { throw CryptoError("no commitments") }
        return sum
    }
}
