import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger
import SDTQueue

/// What one region sends another: a record of its ledger (an outbound message, or its decision on a
/// message from that region) with the proof that its quorum signed it. The signed block header and
/// the quorum's signature travel in the clear, so the receiver checks the signature against the
/// registry before it opens anything; the record and its Merkle path are sealed to the receiver's
/// X25519 key (libsodium sealed box), so only the receiver reads them.
public struct InterRegionEnvelope: Sendable, Hashable {
    public let fromRegion: String
    public let toRegion: String
    public let headerBytes: [UInt8]
    public let blockSignature: [UInt8]
    public let sealed: [UInt8]

    static let innerVersion: UInt8 = 1

    public init(fromRegion: String, toRegion: String, headerBytes: [UInt8], blockSignature: [UInt8], sealed: [UInt8]) {
        self.fromRegion = fromRegion
        self.toRegion = toRegion
        self.headerBytes = headerBytes
        self.blockSignature = blockSignature
        self.sealed = sealed
    }

    /// Seals the entry of `receipt` (a final entry of this region's ledger) to the counterpart.
    public static func make(
        receipt: ReceiptRecord, from region: String, to counterpart: RegionRegistry.Entry
    ) throws -> InterRegionEnvelope {
        guard let signature = receipt.block.signature else {
            throw InterRegionRefusal(.malformed, "the block is not signed yet")
        }
        var inner = WireWriter(capacity: receipt.signingBytes.count + 40 * (receipt.path.count + 1))
        inner.write(innerVersion)
        inner.write(bytes: receipt.signingBytes)
        inner.write(UInt32(receipt.leafIndex))
        inner.write(UInt32(receipt.entryCount))
        inner.write(UInt32(receipt.path.count))
        for hash in receipt.path { inner.write(bytes: hash) }
        return InterRegionEnvelope(
            fromRegion: region, toRegion: counterpart.code, headerBytes: receipt.block.headerBytes,
            blockSignature: signature,
            sealed: try SealingKey.seal(inner.bytes, to: counterpart.sealingPublicKey)
        )
    }

    /// A record a counterpart's quorum vouches for, as `open` found it.
    public struct Opened: Sendable {
        public let recordBytes: [UInt8]
        public let recordSHA3Hex: String
        public let header: BlockHeader
        public let headerHashHex: String
    }

    /// Checks and opens an envelope addressed to `region`, in this order: addressed here, sent by a
    /// region of the registry, signed by that region's block key, a header of that region, sealed to
    /// this node's key, well formed, and a Merkle path from the record to the header's root.
    public func open(
        as region: String, registry: RegionRegistry, sealingKey: SealingKey, verified: VerifiedHeaders? = nil
    ) throws(InterRegionRefusal) -> Opened {
        guard toRegion == region else {
            throw InterRegionRefusal(
                .misaddressed, "the message is addressed to \(Echo.quoted(toRegion)), not \(region)")
        }
        guard fromRegion != region, let sender = registry.entry(fromRegion) else {
            throw InterRegionRefusal(
                .senderUnknown,
                "\(Echo.quoted(fromRegion)) is not another region of registry version \(registry.version)")
        }
        guard
            verified?.contains(self, key: sender.blockPublicKey) == true
                || Ed25519.verify(signature: blockSignature, message: headerBytes, publicKey: sender.blockPublicKey)
        else {
            throw InterRegionRefusal(
                .signatureInvalid, "the block signature does not verify with \(fromRegion)'s block key in the registry")
        }
        verified?.insert(self, key: sender.blockPublicKey)
        let header: BlockHeader
        do {
            header = try BlockHeader(signingBytes: headerBytes)
        } catch {
            throw InterRegionRefusal(.malformed, "the signed block header does not parse: \(error)")
        }
        guard header.region == fromRegion else {
            throw InterRegionRefusal(.malformed, "the signed block is of region \(header.region), not \(fromRegion)")
        }
        let inner: [UInt8]
        do {
            inner = try sealingKey.open(sealed)
        } catch {
            throw InterRegionRefusal(.sealInvalid, "the sealed part does not open with this region's sealing key")
        }
        var reader = WireReader(inner)
        let record: [UInt8]
        let (index, count): (Int, Int)
        var path: [[UInt8]] = []
        do {
            guard try reader.read(UInt8.self) == Self.innerVersion else { throw WireError("unknown version") }
            record = try reader.readBytes()
            (index, count) = (Int(try reader.read(UInt32.self)), Int(try reader.read(UInt32.self)))
            let depth = try reader.read(UInt32.self)
            guard depth <= 64 else { throw WireError("a path of \(depth) hashes") }
            for _ in 0..<depth { path.append(try reader.readBytes()) }
        } catch {
            throw InterRegionRefusal(.malformed, "the sealed part is not a record with its Merkle path: \(error)")
        }
        guard Int64(count) == header.entryCount, let root = Hex.decode(header.merkleRootHex),
            Merkle.verify(leafHash: Merkle.leafHash(record), index: index, count: count, path: path, root: root)
        else {
            throw InterRegionRefusal(
                .pathInvalid, "the Merkle path does not lead from the record to block \(header.height)'s root")
        }
        return Opened(
            recordBytes: record, recordSHA3Hex: Hex.encode(SHA3.hash256(record)), header: header,
            headerHashHex: Hex.encode(SHA3.hash256(headerBytes)))
    }

