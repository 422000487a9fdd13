import Foundation
import SDTCore
import SDTEngine
import SDTRules
import Testing

/// The engine refuses in its documented order: the contract's lists are `CheckOrder`'s, and an entry
/// that fails two checks is refused with the earlier one, for every pair that can fail together.
@Suite struct CheckOrderTests {
    static let alice = EngineFixture.hexKey(0xA1)
    static let bob = EngineFixture.hexKey(0xB1)
    static let revoked = EngineFixture.hexKey(0xA2)
    static let erin = EngineFixture.hexKey(0xE1)
    static let stranger = EngineFixture.hexKey(0x5E)

    static let rules = """
        region = "us-tx"
        version = 1
        summary = "Rules for the check order tests."

        [[rule]]
        id = "BIG"
        decision = "reject"
        reason = "Too large."
        token = "USD"
        amount_at_least = "7000.00"

        [[rule]]
        id = "KP"
        decision = "reject"
        reason = "Sanctioned jurisdiction."
        receiver_jurisdiction_in = ["KP"]

        [[rule]]
        id = "MID"
        decision = "hold"
        reason = "Review."
        token = "USD"
        amount_at_least = "3000.00"

        [[rule]]
        id = "WY"
        decision = "hold"
        reason = "Review transfers to Wyoming."
        receiver_jurisdiction_in = ["US-WY"]
        """

    /// alice and erin hold 10,000.00 USD; erin and dave are frozen; frank is in KP, gina in US-WY.
    /// One id is used and still valid, another used and expired.
    static func region() throws -> (fixture: EngineFixture, used: String, usedExpired: String) {
        var fixture = EngineFixture(tokensOffered: [.usd])
        try fixture.open("alice", key: alice)
        try fixture.apply([fixture.action(.addKey, [.account: "alice", .deviceKey: revoked])])
        try fixture.apply([fixture.action(.revokeKey, [.account: "alice", .deviceKey: revoked])])
        try fixture.open("bob", key: bob)
        try fixture.open("dave", key: EngineFixture.hexKey(0xD1))
        try fixture.open("erin", key: erin)
        try fixture.open("frank", key: EngineFixture.hexKey(0xF1), jurisdiction: "KP")
        try fixture.open("gina", key: EngineFixture.hexKey(0x61), jurisdiction: "US-WY")
        try fixture.mintUSD("alice", 1_000_000)
        try fixture.mintUSD("erin", 1_000_000)
        let usedExpired = fixture.nextID(expiresIn: 10)
        let used = fixture.nextID(expiresIn: 1_000_000_000)
        let setUp = try fixture.apply([
            fixture.transfer("alice", "bob", 1, key: alice, id: usedExpired), fixture.transfer("alice", "bob", 1, key: alice, id: used),
        ])
        precondition(setUp.allSatisfy { $0.code == .accepted }, "\(setUp)")
        for account in ["dave", "erin"] {
            try fixture.apply([fixture.action(.freeze, [.account: account, .legalDirective: "Case 1", .reason: "order"])])
        }
        try fixture.putRules(rules)
        fixture.now += 1_000
        return (fixture, used, usedExpired)
    }

    struct TransferSpec {
        var region = "us-tx"
        var id: String
        var from = "alice"
        var key = CheckOrderTests.alice
        var to = "bob"
        var token = Token.usd
        var amount: Int64 = 100
    }

    static func transferBreakers(used: String, expired: String) -> [Breaker<TransferSpec>] {
        typealias Way = Breaking<TransferSpec>
        return [
            Breaker(.regionMismatch, Way(fields: ["region"]) { $0.region = "us-wy" }),
            Breaker(.transactionIDInvalid, Way(fields: ["id"]) { $0.id = "not-an-issued-id" }),
            Breaker(.transactionIDExpired, Way(fields: ["id"]) { $0.id = expired }),
            Breaker(.transactionIDUsed, Way(fields: ["id"]) { $0.id = used }),
            Breaker(.accountUnknown, Way(fields: ["from"]) { $0.from = "nobody" }),
            Breaker(.keyNotRegistered, Way(fields: ["key"]) { $0.key = stranger }),
            Breaker(.keyRevoked, Way(fields: ["key"]) { $0.key = revoked }),
            Breaker(.receiverUnknown, Way(fields: ["to"]) { $0.to = "nobody-else" }),
            Breaker(.sameAccount, Way(fields: ["to"], late: true) { $0.to = $0.from }),
            Breaker(.tokenNotOffered, Way(fields: ["token"]) { $0.token = .gold }),
            Breaker(.accountFrozen, Way(fields: ["to"]) { $0.to = "dave" }, Way(fields: ["from", "key"]) {
                $0.from = "erin"
                $0.key = erin
            }),
            Breaker(.insufficientFunds, Way(fields: ["amount"]) { $0.amount = 2_000_000 }),
            Breaker(.ruleRejected, Way(fields: ["amount"]) { $0.amount = 700_000 }, Way(fields: ["to"]) { $0.to = "frank" }),
            Breaker(.heldForReview, Way(fields: ["amount"]) { $0.amount = 400_000 }, Way(fields: ["to"]) { $0.to = "gina" }),
        ]
    }

