import CSodium

/// An X25519 key pair for sealed messages between regions: anyone holding the public key (from the
/// signed registry) can seal a message that only this key opens (libsodium sealed boxes).
public struct SealingKey: Sendable {
    public let publicKey: [UInt8]
    private let secret: [UInt8]

    public static let byteCount = Int(crypto_box_SECRETKEYBYTES)

    /// The pair whose secret scalar is `secret` (32 bytes; X25519 clamps it).
    public init(secret: [UInt8]) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard secret.count == Self.byteCount else {
            throw CryptoError("an X25519 secret key is \(Self.byteCount) bytes")
        }
        var publicKey = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        guard crypto_scalarmult_base(&publicKey, secret) == 0 else {
            throw CryptoError("crypto_scalarmult_base failed")
        }
        self.publicKey = publicKey
        self.secret = secret
    }

    /// A fresh pair from libsodium's generator.
    public init() {
        var secret = SecureRandom.bytes(Self.byteCount)
        // A 32-byte secret is always a valid X25519 scalar.
        self = try! SealingKey(secret: secret)
        sodium_memzero(&secret, secret.count)
    }

    /// The secret, for storing in the node's data directory.
    public var secretBytes: [UInt8] { secret }

    /// X25519(secret, peer): the shared point, for checking the curve against published vectors.
    public func sharedSecret(with peerPublicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard peerPublicKey.count == 32 else { throw CryptoError("an X25519 public key is 32 bytes") }
        var shared = [UInt8](repeating: 0, count: 32)
        guard crypto_scalarmult(&shared, secret, peerPublicKey) == 0 else {
            throw CryptoError("the peer key is of small order")
        }
        return shared
    }

    /// Seals `message` to `publicKey`: only its holder opens it, and the sender stays anonymous (the
    /// sender is authenticated by what the message carries, e.g. a quorum-signed block).
    public static func seal(_ message: [UInt8], to publicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        Sodium.ensureInitialised()
        guard publicKey.count == Int(crypto_box_PUBLICKEYBYTES) else {
            throw CryptoError("an X25519 public key is 32 bytes")
        }
        var sealed = [UInt8](repeating: 0, count: message.count + Int(crypto_box_sealbytes()))
        guard crypto_box_seal(&sealed, message, UInt64(message.count), publicKey) == 0 else {
            throw CryptoError("crypto_box_seal failed")
        }
        return sealed
    }

    /// Opens a message sealed to this key.
    public func open(_ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= Int(crypto_box_sealbytes()) else { throw CryptoError("the sealed message is too short") }
        var message = [UInt8](repeating: 0, count: sealed.count - Int(crypto_box_sealbytes()))
        guard crypto_box_seal_open(&message, sealed, UInt64(sealed.count), publicKey, secret) == 0 else {
            throw CryptoError("the sealed message was not addressed to this key or was changed")
        }
        return message
    }
}
