import SDTCore
import SDTCrypto
import SDTRules
import SDTTesting
import Testing
@testable import SDTLedger

@Suite struct PendingTransferTests {
    @Test func aPendingTransferReservesFundsUntilThePayerPostsPartOfIt() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        let pending = try ledger.transfer("alice", "bob", 60_000, key: alice, pendingTimeoutSeconds: 3600)
        #expect(try ledger.apply(pending)[0].code == .accepted)
        // Nothing moved, but what is reserved cannot be spent elsewhere, nor clawed back or redeemed.
        #expect(try ledger.balance("alice") == 100_000 && ledger.balance("bob") == 0)
        let outcomes = try ledger.apply(
            ledger.transfer("alice", "bob", 40_001, key: alice),
            ledger.operatorAction(.clawback, "alice", [.token: "USD", .amount: "40001", .treasury: "treasury",
                                                       .legalDirective: "Order 1", .reason: "test"]),
            ledger.operatorAction(.redeemUSD, "alice", ReserveFields.deposit(40_001, "WD-1")),
            ledger.resolve(pending, by: "bob", key: bob, post: 60_000),
            ledger.resolve(pending, by: "alice", key: bob, post: 60_000),
            ledger.resolve(pending, by: "alice", key: alice, post: 60_001)
        )
        #expect(outcomes.map(\.code) == [
            .insufficientFunds, .treasuryUnknown, .insufficientFunds, .notPendingParty, .keyNotRegistered, .postExceedsPending,
        ])
        let post = try ledger.resolve(pending, by: "alice", key: alice, post: 25_000)
        let posted = try ledger.apply(post)[0]
        #expect(posted.code == .accepted)
        #expect(try ledger.apply(post)[0] == posted)
        // The rest went back: alice may spend all she holds again.
        #expect(try ledger.balance("alice") == 75_000 && ledger.balance("bob") == 25_000)
        #expect(try ledger.apply(
            ledger.resolve(pending, by: "alice", key: alice, post: 1), ledger.resolve(pending, by: "bob", key: bob, post: nil)
        ).map(\.code) == [.pendingResolved, .pendingResolved])
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 75_000, key: alice))[0].code == .accepted)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func onlyThePayeeVoidsAndAVoidReleasesEverything() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        let pending = try ledger.transfer("alice", "bob", 100_000, key: alice, pendingTimeoutSeconds: 60)
        let void = try ledger.resolve(pending, by: "bob", key: bob, post: nil)
        let outcomes = try ledger.apply(
            ledger.resolve(pending, by: "alice", key: alice, post: nil), // the payer
            ledger.resolve(ledger.transfer("alice", "bob", 1, key: alice), by: "bob", key: bob, post: nil), // nothing pending
            pending, void, ledger.transfer("alice", "bob", 100_000, key: alice)
        )
        #expect(outcomes.map(\.code) == [.pendingUnknown, .pendingUnknown, .accepted, .accepted, .accepted])
        #expect(try ledger.apply(void, ledger.resolve(pending, by: "alice", key: alice, post: 5)).map(\.code) == [.accepted, .pendingResolved])
        #expect(try ledger.balance("bob") == 100_000)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func atItsTimeoutAPendingTransferExpiresAndCanNoLongerBePosted() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        let first = try ledger.transfer("alice", "bob", 70_000, key: alice, pendingTimeoutSeconds: 60)
        #expect(try ledger.apply(first)[0].code == .accepted)
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 30_001, key: alice))[0].code == .insufficientFunds)
        ledger.now += 60_000
        let lateVoid = try ledger.resolve(first, by: "bob", key: bob, post: nil)
        // Expiry is applied when the applier is idle, too: no entry is needed, the reservation just lapses.
        try ledger.writer.expireDue(nowMilliseconds: ledger.now)
        let state = try SQLiteConnection(path: ledger.path).query("SELECT state FROM pending_transfers").first?.text(0)
        #expect(state == "expired")
        #expect(try ledger.apply(ledger.resolve(first, by: "alice", key: alice, post: 70_000), lateVoid).map(\.code) == [.pendingExpired, .pendingExpired])
        // Expiry at the start of a batch: a second pending transfer lapses before the transfer that needs its funds.
        let second = try ledger.transfer("alice", "bob", 90_000, key: alice, pendingTimeoutSeconds: 1)
        #expect(try ledger.apply(second)[0].code == .accepted)
        ledger.now += 1_000
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 100_000, key: alice))[0].code == .accepted)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
        // A pending transfer marked resolved behind the ledger's back is caught.
        try ledger.tamper("UPDATE pending_transfers SET state = 'voided', resolved_sequence = sequence WHERE transaction_id = '\(second.entryID)'")
        #expect(try ledger.audit().firstProblem?.contains("pending_transfers") == true)
    }

    @Test func rulesDecideAPendingTransferAtItsFullAmountAndItsPostIsNotCountedAgain() throws {
        let ledger = try LedgerFixture()
        #expect(try ledger.writer.installRules(fromFile: RuleSet(text: RulesInTheLedgerTests.rulesText), nowMilliseconds: ledger.now) != nil)
        let (alice, _) = try ledger.openTwoHolders()
        let large = try ledger.transfer("alice", "bob", 50_000, key: alice, pendingTimeoutSeconds: 600)
        #expect(try ledger.apply(large)[0].ruleID == "T-REVIEW")
        // The velocity rule allows three USD transfers a day; two pending ones and their posts make two.
        let first = try ledger.transfer("alice", "bob", 100, key: alice, pendingTimeoutSeconds: 600)
        let second = try ledger.transfer("alice", "bob", 100, key: alice, pendingTimeoutSeconds: 600)
        let outcomes = try ledger.apply(
            first, second, ledger.resolve(first, by: "alice", key: alice, post: 100), ledger.resolve(second, by: "alice", key: alice, post: 50),
            ledger.transfer("alice", "bob", 100, key: alice), ledger.transfer("alice", "bob", 100, key: alice)
        )
        #expect(outcomes.map(\.code) == [.accepted, .accepted, .accepted, .accepted, .accepted, .ruleRejected])
        #expect(outcomes[5].ruleID == "T-VELOCITY")
    }
}

