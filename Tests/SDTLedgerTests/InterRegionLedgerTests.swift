import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules
import SDTTesting
import Testing

@testable import SDTLedger

/// Payments between regions on the SQLite store: what the engine decided is written, read back after a
/// restart, sealed into blocks that sign claims and obligations, and audited from the file alone.
@Suite struct InterRegionLedgerTests {
    /// us-tx pays bob in us-wy 250.00 (acknowledged as credited), pays "nobody" there 1.00 (refused and
    /// refunded), and is paid 40.00 for alice by us-wy.
    static func ledgerWithPaymentsBothWays() throws -> (ledger: LedgerFixture, alice: SigningKey) {
        let ledger = try LedgerFixture(counterparts: ["us-wy"])
        let (alice, _) = try ledger.openTwoHolders()
        #expect(try ledger.apply(ledger.transfer("alice", "us-wy:bob", 25_000, key: alice)).map(\.code) == [.accepted])
        #expect(try ledger.apply(ledger.transfer("alice", "us-wy:nobody", 100, key: alice)).map(\.code) == [.accepted])
        let outbound = try (1...2).map { number in
            try #require(try ledger.writer.store.outboundMessage(counterpart: "us-wy", number: number))
        }
        #expect(outbound.map(\.message.amount.minorUnits) == [25_000, 100])
        let hash = Hex.encode(SHA3.hash256([1]))
        let credited = IncomingDecision(
            message: outbound[0].message, outboundSHA3Hex: Hex.encode(SHA3.hash256(outbound[0].message.signingBytes)),
            sourceBlockHeight: 1, sourceBlockHashHex: hash, verdict: .credited)
        let refused = IncomingDecision(
            message: outbound[1].message, outboundSHA3Hex: Hex.encode(SHA3.hash256(outbound[1].message.signingBytes)),
            sourceBlockHeight: 1, sourceBlockHashHex: hash,
            verdict: .refused(code: .receiverUnknown, ruleID: nil, ruleSetVersion: nil))
        let incoming = OutboundMessage(
            region: "us-wy", counterpart: "us-tx", number: 1, transactionID: "wy-tx-1", from: "bob",
            to: "alice", token: .usd, amount: Amount(minorUnits: 4_000)!, senderJurisdiction: "US-WY",
            senderKYCTier: 3)
        let answers = try ledger.apply([
            .interRegion(.acknowledgement(credited.acknowledgement(sha3Hex: hash, blockHeight: 2, blockHashHex: hash))),
            .interRegion(.acknowledgement(refused.acknowledgement(sha3Hex: hash, blockHeight: 2, blockHashHex: hash))),
            .interRegion(
                .delivery(
                    Delivery(
                        message: incoming, messageSHA3Hex: Hex.encode(SHA3.hash256(incoming.signingBytes)),
                        sourceBlockHeight: 3, sourceBlockHashHex: hash))),
        ])
        #expect(answers.map(\.code) == [.accepted, .accepted, .accepted])
        return (ledger, alice)
    }

