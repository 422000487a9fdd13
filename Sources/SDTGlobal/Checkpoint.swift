import SDTCore
import SDTCrypto

/// A region's block header as its custodian quorum signed it, sent to the K$ node. The header carries
/// what the K$ layer needs to know of a region (height, hash chain, supply, reserves, and the claims and
/// obligations per counterpart region); the signature is the region quorum's, so the K$ node believes
/// it only if it verifies with that region's block key in the registry.
public struct Checkpoint: Sendable, Hashable {
    public let headerBytes: [UInt8]
    public let signature: [UInt8]
    public let header: BlockHeader
    /// SHA3-256 of the header bytes in lowercase hex: the block hash the next header links to.
    public let hashHex: String

    public var region: String { header.region }
    public var height: Int64 { header.height }

    /// Parses the header; refuses bytes that are not one canonical block header or a signature that is
    /// not 64 bytes. The signature itself is checked by `CheckpointBook.decide`, against the registry.
    public init(headerBytes: [UInt8], signature: [UInt8]) throws(CheckpointRefusal) {
        guard signature.count == 64 else {
            throw CheckpointRefusal(.malformed, "the signature must be 64 bytes, not \(signature.count)")
        }
        do {
            header = try BlockHeader(signingBytes: headerBytes)
        } catch {
            throw CheckpointRefusal(.malformed, "the header is not a canonical block header: \(error)")
        }
        guard header.claims[header.region] == nil, header.obligations[header.region] == nil else {
            throw CheckpointRefusal(
                .malformed, "the header of \(header.region) lists \(header.region) itself as a counterpart")
        }
        self.headerBytes = headerBytes
        self.signature = signature
        hashHex = Hex.encode(SHA3.hash256(headerBytes))
    }
}

/// Why the K$ node did not record a checkpoint. Each code is stable and named in `openapi/global.yaml`.
public struct CheckpointRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The header or signature does not parse.
        case malformed = "checkpoint_malformed"
        /// The header names a region the registry does not list.
        case regionUnknown = "region_unknown"
        /// The signature does not verify with the region's block key in the registry.
        case signatureInvalid = "checkpoint_signature_invalid"
        /// The header was sealed later than the K$ node's clock plus the allowed skew.
        case fromFuture = "checkpoint_from_future"
        /// This exact checkpoint is already recorded: nothing changes (a relay that sent it twice may
        /// treat this as delivered).
        case replayed = "checkpoint_replayed"
        /// Not the next height of the region's chain (a gap, or a first checkpoint above height 1), or
        /// sealed earlier than the checkpoint before it.
        case outOfOrder = "checkpoint_out_of_order"
        /// A validly signed header that contradicts the region's recorded chain: the alarm is raised.
        case equivocation = "checkpoint_equivocation"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Proof, signed twice by one region's quorum, that the region signed two histories: two different
/// headers for one height, or a header for the next height that links to another block than the one
/// recorded at that height. The region's settlement stops until governance clears the alarm.
public struct EquivocationAlarm: Sendable, Hashable {
    public enum Evidence: String, Sendable {
        /// `conflicting` is another header at `recorded`'s height.
        case twoHeadersOneHeight = "two_headers_one_height"
        /// `conflicting` is the next height's header, and its previous hash is not `recorded`'s hash.
        case linkToAnotherBlock = "link_to_another_block"
    }

    public let region: String
    /// The height at which the region has two blocks: `recorded`'s.
    public let height: Int64
    public let evidence: Evidence
    /// The checkpoint recorded first, and the one that contradicts it.
    public let recorded: Checkpoint
    public let conflicting: Checkpoint
    /// The K$ node's time when it saw the conflict.
    public let raisedAtMilliseconds: Int64

    public init(recorded: Checkpoint, conflicting: Checkpoint, raisedAtMilliseconds: Int64) {
        self.region = recorded.region
        self.height = recorded.height
        self.evidence = conflicting.height == recorded.height ? .twoHeadersOneHeight : .linkToAnotherBlock
        self.recorded = recorded
        self.conflicting = conflicting
        self.raisedAtMilliseconds = raisedAtMilliseconds
    }
}

/// What the K$ node knows of the regions' chains: the reads `CheckpointBook.decide` needs. A store
/// that cannot read throws, and the decision fails with its error: never an answer from a failed read.
public protocol CheckpointState {
    /// The region's checkpoint with the greatest height, if any was recorded.
    func newest(of region: String) throws -> Checkpoint?
    /// The region's recorded checkpoint at `height`, if any.
    func checkpoint(of region: String, at height: Int64) throws -> Checkpoint?
}

/// The check ladder of a checkpoint, pure: no clock read, no store written. The node's store records
/// what an accepted decision says, in one transaction with whatever else it writes.
public enum CheckpointBook {
    /// What to record.
    public enum Decision: Sendable, Hashable {
        /// The region's next checkpoint: record it as its newest.
        case record(Checkpoint)
        /// Record the alarm (and keep the checkpoint already recorded; the conflicting one is evidence
        /// inside the alarm, never the region's chain).
        case equivocation(EquivocationAlarm)
    }

