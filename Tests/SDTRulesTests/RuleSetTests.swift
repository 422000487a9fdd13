import Foundation
import SDTCore
import Testing
@testable import SDTRules

@Suite struct RuleSetTests {
    static let regions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("regions")

    func facts(
        _ token: Token = .usd, _ amount: Int64, from: String = "alice", to: String = "bob", sender: String = "US-TX",
        receiver: String = "US-WY", senderTier: Int = 2, receiverTier: Int = 1
    ) -> TransferFacts {
        TransferFacts(from: from, to: to, token: token, amount: amount, senderJurisdiction: sender, receiverJurisdiction: receiver,
                      senderKYCTier: senderTier, receiverKYCTier: receiverTier, nowMilliseconds: 10 * 86_400_000)
    }

    func decide(_ rules: RuleSet, _ facts: TransferFacts, history: (amount: Int64, count: Int64) = (0, 0)) -> RuleDecision {
        rules.evaluate(facts) { (_, _, _) throws(Never) in history }
    }

    @Test func shippedRuleSetsParseAndNameTheirRegion() throws {
        for region in ["us-tx", "us-wy"] {
            let text = try String(contentsOf: Self.regions.appendingPathComponent("\(region).rules.toml"), encoding: .utf8)
            let rules = try RuleSet(text: text)
            #expect(rules.region == region)
            #expect(rules.version == 1)
            #expect(rules.rules.count == 10)
            #expect(rules.sha3Hex.count == 64)
        }
    }

    @Test func eachRuleKindDecidesAndNamesItself() throws {
        let text = try String(contentsOf: Self.regions.appendingPathComponent("us-tx.rules.toml"), encoding: .utf8)
        let rules = try RuleSet(text: text)
        // Passes: a small domestic dollar transfer.
        let small = decide(rules, facts(.usd, 5_000))
        #expect(small.verdict == .accept && small.ruleID == nil && small.flags.isEmpty)
        // Amount threshold with KYC tier: $10,000 from a tier-1 sender is refused by the KYC rule.
        let lowTier = decide(rules, facts(.usd, 1_000_000, senderTier: 1))
        #expect(lowTier.verdict == .reject && lowTier.ruleID == "TX-CTR-10K-KYC" && lowTier.ruleSetVersion == 1)
        // Accepted and flagged for a currency transaction report at tier 2.
        let reported = decide(rules, facts(.usd, 1_000_000))
        #expect(reported.verdict == .accept && reported.ruleID == "TX-CTR-10K" && reported.flags == ["currency_transaction_report"])
        // Hold at $50,000; the flag still applies.
        let held = decide(rules, facts(.usd, 5_000_000))
        #expect(held.verdict == .hold && held.ruleID == "TX-USD-REVIEW-50K" && held.flags == ["currency_transaction_report"])
        // Jurisdictions: USD abroad is refused; a denied country refuses every token; US subdivisions count as US.
        #expect(decide(rules, facts(.usd, 100, receiver: "MX")).ruleID == "TX-USD-DOMESTIC")
        #expect(decide(rules, facts(.gold, 100, receiver: "KP")).ruleID == "TX-DENIED-JURISDICTION")
        #expect(decide(rules, facts(.gold, 100, receiver: "MX")).verdict == .accept)
        #expect(decide(rules, facts(.usd, 100, receiver: "US-NY")).verdict == .accept)
        // Sanctioned receiver.
        #expect(decide(rules, facts(.gold, 100, to: "blocked.vendor-1")).ruleID == "TX-SANCTIONS")
        // Gold tiers: below 100 g needs tier 1, at or above needs tier 2.
        #expect(decide(rules, facts(.gold, 99_999, senderTier: 0)).ruleID == "TX-GOLD-SMALL-KYC1")
        #expect(decide(rules, facts(.gold, 99_999, senderTier: 1)).verdict == .accept)
        #expect(decide(rules, facts(.gold, 100_000, senderTier: 1)).ruleID == "TX-GOLD-LARGE-KYC2")
        // Velocity: amount over 24 h including this transfer, and count.
        #expect(decide(rules, facts(.usd, 100, senderTier: 2), history: (9_999_900, 3)).verdict == .accept)
        #expect(decide(rules, facts(.usd, 101, senderTier: 2), history: (9_999_900, 3)).ruleID == "TX-USD-DAILY-LIMIT")
        #expect(decide(rules, facts(.gold, 10), history: (500, 49)).verdict == .accept)
        #expect(decide(rules, facts(.gold, 10), history: (500, 50)).ruleID == "TX-GOLD-DAILY-COUNT")
    }

