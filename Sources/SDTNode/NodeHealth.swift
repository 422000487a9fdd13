import SDTCore
import SDTCustody
import SDTQueue
import Synchronization

/// The applier's side of health: the custody quorum as last probed, which the applier publishes to
/// every front twice a second with its heartbeat, so that a front can tell a dead applier from an
/// idle one and report the custodians it cannot reach itself.
public final class CustodyWatch: Sendable {
    private let state = Mutex<Custody?>(nil)

    public init() {}

    var custody: Custody? { state.withLock { $0 } }
    func update(_ custody: Custody?) { state.withLock { $0 = custody } }
}

/// The front's side: when the applier was last heard from and what it said about custody. In one
/// process (`--role all`) the applier also tells it directly.
public final class ApplierWatch: Sendable {
    struct Heard: Sendable {
        let atMilliseconds: Int64
        let custody: Custody?
    }

    private let state = Mutex<Heard?>(nil)

    public init() {}

    var heard: Heard? { state.withLock { $0 } }
    func heard(_ custody: Custody?, at milliseconds: Int64) {
        state.withLock { $0 = Heard(atMilliseconds: milliseconds, custody: custody) }
    }
}

/// The heartbeat on the outcome channel: a version byte no outcome message uses, then the quorum.
enum Heartbeat {
    static let version: UInt8 = 0x48
    /// How often the applier sends it, and how long a front waits before calling the applier gone.
    static let periodMilliseconds: Int64 = 500
    static let silenceMilliseconds: Int64 = 2_000

    static func encode(_ custody: Custody?) -> [UInt8] {
        var writer = WireWriter()
        writer.write(version)
        guard let custody else {
            writer.write(UInt8(0))
            return writer.bytes
        }
        writer.write(UInt8(1))
        writer.write(UInt32(custody.threshold))
        writer.write(UInt32(custody.custodians.count))
        for custodian in custody.custodians {
            writer.write(UInt32(custodian.identifier))
            writer.write(string: custodian.name)
            writer.write(custodian.reachable ? UInt8(1) : UInt8(0))
            writer.write(problemKind(custodian.lastProblem?.kind))
            writer.write(string: custodian.lastProblem?.round ?? "")
            writer.write(
                string: custodian.lastProblem.flatMap { if case .refused(let reason) = $0.kind { reason } else { nil } }
                    ?? "")
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> Custody? {
        var reader = WireReader(bytes)
        guard try reader.read(UInt8.self) == version else { throw WireError("not a heartbeat") }
        guard try reader.read(UInt8.self) == 1 else { return nil }
        let threshold = Int(try reader.read(UInt32.self))
        let count = Int(try reader.read(UInt32.self))
        guard count <= 64 else { throw WireError("heartbeat claims \(count) custodians") }
        var custodians: [CustodianStatus] = []
        for _ in 0..<count {
            let identifier = Int(try reader.read(UInt32.self))
            let name = try reader.readString()
            let reachable = try reader.read(UInt8.self) == 1
            let kind = try reader.read(UInt8.self)
            let round = try reader.readString()
            let reason = try reader.readString()
            let problem: CustodianProblem.Kind? =
                switch kind {
                case 1: .noAnswer
                case 2: .refused(reason)
                case 3: .badShare
                case 4: .malformed
                default: nil
                }
            custodians.append(
                CustodianStatus(
                    identifier: identifier, name: name, reachable: reachable,
                    lastProblem: problem.map { CustodianProblem(identifier: identifier, round: round, kind: $0) }
                ))
        }
        return Custody(threshold: threshold, custodians: custodians)
    }

    private static func problemKind(_ kind: CustodianProblem.Kind?) -> UInt8 {
        switch kind {
        case nil: 0
        case .noAnswer: 1
        case .refused: 2
        case .badShare: 3
        case .malformed: 4
        }
    }
}
