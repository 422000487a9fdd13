import Foundation
import Mustache
import OpenAPIRuntime
import SDTCore
import SDTGlobal
import SDTGlobalAPI

/// `GET /` on the K$ node: its public page, rendered on the server from a Mustache template with the
/// figures read from the store when it is served.
extension GlobalAPI {
    /// The template, parsed once (it is part of the build: a parse failure is a defect, reported as such).
    static let pageTemplate = Result {
        try MustacheTemplate(string: String(decoding: PackageResources.kdollar_mustache, as: UTF8.self))
    }
    static let listedCyclesMax = 20

    public func getPage(_ input: SDTGlobalAPI.Operations.GetPage.Input) async throws
        -> SDTGlobalAPI.Operations.GetPage.Output
    {
        let page = try KDollarPage.read(
            store: store, name: config.name, registryCount: registry.entries.count,
            nowMilliseconds: clock.nowMilliseconds(), cycles: Self.listedCyclesMax)
        let html = try Self.pageTemplate.get().render(page)
        return .ok(.init(body: .html(HTTPBody(html))))
    }
}

/// What the K$ page shows, as the template reads it.
struct KDollarPage: Sendable {
    struct CheckpointRow {
        let region: String
        let height: Int64
        let sealedAt: String
        let supply: String
        let reserves: String
        let owes: String
        let hash: String
    }

    struct AlarmRow {
        let region: String
        let height: Int64
        let raisedAt: String
        let recorded: String
        let conflicting: String
    }

    struct CycleRow {
        let number: Int64
        let plannedAt: String
        let token: String
        let gross: String
        let net: String
        let efficiency: String
        let saved: String
    }

    /// The template reads stored properties only (by reflection): every flag is a stored `let`.
    struct Newest {
        let number: Int64
        let instructions: [String]
        let deferred: [String]
        let hasDeferred: Bool
    }

    let name: String
    let asOf: String
    let checkpoints: [CheckpointRow]
    let regionCount: Int
    let registryCount: Int
    let alarms: [AlarmRow]
    let halted: String
    let cycleRows: [CycleRow]
    let cycleCount: Int64
    let cyclesShown: Int
    let newest: Newest?
    let hasCheckpoints: Bool
    let hasAlarms: Bool
    let hasCycles: Bool
    let cyclesTruncated: Bool

    static func read(
        store: GlobalStore, name: String, registryCount: Int, nowMilliseconds: Int64, cycles: Int
    ) throws -> KDollarPage {
        func amounts(_ values: [Token: Int64]) -> String {
            Token.allCases.sorted().map { Amount.display(values[$0] ?? 0, $0) }.joined(separator: ", ")
        }
        let checkpoints = try store.newestCheckpoints().map { stored in
            let header = stored.checkpoint.header
            var owes: [String] = []
            for counterpart in header.obligations.keys.sorted() {
                for token in Token.allCases.sorted() {
                    if let amount = header.obligations[counterpart]?[token], amount > 0 {
                        owes.append("\(Amount.display(amount, token)) to \(counterpart)")
                    }
                }
            }
            return CheckpointRow(
                region: header.region, height: header.height,
                sealedAt: TransparencyPage.time(header.sealedAtMilliseconds), supply: amounts(header.supply),
                reserves: amounts(header.reserves), owes: owes.isEmpty ? "nothing" : owes.joined(separator: ", "),
                hash: stored.checkpoint.hashHex)
        }
        let alarms = try store.alarms()
        let stored = try store.cycles(limit: cycles)
        let rows = stored.flatMap { cycle in
            Token.allCases.sorted().map { token in
                let efficiency = cycle.record.efficiency(token)
                return CycleRow(
                    number: cycle.record.number, plannedAt: TransparencyPage.time(cycle.plannedAtMilliseconds),
                    token: token.rawValue, gross: Self.display(efficiency.gross, token),
                    net: Self.display(efficiency.net, token), efficiency: efficiency.description,
                    saved: efficiency.liquiditySaved)
            }
        }
        let newest = stored.first.map { cycle in
            Newest(
                number: cycle.record.number,
                instructions: cycle.record.instructions.map {
                    "\($0.payer) pays \($0.payee) \(Amount.display($0.amount, $0.token))"
                },
                deferred: cycle.deferred.map { "\($0.obligation.text): \($0.reason)" },
                hasDeferred: !cycle.deferred.isEmpty)
        }
        let cycleCount = try store.counts().cycles
        return KDollarPage(
            name: name, asOf: TransparencyPage.time(nowMilliseconds), checkpoints: checkpoints,
            regionCount: checkpoints.count, registryCount: registryCount,
            alarms: alarms.map {
                AlarmRow(
                    region: $0.region, height: $0.height, raisedAt: TransparencyPage.time($0.raisedAtMilliseconds),
                    recorded: $0.recorded.hashHex, conflicting: $0.conflicting.hashHex)
            }, halted: Set(alarms.map(\.region)).sorted().joined(separator: ", "), cycleRows: rows,
            cycleCount: cycleCount, cyclesShown: stored.count, newest: newest, hasCheckpoints: !checkpoints.isEmpty,
            hasAlarms: !alarms.isEmpty, hasCycles: !rows.isEmpty, cyclesTruncated: Int64(stored.count) < cycleCount)
    }

    /// A sum of minor units for people: within 64 bits as the token's display, else the integer itself.
    static func display(_ value: Int128, _ token: Token) -> String {
        Int64(exactly: value).map { Amount.display($0, token) } ?? "\(value) minor units of \(token.rawValue)"
    }
}
