import Foundation
import SDTCore
import SDTEngine
import SDTRules
import Testing

/// Two regions decided by the one engine, on in-memory stores, with the messages between them carried
/// by hand (the node's relay checks signatures and Merkle paths; the engine decides). Hashes of blocks
/// and records are placeholders: the engine records them and never computes them.
struct InterRegionEngineTests {
    static let placeholderHash = String(repeating: "c", count: 64)
    static let aliceKey = EngineFixture.hexKey(0x11)
    static let bobKey = EngineFixture.hexKey(0x22)
    static let carolKey = EngineFixture.hexKey(0x33)

    /// us-tx with alice (100.00 USD, a 1 kg bar) and carol; us-wy with bob (20.00 USD) and dave.
    static func regions() throws -> (tx: EngineFixture, wy: EngineFixture) {
        var tx = EngineFixture(region: "us-tx", counterparts: ["us-wy"])
        try tx.open("alice", key: aliceKey, tier: 2)
        try tx.open("carol", key: carolKey, tier: 1)
        try tx.mintUSD("alice", 10_000)
        try tx.mintBar("alice", serial: "VC-1", fineWeight: 1_000_000)
        var wy = EngineFixture(region: "us-wy", counterparts: ["us-tx"])
        try wy.open("bob", key: bobKey, jurisdiction: "US-WY", tier: 3)
        try wy.open("dave", key: EngineFixture.hexKey(0x44), jurisdiction: "US-WY", tier: 1)
        try wy.mintUSD("bob", 2_000)
        return (tx, wy)
    }

    /// The outbound messages a region recorded, in ledger order.
    static func outbound(_ region: EngineFixture) -> [OutboundMessage] {
        region.store.entries.compactMap {
            if case .interRegion(.outbound(let message)) = $0.submission { message } else { nil }
        }
    }

    /// The incoming decisions a region recorded, in ledger order.
    static func decisions(_ region: EngineFixture) -> [IncomingDecision] {
        region.store.entries.compactMap {
            if case .interRegion(.incoming(let decision)) = $0.submission { decision } else { nil }
        }
    }

    static func delivery(_ message: OutboundMessage) -> Submission {
        .interRegion(
            .delivery(
                Delivery(
                    message: message, messageSHA3Hex: placeholderHash, sourceBlockHeight: 1,
                    sourceBlockHashHex: placeholderHash)))
    }

    static func acknowledgement(_ decision: IncomingDecision) -> Submission {
        .interRegion(
            .acknowledgement(
                decision.acknowledgement(
                    sha3Hex: placeholderHash, blockHeight: 1,
                    blockHashHex: placeholderHash)))
    }

    static func position(_ region: EngineFixture, _ counterpart: String, _ token: Token = .usd) throws -> RegionPosition
    {
        try region.store.position(PositionKey(counterpart: counterpart, token: token))
    }

