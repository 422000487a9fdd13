import CSodium
import SDTCore

/// Ed25519 (RFC 8032) through libsodium.
public enum Ed25519 {
    public static let publicKeyByteCount = 32
    public static let signatureByteCount = 64
    public static let seedByteCount = 32

    /// True when `signature` is a valid signature of `message` by `publicKey`. Any length other than
    /// 32/64 bytes is simply invalid.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == signatureByteCount, publicKey.count == publicKeyByteCount else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}

/// An Ed25519 key pair. The secret lives in one heap buffer that is wiped when the pair goes away.
public final class SigningKey: @unchecked Sendable {
    // @unchecked: the secret buffer is written only in init and deinit; signing reads it.
    private let secret: UnsafeMutablePointer<UInt8>
    public let publicKey: [UInt8]

    /// A fresh random key pair.
    public convenience init() {
        let seed = SecureRandom.bytes(Ed25519.seedByteCount)
        try! self.init(seed: seed)
    }

    /// The key pair of a 32-byte RFC 8032 private key (seed).
    public init(seed: [UInt8]) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard seed.count == Ed25519.seedByteCount else {
            throw CryptoError("an Ed25519 seed is 32 bytes, got \(seed.count)")
        }
        secret = .allocate(capacity: Int(crypto_sign_SECRETKEYBYTES))
        var publicBytes = [UInt8](repeating: 0, count: Ed25519.publicKeyByteCount)
        let result = crypto_sign_seed_keypair(&publicBytes, secret, seed)
        precondition(result == 0, "crypto_sign_seed_keypair failed with \(result)")
        publicKey = publicBytes
    }

    deinit {
        sodium_memzero(secret, Int(crypto_sign_SECRETKEYBYTES))
        secret.deallocate()
    }

    /// The 32-byte seed, for writing into an encrypted keystore only.
    public var seed: [UInt8] { Array(UnsafeBufferPointer(start: secret, count: Ed25519.seedByteCount)) }

    public var publicKeyHex: String { Hex.encode(publicKey) }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Ed25519.signatureByteCount)
        let result = crypto_sign_detached(&signature, nil, message, UInt64(message.count), secret)
        precondition(result == 0, "crypto_sign_detached failed with \(result)")
        return signature
    }
}
