import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules
import SDTTesting
import Testing
@testable import SDTLedger

/// The stores behind the engine. Every test of `StoreSuiteTests` runs against each of them.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }
}

/// A store with the engine in front: what the applier does with it, whatever it is.
final class StoreUnderTest {
    let kind: StoreKind
    let directory = TemporaryDirectory("store")
    let engine: LedgerEngine
    let policy: LedgerPolicy
    private var memory = MemoryLedgerStore()
    private var writer: LedgerWriter?

    init(_ kind: StoreKind, policy: LedgerPolicy) throws {
        self.kind = kind
        self.policy = policy
        engine = LedgerEngine(policy: policy.engine)
        if kind == .sqlite { writer = try LedgerWriter(path: directory.file("ledger.sqlite"), policy: policy) }
    }

    @discardableResult
    func apply(_ batch: [Submission], now: Int64) throws -> [Outcome] {
        if let writer { return try writer.apply(batch, nowMilliseconds: now) }
        let result = try engine.apply(batch, to: memory, now: now)
        try memory.commit(result)
        return result.outcomes
    }

    /// The store's reads, as the engine sees them.
    var state: any LedgerState { writer.map { $0.store } ?? memory }

    /// Starts over from what the store keeps: a new writer on the same file. Memory keeps itself.
    func reopen() throws {
        guard kind == .sqlite else { return }
        writer = nil
        writer = try LedgerWriter(path: directory.file("ledger.sqlite"), policy: policy)
    }
}

@Suite struct StoreSuiteTests {
    let fixture: LedgerFixture

    init() throws { fixture = try LedgerFixture() }

    func store(_ kind: StoreKind) throws -> StoreUnderTest { try StoreUnderTest(kind, policy: fixture.policy) }

    /// Two holders, 1,000.00 USD minted to alice, a 999.900 g bar to bob.
    func populated(_ kind: StoreKind) throws -> (store: StoreUnderTest, alice: SigningKey, bob: SigningKey) {
        let store = try store(kind)
        let (alice, bob) = (SigningKey(), SigningKey())
        let outcomes = try store.apply([
            fixture.operatorAction(.openAccount, "alice", [.jurisdiction: "US-TX", .kycTier: "2", .deviceKey: alice.publicKeyHex]),
            fixture.operatorAction(.openAccount, "bob", [.jurisdiction: "US-WY", .kycTier: "1", .deviceKey: bob.publicKeyHex]),
            fixture.operatorAction(.mintUSD, "alice", ReserveFields.deposit(100_000, "DEP-1")),
            fixture.operatorAction(.mintGold, "bob", ReserveFields.bar(999_900, "BAR-1")),
        ], now: fixture.now)
        #expect(outcomes.allSatisfy { $0.code == .accepted }, "\(outcomes)")
        return (store, alice, bob)
    }