    @Test func rejectBeatsHoldAndTheFirstRejectIsNamed() throws {
        // A $60,000 transfer to Mexico from a tier-1 sender matches three reject rules and the hold rule.
        let rules = try RuleSet(text: String(contentsOf: Self.regions.appendingPathComponent("us-tx.rules.toml"), encoding: .utf8))
        let decision = decide(rules, facts(.usd, 6_000_000, receiver: "MX", senderTier: 1))
        #expect(decision.verdict == .reject && decision.ruleID == "TX-USD-DOMESTIC")
    }

    @Test func velocityIsAskedOnlyWhenTheOtherConditionsHold() throws {
        let rules = try RuleSet(text: String(contentsOf: Self.regions.appendingPathComponent("us-tx.rules.toml"), encoding: .utf8))
        var asked: [Int64] = []
        _ = rules.evaluate(facts(.usd, 100)) { (_, _, since) throws(Never) in
            asked.append(since)
            return (0, 0)
        }
        #expect(asked == [10 * 86_400_000 - 24 * 3_600_000])
        #expect(rules.longestVelocityWindowMilliseconds == 24 * 3_600_000)
    }

    static let header = """
        region = "us-tx"
        version = 2
        summary = "Test rules."

        """

    @Test(arguments: [
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\ntoken = \"USD\"\namount_over = \"1.00\"\n", "unknown key 'amount_over' in rule A"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\ntoken = \"USD\"\namount_at_least = 10000.00\n", "rule A: amount_at_least must be a quoted"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\namount_at_least = \"1\"\ntoken = \"USD\"\n", "rule A: reason is required"),
        ("[[rule]]\nid = \"A\"\ndecision = \"deny\"\nreason = \"r\"\n", "rule A: decision must be"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\namount_at_least = \"1\"\n", "rule A: amount_at_least needs token"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\ntoken = \"USD\"\n", "rule A: has no condition"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\ntoken = \"USD\"\nvelocity_window_hours = 24\n", "rule A: velocity_window_hours goes with"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\nreceiver_jurisdiction_in = [\"Mexico\"]\n", "'Mexico' is not a country"),
        ("[[rule]]\nid = \"A\"\ndecision = \"reject\"\nreason = \"r\"\nsender_kyc_tier_below = 2\n[[rule]]\nid = \"A\"\ndecision = \"hold\"\nreason = \"r\"\nsender_kyc_tier_below = 1\n", "rule A: the id is used twice"),
        ("[[rule]]\nid = \"lower\"\ndecision = \"reject\"\nreason = \"r\"\nsender_kyc_tier_below = 2\n", "rule 1: id is required"),
        ("[[rule]\nid = \"A\"\n", "not valid TOML"),
        ("", "no rules"),
    ])
    func badRuleFilesAreRefusedNamingTheProblem(body: String, expected: String) {
        do {
            _ = try RuleSet(text: Self.header + body)
            Issue.record("accepted a bad rule file; expected: \(expected)")
        } catch {
            #expect(error.description.contains(expected), "got: \(error.description)")
        }
    }

    @Test func theHashIsOfTheExactText() throws {
        let base = Self.header + "[[rule]]\nid = \"A\"\ndecision = \"hold\"\nreason = \"r\"\nsender_kyc_tier_below = 1\n"
        let one = try RuleSet(text: base)
        let two = try RuleSet(text: base + "# a comment changes the text, so the hash\n")
        #expect(one.sha3Hex != two.sha3Hex)
        #expect(one.reference == "2:\(one.sha3Hex)")
    }
}
