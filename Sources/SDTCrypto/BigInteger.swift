import CGMP
import SDTCore

/// An arbitrary-precision integer in GMP. Its limbs are overwritten before they are freed, because
/// the values it holds (polynomial coefficients, shares) are secrets.
public final class BigInteger: @unchecked Sendable {
    // @unchecked: the mpz value is written only while the object is being built (init and the
    // arithmetic below, which always writes a fresh result); after that it is only read.
    let value: UnsafeMutablePointer<__mpz_struct>

    public init() {
        value = .allocate(capacity: 1)
        sdt_mpz_init(value)
    }

    public convenience init(_ small: UInt) {
        self.init()
        sdt_mpz_set_ui(value, small)
    }

    /// The unsigned integer whose little-endian bytes are `bytes` (Ed25519 scalar encoding).
    public convenience init(littleEndian bytes: [UInt8]) {
        self.init()
        if !bytes.isEmpty { sdt_mpz_import_le(value, bytes, bytes.count) }
    }

    deinit {
        sdt_mpz_wipe_clear(value)
        value.deallocate()
    }

    /// Little-endian bytes, zero-padded to `count`; the value must fit.
    public func littleEndianBytes(count: Int) -> [UInt8] {
        precondition(sdt_mpz_sgn(value) >= 0, "only non-negative values have a byte encoding")
        let size = sdt_mpz_size_in_bytes(value)
        precondition(size <= count, "value of \(size) bytes does not fit in \(count)")
        var bytes = [UInt8](repeating: 0, count: count)
        if size > 0 { _ = sdt_mpz_export_le(&bytes, value) }
        return bytes
    }

    public static func == (lhs: BigInteger, rhs: BigInteger) -> Bool { sdt_mpz_cmp(lhs.value, rhs.value) == 0 }

    public func isLess(than other: BigInteger) -> Bool { sdt_mpz_cmp(value, other.value) < 0 }
}

/// Arithmetic modulo a prime: the field Shamir shares live in (for signing keys, the Ed25519 group
/// order L). Every result is reduced into 0..<p.
public struct PrimeField: Sendable {
    public let modulus: BigInteger

    /// Refuses a modulus that GMP does not consider (probably) prime.
    public init(modulus: BigInteger) throws(CryptoError) {
        guard sdt_mpz_probab_prime(modulus.value, 40) > 0 else { throw CryptoError("the field modulus is not prime") }
        self.modulus = modulus
    }

    /// The Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493.
    public static let ed25519Order: PrimeField = {
        let bytes = Hex.decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")!
        return try! PrimeField(modulus: BigInteger(littleEndian: bytes))
    }()

    private func result(_ body: (UnsafeMutablePointer<__mpz_struct>) -> Void) -> BigInteger {
        let value = BigInteger()
        body(value.value)
        sdt_mpz_mod(value.value, value.value, modulus.value)
        return value
    }

    public func add(_ a: BigInteger, _ b: BigInteger) -> BigInteger { result { sdt_mpz_add($0, a.value, b.value) } }
    public func subtract(_ a: BigInteger, _ b: BigInteger) -> BigInteger { result { sdt_mpz_sub($0, a.value, b.value) } }
    public func multiply(_ a: BigInteger, _ b: BigInteger) -> BigInteger { result { sdt_mpz_mul($0, a.value, b.value) } }
    public func power(_ base: BigInteger, _ exponent: BigInteger) -> BigInteger {
        result { sdt_mpz_powm($0, base.value, exponent.value, modulus.value) }
    }

    /// The multiplicative inverse; nil for zero.
    public func inverse(_ a: BigInteger) -> BigInteger? {
        let value = BigInteger()
        guard sdt_mpz_invert(value.value, a.value, modulus.value) != 0 else { return nil }
        return value
    }

    /// A value is canonical when it is already reduced.
    public func isCanonical(_ a: BigInteger) -> Bool { a.isLess(than: modulus) }
}
