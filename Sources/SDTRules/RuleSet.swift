import SDTCore
import SDTCrypto

/// A region's transfer rules: a versioned, hashed file that a lawyer can read (format in
/// `regions/RULES.md`). Every rule whose conditions all hold *matches*; the most restrictive matching
/// decision wins (reject over hold over accept), and the first matching rule in file order with that
/// decision is the one named. Flags of every matching rule are recorded. No match: accept.
public struct RuleSet: Sendable {
    public let region: String
    public let version: Int64
    public let summary: String
    public let rules: [Rule]
    /// The file's exact text; its SHA3-256 identifies the set.
    public let text: String
    public let sha3Hex: String

    /// How far back velocity rules look; history older than this is never needed. Computed once:
    /// the applier asks for every transfer.
    public let longestVelocityWindowMilliseconds: Int64

    /// `<version>:<sha3 hex>`, as written into every block header.
    public var reference: String { "\(version):\(sha3Hex)" }

    /// The hex SHA3-256 of a rule file's bytes: what a `set_rules` action signs.
    public static func sha3Hex(of bytes: [UInt8]) -> String { Hex.encode(SHA3.hash256(bytes)) }

    public init(text: String) throws(RuleSetError) {
        self.text = text
        sha3Hex = Self.sha3Hex(of: Array(text.utf8))
        let parsed = try RuleSetParser.parse(text)
        region = parsed.region
        version = parsed.version
        summary = parsed.summary
        rules = parsed.rules
        longestVelocityWindowMilliseconds = (parsed.rules.compactMap(\.velocity?.windowHours).max() ?? 0) * 3_600_000
    }

    /// Decides on a transfer. `velocity` answers the sender's outgoing amount and count in `token`
    /// at or after a time (ms), before this transfer; it is asked only when a rule needs it.
    public func evaluate<E: Error>(
        _ facts: TransferFacts,
        velocity: (_ account: String, _ token: Token, _ sinceMilliseconds: Int64) throws(E) -> (amount: Int64, count: Int64)
    ) throws(E) -> RuleDecision {
        var decidingRule: Rule?
        var flags: [String] = []
        var flagRules: [String: String] = [:]
        for rule in rules where try rule.matches(facts, velocity: velocity) {
            if let flag = rule.flag, !flags.contains(flag) {
                flags.append(flag)
                flagRules[flag] = rule.id
            }
            if decidingRule == nil || rule.decision.severity > decidingRule!.decision.severity { decidingRule = rule }
        }
        return RuleDecision(
            verdict: decidingRule?.decision ?? .accept, ruleID: decidingRule?.id, reason: decidingRule?.reason,
            flags: flags, flagRules: flagRules, ruleSetVersion: version
        )
    }
}

public struct RuleSetError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What the rules see of a transfer: accounts, their jurisdictions and KYC tiers, token and amount.
public struct TransferFacts: Sendable {
    public var from: String
    public var to: String
    public var token: Token
    public var amount: Int64
    public var senderJurisdiction: String
    public var receiverJurisdiction: String
    public var senderKYCTier: Int
    public var receiverKYCTier: Int
    public var nowMilliseconds: Int64

    public init(
        from: String, to: String, token: Token, amount: Int64, senderJurisdiction: String, receiverJurisdiction: String,
        senderKYCTier: Int, receiverKYCTier: Int, nowMilliseconds: Int64
    ) {
        self.from = from
        self.to = to
        self.token = token
        self.amount = amount
        self.senderJurisdiction = senderJurisdiction
        self.receiverJurisdiction = receiverJurisdiction
        self.senderKYCTier = senderKYCTier
        self.receiverKYCTier = receiverKYCTier
        self.nowMilliseconds = nowMilliseconds
    }
}

public enum Verdict: String, Sendable, CaseIterable {
    case accept
    case hold
    case reject

    var severity: Int {
        switch self {
        case .accept: 0
        case .hold: 1
        case .reject: 2
        }
    }
}