    @Test(arguments: [false, true])
    func transfersAreRefusedByTheEarlierOfTwoFailingChecks(pending: Bool) throws {
        var (fixture, used, expired) = try Self.region()
        let breakers = Self.transferBreakers(used: used, expired: expired)
        #expect(breakers.map(\.code) == Self.inOrder(breakers.map(\.code), CheckOrder.entry + CheckOrder.transfer))
        let pairs = CheckOrderPairs(breakers: breakers, base: TransferSpec(id: fixture.nextID()))
        let result = try pairs.run { spec in
            let submission = try fixture.transfer(spec.from, spec.to, spec.amount, key: spec.key, token: spec.token,
                                                  id: spec.id == pairs.base.id ? fixture.nextID() : spec.id, region: spec.region,
                                                  timeout: pending ? 600 : nil)
            return try fixture.decide([submission])[0].code
        }
        #expect(result.wrongWinner.isEmpty, "\(result.wrongWinner)")
        // An entry has one id, one key and one receiver: those checks cannot fail two at a time (an id
        // both used and expired is tested on its own below).
        #expect(result.notComposable.map { "\($0.0.name)+\($0.1.name)" } == [
            "transaction_id_invalid+transaction_id_expired", "transaction_id_invalid+transaction_id_used",
            "transaction_id_expired+transaction_id_used", "key_not_registered+key_revoked", "receiver_unknown+same_account",
        ])
        #expect(result.tested.count == 86)
    }

    @Test func anIDBothUsedAndExpiredIsExpiredAndTheSameRecordStillGetsItsAnswer() throws {
        var (fixture, _, usedExpired) = try Self.region()
        let other = try fixture.transfer("alice", "bob", 2, key: Self.alice, id: usedExpired)
        #expect(try fixture.decide([other])[0].code == .transactionIDExpired)
        let same = try fixture.transfer("alice", "bob", 1, key: Self.alice, id: usedExpired)
        #expect(try fixture.decide([same])[0].code == .accepted)
    }

    struct ResolutionSpec {
        var region = "us-tx"
        var id: String? = nil
        var pending: String
        var account = "alice"
        var key = CheckOrderTests.alice
        var amount: Int64? = 500
    }

    @Test func postsAreRefusedByTheEarlierOfTwoFailingChecks() throws {
        var (fixture, used, expired) = try Self.region()
        func pending(_ to: String, timeout: Int64 = 3_600) throws -> String {
            let transfer = try fixture.transfer("alice", to, 1_000, key: Self.alice, timeout: timeout)
            #expect(try fixture.apply([transfer])[0].code == .accepted)
            return transfer.entryID
        }
        let open = try pending("bob")
        let posted = try pending("bob")
        #expect(try fixture.apply([fixture.resolve(posted, account: "alice", key: Self.alice, post: 1_000)])[0].code == .accepted)
        let lapsing = try pending("bob", timeout: 1)
        try fixture.open("hal", key: EngineFixture.hexKey(0x71))
        let toFrozen = try pending("hal")
        try fixture.apply([fixture.action(.freeze, [.account: "hal", .legalDirective: "Case 2", .reason: "order"])])
        fixture.now += 2_000
        typealias Way = Breaking<ResolutionSpec>
        let breakers: [Breaker<ResolutionSpec>] = [
            Breaker(.regionMismatch, Way(fields: ["region"]) { $0.region = "us-wy" }),
            Breaker(.transactionIDInvalid, Way(fields: ["id"]) { $0.id = "not-an-issued-id" }),
            Breaker(.transactionIDExpired, Way(fields: ["id"]) { $0.id = expired }),
            Breaker(.transactionIDUsed, Way(fields: ["id"]) { $0.id = used }),
            Breaker(.pendingUnknown, Way(fields: ["pending"]) { $0.pending = "tx-1-none" }),
            Breaker(.pendingResolved, Way(fields: ["pending"]) { $0.pending = posted }),
            Breaker(.pendingExpired, Way(fields: ["pending"]) { $0.pending = lapsing }),
            Breaker(.notPendingParty, Way(fields: ["account"]) { $0.account = "bob" }),
            Breaker(.keyNotRegistered, Way(fields: ["key"]) { $0.key = Self.stranger }),
            Breaker(.keyRevoked, Way(fields: ["key"]) { $0.key = Self.revoked }),
            Breaker(.postExceedsPending, Way(fields: ["amount"]) { $0.amount = 1_001 }),
            Breaker(.accountFrozen, Way(fields: ["pending"]) { $0.pending = toFrozen }),
        ]
        #expect(breakers.map(\.code) == Self.inOrder(breakers.map(\.code), CheckOrder.entry + CheckOrder.resolution))
        let result = try CheckOrderPairs(breakers: breakers, base: ResolutionSpec(pending: open)).run { spec in
            let resolution = try PendingResolution(
                region: spec.region, transactionID: spec.id ?? fixture.nextID(), pendingID: spec.pending, account: spec.account,
                postAmountMinorUnits: spec.amount, publicKeyHex: spec.key
            )
            return try fixture.decide([.resolution(resolution, signature: EngineFixture.signature)])[0].code
        }
        #expect(result.wrongWinner.isEmpty, "\(result.wrongWinner)")
        #expect(result.tested.count == 56)
        #expect(result.notComposable.count == 10)
    }

    struct ActionSpec {
        var region = "us-tx"
        var requestID: String? = nil
        var key = EngineFixture.operatorKey
        var account = "alice"
        var treasury = "treasury"
        var amount: Int64 = 100
    }

    @Test func clawbacksAreRefusedByTheEarlierOfTwoFailingChecks() throws {
        var (fixture, _, _) = try Self.region()
        try fixture.open("treasury", key: EngineFixture.hexKey(0x77))
        let usedRequest = "req-used"
        try fixture.apply([fixture.action(.setKYCTier, [.account: "bob", .kycTier: "3", .reason: "verified"], requestID: usedRequest)])
        typealias Way = Breaking<ActionSpec>
        let breakers: [Breaker<ActionSpec>] = [
            Breaker(.regionMismatch, Way(fields: ["region"]) { $0.region = "us-wy" }),
            Breaker(.operatorKeyUnknown, Way(fields: ["key"]) { $0.key = Self.stranger }),
            Breaker(.requestIDUsed, Way(fields: ["request"]) { $0.requestID = usedRequest }),
            Breaker(.accountUnknown, Way(fields: ["account"]) { $0.account = "nobody" }),
            Breaker(.treasuryUnknown, Way(fields: ["treasury"]) { $0.treasury = "bob" }),
            Breaker(.insufficientFunds, Way(fields: ["amount"]) { $0.amount = 2_000_000 }),
        ]
        #expect(breakers.map(\.code) == Self.inOrder(breakers.map(\.code), CheckOrder.entry + CheckOrder.operatorAction))
        let result = try CheckOrderPairs(breakers: breakers, base: ActionSpec()).run { spec in
            let action = try OperatorAction(
                region: spec.region, requestID: spec.requestID ?? fixture.nextID(), kind: .clawback,
                fields: [.account: spec.account, .token: "USD", .amount: String(spec.amount), .treasury: spec.treasury,
                         .legalDirective: "Case 3", .reason: "judgment"],
                operatorKeyHex: spec.key
            )
            return try fixture.decide([.operatorAction(action, signature: EngineFixture.signature)])[0].code
        }
        #expect(result.wrongWinner.isEmpty, "\(result.wrongWinner)")
        #expect(result.tested.count == 15 && result.notComposable.isEmpty)
    }

    /// `codes` sorted by their place in `order`, so a list can be checked to follow it.
    static func inOrder(_ codes: [OutcomeCode], _ order: [OutcomeCode]) -> [OutcomeCode] {
        codes.sorted { (order.firstIndex(of: $0) ?? .max) < (order.firstIndex(of: $1) ?? .max) }
    }

    /// The contract states each list of `CheckOrder`, complete and in order.
    @Test func theContractStatesTheEnginesOrder() throws {
        let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi/openapi.yaml")
        let text = try String(contentsOf: contract, encoding: .utf8)
        let section = try #require(text.range(of: "## Check order and outcome codes")).upperBound
        let bullets = text[section...].components(separatedBy: "\n    - ").dropFirst().prefix(8).map { bullet in
            // A list ends at its first full stop; what follows explains it.
            let list = bullet.prefix { $0 != "." }
            return list.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        }
        let lists = [CheckOrder.entry, CheckOrder.transfer, CheckOrder.linked, CheckOrder.resolution, CheckOrder.operatorAction,
                     CheckOrder.outgoing, CheckOrder.delivery, CheckOrder.acknowledgement]
        #expect(bullets == lists.map { $0.map(\.name) })
    }
}
