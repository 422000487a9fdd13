import ArgumentParser
import Foundation
import Logging
import SDTNode

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a region node: HTTP front, work queue, applier and block signer.",
        discussion: """
        By default front and applier run in this one process. --role applier and --role front run them as
        separate processes connected over ZeroMQ tcp at the region config's [endpoints] queue and outcomes.
        """
    )

    @Option(help: "The region config, e.g. regions/us-tx.toml.") var region: String
    @Option(help: "The data directory (created if missing): ledger.sqlite and the node's keys.") var data: String
    @Option(help: "Listen on HOST:PORT, overriding the config's endpoints.http.") var http: String?
    @Option(help: "Serve GET /metrics on HOST:PORT, overriding the config's endpoints.metrics (each role its own).")
    var metrics: String?
    @Option(help: "all | applier | front") var role: String = NodeRole.all.rawValue
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Log lines as text, or json (one object a line, with request_id where a request is served).")
    var logFormat: String = "text"
    @Option(help: "CURVE key file for the tcp queue (default: queue-<role>.key in --data, created if missing).")
    var queueKey: String?

    func validate() throws {
        guard NodeRole(rawValue: role) != nil else { throw ValidationError("--role must be all, applier or front") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a level") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        if let http { _ = try HostAndPort(http) }
        if let metrics { _ = try HostAndPort(metrics) }
    }

    func run() async throws {
        // Every line logged while a request is served names it (`request_id`), in either format.
        if logFormat == "json" {
            LoggingSystem.bootstrap({ label, provider in JSONLogHandler(label: label, metadataProvider: provider) },
                                    metadataProvider: RequestID.metadataProvider)
        } else {
            LoggingSystem.bootstrap(StreamLogHandler.standardError, metadataProvider: RequestID.metadataProvider)
        }
        var logger = Logger(label: "sdt.node")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var config: RegionConfig
        do {
            config = try RegionConfig.load(path: region)
        } catch {
            throw fail("\(error)")
        }
        if let http { config.httpAddress = http }
        if let metrics { config.metricsAddress = metrics }
        let options = NodeOptions(
            config: config, data: try NodeData(directory: data), role: NodeRole(rawValue: role) ?? .all, logger: logger, queueKeyPath: queueKey
        )
        do {
            try await NodeRunner.run(options)
        } catch {
            throw fail("node stopped: \(error)")
        }
    }
}
