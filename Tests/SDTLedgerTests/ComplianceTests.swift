import Foundation
import SDTCore
import SDTCrypto
import SDTRules
import SDTTesting
import Testing
@testable import SDTLedger

@Suite struct ReservesTests {
    @Test func mintsNeedANewReserveRecordAndRedemptionsReleaseIt() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        let outcomes = try ledger.apply(
            ledger.operatorAction(.mintUSD, "bob", ReserveFields.deposit(500, "DEP-1")),
            ledger.operatorAction(.mintGold, "bob", ReserveFields.bar(1_000_000, "BAR-1")),
            ledger.operatorAction(.mintGold, "alice", ReserveFields.bar(1_000_000, "BAR-1")),
            ledger.operatorAction(.redeemGold, "bob", [.amount: "999999", .barSerial: "BAR-1"]),
            ledger.operatorAction(.redeemGold, "bob", [.amount: "5", .barSerial: "BAR-404"]),
            ledger.transfer("bob", "alice", 1, key: bob, token: "GOLD"),
            ledger.operatorAction(.redeemGold, "bob", [.amount: "1000000", .barSerial: "BAR-1"]),
            ledger.operatorAction(.redeemUSD, "alice", ReserveFields.deposit(20_000, "WD-1"))
        )
        #expect(outcomes.map(\.code) == [
            .reserveReferenceUsed, .accepted, .reserveReferenceUsed, .barWeightMismatch, .barUnknown, .accepted, .insufficientFunds, .accepted,
        ])
        let reserves = try LedgerReader(path: ledger.path).reserves()
        #expect(reserves.supply == [.usd: 80_000, .gold: 1_000_000])
        #expect(reserves.reserves == [.usd: 80_000, .gold: 1_000_000])
        #expect(reserves.usdDeposits == 100_000 && reserves.usdWithdrawals == 20_000 && reserves.barsHeld == 1)
        // The bar can go once its holder has its full weight back.
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: alice, token: "GOLD"))[0].code == .accepted)
        #expect(try ledger.apply(ledger.operatorAction(.redeemGold, "bob", [.amount: "1000000", .barSerial: "BAR-1"]))[0].code == .accepted)
        #expect(try LedgerReader(path: ledger.path).bars(after: "", limit: 10).isEmpty)
        #expect(try LedgerReader(path: ledger.path).bar(serial: "BAR-1").first?.releasedSequence != nil)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func aBarWhoseWeightsDoNotAddUpIsRefusedBeforeAnythingIsSigned() throws {
        var fields = ReserveFields.bar(1_000, "BAR-2")
        fields[.account] = "alice"
        fields[.fineness] = "9999"
        #expect(throws: RecordError.self) {
            try OperatorAction(region: "us-tx", requestID: "r", kind: .mintGold, fields: fields, operatorKeyHex: String(repeating: "a", count: 64))
        }
        fields[.amount] = "999"
        let action = try OperatorAction(region: "us-tx", requestID: "r", kind: .mintGold, fields: fields, operatorKeyHex: String(repeating: "a", count: 64))
        guard case .mintGold(let bar) = action.command else {
            Issue.record("a mint_gold action's command is \(action.command)")
            return
        }
        #expect(bar.amount.minorUnits == 999)
        #expect(bar.grossWeightMilligrams == 1_000 && bar.fineness == 9999)
    }

    @Test func everyBlockStatesReservesEqualToSupplyAndCommitsToTheRecords() throws {
        let ledger = try LedgerFixture()
        _ = try ledger.openTwoHolders()
        try ledger.apply(ledger.operatorAction(.mintGold, "bob", ReserveFields.bar(31_103, "BAR-9")))
        try ledger.sealAndSign()
        let reader = try LedgerReader(path: ledger.path)
        let last = try #require(try reader.block(height: try reader.head().sealedHeight))
        #expect(last.header.reserves == [.usd: 100_000, .gold: 31_103])
        #expect(last.header.supply == last.header.reserves)
        #expect(last.header.reserveRootHex != Hex.encode(Merkle.root(leafHashesOrNone: [])))
        #expect(try ledger.audit().isIntact)
        // A reserve record changed behind the ledger's back is named by the audit.
        try ledger.tamper("UPDATE reserve_records SET amount = amount + 1 WHERE reference = 'BAR-9'")
        #expect(try ledger.audit().firstProblem?.contains("reserve_records") == true)
    }
}

