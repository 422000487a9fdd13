import Foundation
import Logging
import Metrics
import OpenAPIRuntime
import SDTCore
import SDTCrypto
import SDTGlobal
import SDTGlobalAPI

/// The K$ node's HTTP handlers (`openapi/global.yaml`): checkpoints in, the regions' newest
/// checkpoints, alarms and settlement cycles out.
public struct GlobalAPI: SDTGlobalAPI.APIProtocol {
    let config: GlobalConfig
    let registry: RegionRegistry
    let store: GlobalStore
    let clock: any WallClock
    let logger: Logger
    /// Region code → block public key, from the registry.
    let blockKeys: [String: [UInt8]]

    public init(
        config: GlobalConfig, registry: RegionRegistry, store: GlobalStore, clock: any WallClock, logger: Logger
    ) {
        self.config = config
        self.registry = registry
        self.store = store
        self.clock = clock
        self.logger = logger
        blockKeys = Dictionary(uniqueKeysWithValues: registry.entries.map { ($0.code, $0.blockPublicKey) })
    }

    typealias Schemas = SDTGlobalAPI.Components.Schemas

    static func problem(_ status: Int, _ code: String, _ detail: String) -> Schemas.Problem {
        Schemas.Problem(
            _type: "urn:sdt:problem:\(code)", title: Problem.title(code), status: status, code: code, detail: detail)
    }

    public func getHealth(_ input: SDTGlobalAPI.Operations.GetHealth.Input) async throws
        -> SDTGlobalAPI.Operations.GetHealth.Output
    {
        do {
            let counts = try store.counts()
            return .ok(
                .init(
                    body: .json(
                        .init(
                            status: .ok, problems: [], regionsWithCheckpoints: counts.regions, alarms: counts.alarms,
                            cycles: counts.cycles))))
        } catch {
            logger.error("health: the store cannot be read: \(error)")
            return .serviceUnavailable(
                .init(
                    body: .json(
                        .init(
                            status: .unavailable, problems: ["the store cannot be read: \(error)"],
                            regionsWithCheckpoints: 0, alarms: 0, cycles: 0))))
        }
    }

    public func getRegistry(_ input: SDTGlobalAPI.Operations.GetRegistry.Input) async throws
        -> SDTGlobalAPI.Operations.GetRegistry.Output
    {
        .ok(
            .init(
                body: .json(
                    .init(
                        version: registry.version,
                        regions: registry.entries.map {
                            .init(
                                code: $0.code, name: $0.name, blockPublicKey: Hex.encode($0.blockPublicKey),
                                sealingPublicKey: Hex.encode($0.sealingPublicKey), endpoint: $0.endpoint,
                                settlementBic: $0.settlement?.bic, settlementAccount: $0.settlement?.account)
                        }))))
    }