@Suite struct LinkedTransferTests {
    /// alice holds 1,000.00 USD and bob 5 g of gold.
    func ledgerWithBothTokens() throws -> (LedgerFixture, SigningKey, SigningKey) {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        try ledger.apply(ledger.operatorAction(.mintGold, "bob", ReserveFields.bar(5_000, "BAR-L")))
        return (ledger, alice, bob)
    }

    func swap(_ ledger: LedgerFixture, _ alice: SigningKey, _ bob: SigningKey, link: String, usd: Int64, gold: Int64) throws -> [Submission] {
        [try ledger.transfer("alice", "bob", usd, key: alice, link: .init(id: link, index: 1, count: 2)),
         try ledger.transfer("bob", "alice", gold, key: bob, token: "GOLD", link: .init(id: link, index: 2, count: 2))]
    }

    @Test func bothLegsOfASwapApplyTogether() throws {
        let (ledger, alice, bob) = try ledgerWithBothTokens()
        let legs = try swap(ledger, alice, bob, link: "swap-1", usd: 10_000, gold: 5_000)
        let outcomes = try ledger.apply(legs)
        #expect(outcomes.map(\.code) == [.accepted, .accepted])
        #expect(outcomes[1].sequence == outcomes[0].sequence.map { $0 + 1 })
        #expect(try ledger.apply(legs) == outcomes)
        #expect(try ledger.balance("alice") == 90_000 && ledger.balance("alice", .gold) == 5_000 && ledger.balance("bob") == 10_000)
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func theFirstFailingLegStopsEveryLegAndIsNamed() throws {
        let (ledger, alice, bob) = try ledgerWithBothTokens()
        let legs = try swap(ledger, alice, bob, link: "swap-2", usd: 10_000, gold: 5_001)
        // Plain transfers around the group apply; the group applies nothing.
        let outcomes = try ledger.apply([try ledger.transfer("alice", "bob", 1, key: alice)] + legs + [try ledger.transfer("alice", "bob", 2, key: alice)])
        #expect(outcomes.map(\.code) == [.accepted, .linkedLegFailed, .insufficientFunds, .accepted])
        #expect(outcomes[1].failedLeg == legs[1].entryID && outcomes[2].failedLeg == nil)
        #expect(try ledger.balance("alice") == 99_997 && ledger.balance("bob", .gold) == 5_000)
        #expect(outcomes[3].sequence == outcomes[0].sequence.map { $0 + 1 })
        // The same group gets the same answers; the link id cannot carry other legs now.
        #expect(try ledger.apply(legs) == Array(outcomes[1...2]))
        let again = try swap(ledger, alice, bob, link: "swap-2", usd: 10_000, gold: 5_000)
        #expect(try ledger.apply(again).map(\.code) == [.linkIDUsed, .linkIDUsed])
        let fixed = try swap(ledger, alice, bob, link: "swap-3", usd: 10_000, gold: 5_000)
        #expect(try ledger.apply(fixed).map(\.code) == [.accepted, .accepted])
        try ledger.sealAndSign()
        #expect(try ledger.audit().isIntact)
    }

    @Test func legsThatDoNotArriveTogetherAndInOrderAreNotApplied() throws {
        let (ledger, alice, bob) = try ledgerWithBothTokens()
        let legs = try swap(ledger, alice, bob, link: "swap-4", usd: 100, gold: 100)
        #expect(try ledger.apply(legs[0]).map(\.code) == [.linkIncomplete])
        #expect(try ledger.apply(legs[1], legs[0]).map(\.code) == [.linkIncomplete, .linkIncomplete])
        let three = try ledger.transfer("alice", "bob", 100, key: alice, link: .init(id: "swap-4", index: 1, count: 3))
        #expect(try ledger.apply(three, legs[1]).map(\.code) == [.linkIncomplete, .linkIncomplete])
        // Nothing was recorded: the complete group still applies.
        #expect(try ledger.apply(legs).map(\.code) == [.accepted, .accepted])
    }

    @Test func aLegThatARuleWouldHoldRefusesTheGroup() throws {
        let ledger = try LedgerFixture()
        #expect(try ledger.writer.installRules(fromFile: RuleSet(text: RulesInTheLedgerTests.rulesText), nowMilliseconds: ledger.now) != nil)
        let (alice, bob) = try ledger.openTwoHolders()
        let legs = [
            try ledger.transfer("alice", "bob", 10_000, key: alice, link: .init(id: "pay-1", index: 1, count: 2)),
            try ledger.transfer("bob", "alice", 5_000, key: bob, link: .init(id: "pay-1", index: 2, count: 2)),
        ]
        // The second leg is paid from the first leg's money: each leg sees the ones before it.
        #expect(try ledger.apply(legs).map(\.code) == [.accepted, .accepted])
        let large = [
            try ledger.transfer("alice", "bob", 50_000, key: alice, link: .init(id: "pay-2", index: 1, count: 2)),
            try ledger.transfer("bob", "alice", 1, key: bob, link: .init(id: "pay-2", index: 2, count: 2)),
        ]
        let outcomes = try ledger.apply(large)
        #expect(outcomes.map(\.code) == [.linkNeedsReview, .linkedLegFailed])
        #expect(outcomes[0].ruleID == "T-REVIEW" && outcomes[1].failedLeg == large[0].entryID)
        #expect(try ledger.balance("alice") == 95_000)
    }
}