@Suite struct RulesInTheLedgerTests {
    static let rulesText = """
        region = "us-tx"
        version = 1
        summary = "Test rules."

        [[rule]]
        id = "T-ABROAD"
        decision = "reject"
        reason = "USD stays in the US."
        token = "USD"
        receiver_jurisdiction_not_in = ["US"]

        [[rule]]
        id = "T-REVIEW"
        decision = "hold"
        flag = "large"
        reason = "Large USD transfers wait for review."
        token = "USD"
        amount_at_least = "500.00"

        [[rule]]
        id = "T-VELOCITY"
        decision = "reject"
        reason = "At most 3 USD transfers a day."
        token = "USD"
        velocity_window_hours = 24
        velocity_count_over = 3

        """

    func ledgerWithRules() throws -> (LedgerFixture, SigningKey, SigningKey) {
        let ledger = try LedgerFixture()
        #expect(try ledger.writer.installRules(fromFile: RuleSet(text: Self.rulesText), nowMilliseconds: ledger.now) != nil)
        let (alice, bob) = try ledger.openTwoHolders()
        return (ledger, alice, bob)
    }

    @Test func rejectionsAndHoldsNameTheRuleAndSurviveResubmission() throws {
        let (ledger, alice, _) = try ledgerWithRules()
        try ledger.apply(ledger.operatorAction(.openAccount, "carla", [.jurisdiction: "MX", .kycTier: "2", .deviceKey: SigningKey().publicKeyHex]))
        let abroad = try ledger.transfer("alice", "carla", 100, key: alice)
        let first = try ledger.apply(abroad)[0]
        #expect(first.code == .ruleRejected && first.ruleID == "T-ABROAD" && first.ruleSetVersion == 1)
        #expect(try ledger.apply(abroad)[0] == first)
        let large = try ledger.transfer("alice", "bob", 50_000, key: alice)
        let held = try ledger.apply(large)[0]
        #expect(held.code == .heldForReview && held.ruleID == "T-REVIEW" && held.sequence == nil)
        #expect(try ledger.apply(large)[0] == held)
        let reader = try LedgerReader(path: ledger.path)
        #expect(try reader.status(kind: .transfer, entryID: large.entryID)?.state == .held)
        #expect(try reader.account("alice")?.balances[.usd] == 100_000)
        // Approval applies it (with the rule's flag); a second review finds nothing open.
        let approve = try ledger.operatorAction(.review, "", [.transactionID: large.entryID, .decision: "approve", .reason: "checked"])
        let outcomes = try ledger.apply(approve)
        #expect(outcomes.map(\.code) == [.accepted, .accepted])
        #expect(outcomes[1].entryID == large.entryID && outcomes[1].sequence == outcomes[0].sequence! + 1)
        let status = try reader.status(kind: .transfer, entryID: large.entryID)
        #expect(status?.state == .accepted && status?.flags == ["large"])
        #expect(try ledger.apply(ledger.operatorAction(.review, "", [.transactionID: large.entryID, .decision: "reject", .reason: "x"]))[0].code == .holdUnknown)
        // A rejected review rejects the transfer for good.
        let second = try ledger.transfer("alice", "bob", 50_000, key: alice)
        #expect(try ledger.apply(second)[0].code == .heldForReview)
        try ledger.apply(ledger.operatorAction(.review, "", [.transactionID: second.entryID, .decision: "reject", .reason: "no invoice"]))
        #expect(try reader.status(kind: .transfer, entryID: second.entryID)?.code == .reviewRejected)
        #expect(try ledger.apply(second)[0].code == .reviewRejected)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func velocityCountsAppliedTransfersInTheWindow() throws {
        let (ledger, alice, _) = try ledgerWithRules()
        var codes: [OutcomeCode] = []
        for _ in 0..<4 { codes.append(try ledger.apply(ledger.transfer("alice", "bob", 1, key: alice))[0].code) }
        #expect(codes == [.accepted, .accepted, .accepted, .ruleRejected])
        ledger.now += 25 * 3_600_000
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: alice))[0].code == .accepted)
        // A fresh writer (a restart) reads the history back from the ledger.
        let reopened = try LedgerWriter(path: ledger.path, policy: ledger.policy)
        _ = try reopened.installRules(fromFile: nil, nowMilliseconds: ledger.now)
        #expect(reopened.ruleSet?.version == 1)
        let outcomes = try reopened.apply((0..<3).map { _ in try ledger.transfer("alice", "bob", 1, key: alice) }, nowMilliseconds: ledger.now)
        #expect(outcomes.map(\.code) == [.accepted, .accepted, .ruleRejected])
    }

    @Test func aNewRuleSetIsASignedActionAndOldVersionsStayQueryable() throws {
        let (ledger, alice, _) = try ledgerWithRules()
        let next = Self.rulesText.replacingOccurrences(of: "version = 1", with: "version = 2")
            .replacingOccurrences(of: "amount_at_least = \"500.00\"", with: "amount_at_least = \"5000.00\"")
        let nextSet = try RuleSet(text: next)
        func setRules(_ version: String, _ sha3: String, _ text: String) throws -> OutcomeCode {
            try ledger.apply(ledger.operatorAction(.setRules, "", [.rulesVersion: version, .rulesSHA3: sha3, .reason: "raise the review threshold"],
                                                   attachment: Array(text.utf8)))[0].code
        }
        #expect(try setRules("2", nextSet.sha3Hex, next + "\n") == .rulesHashMismatch)
        #expect(try setRules("1", try RuleSet(text: Self.rulesText).sha3Hex, Self.rulesText) == .rulesVersionNotNewer)
        let broken = next.replacingOccurrences(of: "decision = \"hold\"", with: "decision = \"maybe\"")
        #expect(try setRules("2", Hex.encode(SHA3.hash256(Array(broken.utf8))), broken) == .rulesInvalid)
        #expect(try setRules("2", nextSet.sha3Hex, next) == .accepted)
        #expect(ledger.writer.ruleSet?.version == 2)
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 60_000, key: alice))[0].code == .accepted)
        let reader = try LedgerReader(path: ledger.path)
        #expect(try reader.ruleSet(version: nil)?.version == 2)
        #expect(try reader.ruleSet(version: 1)?.text == Self.rulesText)
        #expect(try reader.ruleSet(version: 2)?.sequence != nil)
        try ledger.sealAndSign()
        let head = try #require(try reader.block(height: try reader.head().sealedHeight))
        #expect(head.header.rules == nextSet.reference)
        #expect(try ledger.audit().isIntact)
        // The file at start must be a version the ledger knows, unchanged; a newer one needs set_rules.
        let reopened = try LedgerWriter(path: ledger.path, policy: ledger.policy)
        #expect(throws: LedgerError.self) { try reopened.installRules(fromFile: RuleSet(text: Self.rulesText + "# edited\n"), nowMilliseconds: 0) }
        let third = try RuleSet(text: next.replacingOccurrences(of: "version = 2", with: "version = 3"))
        #expect(throws: LedgerError.self) { try reopened.installRules(fromFile: third, nowMilliseconds: 0) }
        #expect(try reopened.installRules(fromFile: nextSet, nowMilliseconds: 0) == nil)
    }
}