    public func submitCheckpoints(_ input: SDTGlobalAPI.Operations.SubmitCheckpoints.Input) async throws
        -> SDTGlobalAPI.Operations.SubmitCheckpoints.Output
    {
        guard case .json(let batch) = input.body else { throw ClientError.unsupportedBody }
        guard (1...256).contains(batch.checkpoints.count) else {
            return .badRequest(
                .init(
                    body: .applicationProblemJson(
                        Self.problem(
                            400, "invalid_field",
                            "checkpoints: send 1 to 256 per request, not \(batch.checkpoints.count)"))))
        }
        // A value that is not hex cannot be a header or a signature: it is refused as malformed, in place.
        let submitted = batch.checkpoints.map { item in
            (header: Hex.decode(item.header) ?? [], signature: Hex.decode(item.signature) ?? [])
        }
        let answers = try store.submit(
            submitted, blockKeys: blockKeys, nowMilliseconds: clock.nowMilliseconds(),
            allowedSkewMilliseconds: config.allowedSkewMilliseconds)
        var out: [Schemas.CheckpointAnswer] = []
        for answer in answers {
            let (status, code): (String, String) =
                switch answer {
                case .recorded: ("recorded", "-")
                case .equivocation(_, let new):
                    (new ? "equivocation" : "equivocation_known", CheckpointRefusal.Code.equivocation.rawValue)
                case .refused(let refusal, _, _): ("refused", refusal.code.rawValue)
                }
            Counter(label: MetricName.kdollarCheckpoints, dimensions: [("status", status), ("code", code)]).increment()
            switch answer {
            case .recorded(let checkpoint):
                out.append(
                    .init(
                        status: .recorded, region: checkpoint.region, height: checkpoint.height,
                        hash: checkpoint.hashHex, nextHeight: checkpoint.height + 1))
            case .equivocation(let alarm, let new):
                let evidence =
                    alarm.evidence == .twoHeadersOneHeight
                    ? "two headers for block \(alarm.height) (\(alarm.recorded.hashHex) recorded, "
                        + "\(alarm.conflicting.hashHex) now)"
                    : "block \(alarm.conflicting.height) (\(alarm.conflicting.hashHex)) links to "
                        + "\(alarm.conflicting.header.previousHashHex), not to block \(alarm.height) as recorded "
                        + "(\(alarm.recorded.hashHex))"
                if new {
                    let line =
                        "equivocation: \(alarm.region)'s quorum signed \(evidence); "
                        + "its settlement is stopped until governance clears the alarm"
                    logger.error("\(line)")
                }
                out.append(
                    .init(
                        status: .equivocation, region: alarm.region, height: alarm.conflicting.height,
                        hash: alarm.conflicting.hashHex, code: CheckpointRefusal.Code.equivocation.rawValue,
                        detail: new
                            ? "\(alarm.region)'s quorum signed \(evidence): the alarm is raised and "
                                + "\(alarm.region)'s settlement is stopped"
                            : "this evidence against \(alarm.region) is already recorded: the alarm was raised at "
                                + "\(alarm.raisedAtMilliseconds) ms"))
            case .refused(let refusal, let region, let next):
                if refusal.code != .replayed {
                    logger.warning("checkpoint refused: \(refusal)")
                }
                out.append(
                    .init(
                        status: .refused, region: region, code: refusal.code.rawValue, detail: refusal.message,
                        nextHeight: next))
            }
        }
        return .ok(.init(body: .json(.init(answers: out))))
    }

    public func listCheckpoints(_ input: SDTGlobalAPI.Operations.ListCheckpoints.Input) async throws
        -> SDTGlobalAPI.Operations.ListCheckpoints.Output
    {
        .ok(.init(body: .json(.init(checkpoints: try store.newestCheckpoints().map(Self.view)))))
    }

    public func getCheckpoint(_ input: SDTGlobalAPI.Operations.GetCheckpoint.Input) async throws
        -> SDTGlobalAPI.Operations.GetCheckpoint.Output
    {
        guard let stored = try store.checkpoint(region: input.path.region, height: input.query.height) else {
            let which = input.query.height.map { "block \($0) of " } ?? ""
            return .notFound(
                .init(
                    body: .applicationProblemJson(
                        Self.problem(
                            404, "not_found", "No checkpoint of \(which)\(Echo.quoted(input.path.region)) here."))))
        }
        return .ok(.init(body: .json(Self.view(stored))))
    }

