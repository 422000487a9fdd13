import SDTCore
import TOMLKit

/// Reads a rule-set file. Every mistake is refused with the rule id and key that are wrong.
enum RuleSetParser {
    static let topKeys: Set<String> = ["region", "version", "summary", "rule"]
    static let ruleKeys: Set<String> = [
        "id", "decision", "reason", "flag", "token", "amount_at_least", "amount_below",
        "sender_jurisdiction_in", "sender_jurisdiction_not_in", "receiver_jurisdiction_in", "receiver_jurisdiction_not_in",
        "sender_kyc_tier_below", "receiver_kyc_tier_below", "sender_in", "receiver_in",
        "velocity_window_hours", "velocity_amount_over", "velocity_count_over",
    ]
    static let rulesMax = 1_000

    static func parse(_ text: String) throws(RuleSetError) -> (region: String, version: Int64, summary: String, rules: [Rule]) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch {
            throw RuleSetError("not valid TOML: \(error)")
        }
        try refuseUnknown(table, allowed: topKeys, in: "the top level")
        guard let region = table["region"]?.string, Identifier.isValidRegionCode(region[...]) else {
            throw RuleSetError("region: a region code like \"us-tx\" is required")
        }
        guard let version = table["version"]?.int, (1...1_000_000).contains(version) else {
            throw RuleSetError("version: an integer 1...1000000 is required")
        }
        guard let summary = table["summary"]?.string, Identifier.isValidText(summary[...], lengthMax: 500) else {
            throw RuleSetError("summary: one line of text (at most 500 characters) is required")
        }
        guard let ruleArray = table["rule"]?.array else {
            throw RuleSetError("no rules: add [[rule]] tables (a set with no rule accepts every transfer; say so with one accept rule)")
        }
        guard ruleArray.count <= rulesMax else { throw RuleSetError("\(ruleArray.count) rules; at most \(rulesMax)") }
        var rules: [Rule] = []
        var ids: Set<String> = []
        for (index, element) in ruleArray.enumerated() {
            guard let ruleTable = element.table else { throw RuleSetError("rule \(index + 1): must be a [[rule]] table") }
            let rule = try parseRule(ruleTable, position: index + 1)
            guard ids.insert(rule.id).inserted else { throw RuleSetError("rule \(rule.id): the id is used twice") }
            rules.append(rule)
        }
        return (region, Int64(version), summary, rules)
    }

    private static func parseRule(_ table: TOMLTable, position: Int) throws(RuleSetError) -> Rule {
        guard let id = table["id"]?.string, isValidRuleID(id) else {
            throw RuleSetError("rule \(position): id is required: 1-40 of A-Z 0-9 and '-', like \"TX-CTR-10K\"")
        }
        func fail(_ message: String) -> RuleSetError { RuleSetError("rule \(id): \(message)") }
        try refuseUnknown(table, allowed: ruleKeys, in: "rule \(id)")
        guard let decisionText = table["decision"]?.string, let decision = Verdict(rawValue: decisionText) else {
            throw fail("decision must be \"accept\", \"hold\" or \"reject\"")
        }
        guard let reason = table["reason"]?.string, Identifier.isValidText(reason[...], lengthMax: 500) else {
            throw fail("reason is required: one line of text saying why, at most 500 characters")
        }
        var flag: String?
        if table.contains(key: "flag") {
            guard let value = table["flag"]?.string, isValidFlag(value) else {
                throw fail("flag must be 1-40 of a-z 0-9 and '_', like \"currency_transaction_report\"")
            }
            flag = value
        }
        var rule = Rule(id: id, decision: decision, reason: reason, flag: flag)
        if table.contains(key: "token") {
            guard let text = table["token"]?.string, let token = Token(rawValue: text) else { throw fail("token must be \"USD\" or \"GOLD\"") }
            rule.token = token
        }
        rule.amountAtLeast = try amount(table, "amount_at_least", rule: rule)
        rule.amountBelow = try amount(table, "amount_below", rule: rule)
        for (key, path) in [
            ("sender_jurisdiction_in", \Rule.senderJurisdictionIn), ("sender_jurisdiction_not_in", \Rule.senderJurisdictionNotIn),
            ("receiver_jurisdiction_in", \Rule.receiverJurisdictionIn), ("receiver_jurisdiction_not_in", \Rule.receiverJurisdictionNotIn),
        ] where table.contains(key: key) {
            let codes = try strings(table, key, rule: id)
            for code in codes where !Identifier.isValidJurisdiction(code[...]) {
                throw fail("\(key): '\(code)' is not a country (MX) or subdivision (US-TX) code")
            }
            rule[keyPath: path] = codes
        }
        for (key, path) in [("sender_kyc_tier_below", \Rule.senderKYCTierBelow), ("receiver_kyc_tier_below", \Rule.receiverKYCTierBelow)]
        where table.contains(key: key) {
            guard let tier = table[key]?.int, (1...KYCTier.range.upperBound + 1).contains(tier) else {
                throw fail("\(key) must be an integer 1...\(KYCTier.range.upperBound + 1)")
            }
            rule[keyPath: path] = tier
        }
        for (key, path) in [("sender_in", \Rule.senderIn), ("receiver_in", \Rule.receiverIn)] where table.contains(key: key) {
            let accounts = try strings(table, key, rule: id)
            for account in accounts where !Identifier.isValidAccountID(account[...]) { throw fail("\(key): '\(account)' is not an account id") }
            rule[keyPath: path] = Set(accounts)
        }
        try parseVelocity(table, into: &rule)
        guard rule.hasCondition else {
            throw fail("has no condition, so it would apply to every transfer; add at least one condition")
        }
        return rule
    }

    /// A quoted decimal amount in the rule's token, or nil when the key is absent.
    private static func amount(_ table: TOMLTable, _ key: String, rule: Rule) throws(RuleSetError) -> Int64? {
        guard table.contains(key: key) else { return nil }
        guard let token = rule.token else { throw RuleSetError("rule \(rule.id): \(key) needs token = \"USD\" or \"GOLD\" in the same rule") }
        guard let text = table[key]?.string, let minor = token.minorUnits(decimal: text), minor > 0 else {
            throw RuleSetError("rule \(rule.id): \(key) must be a quoted positive amount in \(token.rawValue) with at most \(token.fractionDigits) decimals, like \"10000.00\"")
        }
        return minor
    }

    private static func parseVelocity(_ table: TOMLTable, into rule: inout Rule) throws(RuleSetError) {
        let hasWindow = table.contains(key: "velocity_window_hours")
        let amountOver = try amount(table, "velocity_amount_over", rule: rule)
        var countOver: Int64?
        if table.contains(key: "velocity_count_over") {
            guard let count = table["velocity_count_over"]?.int, count >= 1 else {
                throw RuleSetError("rule \(rule.id): velocity_count_over must be a positive integer")
            }
            countOver = Int64(count)
        }
        let hasLimit = amountOver != nil || countOver != nil
        guard hasWindow == hasLimit else {
            throw RuleSetError("rule \(rule.id): velocity_window_hours goes with velocity_amount_over or velocity_count_over, and they with it")
        }
        guard hasWindow else { return }
        guard rule.token != nil else { throw RuleSetError("rule \(rule.id): a velocity limit needs token = \"USD\" or \"GOLD\"") }
        guard let hours = table["velocity_window_hours"]?.int, (1...8_784).contains(hours) else {
            throw RuleSetError("rule \(rule.id): velocity_window_hours must be an integer 1...8784 (one leap year)")
        }
        rule.velocity = Rule.Velocity(windowHours: Int64(hours), amountOver: amountOver, countOver: countOver)
    }

    private static func strings(_ table: TOMLTable, _ key: String, rule id: String) throws(RuleSetError) -> [String] {
        guard let array = table[key]?.array, !array.isEmpty else { throw RuleSetError("rule \(id): \(key) must be a non-empty list of strings") }
        var values: [String] = []
        for element in array {
            guard let value = element.string else { throw RuleSetError("rule \(id): \(key) must be a list of strings") }
            values.append(value)
        }
        return values
    }

    private static func refuseUnknown(_ table: TOMLTable, allowed: Set<String>, in place: String) throws(RuleSetError) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw RuleSetError("unknown key '\(key)' in \(place); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func isValidRuleID(_ id: String) -> Bool {
        (1...40).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    private static func isValidFlag(_ flag: String) -> Bool {
        (1...40).contains(flag.utf8.count) && flag.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }
}
