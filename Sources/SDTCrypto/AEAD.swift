import CSodium

/// XChaCha20-Poly1305 (libsodium's IETF construction): authenticated encryption with a random
/// 24-byte nonce, which is safe to draw at random for any number of messages under one key.
public enum AEAD {
    public static let keyByteCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Encrypts under `nonce`; the result is ciphertext ‖ 16-byte tag.
    public static func encrypt(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == keyByteCount, nonce.count == nonceByteCount else { throw CryptoError("AEAD key or nonce has the wrong size") }
        var sealed = [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var length: UInt64 = 0
        let result = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &sealed, &length, plaintext, UInt64(plaintext.count), associatedData, UInt64(associatedData.count), nil, nonce, key
        )
        guard result == 0 else { throw CryptoError("AEAD encryption failed") }
        return Array(sealed[0..<Int(length)])
    }

    /// Decrypts ciphertext ‖ tag; nil when the key, nonce, associated data or bytes are not the ones sealed.
    public static func decrypt(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        guard key.count == keyByteCount, nonce.count == nonceByteCount, sealed.count >= tagByteCount else { return nil }
        var plaintext = [UInt8](repeating: 0, count: sealed.count - tagByteCount)
        var length: UInt64 = 0
        let result = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &plaintext, &length, nil, sealed, UInt64(sealed.count), associatedData, UInt64(associatedData.count), nonce, key
        )
        guard result == 0 else { return nil }
        return Array(plaintext[0..<Int(length)])
    }

    /// Encrypts with a fresh random nonce; the result is nonce ‖ ciphertext ‖ tag.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        let nonce = SecureRandom.bytes(nonceByteCount)
        return nonce + (try encrypt(plaintext, key: key, nonce: nonce, associatedData: associatedData))
    }

    /// Opens what `seal` made.
    public static func open(_ box: [UInt8], key: [UInt8], associatedData: [UInt8]) -> [UInt8]? {
        guard box.count >= nonceByteCount + tagByteCount else { return nil }
        return decrypt(Array(box[nonceByteCount...]), key: key, nonce: Array(box[..<nonceByteCount]), associatedData: associatedData)
    }
}