    @Test func positionsAreWrittenReadBackAndAudited() throws {
        let (ledger, _) = try Self.ledgerWithPaymentsBothWays()
        #expect(try ledger.balance("alice") == 100_000 - 25_000 + 4_000)
        #expect(try ledger.balance(inTransitAccountID("us-wy")) == 0)
        let position = try ledger.writer.store.position(PositionKey(counterpart: "us-wy", token: .usd))
        #expect(position == RegionPosition(claims: 4_000, obligations: 25_000))
        #expect(try ledger.writer.store.interRegionLink("us-wy") == InterRegionLink(lastOutbound: 2, lastInbound: 1))
        #expect(try LedgerReader(path: ledger.path).invariantProblems().isEmpty)

        // A new writer on the same file reads the same (nothing of it lived only in memory).
        let reopened = try LedgerWriter(path: ledger.path, policy: ledger.policy)
        #expect(try reopened.store.position(PositionKey(counterpart: "us-wy", token: .usd)) == position)
        #expect(try reopened.store.interRegionLink("us-wy") == InterRegionLink(lastOutbound: 2, lastInbound: 1))
        #expect(try reopened.store.outboundMessage(counterpart: "us-wy", number: 2)?.acknowledged == true)

        try ledger.sealAndSign()
        let connection = try SQLiteConnection(path: ledger.path)
        let last = try #require(try connection.query("SELECT header FROM blocks ORDER BY height DESC LIMIT 1").first)
        let header = try BlockHeader(signingBytes: last.blob(0))
        #expect(String(decoding: last.blob(0).prefix(12), as: UTF8.self) == BlockHeader.headerV3)
        #expect(
            header.claims == ["us-wy": [.usd: 4_000, .gold: 0]]
                && header.obligations == ["us-wy": [.usd: 25_000, .gold: 0]])
        #expect(header.supply[.usd] == 79_000 && header.reserves[.usd] == 100_000)
        #expect(
            try connection.query("SELECT header FROM blocks WHERE height = 1").first.map {
                String(decoding: $0.blob(0).prefix(12), as: UTF8.self)
            }
                == BlockHeader.header, "a block before any payment across stays V2")
        let report = try ledger.audit()
        #expect(report.firstProblem == nil, "\(report.firstProblem ?? "")")
        #expect(report.blocksChecked >= 2 && report.entriesChecked == 10)
    }

    @Test func theAuditFindsATamperedPositionOrLink() throws {
        for (tamper, table) in [
            ("UPDATE region_positions SET claims = claims + 1", "region_positions"),
            ("UPDATE inter_region_links SET last_inbound = 0", "inter_region_links"),
            ("UPDATE outbound_messages SET acknowledged_sequence = NULL WHERE number = 2", "outbound_messages"),
        ] {
            let (ledger, _) = try Self.ledgerWithPaymentsBothWays()
            try ledger.sealAndSign()
            try ledger.tamper(tamper)
            let report = try ledger.audit()
            #expect(
                report.firstProblem?.contains(table) == true, "\(tamper): \(report.firstProblem ?? "no problem found")")
        }
    }

    @Test func aDuplicateDeliveryAfterARestartIsNotAppliedAgain() throws {
        let (ledger, _) = try Self.ledgerWithPaymentsBothWays()
        let reopened = try LedgerWriter(path: ledger.path, policy: ledger.policy)
        let incoming = OutboundMessage(
            region: "us-wy", counterpart: "us-tx", number: 1, transactionID: "wy-tx-1", from: "bob",
            to: "alice", token: .usd, amount: Amount(minorUnits: 4_000)!, senderJurisdiction: "US-WY",
            senderKYCTier: 3)
        let hash = Hex.encode(SHA3.hash256(incoming.signingBytes))
        let again = try reopened.apply(
            [
                .interRegion(
                    .delivery(
                        Delivery(
                            message: incoming, messageSHA3Hex: hash, sourceBlockHeight: 3,
                            sourceBlockHashHex: hash)))
            ], nowMilliseconds: ledger.now)
        #expect(again.map(\.code) == [.accepted])
        #expect(try ledger.balance("alice") == 79_000)
        #expect(try reopened.store.position(PositionKey(counterpart: "us-wy", token: .usd)).claims == 4_000)
    }

    /// A payment abroad held by this region's rule and approved by review is recorded as the review, the
    /// transfer and its outbound message, and the audit replays the three as one decision.
    @Test func anApprovedHeldPaymentAbroadIsSentAndAudited() throws {
        let ledger = try LedgerFixture(counterparts: ["us-wy"])
        let rules = """
            region = "us-tx"
            version = 1
            summary = "Large payments wait for review."

            [[rule]]
            id = "T-REVIEW"
            decision = "hold"
            reason = "Large USD transfers wait for review."
            token = "USD"
            amount_at_least = "500.00"
            """
        #expect(try ledger.writer.installRules(fromFile: RuleSet(text: rules), nowMilliseconds: ledger.now) != nil)
        let (alice, _) = try ledger.openTwoHolders()
        let large = try ledger.transfer("alice", "us-wy:bob", 60_000, key: alice)
        #expect(try ledger.apply(large).map(\.code) == [.heldForReview])
        #expect(try ledger.writer.store.interRegionLink("us-wy").lastOutbound == 0)
        let approve = try ledger.operatorAction(
            .review, "", [.transactionID: large.entryID, .decision: "approve", .reason: "checked"])
        let outcomes = try ledger.apply(approve)
        #expect(outcomes.map(\.code) == [.accepted, .accepted] && outcomes[1].entryID == large.entryID)
        let sent = try #require(try ledger.writer.store.outboundMessage(counterpart: "us-wy", number: 1))
        #expect(sent.message.amount.minorUnits == 60_000 && sent.message.to == "bob")
        #expect(try ledger.balance(inTransitAccountID("us-wy")) == 60_000)
        try ledger.sealAndSign()
        let report = try ledger.audit()
        #expect(report.firstProblem == nil, "\(report.firstProblem ?? "")")
    }
}
