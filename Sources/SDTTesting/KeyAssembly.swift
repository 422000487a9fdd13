import SDTCrypto

/// Reassembles a shared secret from Shamir shares, for tests only: production code never assembles
/// a region key, so this lives in the test-support library and not in `SDTCrypto`.
public enum KeyAssembly {
    /// The secret behind at least `sharing.threshold` shares (Lagrange interpolation at zero).
    public static func combine(_ shares: [ShamirSharing.Share], sharing: ShamirSharing) throws -> BigInteger {
        guard shares.count >= sharing.threshold else {
            throw CryptoError("\(shares.count) shares cannot meet a threshold of \(sharing.threshold)")
        }
        let identifiers = shares.map(\.identifier)
        var secret = BigInteger(0)
        for share in shares {
            let coefficient = try sharing.lagrangeCoefficient(for: share.identifier, among: identifiers)
            secret = sharing.field.add(secret, sharing.field.multiply(share.value, coefficient))
        }
        return secret
    }
}