    public func listAlarms(_ input: SDTGlobalAPI.Operations.ListAlarms.Input) async throws
        -> SDTGlobalAPI.Operations.ListAlarms.Output
    {
        let alarms = try store.alarms()
        func signed(_ checkpoint: Checkpoint) -> Schemas.SignedHeader {
            .init(header: Hex.encode(checkpoint.headerBytes), signature: Hex.encode(checkpoint.signature))
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        alarms: alarms.map {
                            .init(
                                kind: .equivocation, evidence: .init(rawValue: $0.evidence.rawValue)!,
                                region: $0.region, height: $0.height,
                                raisedAtMs: $0.raisedAtMilliseconds, recorded: signed($0.recorded),
                                conflicting: signed($0.conflicting))
                        }, haltedRegions: Set(alarms.map(\.region)).sorted()))))
    }

    public func listCycles(_ input: SDTGlobalAPI.Operations.ListCycles.Input) async throws
        -> SDTGlobalAPI.Operations.ListCycles.Output
    {
        .ok(.init(body: .json(.init(cycles: try store.cycles(limit: input.query.limit ?? 20).map(Self.view)))))
    }

    public func getCycle(_ input: SDTGlobalAPI.Operations.GetCycle.Input) async throws
        -> SDTGlobalAPI.Operations.GetCycle.Output
    {
        guard let cycle = try store.cycle(input.path.number) else {
            return .notFound(Self.noCycle(input.path.number))
        }
        return .ok(.init(body: .json(Self.view(cycle))))
    }

    /// The 404 of a cycle number that has none.
    static func noCycle(_ number: Int64) -> SDTGlobalAPI.Components.Responses.NotFound {
        .init(body: .applicationProblemJson(problem(404, "not_found", "No cycle \(number) here.")))
    }

    public func getCyclePacs009(_ input: SDTGlobalAPI.Operations.GetCyclePacs009.Input) async throws
        -> SDTGlobalAPI.Operations.GetCyclePacs009.Output
    {
        guard let cycle = try store.cycle(input.path.number) else {
            return .notFound(Self.noCycle(input.path.number))
        }
        switch SettlementMessages.pacs009(cycle, registry: registry) {
        case .success(let written):
            return .ok(.init(body: .xml(HTTPBody(written.document))))
        case .failure(let error) where error.code == "message_invalid":
            throw error
        case .failure(let error):
            return .conflict(
                .init(body: .applicationProblemJson(Self.problem(409, error.code, error.description + "."))))
        }
    }

    // MARK: Views

    static func view(_ stored: StoredCheckpoint) -> Schemas.Checkpoint {
        let header = stored.checkpoint.header
        func positions(_ all: [String: [Token: Int64]]) -> [Schemas.Position] {
            all.keys.sorted().flatMap { counterpart in
                Token.allCases.sorted().compactMap { token in
                    all[counterpart]?[token].map {
                        .init(counterpart: counterpart, token: .init(rawValue: token.rawValue)!, amount: $0)
                    }
                }
            }
        }
        func amounts(_ all: [Token: Int64]) -> [String: Int64] {
            Dictionary(uniqueKeysWithValues: all.map { ($0.key.rawValue, $0.value) })
        }
        return Schemas.Checkpoint(
            region: header.region, height: header.height, hash: stored.checkpoint.hashHex,
            previousHash: header.previousHashHex, sealedAtMs: header.sealedAtMilliseconds,
            receivedAtMs: stored.receivedAtMilliseconds, supply: .init(additionalProperties: amounts(header.supply)),
            reserves: .init(additionalProperties: amounts(header.reserves)), claims: positions(header.claims),
            obligations: positions(header.obligations), header: Hex.encode(stored.checkpoint.headerBytes),
            signature: Hex.encode(stored.checkpoint.signature))
    }

    static func view(_ stored: StoredCycle) -> Schemas.Cycle {
        let record = stored.record
        func movement(_ obligation: Obligation) -> Schemas.Movement {
            .init(
                payer: obligation.payer, payee: obligation.payee, token: .init(rawValue: obligation.token.rawValue)!,
                amount: obligation.amount)
        }
        return Schemas.Cycle(
            number: record.number, status: .planned, plannedAtMs: stored.plannedAtMilliseconds,
            record: String(decoding: record.bytes, as: UTF8.self), recordSha3: Hex.encode(SHA3.hash256(record.bytes)),
            basis: record.basis.map { .init(region: $0.region, height: $0.height, hash: $0.hashHex) },
            covered: record.covered.map(movement), instructions: record.instructions.map(movement),
            deferred: stored.deferred.map {
                .init(
                    payer: $0.obligation.payer, payee: $0.obligation.payee,
                    token: .init(rawValue: $0.obligation.token.rawValue)!, amount: $0.obligation.amount,
                    reason: $0.reason)
            },
            tokens: Token.allCases.sorted().map { token in
                let efficiency = record.efficiency(token)
                return .init(
                    token: .init(rawValue: token.rawValue)!, gross: String(efficiency.gross),
                    net: String(efficiency.net),
                    efficiency: efficiency.description, liquiditySaved: efficiency.liquiditySaved)
            })
    }
}

/// A body the generated server should never hand over (the contract accepts JSON only).
enum ClientError: Error {
    case unsupportedBody
}