    /// As the contract's schema carries it.
    public var message: Components.Schemas.InterRegionMessage {
        .init(
            fromRegion: fromRegion, toRegion: toRegion, header: Hex.encode(headerBytes),
            signature: Hex.encode(blockSignature),
            sealed: Hex.encode(sealed))
    }

    public init(_ message: Components.Schemas.InterRegionMessage) throws(InterRegionRefusal) {
        try self.init(json: [
            "from_region": message.fromRegion, "to_region": message.toRegion, "header": message.header,
            "signature": message.signature, "sealed": message.sealed,
        ])
    }

    /// The fields of a message in `POST /v1/inter-region/messages`.
    public var json: [String: String] {
        [
            "from_region": fromRegion, "to_region": toRegion, "header": Hex.encode(headerBytes),
            "signature": Hex.encode(blockSignature),
            "sealed": Hex.encode(sealed),
        ]
    }

    public init(json: [String: String]) throws(InterRegionRefusal) {
        guard let from = json["from_region"], let to = json["to_region"],
            let header = json["header"].flatMap(Hex.decode),
            let signature = json["signature"].flatMap(Hex.decode), signature.count == 64,
            let sealed = json["sealed"].flatMap(Hex.decode), json.count == 5
        else {
            throw InterRegionRefusal(
                .malformed, "a message has from_region, to_region, and header, signature (64 bytes) and sealed in hex")
        }
        self.init(fromRegion: from, toRegion: to, headerBytes: header, blockSignature: signature, sealed: sealed)
    }
}

/// Block headers whose signature already verified with a key, within one request: the messages of one
/// block share its header, so its signature is checked once.
public final class VerifiedHeaders: @unchecked Sendable {
    // @unchecked: used by one task at a time, within one request or one relay pass.
    private var seen: Set<[UInt8]> = []

    public init() {}

    func contains(_ envelope: InterRegionEnvelope, key: [UInt8]) -> Bool { seen.contains(Self.key(envelope, key)) }
    func insert(_ envelope: InterRegionEnvelope, key: [UInt8]) { seen.insert(Self.key(envelope, key)) }

    private static func key(_ envelope: InterRegionEnvelope, _ key: [UInt8]) -> [UInt8] {
        key + envelope.blockSignature + envelope.headerBytes
    }
}

/// Why a message from another region was refused before anything was applied; logged and answered.
public struct InterRegionRefusal: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case misaddressed = "message_misaddressed"
        case senderUnknown = "sender_region_unknown"
        case signatureInvalid = "block_signature_invalid"
        case sealInvalid = "seal_invalid"
        case malformed = "message_malformed"
        case pathInvalid = "merkle_path_invalid"
        case recordUnexpected = "record_unexpected"
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}

extension InterRegionEnvelope.Opened {
    /// The outbound message of the sender to `region`, as a delivery for the engine.
    public func delivery(to region: String) throws(InterRegionRefusal) -> Delivery {
        guard let message = try? OutboundMessage(signingBytes: recordBytes) else {
            throw InterRegionRefusal(.recordUnexpected, "the record is not an outbound message")
        }
        guard message.region == header.region, message.counterpart == region else {
            throw InterRegionRefusal(
                .recordUnexpected, "the outbound message is from \(message.region) to \(message.counterpart)")
        }
        return Delivery(
            message: message, messageSHA3Hex: recordSHA3Hex, sourceBlockHeight: header.height,
            sourceBlockHashHex: headerHashHex)
    }

    /// The counterpart's decision on `sent` (this region's outbound message), as an acknowledgement.
    public func acknowledgement(of sent: OutboundMessage) throws(InterRegionRefusal) -> Acknowledgement {
        guard let decision = try? IncomingDecision(signingBytes: recordBytes) else {
            throw InterRegionRefusal(.recordUnexpected, "the record is not an incoming decision")
        }
        guard decision.region == header.region, decision.message == sent,
            decision.outboundSHA3Hex == Hex.encode(SHA3.hash256(sent.signingBytes))
        else {
            throw InterRegionRefusal(
                .recordUnexpected, "the decision is not about outbound message \(sent.number) as this region sent it")
        }
        return decision.acknowledgement(sha3Hex: recordSHA3Hex, blockHeight: header.height, blockHashHex: headerHashHex)
    }
}
