import ArgumentParser
import Foundation
import Logging
import SDTCore
import SDTGlobal
import SDTNode

/// The K$ node: `sdt global serve` runs it; `sdt global settle` plans a settlement cycle now.
struct GlobalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "global",
        abstract: "The K$ node: region checkpoints, equivocation alarms, multilateral netting cycles.",
        subcommands: [Serve.self, Settle.self]
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the K$ node (HTTP contract: openapi/global.yaml) until SIGINT or SIGTERM.")
        @Option(help: "The K$ node config, e.g. regions/kdollar.toml.") var config: String
        @Option(help: "The data directory (created if missing): global.sqlite.") var data: String
        @Option(help: "Listen on HOST:PORT, overriding the config's endpoints.http.") var http: String?
        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

        func validate() throws {
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level \(logLevel) is not a level")
            }
            if let http { _ = try HostAndPort(http) }
        }

        func run() async throws {
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
            var logger = Logger(label: "sdt.global")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            var loaded: GlobalConfig
            do {
                loaded = try GlobalConfig.load(path: config)
                if let http { loaded.httpAddress = http }
                try await GlobalRunner.run(.init(config: loaded, dataDirectory: data, logger: logger))
            } catch let error as ConfigError {
                throw fail("\(error)")
            }
        }
    }

    struct Settle: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan a settlement cycle now from every region's newest checkpoint, record it, and print it.",
            discussion: "Runs on the node's store directly (the node may be running: SQLite serialises the writes).")
        @Option(help: "The data directory of the K$ node.") var data: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let path = GlobalRunner.storePath(data)
            guard FileManager.default.fileExists(atPath: path) else {
                throw fail("\(path) does not exist: give the --data of a K$ node (sdt global serve)")
            }
            let store = try GlobalStore(path: path)
            let planned = Result { () throws(LedgerError) -> StoredCycle in
                try store.settle(nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
            }
            guard case .success(let cycle) = planned else {
                if case .failure(let error) = planned { throw fail(error.message) }
                return
            }
            if output.json {
                let record = cycle.record
                return try output.printJSON([
                    "cycle": record.number, "record": String(decoding: record.bytes, as: UTF8.self),
                    "instructions": record.instructions.map(\.text), "deferred": cycle.deferred.map(\.obligation.text),
                    "tokens": Dictionary(
                        uniqueKeysWithValues: Token.allCases.map { token in
                            let efficiency = record.efficiency(token)
                            return (
                                token.rawValue,
                                [
                                    "gross": String(efficiency.gross), "net": String(efficiency.net),
                                    "efficiency": efficiency.description, "liquidity_saved": efficiency.liquiditySaved,
                                ]
                            )
                        }),
                ])
            }
            print(GlobalRunner.summary(cycle))
        }
    }
}
