import Foundation
import Logging
import Metrics
import OpenAPIRuntime
import OpenAPIURLSession
import SDTCore
import SDTCrypto
import SDTGlobalAPI
import SDTLedger
import ServiceLifecycle

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends this region's signed block headers to the K$ node, in height order, as they are signed. The
/// outbox is the ledger: the K$ node's newest checkpoint of this region says where to go on, so a
/// restart of either side loses nothing and keeps no cursor of its own; a header sent twice is answered
/// `checkpoint_replayed` and counts as delivered. When the K$ node answers with an equivocation alarm
/// for this region, the relay stops (logged as critical): the region's chain and the K$ node's record
/// disagree, nothing it sends could be recorded, and only governance clearing the alarm (then a restart
/// of this node) mends that.
public final class CheckpointRelay: Service, Sendable {
    let region: String
    let reader: LedgerReader
    let client: SDTGlobalAPI.Client
    let logger: Logger
    /// Headers per request (the contract's limit), the pause when there is nothing to send, and the
    /// longest backoff after a failure.
    static let batchMax = 256
    static let idleMilliseconds: UInt64 = 200
    static let backoffMillisecondsMax: UInt64 = 5_000

    public init(region: String, reader: LedgerReader, endpoint: String, logger: Logger) throws {
        guard let url = URL(string: endpoint) else { throw ConfigError("kdollar.endpoint: not a URL") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        client = SDTGlobalAPI.Client(
            serverURL: url,
            transport: URLSessionTransport(configuration: .init(session: URLSession(configuration: configuration))))
        self.region = region
        self.reader = reader
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.relayUntilCancelled() }
    }

    private func relayUntilCancelled() async {
        var next: Int64?
        var backoff: UInt64 = 0
        // What the K$ node holds of this region, and whether the relay has stopped on an alarm: an operator
        // sees both on the metrics page, not only in the log.
        let delivered = Gauge(label: MetricName.checkpointRelayHeight)
        let stopped = Gauge(label: MetricName.checkpointRelayStopped)
        stopped.record(0)
        while !Task.isCancelled {
            do {
                let start: Int64
                if let next {
                    start = next
                } else {
                    start = try await newestAtTheKDollarNode() + 1
                    delivered.record(start - 1)
                }
                let sent = try await send(from: start)
                delivered.record(sent.next - 1)
                if sent.parked {
                    // Stopped, not finished: a service that returns would shut the whole node down with it,
                    // and the region goes on working; only the checkpoints wait for governance.
                    stopped.record(1)
                    while !Task.isCancelled { try? await Task.sleep(nanoseconds: 3_600_000_000_000) }
                    return
                }
                next = sent.next
                backoff = 0
                if !sent.progressed { try? await Task.sleep(nanoseconds: Self.idleMilliseconds * 1_000_000) }
            } catch {
                backoff = min(Self.backoffMillisecondsMax, max(100, backoff * 2))
                logger.warning("checkpoints to the K$ node: \(error); trying again in \(backoff) ms")
                next = nil
                try? await Task.sleep(nanoseconds: backoff * 1_000_000)
            }
        }
    }

    /// The height of this region's newest checkpoint at the K$ node, 0 for none.
    func newestAtTheKDollarNode() async throws -> Int64 {
        switch try await client.getCheckpoint(path: .init(region: region)) {
        case .ok(let ok): return try ok.body.json.height
        case .notFound: return 0
        case let other: throw RelayError("GET /v1/checkpoints/\(region) answered \(other)")
        }
    }

    /// Sends the signed blocks from height `start` on, up to `batchMax`; returns the next height to send
    /// and whether anything was recorded.
    func send(from start: Int64) async throws -> (next: Int64, progressed: Bool, parked: Bool) {
        let final = try reader.head().finalHeight
        guard start <= final else { return (start, false, false) }
        var headers: [SDTGlobalAPI.Components.Schemas.SignedHeader] = []
        for height in start...min(final, start + Int64(Self.batchMax) - 1) {
            guard let block = try reader.block(height: height), let signature = block.signature else { break }
            headers.append(.init(header: Hex.encode(block.headerBytes), signature: Hex.encode(signature)))
        }
        guard !headers.isEmpty else { return (start, false, false) }
        let output = try await client.submitCheckpoints(body: .json(.init(checkpoints: headers)))
        guard case .ok(let ok) = output else { throw RelayError("POST /v1/checkpoints answered \(output)") }
        var next = start
        var progressed = false
        for answer in try ok.body.json.answers {
            switch answer.status {
            case .recorded:
                next += 1
                progressed = true
            case .refused where answer.code == "checkpoint_replayed":
                next += 1
            case .equivocation:
                let line =
                    "the K$ node holds an equivocation alarm against \(region) at block \(next): "
                    + "\(answer.detail ?? ""); this node stops sending checkpoints until governance clears the alarm "
                    + "and it is restarted"
                logger.critical("\(line)")
                return (next, progressed, true)
            case .refused:
                // Out of order (the K$ node lost or never had earlier ones) or refused for a reason:
                // start again from what the K$ node says it expects.
                logger.error("the K$ node refused \(region) block \(next): \(answer.code ?? "") \(answer.detail ?? "")")
                if let expected = answer.nextHeight, expected != next { return (expected, progressed, false) }
                throw RelayError("block \(next) refused: \(answer.code ?? "")")
            }
        }
        return (next, progressed, false)
    }
}

struct RelayError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
