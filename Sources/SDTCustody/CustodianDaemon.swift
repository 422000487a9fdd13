import Foundation
import Metrics
import SDTCore
import SDTCrypto
import SDTQueue
import Synchronization

/// One custodian served over ZeroMQ (REP): each request is handed to its `Custodian`, which checks
/// the block and signs it or says why not. The signed heights live in a file in `stateDirectory`, so
/// no coordinator can make the custodian help fork the chain, even across restarts.
public final class CustodianDaemon: @unchecked Sendable {
    // @unchecked: everything but `running` is used only on the daemon's own thread (`run`).
    public let identifier: Int
    /// Where the daemon listens (with the actual port when asked for `tcp://HOST:*`).
    public let endpoint: String
    private let custodian: Custodian
    private let socket: QueueSocket
    private let running = Atomic<Bool>(true)
    /// Requests answered, by kind (commit, sign, ping) and answer (ok, refused): a count of refusals
    /// is what an operator watches.
    public static let requestsMetric = "sdt_custodian_requests"

    public init(
        share: [UInt8], identifier: Int, transcript: CeremonyTranscript, context: QueueContext, endpoint: String, stateDirectory: String,
        policy: CheckPolicy = .full
    ) throws {
        self.identifier = identifier
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let log = SignedHeightFile(path: (stateDirectory as NSString).appendingPathComponent("signed-heights-\(identifier).log"))
        custodian = Custodian(share: share, identifier: identifier, transcript: transcript, log: log, policy: policy)
        socket = try QueueSocket(context, .reply)
        try socket.bind(endpoint)
        self.endpoint = socket.lastEndpoint
    }

    /// One counter per kind and answer, made on first use (only the daemon's thread uses them).
    private var counters: [String: Counter] = [:]

    private func counter(kind: String, answer: String) -> Counter {
        if let counter = counters[kind + "/" + answer] { return counter }
        let counter = Counter(label: Self.requestsMetric, dimensions: [("kind", kind), ("answer", answer)])
        counters[kind + "/" + answer] = counter
        return counter
    }

    /// Serves until `stop()`.
    public func run(log: (String) -> Void) {
        while running.load(ordering: .relaxed) {
            guard let message = try? socket.receive(timeoutMilliseconds: 100) else { continue }
            let reply: CustodianReply
            var kind = "unreadable"
            do {
                let request = try CustodianMessage.decode(message)
                kind = request.kind
                reply = custodian.handle(request, note: log)
            } catch {
                reply = .refused("custodian \(identifier): unreadable request: \(error)")
            }
            var answer = "ok"
            if case .refused(let reason) = reply {
                answer = "refused"
                log("refused: \(reason)")
            }
            counter(kind: kind, answer: answer).increment()
            try? socket.send(reply.encode())
        }
        socket.close()
    }

    public func stop() { running.store(false, ordering: .relaxed) }
}