@Suite struct FreezeAndClawbackTests {
    @Test func frozenAccountsNeitherSendNorReceiveAndClawbackGoesToTheTreasury() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        try ledger.apply(ledger.operatorAction(.openAccount, "treasury", [.jurisdiction: "US-TX", .kycTier: "3", .deviceKey: SigningKey().publicKeyHex]))
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 10_000, key: alice))[0].code == .accepted)
        let directive = [OperatorAction.Field.legalDirective: "Case 2026-CV-1", .reason: "court order"]
        #expect(try ledger.apply(ledger.operatorAction(.freeze, "bob", directive))[0].code == .accepted)
        #expect(try ledger.apply(ledger.operatorAction(.freeze, "bob", directive))[0].code == .alreadyFrozen)
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: alice))[0].code == .accountFrozen)
        #expect(try ledger.apply(ledger.transfer("bob", "alice", 1, key: bob))[0].code == .accountFrozen)
        var clawback = directive
        clawback[.token] = "USD"
        clawback[.amount] = "4000"
        clawback[.treasury] = "alice"
        #expect(try ledger.apply(ledger.operatorAction(.clawback, "bob", clawback))[0].code == .treasuryUnknown)
        clawback[.treasury] = "treasury"
        #expect(try ledger.apply(ledger.operatorAction(.clawback, "bob", clawback))[0].code == .accepted)
        #expect(try ledger.apply(ledger.operatorAction(.unfreeze, "bob", directive))[0].code == .accepted)
        #expect(try ledger.apply(ledger.operatorAction(.unfreeze, "bob", directive))[0].code == .notFrozen)
        #expect(try ledger.apply(ledger.transfer("bob", "alice", 1, key: bob))[0].code == .accepted)
        let reader = try LedgerReader(path: ledger.path)
        #expect(try reader.account("treasury")?.balances[.usd] == 4_000)
        #expect(try reader.account("bob")?.balances[.usd] == 5_999)
        let events = try reader.events("bob", after: 0, limit: 10)
        #expect(events.map(\.action) == ["open_account", "freeze", "clawback", "unfreeze"])
        #expect(events[1].legalDirective == "Case 2026-CV-1")
        #expect(try reader.history("bob", after: 0, limit: 10).map(\.kind) == [.transferIn, .clawbackOut, .transferOut])
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }
}