    /// Decides `checkpoint` against the registry's block keys and what is recorded, in this order:
    /// region known, signature, not already recorded (identical: replayed; different: equivocation), the
    /// next height, the link to the recorded block below it (another: equivocation), not from the
    /// future, time not going back. Evidence of equivocation needs only valid signatures, so it is
    /// looked for before the checks of time. Throws a `CheckpointRefusal` for a refused checkpoint, and
    /// the state's error when it cannot read.
    /// - Parameters:
    ///   - blockKeys: region code → the block public key the registry lists for it.
    ///   - nowMilliseconds: the K$ node's clock, injected.
    ///   - allowedSkewMilliseconds: how far ahead of that clock a region's block time may be.
    public static func decide(
        _ checkpoint: Checkpoint, blockKeys: [String: [UInt8]], state: some CheckpointState,
        nowMilliseconds: Int64, allowedSkewMilliseconds: Int64
    ) throws -> Decision {
        let region = checkpoint.region
        guard let key = blockKeys[region] else {
            throw CheckpointRefusal(.regionUnknown, "\(Echo.quoted(region)) is not a region of the registry")
        }
        guard Ed25519.verify(signature: checkpoint.signature, message: checkpoint.headerBytes, publicKey: key) else {
            throw CheckpointRefusal(
                .signatureInvalid, "the signature does not verify with \(region)'s block key in the registry")
        }
        if let recorded = try state.checkpoint(of: region, at: checkpoint.height) {
            guard recorded.headerBytes == checkpoint.headerBytes else {
                return .equivocation(
                    EquivocationAlarm(
                        recorded: recorded, conflicting: checkpoint, raisedAtMilliseconds: nowMilliseconds))
            }
            throw CheckpointRefusal(
                .replayed, "block \(checkpoint.height) of \(region) (\(checkpoint.hashHex)) is already recorded")
        }
        let newest = try state.newest(of: region)
        if let newest {
            guard checkpoint.height == newest.height + 1 else {
                throw CheckpointRefusal(
                    .outOfOrder,
                    "the next checkpoint of \(region) is block \(newest.height + 1), not block \(checkpoint.height)")
            }
            guard checkpoint.header.previousHashHex == newest.hashHex else {
                return .equivocation(
                    EquivocationAlarm(recorded: newest, conflicting: checkpoint, raisedAtMilliseconds: nowMilliseconds))
            }
        } else {
            guard checkpoint.height == 1, checkpoint.header.previousHashHex == BlockHeader.genesisPreviousHashHex
            else {
                throw CheckpointRefusal(
                    .outOfOrder,
                    "the first checkpoint of \(region) must be its block 1 (with the genesis previous hash), "
                        + "not block \(checkpoint.height)")
            }
        }
        let sealedAt = checkpoint.header.sealedAtMilliseconds
        guard sealedAt <= nowMilliseconds.addingClamped(allowedSkewMilliseconds) else {
            throw CheckpointRefusal(
                .fromFuture,
                "block \(checkpoint.height) of \(region) was sealed at \(sealedAt) ms, more than "
                    + "\(allowedSkewMilliseconds) ms after this node's clock (\(nowMilliseconds) ms)")
        }
        if let newest, sealedAt < newest.header.sealedAtMilliseconds {
            throw CheckpointRefusal(
                .outOfOrder,
                "block \(checkpoint.height) of \(region) was sealed at \(sealedAt) ms, before block "
                    + "\(newest.height) (\(newest.header.sealedAtMilliseconds) ms)")
        }
        return .record(checkpoint)
    }
}

extension Int64 {
    /// `self + other`, held at the bounds instead of trapping: a skew added to a clock never overflows.
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

/// Checkpoints and alarms in memory: the store of the simulator and of tests, and the reference the
/// K$ node's SQLite store is tested against.
public struct MemoryCheckpointStore: CheckpointState, Sendable {
    private var chains: [String: [Int64: Checkpoint]] = [:]
    private var newestHeight: [String: Int64] = [:]
    public private(set) var alarms: [EquivocationAlarm] = []

    public init() {}

    public func newest(of region: String) -> Checkpoint? {
        newestHeight[region].flatMap { chains[region]?[$0] }
    }

    public func checkpoint(of region: String, at height: Int64) -> Checkpoint? { chains[region]?[height] }

    /// Applies an accepted decision.
    public mutating func apply(_ decision: CheckpointBook.Decision) {
        switch decision {
        case .record(let checkpoint):
            chains[checkpoint.region, default: [:]][checkpoint.height] = checkpoint
            newestHeight[checkpoint.region] = checkpoint.height
        case .equivocation(let alarm):
            alarms.append(alarm)
        }
    }

    /// Regions with an alarm raised: their settlement is stopped.
    public var haltedRegions: Set<String> { Set(alarms.map(\.region)) }

    /// The newest checkpoint of every region that has one.
    public var newestCheckpoints: [Checkpoint] { newestHeight.keys.sorted().compactMap { newest(of: $0) } }
}
