import ArgumentParser
import Foundation
import Logging
import SDTBank
import SDTCore
import SDTGlobal
import SDTNode

/// The K$ node: `sdt global serve` runs it; `sdt global settle` plans a settlement cycle now; `sdt global
/// pacs009` writes a cycle's USD instructions for the regions' reserve banks.
struct GlobalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "global",
        abstract: "The K$ node: region checkpoints, equivocation alarms, multilateral netting cycles.",
        subcommands: [Serve.self, Settle.self, Pacs009.self]
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

    struct Pacs009: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pacs009",
            abstract: "Write a settlement cycle's USD instructions as an ISO 20022 pacs.009 for the regions' banks.",
            discussion: """
                One transaction per USD instruction, from the payer region's reserve account to the payee's, at \
                the banks the signed registry lists (settlement_bic, settlement_account). The same cycle always \
                gives the same document, byte for byte; it is valid against the official pacs.009.001.09 schema.
                """)
        @Option(help: "The K$ node config (its registry gives the regions' reserve accounts).") var config: String
        @Option(help: "The data directory of the K$ node.") var data: String
        @Option(help: "The cycle's number.") var cycle: Int64
        @Option(help: "Write the document to this file (else to standard output).") var out: String?

        func run() throws {
            let path = GlobalRunner.storePath(data)
            guard FileManager.default.fileExists(atPath: path) else {
                throw fail("\(path) does not exist: give the --data of a K$ node (sdt global serve)")
            }
            let registry: RegionRegistry
            do {
                registry = try GlobalRunner.loadRegistry(try GlobalConfig.load(path: config))
            } catch {
                throw fail("\(error)")
            }
            let store = try GlobalStore(path: path)
            guard let stored = try store.cycle(cycle) else {
                throw fail("no cycle \(cycle) at \(path): sdt global settle plans one, GET /v1/cycles lists them")
            }
            let written: SettlementMessages.Written
            switch SettlementMessages.pacs009(stored, registry: registry) {
            case .success(let document): written = document
            case .failure(let error): throw fail(error.description)
            }
            guard let out else {
                FileHandle.standardOutput.write(Data(written.document))
                return
            }
            do {
                try Data(written.document).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw fail("cannot write \(out): \(error.localizedDescription)")
            }
            let total = written.transfers.reduce(Int128(0)) { $0 + Int128($1.cents) }
            print(
                "\(out): pacs.009 \(written.messageID), \(written.transfers.count) transaction"
                    + "\(written.transfers.count == 1 ? "" : "s"), \(ISOAmount.text(total)) USD")
            for transfer in written.transfers {
                print(
                    "  \(transfer.endToEndID): \(transfer.debtor.identifier) pays \(transfer.creditor.identifier) "
                        + "\(ISOAmount.text(transfer.cents)) USD, from \(transfer.debtor.account) at "
                        + "\(transfer.debtor.agentBIC) to \(transfer.creditor.account) at "
                        + "\(transfer.creditor.agentBIC) (UETR \(transfer.uetr))")
            }
            if !written.notCarried.isEmpty {
                print("  not in it (not bank payments): " + written.notCarried.map(\.text).joined(separator: ", "))
            }
        }
    }
}
