import SDTCore

/// One settlement cycle of the K$ node: the regions' inter-region obligations taken from their newest
/// checkpoints, netted multilaterally per token, and the instructions that settle them. Its canonical
/// record is what the K$ quorum signs and what every region applies once, as one settlement entry:
/// it clears the obligations it covers where the region is the payer, the claims it covers where the
/// region is the payee, and moves the region's reserves by its net position.
///
/// An obligation is settled only as far as both sides have signed it: the payer's checkpoint says what
/// it owes (it records the obligation when the payee's credit is acknowledged), the payee's checkpoint
/// says what it is owed (its claim, recorded when it credits). The cycle covers the smaller of the two,
/// so clearing it never takes either side below zero; the rest waits for a later cycle and is listed
/// as deferred, with the reason.
public struct SettlementCycle: Sendable, Hashable {
    public static let header = "SDT-SETTLEMENT-CYCLE-V1"

    /// The checkpoint of one region the cycle was computed from.
    public struct Basis: Sendable, Hashable {
        public let region: String
        public let height: Int64
        public let hashHex: String
    }

    /// The part of an obligation a cycle does not settle, and why.
    public struct Deferred: Sendable, Hashable {
        public let obligation: Obligation
        public let reason: String
    }

    public let number: Int64
    public let basis: [Basis]
    /// The obligations settled, sorted by payer, payee, token.
    public let covered: [Obligation]
    public let deferred: [Deferred]
    public let result: NettingResult

    /// Plans cycle `number` from each region's newest checkpoint. Regions in `halted` (an equivocation
    /// alarm is open) take no part: obligations to or from them are deferred. `planned` lists what
    /// earlier cycles the regions have not applied yet already cover: it is taken off first, so no
    /// obligation is ever in two cycles (a region's checkpoints show an obligation until it applies the
    /// cycle that settles it).
    public static func plan(
        number: Int64, checkpoints: [Checkpoint], halted: Set<String>, planned: [Obligation] = []
    ) throws(NettingError) -> SettlementCycle {
        guard number >= 1 else { throw NettingError("cycle numbers start at 1, not \(number)") }
        var newest: [String: Checkpoint] = [:]
        for checkpoint in checkpoints {
            guard newest.updateValue(checkpoint, forKey: checkpoint.region) == nil else {
                throw NettingError("two checkpoints of \(checkpoint.region) were given; a cycle takes one per region")
            }
        }
        var alreadyPlanned: [String: Int64] = [:]
        for obligation in planned {
            let key = "\(obligation.payer)>\(obligation.payee)/\(obligation.token.rawValue)"
            let (sum, overflow) = alreadyPlanned[key, default: 0].addingReportingOverflow(obligation.amount)
            guard !overflow else { throw NettingError("the planned amounts of \(key) overflow 64 bits") }
            alreadyPlanned[key] = sum
        }
        var covered: [Obligation] = []
        var deferred: [Deferred] = []
        for region in newest.keys.sorted() {
            let payer = newest[region]!
            for counterpart in payer.header.obligations.keys.sorted() {
                for token in Token.allCases.sorted() {
                    let outstanding = payer.header.obligations[counterpart]?[token] ?? 0
                    let inEarlier = alreadyPlanned["\(region)>\(counterpart)/\(token.rawValue)"] ?? 0
                    let owed = outstanding - min(outstanding, inEarlier)
                    guard owed > 0 else { continue }
                    let whole = Obligation(payer: region, payee: counterpart, token: token, amount: owed)
                    if halted.contains(region) || halted.contains(counterpart) {
                        let stopped = halted.contains(region) ? region : counterpart
                        deferred.append(
                            Deferred(
                                obligation: whole,
                                reason: "the settlement of \(stopped) is stopped by an equivocation alarm"))
                        continue
                    }
                    guard let payee = newest[counterpart] else {
                        deferred.append(Deferred(obligation: whole, reason: "no checkpoint of \(counterpart) yet"))
                        continue
                    }
                    let claimed = payee.header.claims[region]?[token] ?? 0
                    let confirmed = claimed - min(claimed, inEarlier)
                    let settled = min(owed, confirmed)
                    if settled > 0 {
                        covered.append(Obligation(payer: region, payee: counterpart, token: token, amount: settled))
                    }
                    if owed > settled {
                        deferred.append(
                            Deferred(
                                obligation: Obligation(
                                    payer: region, payee: counterpart, token: token, amount: owed - settled),
                                reason:
                                    "\(counterpart)'s block \(payee.height) confirms a claim of \(claimed)"
                                    + (inEarlier > 0 ? ", \(inEarlier) of it in an earlier cycle" : "")))
                    }
                }
            }
        }
        covered.sort(by: Obligation.precedes)
        let basis = newest.keys.sorted().map { region in
            Basis(region: region, height: newest[region]!.height, hashHex: newest[region]!.hashHex)
        }
        return SettlementCycle(
            number: number, basis: basis, covered: covered, deferred: deferred,
            result: try MultilateralNetting.net(covered))
    }

