import Foundation
import SDTQueue
import SDTCore
import SDTCrypto

/// The files of a node's data directory:
/// - `ledger.sqlite` — the ledger (WAL mode);
/// - `node-secret` — 32 random bytes keying the transaction-id MACs (mode 0600);
/// - `data-key` — 32 random bytes encrypting account holders' personal data at rest (mode 0600);
/// - `block-key` — the region's single block-signing key seed (mode 0600). The custodian quorum
///   replaces this file: with it, no single file holds the block key.
public struct NodeData: Sendable {
    public let directory: String

    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } else if !isDirectory.boolValue {
            throw ConfigError("--data \(directory) exists and is not a directory")
        }
        self.directory = directory
    }

    public var ledgerPath: String { (directory as NSString).appendingPathComponent("ledger.sqlite") }
    /// The bank desk's store: what the custodian bank's messages said (not the ledger; see `BankDesk`).
    public var bankPath: String { (directory as NSString).appendingPathComponent("bank.sqlite") }
    var secretPath: String { (directory as NSString).appendingPathComponent("node-secret") }
    var blockKeyPath: String { (directory as NSString).appendingPathComponent("block-key") }

    /// The transaction-id secret, created on first use.
    public func nodeSecret() throws -> [UInt8] {
        try secret(at: secretPath, byteCount: TransactionIDIssuer.secretByteCount)
    }

    /// The key that encrypts holders' personal data (XChaCha20-Poly1305), created on first use.
    public func dataKey() throws -> [UInt8] {
        try secret(at: (directory as NSString).appendingPathComponent("data-key"), byteCount: AEAD.keyByteCount)
    }

    /// The CURVE key this process uses on the tcp queue (`path`, or `queue-<role>.key` here), created
    /// on first use; its public key goes into the region config.
    public func queueKeys(role: NodeRole, path: String? = nil) throws -> CurveKeyPair {
        let file = path ?? (directory as NSString).appendingPathComponent("queue-\(role.rawValue).key")
        return try CurveKeyPair(secretKey: secret(at: file, byteCount: 32))
    }

    /// The region's X25519 key for sealed inter-region messages, created on first use; its public key
    /// is listed in the registry.
    public func sealingKey() throws -> SealingKey {
        try SealingKey(secret: secret(at: (directory as NSString).appendingPathComponent("sealing-key"), byteCount: SealingKey.byteCount))
    }

    /// The block-signing key, created on first use.
    public func blockKey() throws -> SigningKey {
        try SigningKey(seed: secret(at: blockKeyPath, byteCount: Ed25519.seedByteCount))
    }

    var blockPublicKeyPath: String { (directory as NSString).appendingPathComponent("block-public-key") }

    /// Records the key blocks are signed with (the single key's, or the custodian quorum's).
    public func recordBlockPublicKey(_ key: [UInt8]) throws {
        try Hex.encode(key).write(toFile: blockPublicKeyPath, atomically: true, encoding: .utf8)
    }

    /// The block public key the node recorded, without creating anything (for the audit). Pin it
    /// with `sdt audit --block-public-key` or `--transcript` when the data directory is not trusted.
    public func existingBlockPublicKey() throws -> [UInt8] {
        if let text = try? String(contentsOfFile: blockPublicKeyPath, encoding: .utf8), let key = Hex.decode(text), key.count == 32 {
            return key
        }
        guard FileManager.default.fileExists(atPath: blockKeyPath) else {
            throw ConfigError("no block public key recorded in \(directory): pass --block-public-key or --transcript")
        }
        return try blockKey().publicKey
    }

    private func secret(at path: String, byteCount: Int) throws -> [UInt8] {
        if let existing = FileManager.default.contents(atPath: path) {
            guard existing.count == byteCount else { throw ConfigError("\(path) should hold \(byteCount) bytes, holds \(existing.count)") }
            return Array(existing)
        }
        let fresh = SecureRandom.bytes(byteCount)
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(fresh), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError("cannot write \(temporary)")
        }
        let file = open(temporary, O_RDONLY)
        if file >= 0 { fsync(file); close(file) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
        return fresh
    }
}
