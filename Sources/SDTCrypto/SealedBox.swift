import CSodium

/// Anonymous public-key encryption to an Ed25519 identity key (libsodium sealed boxes over the
/// key's X25519 form): only the holder of the identity key's secret can open it.
public enum SealedBox {
    public static func seal(_ message: [UInt8], to identityKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        Sodium.ensureInitialised()
        var curveKey = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        guard identityKey.count == 32, crypto_sign_ed25519_pk_to_curve25519(&curveKey, identityKey) == 0 else {
            throw CryptoError("the recipient's identity key is not a valid Ed25519 public key")
        }
        var sealed = [UInt8](repeating: 0, count: message.count + Int(crypto_box_sealbytes()))
        guard crypto_box_seal(&sealed, message, UInt64(message.count), curveKey) == 0 else { throw CryptoError("crypto_box_seal failed") }
        return sealed
    }
}

extension SigningKey {
    /// Opens a sealed box addressed to this identity key.
    public func open(sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= Int(crypto_box_sealbytes()) else { throw CryptoError("the sealed box is too short") }
        var curvePublic = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        var curveSecret = [UInt8](repeating: 0, count: Int(crypto_box_SECRETKEYBYTES))
        defer { sodium_memzero(&curveSecret, curveSecret.count) }
        var expanded = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        defer { sodium_memzero(&expanded, expanded.count) }
        var publicBytes = [UInt8](repeating: 0, count: 32)
        var seed = self.seed
        defer { sodium_memzero(&seed, seed.count) }
        crypto_sign_seed_keypair(&publicBytes, &expanded, seed)
        guard crypto_sign_ed25519_pk_to_curve25519(&curvePublic, publicKey) == 0,
              crypto_sign_ed25519_sk_to_curve25519(&curveSecret, expanded) == 0
        else { throw CryptoError("this identity key has no X25519 form") }
        var message = [UInt8](repeating: 0, count: sealed.count - Int(crypto_box_sealbytes()))
        guard crypto_box_seal_open(&message, sealed, UInt64(sealed.count), curvePublic, curveSecret) == 0 else {
            throw CryptoError("the sealed box was not addressed to this key or was changed")
        }
        return message
    }
}
