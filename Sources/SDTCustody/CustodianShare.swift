import Foundation
import SDTCore
import SDTCrypto

/// A custodian's share at rest (`sdt-custodian-share-v1`, JSON): which region and ceremony it
/// belongs to, its identifier, and the share itself inside a passphrase keystore whose public key is
/// the share's public key Yᵢ. The file never holds the share in plaintext.
public struct CustodianShareFile: Codable, Sendable {
    public static let formatName = "sdt-custodian-share-v1"

    public var format: String
    public var region: String
    public var identifier: Int
    public var groupPublicKey: String
    public var transcriptSHA3: String
    public var keystore: Keystore

    enum CodingKeys: String, CodingKey {
        case format, region, identifier, keystore
        case groupPublicKey = "group_public_key"
        case transcriptSHA3 = "transcript_sha3"
    }

    /// Opens the custodian's sealed share with its identity key, checks it against the transcript's
    /// Feldman commitments and hash, stores it under `passphrase`, and signs the transcript.
    public static func accept(
        transcript: CeremonyTranscript, sealedShare: [UInt8], identity: SigningKey, passphrase: String
    ) throws(CryptoError) -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        try transcript.verify(requireAllSignatures: false)
        guard let entry = transcript.custodians.first(where: { $0.identityKey == identity.publicKeyHex }) else {
            throw CryptoError("this identity key is not a custodian in the transcript")
        }
        guard Hex.encode(SHA3.hash256(sealedShare)) == entry.sealedShareSHA3 else {
            throw CryptoError("the sealed share's hash differs from the transcript's: it is not the share the dealer published")
        }
        var secret = try identity.open(sealed: sealedShare)
        defer { secret.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let commitments = transcript.commitments.compactMap { Hex.decode($0) }
        guard secret.count == 32,
              Feldman.verify(share: .init(identifier: entry.identifier, value: BigInteger(littleEndian: secret)), commitments: commitments)
        else { throw CryptoError("the share does not match the Feldman commitments: refuse it and stop the ceremony") }
        return try make(share: secret, identifier: entry.identifier, transcript: transcript, identity: identity, passphrase: passphrase)
    }

    /// The share, after checking it belongs to `transcript`; the caller wipes it after use.
    public func open(passphrase: String, transcript: CeremonyTranscript) throws(CryptoError) -> [UInt8] {
        guard format == Self.formatName else { throw CryptoError("not a custodian share file (format \(format))") }
        guard transcriptSHA3 == Hex.encode(transcript.hash), groupPublicKey == transcript.groupPublicKey else {
            throw CryptoError("this share belongs to another ceremony than the transcript given")
        }
        let secret = try keystore.openSecret(passphrase: passphrase)
        guard Hex.encode(try Ed25519Group.baseMultiply(secret)) == keystore.publicKey else {
            throw CryptoError("the share does not match its public key")
        }
        return secret
    }

    public static func read(from path: String) throws -> CustodianShareFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw CryptoError("cannot read share file \(path)") }
        return try JSONDecoder().decode(CustodianShareFile.self, from: data)
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard FileManager.default.createFile(atPath: path, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw CryptoError("cannot write \(path)")
        }
    }
}