public struct RuleDecision: Sendable, Hashable {
    public let verdict: Verdict
    /// The rule that decided; nil when no rule matched.
    public let ruleID: String?
    public let reason: String?
    public let flags: [String]
    /// For each flag, the first matching rule that raised it.
    public let flagRules: [String: String]
    public let ruleSetVersion: Int64
}

public struct Rule: Sendable {
    public struct Velocity: Sendable {
        public let windowHours: Int64
        /// Matches when the sender's outgoing amount in the window, this transfer included, exceeds this.
        public let amountOver: Int64?
        /// Matches when the sender's outgoing count in the window, this transfer included, exceeds this.
        public let countOver: Int64?
    }

    public let id: String
    public let decision: Verdict
    public let reason: String
    public let flag: String?
    public internal(set) var token: Token?
    public internal(set) var amountAtLeast: Int64?
    public internal(set) var amountBelow: Int64?
    public internal(set) var senderJurisdictionIn: [String]?
    public internal(set) var senderJurisdictionNotIn: [String]?
    public internal(set) var receiverJurisdictionIn: [String]?
    public internal(set) var receiverJurisdictionNotIn: [String]?
    public internal(set) var senderKYCTierBelow: Int?
    public internal(set) var receiverKYCTierBelow: Int?
    public internal(set) var senderIn: Set<String>?
    public internal(set) var receiverIn: Set<String>?
    public internal(set) var velocity: Velocity?

    init(id: String, decision: Verdict, reason: String, flag: String?) {
        self.id = id
        self.decision = decision
        self.reason = reason
        self.flag = flag
    }

    /// The token alone is not a condition: a rule must say something about the transfer beyond it.
    var hasCondition: Bool {
        amountAtLeast != nil || amountBelow != nil || senderJurisdictionIn != nil || senderJurisdictionNotIn != nil
            || receiverJurisdictionIn != nil || receiverJurisdictionNotIn != nil || senderKYCTierBelow != nil
            || receiverKYCTierBelow != nil || senderIn != nil || receiverIn != nil || velocity != nil
    }

    /// `US` stands for the country and every subdivision of it; `US-TX` for that subdivision only.
    static func jurisdiction(_ code: String, isIn list: [String]) -> Bool {
        list.contains { $0 == code || (!$0.contains("-") && code.hasPrefix($0 + "-")) }
    }

    func matches<E: Error>(
        _ facts: TransferFacts, velocity source: (String, Token, Int64) throws(E) -> (amount: Int64, count: Int64)
    ) throws(E) -> Bool {
        if let token, facts.token != token { return false }
        if let amountAtLeast, facts.amount < amountAtLeast { return false }
        if let amountBelow, facts.amount >= amountBelow { return false }
        if let list = senderJurisdictionIn, !Self.jurisdiction(facts.senderJurisdiction, isIn: list) { return false }
        if let list = senderJurisdictionNotIn, Self.jurisdiction(facts.senderJurisdiction, isIn: list) { return false }
        if let list = receiverJurisdictionIn, !Self.jurisdiction(facts.receiverJurisdiction, isIn: list) { return false }
        if let list = receiverJurisdictionNotIn, Self.jurisdiction(facts.receiverJurisdiction, isIn: list) { return false }
        if let tier = senderKYCTierBelow, facts.senderKYCTier >= tier { return false }
        if let tier = receiverKYCTierBelow, facts.receiverKYCTier >= tier { return false }
        if let accounts = senderIn, !accounts.contains(facts.from) { return false }
        if let accounts = receiverIn, !accounts.contains(facts.to) { return false }
        // Velocity reads history, so it is checked last and only when everything else matched.
        if let velocity {
            let since = facts.nowMilliseconds - velocity.windowHours * 3_600_000
            let prior = try source(facts.from, facts.token, since)
            let overAmount = velocity.amountOver.map { prior.amount + facts.amount > $0 } ?? false
            let overCount = velocity.countOver.map { prior.count + 1 > $0 } ?? false
            if !overAmount && !overCount { return false }
        }
        return true
    }
}

/// Two rule sets are the same when their texts are: the text is what the ledger hashes and stores.
extension RuleSet: Hashable {
    public static func == (lhs: RuleSet, rhs: RuleSet) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(sha3Hex) }
}
