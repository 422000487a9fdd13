import Foundation
import SDTCore
import SDTCrypto

/// Pedersen distributed key generation with proofs of knowledge (the FROST paper's KeyGen, RFC 9591
/// Appendix C): each custodian deals its own random polynomial; the region key is the sum of their
/// constant terms and exists on no machine. Every message is signed with the sender's identity key.
///
/// Round one (broadcast): Feldman commitments Cᵢₖ = [aᵢₖ]B and a Schnorr proof that the sender knows
/// aᵢ₀. Round two (broadcast, each value sealed to its recipient): fᵢ(j) for every j. Each custodian
/// checks every proof and every value against its commitments; share sⱼ = Σᵢ fᵢ(j).
public final class DistributedKeyGeneration: @unchecked Sendable {
    // @unchecked: used by one ceremony task at a time; the polynomial is wiped in `finish` and deinit.
    public struct Participant: Sendable {
        public let identifier: Int
        public let name: String
        public let identityKey: [UInt8]

        public init(identifier: Int, name: String, identityKey: [UInt8]) {
            self.identifier = identifier
            self.name = name
            self.identityKey = identityKey
        }
    }

    public struct RoundOne: Codable, Sendable {
        public var from: Int
        public var commitments: [String]
        public var proofCommitment: String
        public var proofResponse: String
        public var signature: String
    }

    public struct RoundTwo: Codable, Sendable {
        public var from: Int
        /// Recipient identifier (as a string) → hex sealed box of fᵢ(recipient).
        public var sealed: [String: String]
        public var signature: String
    }

    let region: String
    let me: Int
    let identity: SigningKey
    let participants: [Participant]
    /// How many of the participants sign together: the degree of every polynomial plus one.
    let threshold: Int
    private var coefficients: [BigInteger] = []

    public init(
        region: String, me: Int, identity: SigningKey, participants: [Participant],
        threshold: Int = CeremonyTranscript.defaultThreshold
    ) throws(CryptoError) {
        try CeremonyTranscript.checkShape(threshold: threshold, custodianCount: participants.count)
        guard participants.map(\.identifier) == Array(1...participants.count),
              participants.first(where: { $0.identifier == me })?.identityKey == identity.publicKey
        else {
            throw CryptoError(
                "a DKG needs custodians 1 to \(participants.count) in order, with this identity key as custodian \(me)")
        }
        self.threshold = threshold
        self.region = region
        self.me = me
        self.identity = identity
        self.participants = participants
    }

    static func challenge(region: String, from: Int, constantCommitment: [UInt8], proofCommitment: [UInt8]) -> [UInt8] {
        Ed25519Group.reduceWide(Ed25519Group.sha512(
            FROST.contextString + Array("dkg".utf8), Array(region.utf8), Ed25519Group.scalar(UInt(from)), constantCommitment, proofCommitment
        ))
    }

    static func roundOneBytes(_ message: RoundOne, region: String) -> [UInt8] {
        CanonicalRecord(header: "SDT-DKG-ROUND1-V1", fields: [
            ("region", region), ("from", String(message.from)), ("commitments", message.commitments.joined(separator: ",")),
            ("proof_commitment", message.proofCommitment), ("proof_response", message.proofResponse),
        ]).bytes
    }

    static func roundTwoBytes(_ message: RoundTwo, region: String) -> [UInt8] {
        CanonicalRecord(header: "SDT-DKG-ROUND2-V1", fields: [("region", region), ("from", String(message.from))]
            + message.sealed.sorted { $0.key < $1.key }.map { ("to_\($0.key)", $0.value) }).bytes
    }

    public func roundOne() throws(CryptoError) -> RoundOne {
        coefficients = (0..<threshold).map { _ in BigInteger(littleEndian: Ed25519Group.randomScalar()) }
        let commitments = try Feldman.commitments(coefficients)
        let nonce = Ed25519Group.randomScalar()
        let proofCommitment = try Ed25519Group.baseMultiply(nonce)
        let challenge = Self.challenge(region: region, from: me, constantCommitment: commitments[0], proofCommitment: proofCommitment)
        let response = Ed25519Group.scalarAdd(nonce, Ed25519Group.scalarMultiply(coefficients[0].littleEndianBytes(count: 32), challenge))
        var message = RoundOne(from: me, commitments: commitments.map { Hex.encode($0) }, proofCommitment: Hex.encode(proofCommitment),
                               proofResponse: Hex.encode(response), signature: "")
        message.signature = Hex.encode(identity.sign(Self.roundOneBytes(message, region: region)))
        return message
    }

