import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger
import SDTRules

/// Public reads of reserves and rules, the rules' dry run, and aggregate statistics.
extension NodeAPI {
    /// Statistics are served only for cohorts of at least this many accounts.
    static let cohortMin: Int64 = 1_000

    public func getReserves(_ input: Operations.GetReserves.Input) async throws -> Operations.GetReserves.Output {
        let record = try reader.reserves()
        let positions = try reader.positions()
        return .ok(.init(body: .json(.init(
            tokens: config.tokens.map { token in
                let mine = positions.filter { $0.token == token }
                return .init(token: .init(rawValue: token.rawValue)!, supply: record.supply[token] ?? 0,
                             reserves: record.reserves[token] ?? 0, claims: mine.reduce(0) { $0 + $1.claims },
                             obligations: mine.reduce(0) { $0 + $1.obligations }, display: Amount.display(record.reserves[token] ?? 0, token))
            },
            usdDeposits: record.usdDeposits, usdWithdrawals: record.usdWithdrawals, barsHeld: record.barsHeld,
            proof: record.block.map(Self.block)
        ))))
    }

    public func listBars(_ input: Operations.ListBars.Input) async throws -> Operations.ListBars.Output {
        let limit = input.query.limit ?? 100
        guard (1...500).contains(limit) else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: "invalid_field", detail: "limit must be 1...500"))))
        }
        let bars = try reader.bars(after: input.query.after ?? "", limit: limit, includeReleased: input.query.includeReleased ?? false)
        return .ok(.init(body: .json(.init(bars: bars.map(Self.bar), nextAfter: bars.count == limit ? bars.last?.serial : nil))))
    }

    public func listReserveRecords(_ input: Operations.ListReserveRecords.Input) async throws -> Operations.ListReserveRecords.Output {
        let height: Int64
        if let asked = input.query.height {
            guard asked >= 1 else {
                return .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: "invalid_field", detail: "height must be >= 1"))))
            }
            height = asked
        } else {
            height = try reader.head().sealedHeight
        }
        guard let block = try reader.block(height: height) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("block \(height)"))))
        }
        let records = try reader.reserveRecords(asOf: block.header.lastSequence).map { record in
            Components.Schemas.ReserveRecords.RecordsPayloadPayload(
                sequence: record.sequence, kind: .init(rawValue: record.kind) ?? .deposit, token: .init(rawValue: record.token.rawValue)!,
                amount: record.amount,
                entry: .init(kind: ._operator, signingBytes: Hex.encode(record.signingBytes), publicKey: record.publicKeyHex,
                             signature: Hex.encode(record.signature))
            )
        }
        return .ok(.init(body: .json(.init(height: height, reserveRoot: block.header.reserveRootHex, records: records))))
    }

    public func getBar(_ input: Operations.GetBar.Input) async throws -> Operations.GetBar.Output {
        let bars = try reader.bar(serial: input.path.serial)
        guard !bars.isEmpty else { return .notFound(.init(body: .applicationProblemJson(notFound("bar \(Echo.quoted(input.path.serial)) in the reserves")))) }
        return .ok(.init(body: .json(.init(bars: bars.map(Self.bar)))))
    }

    static func bar(_ bar: BarRecord) -> Components.Schemas.Bar {
        .init(serial: bar.serial, vault: bar.vault, refiner: bar.refiner, grossWeight: bar.grossWeightMilligrams, fineness: Int(bar.fineness),
              fineWeight: bar.fineWeightMilligrams, mintedSequence: bar.mintedSequence, releasedSequence: bar.releasedSequence,
              state: bar.releasedSequence == nil ? .held : .released)
    }

    public func getRules(_ input: Operations.GetRules.Input) async throws -> Operations.GetRules.Output {
        guard let record = try reader.ruleSet(version: nil) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("rule set: this region runs without transfer rules"))))
        }
        return .ok(.init(body: .json(try ruleSetInfo(record, inForce: true))))
    }

    public func getRuleSetVersion(_ input: Operations.GetRuleSetVersion.Input) async throws -> Operations.GetRuleSetVersion.Output {
        guard let record = try reader.ruleSet(version: input.path.version) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("rule set version \(input.path.version)"))))
        }
        let inForce = try reader.ruleSet(version: nil)?.version == record.version
        return .ok(.init(body: .json(try ruleSetInfo(record, inForce: inForce))))
    }

    private func ruleSetInfo(_ record: RuleSetRecord, inForce: Bool) throws -> Components.Schemas.RuleSetInfo {
        .init(version: record.version, sha3: record.sha3Hex, text: record.text, inForce: inForce, putInForceBySequence: record.sequence,
              installedAtMs: record.installedAtMilliseconds, versions: try reader.ruleSetVersions())
    }

    public func dryRunTransfer(_ input: Operations.DryRunTransfer.Input) async throws -> Operations.DryRunTransfer.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        for (name, id) in [("from", body.from), ("to", body.to)] where !Identifier.isValidAccountID(id[...]) {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "invalid_field", detail: "\(name): \(Echo.quoted(id)) is not a valid account id (a-z 0-9 . _ -, at most 64)"
            ))))
        }
        guard let token = Token(rawValue: body.token.rawValue), Amount(minorUnits: body.amount) != nil else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "invalid_field", detail: "amount: must be 1...\(Amount.minorUnitsMax) minor units"
            ))))
        }
        let check = try reader.dryRun(
            from: body.from, to: body.to, token: token, amount: body.amount, tokensOffered: Set(config.tokens),
            nowMilliseconds: clock.nowMilliseconds()
        )
        guard let decision = check.rules else {
            let accepted = check.code == .accepted
            return .ok(.init(body: .json(.init(
                decision: accepted ? .accept : .reject, code: check.code.name,
                detail: accepted ? "This region has no transfer rules." : check.code.detail
            ))))
        }
        let detail = decision.ruleID.map { ruleID in
            let verb = switch decision.verdict {
            case .accept: "Accepted under"
            case .hold: "Held by"
            case .reject: "Refused by"
            }
            return "\(verb) rule \(ruleID) of rule set version \(decision.ruleSetVersion): \(decision.reason ?? "")"
        } ?? "No rule matches; the transfer would be accepted."
        return .ok(.init(body: .json(.init(
            decision: .init(rawValue: decision.verdict.rawValue)!, code: check.code.name, detail: detail, ruleId: decision.ruleID,
            ruleSetVersion: decision.ruleSetVersion, flags: decision.flags.isEmpty ? nil : decision.flags
        ))))
    }

    public func getTransferStatistics(_ input: Operations.GetTransferStatistics.Input) async throws -> Operations.GetTransferStatistics.Output {
        func bad(_ detail: String) -> Operations.GetTransferStatistics.Output {
            .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: "invalid_field", detail: detail))))
        }
        guard let token = Token(rawValue: input.query.token.rawValue) else { return bad("token: USD or GOLD") }
        guard let period = StatisticsPeriod(input.query.period) else {
            return bad("period: \(Echo.quoted(input.query.period)) is not a UTC month YYYY-MM or day YYYY-MM-DD")
        }
        if let jurisdiction = input.query.jurisdiction, !Identifier.isValidJurisdiction(jurisdiction[...]) {
            return bad("jurisdiction: \(Echo.quoted(jurisdiction)) is not a country (MX) or subdivision (US-TX) code")
        }
        let statistics = try reader.statistics(
            token: token, jurisdiction: input.query.jurisdiction, fromMilliseconds: period.startMilliseconds, toMilliseconds: period.endMilliseconds
        )
        guard statistics.accounts >= Self.cohortMin else {
            return .forbidden(.init(body: .applicationProblemJson(Problem.make(
                status: 403, code: "cohort_too_small",
                detail: "Fewer than \(Self.cohortMin) accounts sent \(token.rawValue) in this period and jurisdiction; statistics are served only for cohorts of at least \(Self.cohortMin) accounts. Widen the period or the jurisdiction."
            ))))
        }
        return .ok(.init(body: .json(.init(
            token: .init(rawValue: token.rawValue)!, period: input.query.period, jurisdiction: input.query.jurisdiction,
            transfers: statistics.transfers, volume: statistics.volume, display: Amount.display(statistics.volume, token),
            accountsAtLeast: Int(Self.cohortMin)
        ))))
    }
}

/// A UTC month (`2026-11`) or day (`2026-11-21`) as a half-open range of Unix milliseconds.
struct StatisticsPeriod {
    let startMilliseconds: Int64
    let endMilliseconds: Int64

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let day = parts.count == 3 ? parts[2] : "01"
        guard Identifier.isValidDate("\(parts[0])-\(parts[1])-\(day)"[...]),
              let year = Int64(parts[0]), let month = Int64(parts[1]), let dayNumber = Int64(day)
        else { return nil }
        let start = Self.daysSinceEpoch(year: year, month: month, day: dayNumber)
        let end = parts.count == 3 ? start + 1
            : (month == 12 ? Self.daysSinceEpoch(year: year + 1, month: 1, day: 1) : Self.daysSinceEpoch(year: year, month: month + 1, day: 1))
        startMilliseconds = start * 86_400_000
        endMilliseconds = end * 86_400_000
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse, in integers).
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