    @Test(arguments: StoreKind.allCases)
    func whatABatchChangesReadsBackAndSurvivesReopening(kind: StoreKind) throws {
        let (store, alice, bob) = try populated(kind)
        let pending = try fixture.transfer("alice", "bob", 30_000, key: alice, pendingTimeoutSeconds: 600)
        let spare = SigningKey()
        try store.apply([
            fixture.transfer("alice", "bob", 25_000, key: alice), pending,
            fixture.operatorAction(.addKey, "bob", [.deviceKey: spare.publicKeyHex]),
            fixture.operatorAction(.revokeKey, "bob", [.deviceKey: bob.publicKeyHex]),
            fixture.operatorAction(.freeze, "bob", [.legalDirective: "Case 1", .reason: "order"]),
        ], now: fixture.now)
        for round in ["before", "after"] {
            let state = store.state
            #expect(try state.nextSequence() == 10, "\(round) reopening")
            #expect(try state.balance(BalanceKey(account: "alice", token: .usd)) == 75_000)
            #expect(try state.reserved(BalanceKey(account: "alice", token: .usd)) == 30_000)
            #expect(try state.balance(BalanceKey(account: "bob", token: .usd)) == 25_000)
            #expect(try state.supply(.usd) == 100_000 && state.reserves(.usd) == 100_000)
            #expect(try state.supply(.gold) == 999_900 && state.reserves(.gold) == 999_900)
            #expect(try state.reserveRecord(ReserveKey(token: .gold, kind: .bar, reference: "BAR-1")) == 999_900)
            #expect(try state.account("bob") == AccountState(jurisdiction: "US-WY", kycTier: 1, frozen: true))
            #expect(try state.deviceKey(bob.publicKeyHex) == DeviceKeyState(account: "bob", revoked: true))
            #expect(try state.deviceKey(spare.publicKeyHex) == DeviceKeyState(account: "bob", revoked: false))
            #expect(try state.pendingTransfer(pending.entryID)?.phase == .pending)
            #expect(try state.pendingTransfersDue(at: fixture.now + 600_000).map(\.transactionID) == [pending.entryID])
            #expect(try state.pendingTransfersDue(at: fixture.now + 599_999).isEmpty)
            try store.reopen()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func earlierDecisionsAreFoundForTheSameRecordAndForAnother(kind: StoreKind) throws {
        let (store, alice, _) = try populated(kind)
        let applied = try fixture.transfer("alice", "bob", 1_000, key: alice)
        let refused = try fixture.transfer("alice", "bob", 999_999, key: alice)
        try store.apply([applied, refused], now: fixture.now)
        try store.reopen()
        let state = store.state
        let appliedKey = EntryKey(kind: .transfer, entryID: applied.entryID)
        #expect(try state.priorDecision(appliedKey, signingBytes: applied.signingBytes) == PriorDecision(.applied(sequence: 5), sameRecord: true))
        #expect(try state.priorDecision(appliedKey, signingBytes: [1, 2, 3])?.sameRecord == false)
        let refusedKey = EntryKey(kind: .transfer, entryID: refused.entryID)
        let rejected = PriorDecision.Kind.rejected(code: .insufficientFunds, ruleID: nil, ruleSetVersion: nil, failedLeg: nil)
        #expect(try state.priorDecision(refusedKey, signingBytes: refused.signingBytes) == PriorDecision(rejected, sameRecord: true))
        #expect(try state.priorDecision(refusedKey, signingBytes: applied.signingBytes)?.sameRecord == false)
        #expect(try state.priorDecision(EntryKey(kind: .transfer, entryID: "never"), signingBytes: []) == nil)
        #expect(try store.apply([applied, refused], now: fixture.now).map(\.code) == [.accepted, .insufficientFunds])
    }

    @Test(arguments: StoreKind.allCases)
    func linkedGroupsHoldsAndRulesAreKept(kind: StoreKind) throws {
        let (store, alice, bob) = try populated(kind)
        let legs = [
            try fixture.transfer("alice", "bob", 2_000, key: alice, link: Transfer.Link(id: "swap-1", index: 1, count: 2)),
            try fixture.transfer("bob", "alice", 1_000, key: bob, token: "GOLD", link: Transfer.Link(id: "swap-1", index: 2, count: 2)),
        ]
        #expect(try store.apply(legs, now: fixture.now).map(\.code) == [.accepted, .accepted])
        let rules = try RuleSet(text: Self.holdRules)
        try store.apply([fixture.operatorAction(.setRules, "", [.rulesVersion: "1", .rulesSHA3: rules.sha3Hex, .reason: "hold big"],
                                                attachment: Array(rules.text.utf8))], now: fixture.now)
        let held = try fixture.transfer("alice", "bob", 50_000, key: alice)
        #expect(try store.apply([held], now: fixture.now).map(\.code) == [.heldForReview])
        try store.reopen()
        let state = store.state
        #expect(try state.linkGroup("swap-1", legs: legs.map(\.signingBytes)) == LinkGroupState(sameGroup: true, failedLeg: nil))
        #expect(try state.linkGroup("swap-1", legs: [legs[1].signingBytes])?.sameGroup == false)
        #expect(try state.ruleSet()?.sha3Hex == rules.sha3Hex)
        #expect(try state.openHold(held.entryID)?.transfer.signingBytes == held.signingBytes)
        let review = try fixture.operatorAction(.review, "", [.transactionID: held.entryID, .decision: "approve", .reason: "ok"])
        #expect(try store.apply([review], now: fixture.now).map(\.code) == [.accepted, .accepted])
        #expect(try store.state.openHold(held.entryID) == nil)
        #expect(try store.state.balance(BalanceKey(account: "bob", token: .usd)) == 52_000)
    }

    @Test(arguments: StoreKind.allCases)
    func velocityCountsSpanBatchesAndReopening(kind: StoreKind) throws {
        let (store, alice, _) = try populated(kind)
        try store.apply([fixture.transfer("alice", "bob", 1_000, key: alice)], now: fixture.now)
        try store.apply([fixture.transfer("alice", "bob", 2_000, key: alice, pendingTimeoutSeconds: 60)], now: fixture.now + 1_000)
        let key = BalanceKey(account: "alice", token: .usd)
        #expect(try store.state.outgoing(key, since: fixture.now, retainingSince: fixture.now) == VelocityTotals(amount: 3_000, count: 2))
        try store.reopen()
        #expect(try store.state.outgoing(key, since: fixture.now + 1, retainingSince: fixture.now) == VelocityTotals(amount: 2_000, count: 1))
    }

    static let holdRules = """
        region = "us-tx"
        version = 1
        summary = "Hold large transfers."

        [[rule]]
        id = "HOLD-BIG"
        decision = "hold"
        reason = "Large transfers wait for review."
        token = "USD"
        amount_at_least = "400.00"
        """
}
