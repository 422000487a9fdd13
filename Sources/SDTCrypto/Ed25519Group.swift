import CSodium
import SDTCore

/// The prime-order group of Ed25519 through libsodium's point and scalar operations: scalars are
/// 32-byte little-endian integers below L, elements are 32-byte compressed points.
public enum Ed25519Group {
    public static let scalarByteCount = 32
    public static let elementByteCount = 32

    /// [s]B for a scalar s (no clamping).
    public static func baseMultiply(_ scalar: [UInt8]) throws(CryptoError) -> [UInt8] {
        Sodium.ensureInitialised()
        var point = [UInt8](repeating: 0, count: elementByteCount)
        guard scalar.count == scalarByteCount, crypto_scalarmult_ed25519_base_noclamp(&point, scalar) == 0 else {
            throw CryptoError("[s]B failed: the scalar is zero or malformed")
        }
        return point
    }

    /// [s]P for a scalar s and a point P that has been checked with `isValidElement`.
    public static func multiply(_ point: [UInt8], _ scalar: [UInt8]) throws(CryptoError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: elementByteCount)
        guard point.count == elementByteCount, scalar.count == scalarByteCount,
              crypto_scalarmult_ed25519_noclamp(&result, scalar, point) == 0
        else { throw CryptoError("[s]P failed: the scalar is zero, the point invalid, or the result the identity") }
        return result
    }

    public static func add(_ p: [UInt8], _ q: [UInt8]) throws(CryptoError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: elementByteCount)
        guard crypto_core_ed25519_add(&result, p, q) == 0 else { throw CryptoError("point addition failed: invalid point") }
        return result
    }

    /// A point received from elsewhere: on the curve, not of small order, and in the prime-order
    /// subgroup (L·P is the identity — checked explicitly, as BUILD-NOTES advises for libsodium 1.0.18).
    public static func isValidElement(_ point: [UInt8]) -> Bool {
        Sodium.ensureInitialised()
        guard point.count == elementByteCount, crypto_core_ed25519_is_valid_point(point) == 1 else { return false }
        // [L]P: libsodium refuses L itself as a scalar (it reduces to 0), so compute [L-1]P + P and compare with identity.
        let lMinusOne = PrimeField.ed25519Order.subtract(PrimeField.ed25519Order.modulus, BigInteger(1))
        guard let almost = try? multiply(point, lMinusOne.littleEndianBytes(count: 32)) else { return false }
        var sum = [UInt8](repeating: 0, count: elementByteCount)
        _ = crypto_core_ed25519_add(&sum, almost, point)
        let identity: [UInt8] = [1] + [UInt8](repeating: 0, count: 31)
        return sum == identity
    }

    // MARK: Scalars

    /// SHA-512 output (64 bytes) reduced mod L.
    public static func reduceWide(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count == 64, "reduceWide takes 64 bytes, got \(bytes.count)")
        var scalar = [UInt8](repeating: 0, count: scalarByteCount)
        crypto_core_ed25519_scalar_reduce(&scalar, bytes)
        return scalar
    }

    public static func scalarAdd(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: scalarByteCount)
        crypto_core_ed25519_scalar_add(&result, a, b)
        return result
    }

    public static func scalarMultiply(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: scalarByteCount)
        crypto_core_ed25519_scalar_mul(&result, a, b)
        return result
    }

    /// A uniformly random non-zero scalar.
    public static func randomScalar() -> [UInt8] {
        Sodium.ensureInitialised()
        var scalar = [UInt8](repeating: 0, count: scalarByteCount)
        repeat { crypto_core_ed25519_scalar_random(&scalar) } while scalar.allSatisfy { $0 == 0 }
        return scalar
    }

    /// A scalar encoding is canonical when its integer is below L.
    public static func isCanonicalScalar(_ bytes: [UInt8]) -> Bool {
        bytes.count == scalarByteCount && PrimeField.ed25519Order.isCanonical(BigInteger(littleEndian: bytes))
    }

    public static func scalar(_ value: UInt) -> [UInt8] { BigInteger(value).littleEndianBytes(count: scalarByteCount) }

    public static func sha512(_ parts: [UInt8]...) -> [UInt8] {
        Sodium.ensureInitialised()
        var state = crypto_hash_sha512_state()
        crypto_hash_sha512_init(&state)
        for part in parts { crypto_hash_sha512_update(&state, part, UInt64(part.count)) }
        var digest = [UInt8](repeating: 0, count: 64)
        crypto_hash_sha512_final(&state, &digest)
        return digest
    }
}
