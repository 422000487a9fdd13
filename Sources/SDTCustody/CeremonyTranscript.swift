import Foundation
import SDTCore
import SDTCrypto

/// The public record of a key ceremony (`sdt-ceremony-transcript-v1`, JSON; schema in
/// `keyceremony/transcript.schema.json`): the region key, the Feldman commitments, each custodian's
/// identity key, public key share and the hash of its sealed share, and each custodian's signature
/// over the canonical record. A node accepts a region key only when all custodians have signed.
public struct CeremonyTranscript: Codable, Sendable, Equatable {
    public static let formatName = "sdt-ceremony-transcript-v1"
    /// A region's custody unless its ceremony names another: 2-of-3.
    public static let defaultCustodianCount = 3
    public static let defaultThreshold = 2
    /// The most custodians one key may be shared among; FROST identifiers stay small integers.
    public static let custodianCountMax = 15

    /// Refuses a threshold and custodian count no key may be shared with: one custodian alone must
    /// never be able to sign, and `t` shares must exist to sign at all (2 ≤ t ≤ n ≤ 15).
    public static func checkShape(threshold: Int, custodianCount: Int) throws(CryptoError) {
        guard (2...custodianCountMax).contains(custodianCount), (2...custodianCount).contains(threshold) else {
            throw CryptoError(
                "custody must be t-of-n with 2 ≤ t ≤ n ≤ \(custodianCountMax), "
                    + "not \(threshold)-of-\(custodianCount)")
        }
    }

    public struct Custodian: Codable, Sendable, Equatable {
        public var identifier: Int
        public var name: String
        public var identityKey: String
        public var publicShare: String
        public var sealedShareSHA3: String

        enum CodingKeys: String, CodingKey {
            case identifier, name
            case identityKey = "identity_key"
            case publicShare = "public_share"
            case sealedShareSHA3 = "sealed_share_sha3"
        }
    }

    public var format: String
    public var region: String
    public var kind: String
    public var threshold: Int
    public var groupPublicKey: String
    public var commitments: [String]
    public var custodians: [Custodian]
    /// Custodian identifier (as a string) → hex Ed25519 signature of `signingBytes` by its identity key.
    public var signatures: [String: String]
    /// For a refresh or a replacement: SHA3-256 of the transcript it follows, so epochs form a chain.
    public var previousTranscriptSHA3: String?

    enum CodingKeys: String, CodingKey {
        case format, region, kind, threshold, commitments, custodians, signatures
        case groupPublicKey = "group_public_key"
        case previousTranscriptSHA3 = "previous_transcript_sha3"
    }

    /// What each custodian signs: every field but the signatures, as a canonical record.
    public var signingBytes: [UInt8] {
        var fields: [(name: String, value: String)] = [
            ("region", region), ("kind", kind), ("previous", previousTranscriptSHA3 ?? "none"), ("threshold", String(threshold)),
            ("group_public_key", groupPublicKey), ("commitments", commitments.joined(separator: ",")),
        ]
        for custodian in custodians {
            fields.append(("custodian_\(custodian.identifier)",
                           [custodian.name, custodian.identityKey, custodian.publicShare, custodian.sealedShareSHA3].joined(separator: ",")))
        }
        return CanonicalRecord(header: "SDT-CEREMONY-V1", fields: fields).bytes
    }

    public var hash: [UInt8] { SHA3.hash256(signingBytes) }

    public var groupPublicKeyBytes: [UInt8] { Hex.decode(groupPublicKey) ?? [] }

    /// Checks the structure and the mathematics: t-of-n with custodians 1...n, t commitments, the group
    /// key is the first commitment, and
    /// each public share follows from the commitments. With `requireAllSignatures`, also that
    /// every custodian signed this exact transcript with its identity key.
    public func verify(requireAllSignatures: Bool) throws(CryptoError) {
        guard format == Self.formatName else { throw CryptoError("transcript format is \(format), expected \(Self.formatName)") }
        guard ["dealer", "dkg", "refresh", "replace"].contains(kind), ["dealer", "dkg"].contains(kind) == (previousTranscriptSHA3 == nil) else {
            throw CryptoError("transcript kind \(kind) is not dealer, dkg, refresh or replace, or its link to the previous transcript is wrong")
        }
        try Self.checkShape(threshold: threshold, custodianCount: custodians.count)
        guard custodians.map(\.identifier) == Array(1...custodians.count) else {
            throw CryptoError("the transcript's custodians must be numbered 1 to \(custodians.count), in order")
        }
        let points = commitments.compactMap { Hex.decode($0) }
        guard points.count == threshold, points.allSatisfy(Ed25519Group.isValidElement) else {
            throw CryptoError("the transcript needs \(threshold) valid commitments")
        }
        guard groupPublicKey == commitments[0] else { throw CryptoError("the group public key is not the first commitment") }
        for custodian in custodians {
            guard Identifier.isValidToken(custodian.name[...], lengthMax: 64), !custodian.name.contains(",") else {
                throw CryptoError("custodian \(custodian.identifier)'s name must be 1-64 printable characters without spaces or commas")
            }
            let expected = Hex.encode(try Feldman.publicShare(identifier: custodian.identifier, commitments: points))
            guard custodian.publicShare == expected else {
                throw CryptoError("custodian \(custodian.identifier)'s public share does not follow from the commitments")
            }
        }
        guard requireAllSignatures else { return }
        for custodian in custodians {
            guard let signature = signatures[String(custodian.identifier)].flatMap({ Hex.decode($0) }),
                  Ed25519.verify(signature: signature, message: signingBytes, publicKey: Hex.decode(custodian.identityKey) ?? [])
            else { throw CryptoError("custodian \(custodian.identifier) (\(custodian.name)) has not signed this transcript") }
        }
    }

    public static func read(from path: String) throws -> CeremonyTranscript {
        guard let data = FileManager.default.contents(atPath: path) else { throw CryptoError("cannot read transcript \(path)") }
        do {
            return try JSONDecoder().decode(CeremonyTranscript.self, from: data)
        } catch {
            throw CryptoError("\(path) is not a ceremony transcript: \(error)")
        }
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