    /// Checks every round-one message (signature, commitments, proof of knowledge).
    func check(_ messages: [RoundOne]) throws(CryptoError) -> [Int: [[UInt8]]] {
        guard messages.map(\.from).sorted() == participants.map(\.identifier) else { throw CryptoError("round one needs one message from each custodian") }
        var commitments: [Int: [[UInt8]]] = [:]
        for message in messages {
            let sender = participants[message.from - 1]
            guard Ed25519.verify(signature: Hex.decode(message.signature) ?? [], message: Self.roundOneBytes(message, region: region),
                                 publicKey: sender.identityKey)
            else { throw CryptoError("custodian \(message.from)'s round-one message is not signed by its identity key") }
            let points = message.commitments.compactMap { Hex.decode($0) }
            guard points.count == threshold else {
                throw CryptoError(
                    "custodian \(message.from) committed to a \(points.count)-of-\(participants.count) sharing; "
                        + "this run is \(threshold)-of-\(participants.count): "
                        + "every custodian must give the same --threshold")
            }
            guard points.allSatisfy(Ed25519Group.isValidElement),
                  let proofCommitment = Hex.decode(message.proofCommitment), Ed25519Group.isValidElement(proofCommitment),
                  let response = Hex.decode(message.proofResponse), Ed25519Group.isCanonicalScalar(response)
            else { throw CryptoError("custodian \(message.from)'s commitments or proof are malformed") }
            let challenge = Self.challenge(region: region, from: message.from, constantCommitment: points[0], proofCommitment: proofCommitment)
            guard (try? Ed25519Group.baseMultiply(response)) == (try? Ed25519Group.add(proofCommitment, Ed25519Group.multiply(points[0], challenge))) else {
                throw CryptoError("custodian \(message.from)'s proof of knowledge does not verify: abort the ceremony")
            }
            commitments[message.from] = points
        }
        return commitments
    }

    public func roundTwo(_ roundOne: [RoundOne]) throws(CryptoError) -> RoundTwo {
        _ = try check(roundOne)
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: threshold)
        var sealed: [String: String] = [:]
        for participant in participants {
            let value = sharing.evaluate(coefficients, at: BigInteger(UInt(participant.identifier))).littleEndianBytes(count: 32)
            sealed[String(participant.identifier)] = Hex.encode(try SealedBox.seal(value, to: participant.identityKey))
        }
        var message = RoundTwo(from: me, sealed: sealed, signature: "")
        message.signature = Hex.encode(identity.sign(Self.roundTwoBytes(message, region: region)))
        return message
    }

    /// Checks every value sent to this custodian, adds them into its share, and builds the (unsigned)
    /// transcript — the same on every custodian, since it is made from broadcast data only.
    public func finish(_ roundOne: [RoundOne], _ roundTwo: [RoundTwo]) throws(CryptoError) -> (transcript: CeremonyTranscript, share: [UInt8]) {
        defer { coefficients = [] }
        let commitments = try check(roundOne)
        guard roundTwo.map(\.from).sorted() == participants.map(\.identifier) else { throw CryptoError("round two needs one message from each custodian") }
        let field = PrimeField.ed25519Order
        var share = BigInteger(0)
        for message in roundTwo {
            guard Ed25519.verify(signature: Hex.decode(message.signature) ?? [], message: Self.roundTwoBytes(message, region: region),
                                 publicKey: participants[message.from - 1].identityKey),
                  let sealed = message.sealed[String(me)].flatMap({ Hex.decode($0) })
            else { throw CryptoError("custodian \(message.from)'s round-two message is unsigned or has nothing for custodian \(me)") }
            let value = try identity.open(sealed: sealed)
            guard Feldman.verify(share: .init(identifier: me, value: BigInteger(littleEndian: value)), commitments: commitments[message.from]!) else {
                throw CryptoError("custodian \(message.from)'s value does not match its commitments: abort the ceremony")
            }
            share = field.add(share, BigInteger(littleEndian: value))
        }
        var combined = commitments[1]!
        for identifier in 2...participants.count {
            for index in combined.indices { combined[index] = try Ed25519Group.add(combined[index], commitments[identifier]![index]) }
        }
        let custodians = try participants.map { participant throws(CryptoError) in
            let received = roundTwo.sorted { $0.from < $1.from }.map { $0.sealed[String(participant.identifier)] ?? "" }.joined()
            return CeremonyTranscript.Custodian(
                identifier: participant.identifier, name: participant.name, identityKey: Hex.encode(participant.identityKey),
                publicShare: Hex.encode(try Feldman.publicShare(identifier: participant.identifier, commitments: combined)),
                sealedShareSHA3: Hex.encode(SHA3.hash256(Array(received.utf8)))
            )
        }
        let transcript = CeremonyTranscript(
            format: CeremonyTranscript.formatName, region: region, kind: "dkg", threshold: threshold,
            groupPublicKey: Hex.encode(combined[0]), commitments: combined.map { Hex.encode($0) }, custodians: custodians, signatures: [:],
            previousTranscriptSHA3: nil
        )
        try transcript.verify(requireAllSignatures: false)
        let shareBytes = share.littleEndianBytes(count: 32)
        guard Hex.encode(try Ed25519Group.baseMultiply(shareBytes)) == custodians[me - 1].publicShare else {
            throw CryptoError("this custodian's share does not match its public share")
        }
        return (transcript, shareBytes)
    }

    /// Stores the share for the finished transcript and signs the transcript.
    public func store(share: [UInt8], transcript: CeremonyTranscript, passphrase: String) throws(CryptoError)
        -> (share: CustodianShareFile, transcriptSignature: [UInt8]) {
        try CustodianShareFile.make(share: share, identifier: me, transcript: transcript, identity: identity, passphrase: passphrase)
    }

    deinit { coefficients = [] }
}
