import CSodium
import Foundation
import SDTCore

/// A secret (a device key's seed, an operator key's seed) at rest, encrypted under a passphrase.
///
/// File format (`sdt-keystore-v1`, JSON): the passphrase is stretched with Argon2id
/// (`crypto_pwhash`, parameters stored in the file) over a random 16-byte salt into a 32-byte key;
/// the secret is sealed with XChaCha20-Poly1305-IETF under a random 24-byte nonce, with the
/// format name, the purpose and the public key as additional data, so none of them can be swapped.
/// The file never holds the secret in plaintext.
public struct Keystore: Codable, Sendable, Equatable {
    public static let formatName = "sdt-keystore-v1"

    public var format: String
    public var purpose: String
    public var publicKey: String
    public var kdf: String
    public var opsLimit: UInt64
    public var memLimitBytes: UInt64
    public var salt: String
    public var aead: String
    public var nonce: String
    public var ciphertext: String

    enum CodingKeys: String, CodingKey {
        case format, purpose, kdf, salt, aead, nonce, ciphertext
        case publicKey = "public_key"
        case opsLimit = "ops_limit"
        case memLimitBytes = "mem_limit_bytes"
    }

    /// Argon2id cost used for new keystores: libsodium's "interactive" level (64 MiB, 2 passes).
    public static let opsLimitDefault = UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
    public static let memLimitDefault = UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    public static let passphraseLengthMin = 8

    /// Encrypts `key`'s seed under `passphrase`.
    public static func seal(_ key: SigningKey, purpose: String, passphrase: String) throws(CryptoError) -> Keystore {
        var seed = key.seed
        defer { sodium_memzero(&seed, seed.count) }
        return try seal(secret: seed, publicKeyHex: key.publicKeyHex, purpose: purpose, passphrase: passphrase)
    }

    /// Encrypts a 32-byte secret (a seed, a key share) under `passphrase`; `publicKeyHex` names
    /// what it is the secret of and is bound to it as additional data.
    public static func seal(secret: [UInt8], publicKeyHex: String, purpose: String, passphrase: String) throws(CryptoError) -> Keystore {
        Sodium.ensureInitialised()
        guard passphrase.utf8.count >= passphraseLengthMin else {
            throw CryptoError("the passphrase must be at least \(passphraseLengthMin) characters")
        }
        let salt = SecureRandom.bytes(Int(crypto_pwhash_SALTBYTES))
        let nonce = SecureRandom.bytes(Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        var store = Keystore(
            format: formatName, purpose: purpose, publicKey: publicKeyHex, kdf: "argon2id13",
            opsLimit: opsLimitDefault, memLimitBytes: memLimitDefault, salt: Hex.encode(salt),
            aead: "xchacha20poly1305-ietf", nonce: Hex.encode(nonce), ciphertext: ""
        )
        guard secret.count == 32 else { throw CryptoError("a keystore holds a 32-byte secret, got \(secret.count)") }
        var derived = try store.deriveKey(passphrase: passphrase, salt: salt)
        defer { sodium_memzero(&derived, derived.count) }
        store.ciphertext = Hex.encode(try AEAD.encrypt(secret, key: derived, nonce: nonce, associatedData: store.additionalData))
        return store
    }

    /// Decrypts the key; a wrong passphrase or a changed file gives a clear error.
    public func open(passphrase: String) throws(CryptoError) -> SigningKey {
        var seed = try openSecret(passphrase: passphrase)
        defer { sodium_memzero(&seed, seed.count) }
        let key = try SigningKey(seed: seed)
        guard key.publicKeyHex == publicKey else { throw CryptoError("the keystore's public key does not match its secret") }
        return key
    }

    /// Decrypts the 32-byte secret; the caller wipes it after use.
    public func openSecret(passphrase: String) throws(CryptoError) -> [UInt8] {
        guard format == Self.formatName, kdf == "argon2id13", aead == "xchacha20poly1305-ietf" else {
            throw CryptoError("not an \(Self.formatName) keystore (format \(format), kdf \(kdf), aead \(aead))")
        }
        guard let salt = Hex.decode(salt), salt.count == Int(crypto_pwhash_SALTBYTES),
              let nonce = Hex.decode(nonce), nonce.count == Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES),
              let sealed = Hex.decode(ciphertext), sealed.count == 32 + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
        else { throw CryptoError("the keystore file is damaged: salt, nonce or ciphertext has the wrong size") }
        var derived = try deriveKey(passphrase: passphrase, salt: salt)
        defer { sodium_memzero(&derived, derived.count) }
        guard let seed = AEAD.decrypt(sealed, key: derived, nonce: nonce, associatedData: additionalData) else {
            throw CryptoError("wrong passphrase, or the keystore file was changed (authentication failed)")
        }
        return seed
    }

    private var additionalData: [UInt8] { Array("\(format)\n\(purpose)\n\(publicKey)".utf8) }

    private func deriveKey(passphrase: String, salt: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), memLimitBytes >= UInt64(crypto_pwhash_MEMLIMIT_MIN),
              memLimitBytes <= 4 << 30
        else { throw CryptoError("keystore Argon2id parameters are out of range") }
        var key = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
        let result = passphrase.withCString { password in
            crypto_pwhash(
                &key, UInt64(key.count), password, UInt64(strlen(password)), salt, opsLimit, Int(memLimitBytes),
                crypto_pwhash_ALG_ARGON2ID13
            )
        }
        guard result == 0 else { throw CryptoError("Argon2id key derivation failed (out of memory?)") }
        return key
    }

    // MARK: Files

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CryptoError("cannot write keystore to \(path)")
        }
    }

    public static func read(from path: String) throws -> Keystore {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CryptoError("cannot read keystore \(path): no such file or not readable")
        }
        do {
            return try JSONDecoder().decode(Keystore.self, from: data)
        } catch {
            throw CryptoError("\(path) is not a keystore file: \(error)")
        }
    }
}
