import SDTCore

/// What one region owes another in one token, in minor units.
public struct Obligation: Sendable, Hashable {
    public let payer: String
    public let payee: String
    public let token: Token
    public let amount: Int64

    public init(payer: String, payee: String, token: Token, amount: Int64) {
        self.payer = payer
        self.payee = payee
        self.token = token
        self.amount = amount
    }

    /// `payer>payee/TOKEN=amount`, the form settlement records list obligations and instructions in.
    public var text: String { "\(payer)>\(payee)/\(token.rawValue)=\(amount)" }

    /// Parses `text`'s form; nil unless both are region codes, the token is known and the amount is a
    /// canonical positive integer.
    public init?(text: some StringProtocol) {
        let sides = text.split(separator: ">", omittingEmptySubsequences: false)
        guard sides.count == 2 else { return nil }
        let rest = sides[1].split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2 else { return nil }
        let value = rest[1].split(separator: "=", omittingEmptySubsequences: false)
        guard value.count == 2, Identifier.isValidRegionCode(Substring(sides[0])),
            Identifier.isValidRegionCode(Substring(rest[0])), let token = Token(rawValue: String(value[0])),
            let amount = Identifier.canonicalInteger(Substring(value[1]), in: 1...Int64.max)
        else { return nil }
        self.init(payer: String(sides[0]), payee: String(rest[0]), token: token, amount: amount)
    }

    /// The order settlement records list obligations in: payer, payee, token.
    static func precedes(_ left: Obligation, _ right: Obligation) -> Bool {
        (left.payer, left.payee, left.token.rawValue) < (right.payer, right.payee, right.token.rawValue)
    }
}

/// Why a netting could not be computed. Nothing is settled when it throws.
public struct NettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Gross obligations over what actually moves: how many units of obligation each unit of liquidity
/// settles. CHIPS publishes 29:1 for 2024. Kept as the exact pair of integers; the text forms round
/// toward zero, to two decimals, and say so.
public struct LiquidityEfficiency: Sendable, Hashable, CustomStringConvertible {
    public let gross: Int128
    public let net: Int128

    /// `29.00:1` (gross ÷ net, rounded toward zero to hundredths); `all offset` when obligations exist
    /// but cancel to nothing; `no obligations` when there were none.
    public var description: String {
        guard net > 0 else { return gross > 0 ? "all offset" : "no obligations" }
        let hundredths = gross * 100 / net
        return "\(hundredths / 100).\(Self.twoDigits(hundredths % 100)):1"
    }

    /// Share of the gross that did not have to move, in percent rounded toward zero to hundredths
    /// (`96.55%`): CLS states its savings this way. `-` when there were no obligations.
    public var liquiditySaved: String {
        guard gross > 0 else { return "-" }
        let basisPoints = (gross - net) * 10_000 / gross
        return "\(basisPoints / 100).\(Self.twoDigits(basisPoints % 100))%"
    }

    private static func twoDigits(_ value: Int128) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// The result of netting a set of obligations multilaterally, per token.
public struct NettingResult: Sendable, Hashable {
    /// Sum of the obligations netted, per token (every token present, zero when none).
    public let gross: [Token: Int128]
    /// Sum of the instructions' amounts, per token: what actually moves.
    public let net: [Token: Int128]
    /// Each region's net position per token: positive receives, negative pays. Zero positions are left
    /// out. The positions of a token sum to zero.
    public let positions: [Token: [String: Int128]]
    /// One instruction per payer → payee pair and token, in the order `MultilateralNetting` fixes.
    public let instructions: [Obligation]

    public func efficiency(_ token: Token) -> LiquidityEfficiency {
        LiquidityEfficiency(gross: gross[token] ?? 0, net: net[token] ?? 0)
    }
}

/// Multilateral netting: every region's obligations and receivables in a token collapse to one net
/// position, and the positions are settled by as few transfers as a fixed greedy order gives.
///
/// The order (so that the same obligations give the same instructions, byte for byte, on every run
/// and every machine): per token in token order, the payers (negative positions) sorted by region
/// code and the payees (positive positions) sorted by region code are walked together; each step moves
/// the smaller of what the current payer still owes and what the current payee is still owed, and
/// advances past whichever is settled (both, when equal). This gives at most payers + payees − 1
/// instructions per token, never a region paying and receiving in the same token.
public enum MultilateralNetting {
    public static func net(_ obligations: some Sequence<Obligation>) throws(NettingError) -> NettingResult {
        var gross: [Token: Int128] = [:]
        var positions: [Token: [String: Int128]] = [:]
        for obligation in obligations {
            guard obligation.amount > 0 else {
                throw NettingError("the obligation \(obligation.text) is not a positive amount")
            }
            guard obligation.payer != obligation.payee else {
                throw NettingError("the obligation \(obligation.text) has the same payer and payee")
            }
            let amount = Int128(obligation.amount)
            gross[obligation.token, default: 0] += amount
            positions[obligation.token, default: [:]][obligation.payer, default: 0] -= amount
            positions[obligation.token, default: [:]][obligation.payee, default: 0] += amount
        }
        var instructions: [Obligation] = []
        var net: [Token: Int128] = [:]
        var kept: [Token: [String: Int128]] = [:]
        for token in Token.allCases.sorted() {
            gross[token, default: 0] += 0
            net[token] = 0
            let nonzero = (positions[token] ?? [:]).filter { $0.value != 0 }
            kept[token] = nonzero
            var payers = nonzero.filter { $0.value < 0 }.map { ($0.key, -$0.value) }.sorted { $0.0 < $1.0 }[...]
            var payees = nonzero.filter { $0.value > 0 }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }[...]
            while var payer = payers.first, var payee = payees.first {
                let moved = min(payer.1, payee.1)
                guard let amount = Int64(exactly: moved) else {
                    throw NettingError(
                        "\(payer.0) would pay \(payee.0) \(moved) \(token.rawValue) minor units in one instruction, "
                            + "more than an instruction can carry (\(Int64.max))")
                }
                instructions.append(Obligation(payer: payer.0, payee: payee.0, token: token, amount: amount))
                net[token, default: 0] += moved
                payer.1 -= moved
                payee.1 -= moved
                if payer.1 == 0 { payers.removeFirst() } else { payers[payers.startIndex] = payer }
                if payee.1 == 0 { payees.removeFirst() } else { payees[payees.startIndex] = payee }
            }
        }
        return NettingResult(gross: gross, net: net, positions: kept, instructions: instructions)
    }
}