    /// Supply = reserves + claims − obligations, for every token.
    static func expectBalanced(_ region: EngineFixture, _ counterpart: String) throws {
        for token in Token.allCases {
            let position = try position(region, counterpart, token)
            #expect(
                try region.store.supply(token) == region.store.reserves(token) + position.claims - position.obligations,
                "\(region.ownRegion) \(token.rawValue)")
        }
    }

    @Test func aPaymentIsDebitedInTransitCreditedAcrossAndBecomesAnObligation() throws {
        var (tx, wy) = try Self.regions()
        let sent = try tx.apply([tx.transfer("alice", "us-wy:bob", 2_500, key: Self.aliceKey)])
        #expect(sent.map(\.code) == [.accepted])
        #expect(try tx.balance("alice") == 7_500)
        #expect(try tx.balance(inTransitAccountID("us-wy")) == 2_500)
        #expect(try tx.store.supply(.usd) == 10_000, "in transit is still this region's liability")
        let message = try #require(Self.outbound(tx).first)
        #expect(
            message.number == 1 && message.to == "bob" && message.senderKYCTier == 2
                && message.senderJurisdiction == "US-TX")
        #expect(
            tx.store.entries.last?.sequence == sent[0].sequence.map { $0 + 1 },
            "the message is recorded right after the transfer")

        let credited = try wy.apply([Self.delivery(message)])
        #expect(credited.map(\.code) == [.accepted])
        #expect(try wy.balance("bob") == 4_500)
        #expect(try Self.position(wy, "us-tx") == RegionPosition(claims: 2_500, obligations: 0))
        #expect(try wy.store.supply(.usd) == 4_500 && wy.store.reserves(.usd) == 2_000)
        let decision = try #require(Self.decisions(wy).first)
        #expect(decision.verdict == .credited && decision.outboundSHA3Hex == Self.placeholderHash)

        let acknowledged = try tx.apply([Self.acknowledgement(decision)])
        #expect(acknowledged.map(\.code) == [.accepted])
        #expect(try tx.balance(inTransitAccountID("us-wy")) == 0)
        #expect(try Self.position(tx, "us-wy") == RegionPosition(claims: 0, obligations: 2_500))
        #expect(try tx.store.supply(.usd) == 7_500)
        try Self.expectBalanced(tx, "us-wy")
        try Self.expectBalanced(wy, "us-tx")
        // Across both regions nothing was made or lost: wy's claim is tx's obligation.
        #expect(try tx.store.supply(.usd) + wy.store.supply(.usd) == tx.store.reserves(.usd) + wy.store.reserves(.usd))
    }

    @Test func goldMovesTheSameWay() throws {
        var (tx, wy) = try Self.regions()
        #expect(
            try tx.apply([tx.transfer("alice", "us-wy:bob", 250_000, key: Self.aliceKey, token: .gold)]).map(\.code)
                == [.accepted])
        #expect(try wy.apply(Self.outbound(tx).map(Self.delivery)).map(\.code) == [.accepted])
        #expect(try tx.apply(Self.decisions(wy).map(Self.acknowledgement)).map(\.code) == [.accepted])
        #expect(try wy.balance("bob", .gold) == 250_000)
        #expect(try Self.position(tx, "us-wy", .gold).obligations == 250_000)
        #expect(try Self.position(wy, "us-tx", .gold).claims == 250_000)
        try Self.expectBalanced(tx, "us-wy")
        try Self.expectBalanced(wy, "us-tx")
    }

    @Test func theReceivingRegionsRuleRefusesAndThePayerIsRefundedOnce() throws {
        var (tx, wy) = try Self.regions()
        try wy.putRules(
            """
            region = "us-wy"
            version = 1
            summary = "Wyoming takes USD from tier 2 and up."

            [[rule]]
            id = "WY-USD-TIER"
            decision = "reject"
            reason = "USD from a sender below KYC tier 2 is not accepted."
            token = "USD"
            sender_kyc_tier_below = 2
            """)
        #expect(
            try tx.apply([tx.transfer("carol", "us-wy:bob", 1, key: Self.carolKey)]).map(\.code) == [.insufficientFunds]
        )
        try tx.mintUSD("carol", 500)
        #expect(try tx.apply([tx.transfer("carol", "us-wy:bob", 300, key: Self.carolKey)]).map(\.code) == [.accepted])
        let refused = try wy.apply(Self.outbound(tx).map(Self.delivery))
        #expect(
            refused.map(\.code) == [.ruleRejected] && refused[0].ruleID == "WY-USD-TIER"
                && refused[0].ruleSetVersion == 1)
        #expect(refused[0].sequence != nil, "a refusal is recorded, so that its block can acknowledge it")
        #expect(try wy.balance("bob") == 2_000 && Self.position(wy, "us-tx") == .zero)
        let decision = try #require(Self.decisions(wy).first)
        #expect(decision.verdict == .refused(code: .ruleRejected, ruleID: "WY-USD-TIER", ruleSetVersion: 1))

        #expect(try tx.apply([Self.acknowledgement(decision)]).map(\.code) == [.accepted])
        #expect(try tx.balance("carol") == 500 && tx.balance(inTransitAccountID("us-wy")) == 0)
        #expect(try Self.position(tx, "us-wy") == .zero)
        // The same acknowledgement again changes nothing.
        let count = tx.store.entries.count
        #expect(try tx.apply([Self.acknowledgement(decision)]).map(\.code) == [.accepted])
        #expect(try tx.store.entries.count == count && tx.balance("carol") == 500)
        // alice's tier passes the same rule.
        #expect(try tx.apply([tx.transfer("alice", "us-wy:bob", 100, key: Self.aliceKey)]).map(\.code) == [.accepted])
        #expect(try wy.apply([Self.delivery(Self.outbound(tx)[1])]).map(\.code) == [.accepted])
        try Self.expectBalanced(tx, "us-wy")
        try Self.expectBalanced(wy, "us-tx")
    }

    @Test func aDeliveryIsAppliedOnceAndInOrder() throws {
        var (tx, wy) = try Self.regions()
        for amount: Int64 in [100, 200, 300] {
            #expect(
                try tx.apply([tx.transfer("alice", "us-wy:bob", amount, key: Self.aliceKey)]).map(\.code) == [.accepted]
            )
        }
        let messages = Self.outbound(tx)
        #expect(messages.map(\.number) == [1, 2, 3])
        // Number 2 before number 1: not recorded, so it can come again later.
        #expect(try wy.apply([Self.delivery(messages[1])]).map(\.code) == [.messageOutOfOrder])
        #expect(Self.decisions(wy).isEmpty)
        let first = try wy.apply([Self.delivery(messages[0]), Self.delivery(messages[0]), Self.delivery(messages[1])])
        #expect(first.map(\.code) == [.accepted, .accepted, .accepted])
        #expect(first[0].sequence == first[1].sequence, "a duplicate gets the first answer")
        #expect(
            try wy.apply([Self.delivery(messages[1]), Self.delivery(messages[2])]).map(\.code) == [
                .accepted, .accepted,
            ])
        #expect(Self.decisions(wy).map(\.number) == [1, 2, 3])
        #expect(try wy.balance("bob") == 2_600)
        #expect(try Self.position(wy, "us-tx").claims == 600)
    }

    @Test func anOutgoingPaymentMeetsItsLadderInTheDocumentedOrder() throws {
        var (tx, _) = try Self.regions()
        func code(
            _ from: String, _ to: String, _ amount: Int64, _ key: String, _ token: Token = .usd
        ) throws -> OutcomeCode? {
            try tx.decide([tx.transfer(from, to, amount, key: key, token: token)]).first?.code
        }
        #expect(try code("nobody", "us-wy:bob", 1, Self.aliceKey) == .accountUnknown)
        #expect(try code("alice", "us-wy:bob", 1, Self.carolKey) == .keyNotRegistered)
        #expect(try code("alice", "us-ca:bob", 20_000, Self.aliceKey) == .counterpartUnknown)
        #expect(
            try code("alice", "us-tx:carol", 1, Self.aliceKey) == .counterpartUnknown,
            "its own region is no counterpart")
        #expect(try code("alice", "us-wy:bob", 20_000, Self.aliceKey) == .insufficientFunds)
        var goldless = EngineFixture(tokensOffered: [.usd], region: "us-tx", counterparts: ["us-wy"])
        try goldless.open("alice", key: Self.aliceKey)
        #expect(
            try goldless.decide([goldless.transfer("alice", "us-wy:bob", 1, key: Self.aliceKey, token: .gold)]).first?
                .code
                == .tokenNotOffered)
        try tx.apply([tx.action(.freeze, [.account: "alice", .reason: "court order 7", .legalDirective: "TX-7"])])
        #expect(try code("alice", "us-wy:bob", 20_000, Self.aliceKey) == .accountFrozen, "frozen wins over funds")
        #expect(
            CheckOrder.outgoing.firstIndex(of: .accountFrozen)! < CheckOrder.outgoing.firstIndex(
                of: .insufficientFunds)!)
        #expect(Self.outbound(tx).isEmpty, "nothing refused leaves the region")
    }

    @Test func theReceiverSideChecksRefuseAndAreRecorded() throws {
        var (tx, wy) = try Self.regions()
        for payee in ["us-wy:nobody", "us-wy:dave", "us-wy:bob"] {
            #expect(try tx.apply([tx.transfer("alice", payee, 100, key: Self.aliceKey)]).map(\.code) == [.accepted])
        }
        try wy.apply([wy.action(.freeze, [.account: "dave", .reason: "court order 9", .legalDirective: "WY-9"])])
        let answers = try wy.apply(Self.outbound(tx).map(Self.delivery))
        #expect(answers.map(\.code) == [.receiverUnknown, .accountFrozen, .accepted])
        #expect(
            try tx.apply(Self.decisions(wy).map(Self.acknowledgement)).map(\.code) == [.accepted, .accepted, .accepted])
        #expect(try tx.balance("alice") == 9_900, "two refunds, one payment")
        #expect(try Self.position(tx, "us-wy").obligations == 100)
        try Self.expectBalanced(tx, "us-wy")
        try Self.expectBalanced(wy, "us-tx")
    }

    @Test func acknowledgementsThatDoNotMatchAndRecordsThatAreNotInputsAreRefused() throws {
        var (tx, wy) = try Self.regions()
        #expect(try tx.apply([tx.transfer("alice", "us-wy:bob", 400, key: Self.aliceKey)]).map(\.code) == [.accepted])
        let message = try #require(Self.outbound(tx).first)
        try wy.apply([Self.delivery(message)])
        let decision = try #require(Self.decisions(wy).first)
        let wrongAmount = Acknowledgement(
            region: "us-tx", counterpart: "us-wy", number: 1, incomingSHA3Hex: Self.placeholderHash,
            counterpartBlockHeight: 1,
            counterpartBlockHashHex: Self.placeholderHash, token: .usd, amount: Amount(minorUnits: 401)!,
            verdict: .credited
        )
        let unknownNumber = Acknowledgement(
            region: "us-tx", counterpart: "us-wy", number: 2, incomingSHA3Hex: Self.placeholderHash,
            counterpartBlockHeight: 1,
            counterpartBlockHashHex: Self.placeholderHash, token: .usd, amount: Amount(minorUnits: 400)!,
            verdict: .credited
        )
        let count = tx.store.entries.count
        #expect(
            try tx.apply([.interRegion(.acknowledgement(wrongAmount)), .interRegion(.acknowledgement(unknownNumber))])
                .map(\.code) == [.acknowledgementUnmatched, .acknowledgementUnmatched])
        #expect(
            try tx.apply([.interRegion(.outbound(message)), .interRegion(.incoming(decision))]).map(\.code)
                == [.interRegionRecordNotInput, .regionMismatch])
        #expect(try wy.apply([.interRegion(.incoming(decision))]).map(\.code) == [.interRegionRecordNotInput])
        #expect(tx.store.entries.count == count, "nothing recorded")
        // A delivery meant for another region, and one from a region not in the registry.
        #expect(try tx.apply([Self.delivery(message)]).map(\.code) == [.regionMismatch])
        var stranger = EngineFixture(region: "us-wy", counterparts: [])
        #expect(try stranger.apply([Self.delivery(message)]).map(\.code) == [.counterpartUnknown])
        // The right one is applied once; a different record under its id afterwards is refused.
        #expect(try tx.apply([Self.acknowledgement(decision)]).map(\.code) == [.accepted])
        #expect(
            try tx.apply([.interRegion(.acknowledgement(unknownNumber))]).map(\.code) == [.acknowledgementUnmatched])
        let refusedInstead = Acknowledgement(
            region: "us-tx", counterpart: "us-wy", number: 1, incomingSHA3Hex: Self.placeholderHash,
            counterpartBlockHeight: 1,
            counterpartBlockHashHex: Self.placeholderHash, token: .usd, amount: Amount(minorUnits: 400)!,
            verdict: .refused(code: .receiverUnknown, ruleID: nil, ruleSetVersion: nil)
        )
        #expect(
            try tx.apply([.interRegion(.acknowledgement(refusedInstead))]).map(\.code) == [.acknowledgementUnmatched])
        #expect(try tx.balance("alice") == 9_600, "no refund after a credit")
    }

    /// Payments both ways over a channel that loses, duplicates and reorders messages and
    /// acknowledgements, with a relay that resends whatever is not acknowledged: every payment ends
    /// credited once or refunded once, both regions balance after every step, and across the two
    /// regions no token is made or lost.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func paymentsBothWaysOverALossyChannelSettleExactlyOnce(seed: UInt64) throws {
        var (tx, wy) = try Self.regions()
        try wy.mintUSD("dave", 5_000)
        try wy.putRules(
            """
            region = "us-wy"
            version = 1
            summary = "Wyoming refuses large USD payments."

            [[rule]]
            id = "WY-LARGE"
            decision = "reject"
            reason = "USD payments of 7.00 and more are refused."
            token = "USD"
            amount_at_least = "7.00"
            """)
        var random = SplitMix(seed: seed)
        let senders: [(region: Int, account: String, key: String, payee: String)] = [
            (0, "alice", Self.aliceKey, "us-wy:bob"), (0, "alice", Self.aliceKey, "us-wy:dave"),
            (1, "bob", Self.bobKey, "us-tx:alice"), (1, "bob", Self.bobKey, "us-tx:carol"),
            (0, "alice", Self.aliceKey, "us-wy:eve"),
        ]
        var regions = [tx, wy]
        let names = ["us-tx", "us-wy"]
        var sent = 0
        for _ in 0..<400 {
            switch random.next() % 4 {
            case 0:
                let sender = senders[Int(random.next() % UInt64(senders.count))]
                var region = regions[sender.region]
                let amount = Int64(random.next() % 900) + 1
                let outcome = try region.apply([region.transfer(sender.account, sender.payee, amount, key: sender.key)])
                if outcome.first?.code == .accepted { sent += 1 }
                regions[sender.region] = region
            case 1, 2:
                // Deliver some unacknowledged messages of one side, shuffled and with duplicates.
                let from = Int(random.next() % 2)
                let to = 1 - from
                let open = Self.outbound(regions[from]).filter {
                    (try? regions[from].store.outboundMessage(counterpart: names[to], number: $0.number))??.acknowledged
                        == false
                }
                var batch = open.filter { _ in random.next() % 3 != 0 }.map(Self.delivery)
                batch += batch.filter { _ in random.next() % 4 == 0 }
                batch.shuffle(using: &random)
                var receiver = regions[to]
                try receiver.apply(batch)
                regions[to] = receiver
            default:
                // Acknowledge some decisions back, lossy and duplicated.
                let from = Int(random.next() % 2)
                let to = 1 - from
                var batch = Self.decisions(regions[from]).filter { _ in random.next() % 2 == 0 }.map(
                    Self.acknowledgement)
                batch += batch.filter { _ in random.next() % 4 == 0 }
                batch.shuffle(using: &random)
                var payer = regions[to]
                try payer.apply(batch)
                regions[to] = payer
            }
            try Self.expectBalanced(regions[0], "us-wy")
            try Self.expectBalanced(regions[1], "us-tx")
        }
        // Drain: deliver everything in order, then acknowledge everything.
        for (from, to) in [(0, 1), (1, 0)] {
            var receiver = regions[to]
            try receiver.apply(Self.outbound(regions[from]).map(Self.delivery))
            regions[to] = receiver
        }
        for (from, to) in [(0, 1), (1, 0)] {
            var payer = regions[to]
            try payer.apply(Self.decisions(regions[from]).map(Self.acknowledgement))
            regions[to] = payer
        }
        (tx, wy) = (regions[0], regions[1])
        #expect(sent > 20)
        #expect(Self.outbound(tx).count + Self.outbound(wy).count == sent)
        #expect(
            Self.decisions(wy).count == Self.outbound(tx).count && Self.decisions(tx).count == Self.outbound(wy).count)
        for token in Token.allCases {
            #expect(
                try tx.balance(inTransitAccountID("us-wy"), token) == 0
                    && wy.balance(inTransitAccountID("us-tx"), token) == 0)
            // What wy credited for tx is exactly what tx owes wy, and the other way round.
            #expect(try Self.position(wy, "us-tx", token).claims == Self.position(tx, "us-wy", token).obligations)
            #expect(try Self.position(tx, "us-wy", token).claims == Self.position(wy, "us-tx", token).obligations)
            #expect(
                try tx.store.supply(token) + wy.store.supply(token) == tx.store.reserves(token)
                    + wy.store.reserves(token))
        }
        // Every refusal refunded its payer exactly: balances are the mints less the credited payments.
        let credited = Self.decisions(wy).filter { $0.verdict == .credited }.reduce(Int64(0)) {
            $0 + $1.amount.minorUnits
        }
        let creditedBack = Self.decisions(tx).filter { $0.verdict == .credited }.reduce(Int64(0)) {
            $0 + $1.amount.minorUnits
        }
        #expect(try tx.balance("alice") + tx.balance("carol") == 10_000 - credited + creditedBack)
        #expect(try wy.balance("bob") + wy.balance("dave") == 7_000 + credited - creditedBack)
    }

    @Test func theRecordsParseBackExactly() throws {
        let transfer = try Transfer(
            region: "us-tx", transactionID: "tx-1", from: "alice", to: "us-wy:bob", token: "USD",
            amountMinorUnits: 2_500, publicKeyHex: Self.aliceKey)
        #expect(transfer.to == "bob" && transfer.toRegion == "us-wy")
        #expect(String(decoding: transfer.signingBytes, as: UTF8.self).contains("\nto:us-wy:bob\n"))
        #expect(try Transfer(signingBytes: transfer.signingBytes) == transfer)
        #expect(throws: RecordError.self) {
            try Transfer(
                region: "us-tx", transactionID: "tx-1", from: "alice", to: "us-wy:bob", token: "USD",
                amountMinorUnits: 1,
                publicKeyHex: Self.aliceKey, pendingTimeoutSeconds: 60)
        }
        for bad in ["US-WY:bob", ":bob", "us-wy:", "us-wy:bob:x"] {
            #expect(throws: RecordError.self, "\(bad)") {
                try Transfer(
                    region: "us-tx", transactionID: "tx-1", from: "alice", to: bad, token: "USD", amountMinorUnits: 1,
                    publicKeyHex: Self.aliceKey)
            }
        }
        let message = OutboundMessage(
            region: "us-tx", counterpart: "us-wy", number: 7, transactionID: "tx-1", from: "alice",
            to: "bob", token: .gold, amount: Amount(minorUnits: 5)!, senderJurisdiction: "US-TX",
            senderKYCTier: 3)
        #expect(try OutboundMessage(signingBytes: message.signingBytes) == message)
        let decision = Delivery(
            message: message, messageSHA3Hex: Self.placeholderHash, sourceBlockHeight: 4,
            sourceBlockHashHex: Self.placeholderHash
        )
        .decided(.refused(code: .ruleRejected, ruleID: "WY-1", ruleSetVersion: 2))
        #expect(try IncomingDecision(signingBytes: decision.signingBytes) == decision)
        #expect(try InterRegionEntry(recordedBytes: decision.signingBytes) == .incoming(decision))
        let ack = decision.acknowledgement(
            sha3Hex: Self.placeholderHash, blockHeight: 9, blockHashHex: Self.placeholderHash)
        #expect(try Acknowledgement(signingBytes: ack.signingBytes) == ack)
        #expect(ack.region == "us-tx" && ack.counterpart == "us-wy" && ack.number == 7)
        for (from, to) in [
            ("rule_set_version:2\n", "rule_set_version:02\n"), ("verdict:refused", "verdict:credited"),
            ("sender_kyc_tier:3", "sender_kyc_tier:4"), ("number:7", "number:0"),
        ] {
            let tampered = String(decoding: decision.signingBytes, as: UTF8.self).replacingOccurrences(
                of: from, with: to)
            #expect(throws: RecordError.self, "\(to)") { try IncomingDecision(signingBytes: Array(tampered.utf8)) }
        }
    }
}

/// A small seeded generator, so a failing seed replays exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