@Suite struct StatisticsTests {
    @Test func aggregatesCountDistinctSendersByJurisdictionAndPeriod() throws {
        let ledger = try LedgerFixture()
        let keys = (0..<1_000).map { _ in SigningKey() }
        var setUp: [Submission] = []
        for (index, key) in keys.enumerated() {
            setUp.append(try ledger.operatorAction(.openAccount, "h\(index)", [.jurisdiction: index < 900 ? "US-TX" : "US-WY", .kycTier: "1", .deviceKey: key.publicKeyHex]))
            setUp.append(try ledger.operatorAction(.mintUSD, "h\(index)", ReserveFields.deposit(100, "D\(index)")))
        }
        _ = try ledger.writer.apply(setUp, nowMilliseconds: ledger.now)
        let transfers = try keys.indices.map { try ledger.transfer("h\($0)", "h\(($0 + 1) % keys.count)", 7, key: keys[$0]) }
        let outcomes = try ledger.writer.apply(transfers, nowMilliseconds: ledger.now)
        #expect(outcomes.allSatisfy { $0.code == .accepted })
        let reader = try LedgerReader(path: ledger.path)
        let all = try reader.statistics(token: .usd, jurisdiction: nil, fromMilliseconds: ledger.now, toMilliseconds: ledger.now + 1)
        #expect(all == TransferStatistics(transfers: 1_000, volume: 7_000, accounts: 1_000))
        let us = try reader.statistics(token: .usd, jurisdiction: "US", fromMilliseconds: ledger.now, toMilliseconds: ledger.now + 1)
        #expect(us.accounts == 1_000)
        let texas = try reader.statistics(token: .usd, jurisdiction: "US-TX", fromMilliseconds: ledger.now, toMilliseconds: ledger.now + 1)
        #expect(texas == TransferStatistics(transfers: 900, volume: 6_300, accounts: 900))
        let later = try reader.statistics(token: .usd, jurisdiction: nil, fromMilliseconds: ledger.now + 1, toMilliseconds: ledger.now + 2)
        #expect(later.accounts == 0)
    }
}