    /// The canonical record the K$ quorum signs:
    /// ```
    /// SDT-SETTLEMENT-CYCLE-V1
    /// cycle:<number>
    /// basis:<region>@<height>:<hash>,...            every region's checkpoint, sorted by region
    /// covered:<payer>><payee>/<TOKEN>=<amount>,...  sorted; - for none
    /// instructions:<payer>><payee>/<TOKEN>=<amount>,...  in netting order; - for none
    /// gross:GOLD=<n>,USD=<n>
    /// net:GOLD=<n>,USD=<n>
    /// ```
    public var record: CanonicalRecord {
        func list(_ obligations: [Obligation]) -> String {
            obligations.isEmpty ? "-" : obligations.map(\.text).joined(separator: ",")
        }
        func perToken(_ sums: [Token: Int128]) -> String {
            Token.allCases.sorted().map { "\($0.rawValue)=\(sums[$0] ?? 0)" }.joined(separator: ",")
        }
        let basisText =
            basis.isEmpty ? "-" : basis.map { "\($0.region)@\($0.height):\($0.hashHex)" }.joined(separator: ",")
        return CanonicalRecord(
            header: Self.header,
            fields: [
                ("cycle", String(number)), ("basis", basisText), ("covered", list(covered)),
                ("instructions", list(result.instructions)), ("gross", perToken(result.gross)),
                ("net", perToken(result.net)),
            ])
    }

    public var signingBytes: [UInt8] { record.bytes }

    /// The instructions `region` takes part in, and its net position per token: what its reserves move
    /// by (positive: they grow), the sum of what it receives less what it pays in those instructions.
    public func share(of region: String) -> (instructions: [Obligation], reserveChange: [Token: Int128]) {
        let mine = result.instructions.filter { $0.payer == region || $0.payee == region }
        var change: [Token: Int128] = [:]
        for (token, positions) in result.positions {
            if let position = positions[region] { change[token] = position }
        }
        return (mine, change)
    }
}

extension SettlementCycle {
    /// A cycle's canonical record read back: what the K$ quorum signs and a region applies. Parsing
    /// checks the form, that basis and covered are sorted without repeats, that the instructions are
    /// exactly what netting the covered obligations gives, and that gross and net are their sums.
    public struct Recorded: Sendable, Hashable {
        public let number: Int64
        public let basis: [Basis]
        public let covered: [Obligation]
        public let instructions: [Obligation]
        public let gross: [Token: Int128]
        public let net: [Token: Int128]
        public let bytes: [UInt8]

        static let fieldNames = ["cycle", "basis", "covered", "instructions", "gross", "net"]

        public init(recordBytes bytes: [UInt8]) throws(RecordError) {
            let values = try CanonicalRecord.parse(bytes, header: SettlementCycle.header, names: Self.fieldNames)
            guard let number = Identifier.canonicalInteger(values[0][...], in: 1...Int64.max) else {
                throw RecordError("cycle: must be a canonical integer of at least 1")
            }
            func list(_ text: String, _ name: String) throws(RecordError) -> [Obligation] {
                guard text != "-" else { return [] }
                var result: [Obligation] = []
                for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let obligation = Obligation(text: item) else { throw RecordError("\(name): malformed item") }
                    result.append(obligation)
                }
                return result
            }
            func sums(_ text: String, _ name: String) throws(RecordError) -> [Token: Int128] {
                var result: [Token: Int128] = [:]
                let items = text.split(separator: ",", omittingEmptySubsequences: false)
                guard items.count == Token.allCases.count else { throw RecordError("\(name): one sum per token") }
                for (item, token) in zip(items, Token.allCases.sorted()) {
                    let parts = item.split(separator: "=", omittingEmptySubsequences: false)
                    guard parts.count == 2, parts[0] == token.rawValue[...], let sum = Int128(parts[1]),
                        sum >= 0, String(sum) == parts[1]
                    else { throw RecordError("\(name): malformed sum") }
                    result[token] = sum
                }
                return result
            }
            var basis: [Basis] = []
            if values[1] != "-" {
                for item in values[1].split(separator: ",", omittingEmptySubsequences: false) {
                    let at = item.split(separator: "@", omittingEmptySubsequences: false)
                    let rest = at.count == 2 ? at[1].split(separator: ":", omittingEmptySubsequences: false) : []
                    guard rest.count == 2, Identifier.isValidRegionCode(at[0]),
                        let height = Identifier.canonicalInteger(rest[0], in: 1...Int64.max),
                        Identifier.isValidHex(rest[1], byteCount: 32)
                    else { throw RecordError("basis: malformed item") }
                    basis.append(Basis(region: String(at[0]), height: height, hashHex: String(rest[1])))
                }
            }
            let covered = try list(values[2], "covered")
            let instructions = try list(values[3], "instructions")
            let gross = try sums(values[4], "gross")
            let net = try sums(values[5], "net")
            guard zip(basis, basis.dropFirst()).allSatisfy({ $0.region < $1.region }) else {
                throw RecordError("basis: regions must be sorted, each once")
            }
            guard zip(covered, covered.dropFirst()).allSatisfy({ Obligation.precedes($0, $1) }) else {
                throw RecordError("covered: obligations must be sorted by payer, payee and token, each once")
            }
            let netted: NettingResult
            do {
                netted = try MultilateralNetting.net(covered)
            } catch {
                throw RecordError("covered: \(error)")
            }
            guard netted.instructions == instructions else {
                throw RecordError("instructions: not what netting the covered obligations gives")
            }
            guard netted.gross == gross, netted.net == net else {
                throw RecordError("gross or net is not the sum of the covered obligations or of the instructions")
            }
            (self.number, self.basis, self.covered, self.instructions) = (number, basis, covered, instructions)
            (self.gross, self.net, self.bytes) = (gross, net, bytes)
        }

        public func efficiency(_ token: Token) -> LiquidityEfficiency {
            LiquidityEfficiency(gross: gross[token] ?? 0, net: net[token] ?? 0)
        }
    }
}
