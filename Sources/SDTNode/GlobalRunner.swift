import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import OpenAPIHummingbird
import SDTCore
import SDTCrypto
import SDTGlobal
import SDTGlobalAPI
import ServiceLifecycle

/// Runs the K$ node: its HTTP front (`openapi/global.yaml`) over the store in `global.sqlite`, and,
/// when the config sets a period, a settlement cycle every period.
public enum GlobalRunner {
    /// What `sdt global serve` is given.
    public struct Options: Sendable {
        public let config: GlobalConfig
        public let dataDirectory: String
        public let logger: Logger
        public let clock: any WallClock
        public let random: any RandomSource

        public init(
            config: GlobalConfig, dataDirectory: String, logger: Logger, clock: any WallClock = SystemClock(),
            random: any RandomSource = SystemRandom()
        ) {
            self.config = config
            self.dataDirectory = dataDirectory
            self.logger = logger
            self.clock = clock
            self.random = random
        }
    }

    public static func storePath(_ dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("global.sqlite")
    }

    /// The store in `dataDirectory`, created with it if missing.
    public static func openStore(_ dataDirectory: String) throws -> GlobalStore {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        return try GlobalStore(path: storePath(dataDirectory))
    }

    /// The registry `config` names, only if its signature verifies with the authority key it names.
    public static func loadRegistry(_ config: GlobalConfig) throws -> RegionRegistry {
        guard let authority = Hex.decode(config.registryAuthorityKey) else {
            throw ConfigError("registry.authority_key is not hex")
        }
        return try RegionRegistry.load(path: config.registryPath, authorityKey: authority)
    }

    /// Runs until SIGINT or SIGTERM.
    public static func run(_ options: Options) async throws {
        let config = options.config
        // Metrics are recorded only where they are served (else swift-metrics' handlers do nothing).
        if config.metricsAddress != nil { _ = ProcessMetrics.registry() }
        let registry = try loadRegistry(config)
        let store = try openStore(options.dataDirectory)
        let api = GlobalAPI(
            config: config, registry: registry, store: store, clock: options.clock, logger: options.logger)
        let contract = String(decoding: PackageResources.global_yaml, as: UTF8.self)
        let router = Router()
        if config.metricsAddress != nil { router.middlewares.add(MetricsMiddleware()) }
        router.middlewares.add(RequestIDMiddleware(random: options.random, logger: options.logger))
        router.middlewares.add(BrowserSafetyMiddleware())
        router.middlewares.add(
            ProblemMiddleware(
                bodyBytesMax: config.requestBodyBytesMax, routes: ContractRoutes(contract: contract),
                parameters: try ContractParameters(contract: contract), logger: options.logger))
        try api.registerHandlers(on: router)
        let address = try HostAndPort(config.httpAddress)
        try config.checkHTTPSecurity()
        // The region front's guards against slow and greedy clients, with its default limits.
        let limits = RegionConfig.Limits()
        let server = try NodeRunner.guardedServer(limits: limits, tls: config.tls, logger: options.logger)
        let scheme = config.tls == nil ? "http" : "https"
        let name = config.name
        let regions = registry.entries.count
        let app = Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: "sdt-global",
                availableConnectionsDelegate: MaximumAvailableConnections(
                    limits.httpConnectionsMax, logger: options.logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                let line = "sdt global (\(name), \(regions) regions) listening on \(scheme)://\(address.host):\(port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: options.logger
        )
        var services: [any Service] = [app]
        if let metrics = config.metricsAddress {
            let logger = options.logger
            let gauges = ScrapeGauges(reader: nil, custody: nil, waiting: nil) {
                do {
                    try GlobalMetrics.record(store)
                } catch {
                    logger.error("metrics: the store cannot be read: \(error)")
                }
            }
            services.append(
                try MetricsListener.application(
                    address: metrics, tls: try config.tls.map(NodeRunner.tlsConfiguration), gauges: gauges,
                    logger: options.logger,
                    announce: "sdt global metrics at"))
        }
        if config.settlementPeriodSeconds > 0 {
            services.append(
                SettlementTimer(
                    store: store, periodSeconds: config.settlementPeriodSeconds, clock: options.clock,
                    logger: options.logger))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: options.logger))
        try await group.run()
    }

    /// One line for people about a recorded cycle: its instructions and each token's figures.
    public static func summary(_ cycle: StoredCycle) -> String {
        let record = cycle.record
        var lines = [
            "cycle \(record.number): \(record.basis.count) regions' checkpoints, \(record.covered.count) obligations "
                + "settled, \(record.instructions.count) instructions, \(cycle.deferred.count) deferred"
        ]
        for token in Token.allCases.sorted() {
            let efficiency = record.efficiency(token)
            lines.append(
                "  \(token.rawValue): gross \(efficiency.gross), net \(efficiency.net) (minor units), "
                    + "liquidity efficiency \(efficiency.description), \(efficiency.liquiditySaved) not moved")
        }
        for instruction in record.instructions {
            lines.append(
                "  \(instruction.payer) pays \(instruction.payee) "
                    + Amount.display(instruction.amount, instruction.token))
        }
        for deferred in cycle.deferred {
            lines.append("  deferred \(deferred.obligation.text): \(deferred.reason)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Plans a settlement cycle every period, from the first period after start. A cycle that cannot be
/// planned is logged and tried again at the next period; nothing of it is recorded.
struct SettlementTimer: Service {
    let store: GlobalStore
    let periodSeconds: Int64
    let clock: any WallClock
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(periodSeconds))
                guard !Task.isCancelled else { return }
                do {
                    let cycle = try store.settle(nowMilliseconds: clock.nowMilliseconds())
                    logger.notice("\(GlobalRunner.summary(cycle))")
                } catch let error as LedgerError where error.code == .usage {
                    logger.info("no settlement cycle this period: \(error.message)")
                } catch {
                    logger.error("settlement cycle not planned: \(error)")
                }
            }
        }
    }
}

/// The K$ node's gauges, read from its store at each scrape (so they are the store's own figures).
enum GlobalMetrics {
    static func record(_ store: GlobalStore) throws {
        for stored in try store.newestCheckpoints() {
            Gauge(label: MetricName.kdollarCheckpointHeight, dimensions: [("region", stored.checkpoint.region)])
                .record(stored.checkpoint.height)
        }
        let counts = try store.counts()
        Gauge(label: MetricName.kdollarAlarms).record(counts.alarms)
        Gauge(label: MetricName.kdollarCycles).record(counts.cycles)
        guard let newest = try store.cycles(limit: 1).first else { return }
        for token in Token.allCases {
            let efficiency = newest.record.efficiency(token)
            let dimensions = [("token", token.rawValue)]
            // Gauges are 64-bit floats: exact below 2^53 minor units; the API gives the exact integers.
            Gauge(label: MetricName.kdollarCycleGross, dimensions: dimensions).record(Double(efficiency.gross))
            Gauge(label: MetricName.kdollarCycleNet, dimensions: dimensions).record(Double(efficiency.net))
        }
    }
}
