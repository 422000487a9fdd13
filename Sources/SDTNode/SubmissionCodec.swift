import SDTCore
import SDTLedger
import SDTQueue

/// The queue's message formats. A work message carries a batch of signed entries and the id of the
/// request that sent them (empty for the node's own, such as the relay's); an outcome message carries
/// the applier's answers for one committed batch.
enum SubmissionCodec {
    static let workVersion: UInt8 = 4
    static let outcomesVersion: UInt8 = 4
    /// The largest attachment (a rule set's text, sealed holder data) a work message may carry.
    static let attachmentBytesMax = 1 << 20

    static func encode(_ submissions: [Submission], requestID: String = "") -> [UInt8] {
        var writer = WireWriter(capacity: submissions.count * 320 + requestID.utf8.count + 8)
        writer.write(workVersion)
        writer.write(string: requestID)
        writer.write(UInt32(submissions.count))
        for submission in submissions {
            switch submission {
            case .transfer: writer.write(UInt8(1))
            case .operatorAction: writer.write(UInt8(2))
            case .resolution: writer.write(UInt8(3))
            case .interRegion: writer.write(UInt8(4))
            }
            writer.write(bytes: submission.signingBytes)
            writer.write(bytes: submission.signature)
            if case .operatorAction(_, _, let attachment) = submission { writer.write(bytes: attachment) }
            // A delivery carries the facts of the block that held its message, as the front checked them.
            if case .interRegion(let entry) = submission {
                let delivery: Delivery? = if case .delivery(let delivery) = entry { delivery } else { nil }
                writer.write(string: delivery?.messageSHA3Hex ?? "")
                writer.write(delivery?.sourceBlockHeight ?? 0)
                writer.write(string: delivery?.sourceBlockHashHex ?? "")
            }
        }
        return writer.bytes
    }

    /// Decodes and re-parses every record from its signed bytes: the applier trusts no field that
    /// the signature does not cover.
    static func decode(_ bytes: [UInt8]) throws -> [Submission] { try decodeWork(bytes).submissions }

    /// The request id and the entries of a work message.
    static func decodeWork(_ bytes: [UInt8]) throws -> (requestID: String, submissions: [Submission]) {
        var reader = WireReader(bytes)
        guard try reader.read(UInt8.self) == workVersion else { throw WireError("unknown work message version") }
        let requestID = try reader.readString()
        guard requestID.utf8.count <= RequestID.lengthMax else {
            throw WireError("a request id of \(requestID.utf8.count) bytes")
        }
        let count = Int(try reader.read(UInt32.self))
        guard count <= 65_536 else { throw WireError("work message claims \(count) entries") }
        var submissions: [Submission] = []
        submissions.reserveCapacity(count)
        for _ in 0..<count {
            let kind = try reader.read(UInt8.self)
            let bytes = try reader.readBytes()
            let signature = try reader.readBytes()
            switch kind {
            case 1: submissions.append(.transfer(try Transfer(signingBytes: bytes), signature: signature))
            case 2:
                let action = try OperatorAction(signingBytes: bytes)
                let attachment = try reader.readBytes()
                guard attachment.count <= attachmentBytesMax else {
                    throw WireError("attachment of \(attachment.count) bytes")
                }
                submissions.append(.operatorAction(action, signature: signature, attachment: attachment))
            case 3: submissions.append(.resolution(try PendingResolution(signingBytes: bytes), signature: signature))
            case 4:
                let (sha3, height, hash) = (
                    try reader.readString(), try reader.read(Int64.self), try reader.readString()
                )
                if sha3.isEmpty {
                    submissions.append(.interRegion(.acknowledgement(try Acknowledgement(signingBytes: bytes))))
                } else {
                    let delivery = Delivery(
                        message: try OutboundMessage(signingBytes: bytes), messageSHA3Hex: sha3,
                        sourceBlockHeight: height, sourceBlockHashHex: hash)
                    submissions.append(.interRegion(.delivery(delivery)))
                }
            default: throw WireError("unknown entry kind \(kind)")
            }
        }
        return (requestID, submissions)
    }

    static func encode(_ outcomes: [Outcome]) -> [UInt8] {
        var writer = WireWriter(capacity: outcomes.count * 96)
        writer.write(outcomesVersion)
        writer.write(UInt32(outcomes.count))
        for outcome in outcomes {
            writer.write(outcome.kind.wireCode)
            writer.write(string: outcome.entryID)
            writer.write(outcome.code.rawValue)
            writer.write(outcome.sequence ?? -1)
            writer.write(string: outcome.ruleID ?? "")
            writer.write(outcome.ruleSetVersion ?? -1)
            writer.write(string: outcome.failedLeg ?? "")
            writer.write(bytes: outcome.recordSHA3 ?? [])
        }
        return writer.bytes
    }

    static func decodeOutcomes(_ bytes: [UInt8]) throws -> [Outcome] {
        var reader = WireReader(bytes)
        guard try reader.read(UInt8.self) == outcomesVersion else { throw WireError("unknown outcome message version") }
        let count = Int(try reader.read(UInt32.self))
        guard count <= 65_536 else { throw WireError("outcome message claims \(count) entries") }
        return try (0..<count).map { _ in
            guard let kind = EntryKind(wireCode: try reader.read(UInt8.self)) else {
                throw WireError("unknown outcome kind")
            }
            let entryID = try reader.readString()
            guard let code = OutcomeCode(rawValue: try reader.read(UInt16.self)) else {
                throw WireError("unknown outcome code")
            }
            let sequence = try reader.read(Int64.self)
            let ruleID = try reader.readString()
            let version = try reader.read(Int64.self)
            let failedLeg = try reader.readString()
            let recordSHA3 = try reader.readBytes()
            guard recordSHA3.isEmpty || recordSHA3.count == 32 else {
                throw WireError("record hash of \(recordSHA3.count) bytes")
            }
            var outcome = Outcome(
                kind: kind, entryID: entryID, code: code, sequence: sequence >= 0 ? sequence : nil,
                ruleID: ruleID.isEmpty ? nil : ruleID, ruleSetVersion: version >= 0 ? version : nil,
                failedLeg: failedLeg.isEmpty ? nil : failedLeg)
            outcome.recordSHA3 = recordSHA3.isEmpty ? nil : recordSHA3
            return outcome
        }
    }
}
