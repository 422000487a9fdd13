import SDTCore
import SDTCrypto
import SDTQueue

/// Messages between the node's coordinator and a custodian daemon (ZeroMQ REQ/REP).
/// Requests: `1` commit (round one) with the header; `2` sign (round two) with the signing request
/// and the commitment list; `3` ping (are you there?). Replies: `0` followed by the result, or `1`
/// followed by the reason.
public enum CustodianMessage: Sendable {
    case commit(header: [UInt8])
    case sign(BlockSigningRequest, commitments: [FROST.Commitment])
    /// Answered with an empty result; touches no key material. The node pings every custodian, so a
    /// custodian that is down is noticed even while the other two sign every block.
    case ping

    static let entriesMax = 65_536

    /// The request's kind, as the custodian's metrics count it.
    public var kind: String {
        switch self {
        case .commit: "commit"
        case .sign: "sign"
        case .ping: "ping"
        }
    }

    public func encode() -> [UInt8] {
        var writer = WireWriter()
        switch self {
        case .commit(let header):
            writer.write(UInt8(1))
            writer.write(bytes: header)
        case .sign(let request, let commitments):
            writer.write(UInt8(2))
            writer.write(bytes: request.headerBytes)
            writer.write(bytes: request.previousHeader ?? [])
            writer.write(bytes: request.previousSignature ?? [])
            writer.write(UInt32(request.entries.count))
            for entry in request.entries {
                writer.write(entry.kind.wireCode)
                writer.write(bytes: entry.signingBytes)
                writer.write(bytes: entry.signature)
            }
            writer.write(UInt32(commitments.count))
            for commitment in commitments {
                writer.write(UInt32(commitment.identifier))
                writer.write(bytes: commitment.hiding)
                writer.write(bytes: commitment.binding)
            }
        case .ping:
            writer.write(UInt8(3))
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> CustodianMessage {
        var reader = WireReader(bytes)
        switch try reader.read(UInt8.self) {
        case 1: return .commit(header: try reader.readBytes())
        case 2:
            let header = try reader.readBytes()
            let previous = try reader.readBytes()
            let previousSignature = try reader.readBytes()
            let count = Int(try reader.read(UInt32.self))
            guard count <= entriesMax else { throw WireError("sign request claims \(count) entries") }
            var entries: [SignedEntry] = []
            for _ in 0..<count {
                let code = try reader.read(UInt8.self)
                guard let kind = EntryKind(wireCode: code) else { throw WireError("unknown entry kind \(code)") }
                entries.append(SignedEntry(kind: kind, signingBytes: try reader.readBytes(), signature: try reader.readBytes()))
            }
            let commitmentCount = Int(try reader.read(UInt32.self))
            guard commitmentCount <= 16 else { throw WireError("sign request claims \(commitmentCount) commitments") }
            var commitments: [FROST.Commitment] = []
            for _ in 0..<commitmentCount {
                commitments.append(.init(identifier: Int(try reader.read(UInt32.self)), hiding: try reader.readBytes(), binding: try reader.readBytes()))
            }
            let request = BlockSigningRequest(
                headerBytes: header, entries: entries, previousHeader: previous.isEmpty ? nil : previous,
                previousSignature: previousSignature.isEmpty ? nil : previousSignature
            )
            return .sign(request, commitments: commitments)
        case 3: return .ping
        default: throw WireError("unknown custodian request")
        }
    }
}

/// A custodian's answer: the result's parts, or why it refused.
public enum CustodianReply: Sendable {
    case ok([[UInt8]])
    case refused(String)

    public func encode() -> [UInt8] {
        var writer = WireWriter()
        switch self {
        case .ok(let parts):
            writer.write(UInt8(0))
            writer.write(UInt8(parts.count))
            for part in parts { writer.write(bytes: part) }
        case .refused(let reason):
            writer.write(UInt8(1))
            writer.write(string: reason)
        }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> CustodianReply {
        var reader = WireReader(bytes)
        switch try reader.read(UInt8.self) {
        case 0:
            let count = Int(try reader.read(UInt8.self))
            var parts: [[UInt8]] = []
            for _ in 0..<count { parts.append(try reader.readBytes()) }
            return .ok(parts)
        case 1: return .refused(try reader.readString())
        default: throw WireError("unknown custodian reply")
        }
    }
}
