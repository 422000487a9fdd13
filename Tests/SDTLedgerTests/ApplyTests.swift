import SDTTesting
import SDTCore
import SDTCrypto
import Testing
@testable import SDTLedger

@Suite struct ApplyTests {
    @Test func transferMovesMoneyAndSupplyEqualsBalances() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        let outcome = try ledger.apply(ledger.transfer("alice", "bob", 25_000, key: alice))[0]
        #expect(outcome.code == .accepted)
        let reader = try LedgerReader(path: ledger.path)
        #expect(try reader.account("alice")?.balances[.usd] == 75_000)
        #expect(try reader.account("bob")?.balances[.usd] == 25_000)
        #expect(try reader.head().supply[.usd] == 100_000)
        let history = try reader.history("bob", after: 0, limit: 10)
        #expect(history.map(\.kind) == [.transferIn])
        #expect(history.first?.counterparty == "alice")
    }

    @Test func rejectionsNameTheFirstFailingCheck() throws {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        let stranger = SigningKey()
        let expired = ledger.issuer.issue(account: "alice", expiresAtMilliseconds: ledger.now - 1)
        let outcomes = try ledger.apply(
            ledger.transfer("alice", "bob", 100_001, key: alice),
            ledger.transfer("alice", "bob", 5, key: bob),
            ledger.transfer("alice", "bob", 5, key: stranger),
            ledger.transfer("alice", "carol", 5, key: alice),
            ledger.transfer("alice", "alice", 5, key: alice),
            ledger.transfer("alice", "bob", 5, key: alice, transactionID: expired),
            ledger.transfer("alice", "bob", 5, key: alice, transactionID: ledger.issuer.issue(account: "bob", expiresAtMilliseconds: ledger.now + 1000)),
            ledger.transfer("bob", "alice", 1, key: bob, token: "GOLD")
        )
        #expect(outcomes.map(\.code) == [
            .insufficientFunds, .keyNotRegistered, .keyNotRegistered, .receiverUnknown, .sameAccount,
            .transactionIDExpired, .transactionIDInvalid, .insufficientFunds,
        ])
        #expect(try LedgerReader(path: ledger.path).account("alice")?.balances[.usd] == 100_000)
    }

    @Test func resubmissionIsAnsweredTheSameAndAppliedOnce() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        let transfer = try ledger.transfer("alice", "bob", 1_000, key: alice)
        let first = try ledger.apply(transfer)[0]
        let again = try ledger.apply(transfer, transfer)
        #expect(again == [first, first])
        #expect(try LedgerReader(path: ledger.path).account("bob")?.balances[.usd] == 1_000)
        guard case .transfer(let original, _) = transfer else { return }
        let other = try ledger.transfer("alice", "bob", 2_000, key: alice, transactionID: original.transactionID)
        #expect(try ledger.apply(other)[0].code == .transactionIDUsed)
        let rejected = try ledger.transfer("alice", "bob", 999_999, key: alice)
        #expect(try ledger.apply(rejected)[0].code == .insufficientFunds)
        #expect(try ledger.apply(rejected)[0].code == .insufficientFunds)
    }

    @Test func revokedKeysCannotSign() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        let phone = SigningKey()
        try ledger.apply(ledger.operatorAction(.addKey, "alice", [.deviceKey: phone.publicKeyHex]))
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: phone))[0].code == .accepted)
        try ledger.apply(ledger.operatorAction(.revokeKey, "alice", [.deviceKey: phone.publicKeyHex]))
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: phone))[0].code == .keyRevoked)
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 1, key: alice))[0].code == .accepted)
        let keys = try LedgerReader(path: ledger.path).account("alice")?.deviceKeys
        #expect(keys?.map(\.revoked) == [false, true])
    }

    @Test func operatorRulesAndReserves() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        let outcomes = try ledger.apply(
            ledger.operatorAction(.mintUSD, "alice", ReserveFields.deposit(5, "DEP-1")),
            ledger.operatorAction(.mintUSD, "nobody", ReserveFields.deposit(5, "DEP-2")),
            ledger.operatorAction(.openAccount, "alice", [.jurisdiction: "US-TX", .kycTier: "1", .deviceKey: SigningKey().publicKeyHex]),
            ledger.operatorAction(.addKey, "bob", [.deviceKey: alice.publicKeyHex]),
            ledger.operatorAction(.redeemUSD, "alice", ReserveFields.deposit(100_001, "WD-1")),
            ledger.operatorAction(.redeemUSD, "alice", ReserveFields.deposit(40_000, "WD-1")),
            ledger.operatorAction(.mintGold, "bob", ReserveFields.bar(31_103, "VAULT-1/BAR-9"))
        )
        #expect(outcomes.map(\.code) == [
            .reserveReferenceUsed, .accountUnknown, .accountExists, .deviceKeyInUse, .insufficientFunds, .accepted, .accepted,
        ])
        let head = try LedgerReader(path: ledger.path).head()
        #expect(head.supply == [.usd: 60_000, .gold: 31_103])
        let stranger = SigningKey()
        let forged = try OperatorAction(region: "us-tx", requestID: "x", kind: .mintUSD,
                                        fields: ReserveFields.deposit(1, "F").merging([.account: "alice"]) { $1 },
                                        operatorKeyHex: stranger.publicKeyHex)
        #expect(try ledger.apply(.operatorAction(forged, signature: stranger.sign(forged.signingBytes)))[0].code == .operatorKeyUnknown)
    }

    @Test func reopeningContinuesTheSequence() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        let reopened = try LedgerWriter(path: ledger.path, policy: ledger.policy)
        let outcome = try reopened.apply([ledger.transfer("alice", "bob", 1, key: alice)], nowMilliseconds: ledger.now)[0]
        #expect(outcome.sequence == 4)
        let otherRegion = LedgerPolicy(region: "us-wy", tokensOffered: [.usd], operatorKeys: [], transactionIDs: ledger.issuer)
        #expect(throws: LedgerError.self) { try LedgerWriter(path: ledger.path, policy: otherRegion) }
    }

    @Test func aFailedBatchLeavesNothingBehindInTheFileOrTheWorkingSet() throws {
        let ledger = try LedgerFixture()
        let (alice, _) = try ledger.openTwoHolders()
        try ledger.apply(ledger.transfer("alice", "bob", 1_000, key: alice))
        // Another writer takes the next sequence, so the applier's insert fails halfway through a batch.
        try ledger.tamper("""
            INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms)
            VALUES (6, 'transfer', 'blocker', x'00', '\(String(repeating: "0", count: 64))', zeroblob(64), 0)
            """)
        #expect(throws: LedgerError.self) {
            try ledger.apply(ledger.transfer("alice", "bob", 2_000, key: alice), ledger.transfer("alice", "bob", 3_000, key: alice))
        }
        let reader = try LedgerReader(path: ledger.path)
        #expect(try reader.account("alice")?.balances[.usd] == 99_000)
        #expect(try reader.account("bob")?.balances[.usd] == 1_000)
        try ledger.tamper("DELETE FROM entries WHERE entry_id = 'blocker'")
        #expect(try ledger.apply(ledger.transfer("alice", "bob", 500, key: alice))[0].code == .accepted)
        #expect(try reader.account("alice")?.balances[.usd] == 98_500)
        #expect(try reader.account("bob")?.balances[.usd] == 1_500)
    }
}
