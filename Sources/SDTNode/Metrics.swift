import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import Prometheus
import SDTCore
import SDTCustody
import SDTLedger
import ServiceLifecycle
import Synchronization

/// The process's metrics: swift-metrics bootstrapped once with swift-prometheus, so that every
/// `Counter`, `Timer`, `Recorder` and `Gauge` in the code (and Hummingbird's request metrics) land in
/// one registry that `GET /metrics` renders in Prometheus' text format.
public enum ProcessMetrics {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry, bootstrapping swift-metrics on the first call (it can be bootstrapped once).
    public static func registry() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: made)
            factory.valueHistogramBuckets[MetricName.applierBatchEntries] = [
                1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
            ]
            // A commit is a SQLite transaction and one fsync: most take well under the default 5 ms.
            factory.durationHistogramBuckets[MetricName.applierCommitSeconds] = [
                .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .seconds(1),
            ]
            MetricsSystem.bootstrap(factory)
            registry = made
            return made
        }
    }
}

/// The names of the metrics this project records (Prometheus names: dots become underscores).
public enum MetricName {
    public static let applierBatchEntries = "sdt_applier_batch_entries"
    public static let applierCommitSeconds = "sdt_applier_commit_seconds"
    public static let applierOutcomes = "sdt_applier_outcomes"
    public static let applierBatchFailures = "sdt_applier_batch_failures"
    public static let blocksSealed = "sdt_blocks_sealed"
    public static let blocksSigned = "sdt_blocks_signed"
    public static let blockSigningFailures = "sdt_block_signing_failures"
    public static let frontWaiting = "sdt_front_waiting_submissions"
    public static let ledgerAppliedSequence = "sdt_ledger_applied_sequence"
    public static let ledgerSealedHeight = "sdt_ledger_sealed_height"
    public static let ledgerFinalHeight = "sdt_ledger_final_height"
    public static let supply = "sdt_supply_minor_units"
    public static let reserves = "sdt_reserves_minor_units"
    public static let claims = "sdt_claims_minor_units"
    public static let obligations = "sdt_obligations_minor_units"
    public static let relayBacklog = "sdt_relay_backlog_messages"
    /// The checkpoint relay: the newest of this region's own blocks the K$ node has recorded (as far as this
    /// node knows), and 1 once the relay has stopped on an equivocation alarm (0 while it runs).
    public static let checkpointRelayHeight = "sdt_checkpoint_relay_height"
    public static let checkpointRelayStopped = "sdt_checkpoint_relay_stopped"
    public static let custodianReachable = "sdt_custodian_reachable"
    public static let custodianRequests = CustodianDaemon.requestsMetric
    /// The K$ node: checkpoints answered (by status and code), each region's newest checkpoint height,
    /// alarms raised, cycles planned, and the newest cycle's gross and net per token.
    public static let kdollarCheckpoints = "sdt_kdollar_checkpoints"
    public static let kdollarCheckpointHeight = "sdt_kdollar_checkpoint_height"
    public static let kdollarAlarms = "sdt_kdollar_alarms"
    public static let kdollarCycles = "sdt_kdollar_cycles"
    public static let kdollarCycleGross = "sdt_kdollar_cycle_gross_minor_units"
    public static let kdollarCycleNet = "sdt_kdollar_cycle_net_minor_units"
}

/// What a scrape reads fresh: the ledger's head, supply, reserves and positions per token, the relay's
/// backlog, the custodians as last probed and the submissions waiting for their outcome. Read at the
/// moment of the scrape, so the figures are the ledger's own, not a cache that could drift. (Prometheus
/// gauges are 64-bit floats: amounts are exact below 2^53 minor units; the API gives exact integers.)
public struct ScrapeGauges: Sendable {
    let reader: LedgerReader?
    let custody: (@Sendable () -> Custody?)?
    let waiting: (@Sendable () -> Int)?
    /// Records the gauges of a process that is not a region node (the K$ node's), at each scrape.
    let other: (@Sendable () -> Void)?

    public init(
        reader: LedgerReader?, custody: (@Sendable () -> Custody?)?, waiting: (@Sendable () -> Int)?,
        other: (@Sendable () -> Void)? = nil
    ) {
        self.reader = reader
        self.custody = custody
        self.waiting = waiting
        self.other = other
    }

    func refresh() {
        other?()
        if let waiting { Gauge(label: MetricName.frontWaiting).record(waiting()) }
        if let custody = custody?() {
            for custodian in custody.custodians {
                Gauge(label: MetricName.custodianReachable, dimensions: [("custodian", String(custodian.identifier))])
                    .record(custodian.reachable ? 1 : 0)
            }
        }
        guard let reader else { return }
        if let head = try? reader.head() {
            Gauge(label: MetricName.ledgerAppliedSequence).record(head.appliedSequence)
            Gauge(label: MetricName.ledgerSealedHeight).record(head.sealedHeight)
            Gauge(label: MetricName.ledgerFinalHeight).record(head.finalHeight)
        }
        if let reserves = try? reader.reserves() {
            for token in Token.allCases {
                let dimensions = [("token", token.rawValue)]
                Gauge(label: MetricName.supply, dimensions: dimensions).record(reserves.supply[token] ?? 0)
                Gauge(label: MetricName.reserves, dimensions: dimensions).record(reserves.reserves[token] ?? 0)
            }
        }
        if let positions = try? reader.positions(), let totals = try? reader.positionTotals() {
            for token in Token.allCases {
                let dimensions = [("token", token.rawValue)]
                Gauge(label: MetricName.claims, dimensions: dimensions).record(totals.claims[token] ?? 0)
                Gauge(label: MetricName.obligations, dimensions: dimensions).record(totals.obligations[token] ?? 0)
            }
            for counterpart in Set(positions.map(\.counterpart)).sorted() {
                let open = positions.first { $0.counterpart == counterpart }?.outboundOpen ?? 0
                Gauge(label: MetricName.relayBacklog, dimensions: [("counterpart", counterpart)]).record(open)
            }
        }
    }
}

/// `GET /metrics` on a listener of its own, apart from the public API, so an operator can bind it
/// where only the monitoring system reaches. It serves nothing else.
public enum MetricsListener {
    /// The application serving the registry at `address` (plain HTTP on loopback; with `tls`, over TLS).
    public static func application(
        address: String, tls: TLSConfiguration?, gauges: ScrapeGauges, logger: Logger, announce: String
    ) throws -> some Service {
        let address = try HostAndPort(address)
        if tls == nil {
            guard address.isLoopback else {
                let shown = Echo.quoted("\(address.host):\(address.port)")
                throw ConfigError(
                    "metrics \(shown) is not a loopback address, and plain HTTP is served on loopback only: "
                        + "add a [tls] table, or bind the metrics to 127.0.0.1")
            }
        }
        let registry = ProcessMetrics.registry()
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            gauges.refresh()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let plain = HTTPServerBuilder.http1()
        let server = try tls.map { try HTTPServerBuilder.tls(plain, tlsConfiguration: $0) } ?? plain
        let scheme = tls == nil ? "http" : "https"
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "sdt-metrics"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                FileHandle.standardOutput.write(Data("\(announce) \(scheme)://\(address.host):\(port)/metrics\n".utf8))
            },
            logger: logger)
    }
}
