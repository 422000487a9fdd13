import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import SDTQueue
import SDTTesting
import Testing

/// Two real nodes, us-tx and us-wy, that know each other through a signed registry: payments each way,
/// one refused by the receiving region's own rule and refunded, one delivered across a kill -9 of the
/// receiving node, and both ledgers audited afterwards.
@Suite(.serialized) struct InterRegionTests {
    /// us-wy refuses dollars from Texas senders below KYC tier 3: a rule of the receiving side only.
    static let wyomingRules = """
        region = "us-wy"
        version = 1
        summary = "Wyoming takes dollars from Texas only from senders verified to tier 3."

        [[rule]]
        id = "WY-TX-INBOUND-KYC3"
        decision = "reject"
        reason = "Dollars from Texas senders below KYC tier 3 are not accepted."
        token = "USD"
        sender_jurisdiction_in = ["US-TX"]
        sender_kyc_tier_below = 3
        """

    /// Both nodes configured with a registry signed by a fresh authority, at fixed loopback ports
    /// (the registry names each endpoint before either node starts). `prepare` runs on each node
    /// before its registry entry is made (to give it custodians, whose quorum key the entry names).
    static func twoRegions(
        prepare: (TestNode) async throws -> Void = { _ in }
    ) async throws -> (tx: TestNode, wy: TestNode) {
        let tx = try TestNode(region: "us-tx")
        let wy = try TestNode(region: "us-wy")
        let rules = wy.directory.file("us-wy.rules.toml")
        try wyomingRules.write(toFile: rules, atomically: true, encoding: .utf8)
        wy.config.rulesPath = rules
        wy.config.queueEndpoint = "tcp://127.0.0.1:\(FreePort.next())"
        wy.config.outcomesEndpoint = "tcp://127.0.0.1:\(FreePort.next())"
        let passphrase = tx.directory.file("passphrase")
        try "registry passphrase".write(toFile: passphrase, atomically: true, encoding: .utf8)
        let authorityFile = tx.directory.file("authority.json")
        let made = try AuditCommandTests.sdt([
            "registry", "keygen", "--out", authorityFile, "--passphrase-file", passphrase,
        ])
        let authorityKey = try #require(
            made.output.split(whereSeparator: \.isWhitespace).first { $0.count == 64 }.map(String.init))
        var entries: [String] = []
        for node in [tx, wy] {
            node.config.httpAddress = "127.0.0.1:\(FreePort.next())"
            try node.saveConfig()
            try await prepare(node)
            let entry = try AuditCommandTests.sdt([
                "registry", "entry", "--region", node.configPath, "--data", node.dataPath, "--endpoint",
                "http://\(node.config.httpAddress)",
            ])
            #expect(entry.status == 0, "\(entry.output)")
            entries.append(entry.output)
        }
        let registryPath = tx.directory.file("registry.toml")
        try ("version = 1\n\n" + entries.joined(separator: "\n")).write(
            toFile: registryPath, atomically: true, encoding: .utf8)
        let signed = try AuditCommandTests.sdt([
            "registry", "sign", "--registry", registryPath, "--key", authorityFile,
            "--passphrase-file", passphrase,
        ])
        #expect(signed.status == 0, "\(signed.output)")
        for node in [tx, wy] {
            node.config.registry = .init(path: registryPath, authorityKey: authorityKey)
            try node.saveConfig()
        }
        return (tx, wy)
    }

    /// Polls until `condition` holds, at most `timeout`.
    static func eventually(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(try await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func accepted(_ result: NodeClient.SubmitResult) -> Bool {
        if case .accepted(let status) = result { return status.code == "accepted" }
        return false
    }

    static func balance(_ node: TestNode, _ account: String, _ token: Token = .usd) async throws -> Int64 {
        try await node.client.account(account).balances.first { $0.token.rawValue == token.rawValue }?.amount ?? 0
    }

    static func position(
        _ node: TestNode, _ counterpart: String, _ token: Token = .usd
    ) async throws
        -> Components.Schemas.InterRegionPositions.PositionsPayloadPayload?
    {
        try await node.client.positions().positions.first {
            $0.counterpart == counterpart && $0.token.rawValue == token.rawValue
        }
    }

    @Test func paymentsGoBothWaysRefusalsAreRefundedAndADeliverySurvivesAKill() async throws {
        let (tx, wy) = try await Self.twoRegions()
        try await tx.start()
        try await wy.start()
        let alice = try await tx.holder("alice", usd: 100_000)
        let bob = try await wy.holder("bob", usd: 50_000, jurisdiction: "US-WY")
        _ = try await tx.operate(.setKYCTier, "alice", [.kycTier: "3", .reason: "enhanced due diligence done"])

        // alice pays bob 25.00: accepted here, credited there, an obligation here and a claim there.
        let payment = try await tx.signedTransfer(alice, "alice", "us-wy:bob", 2_500)
        #expect(try await Self.accepted(tx.client.submit(payment)))
        try await Self.eventually("bob credited") { try await Self.balance(wy, "bob") == 52_500 }
        try await Self.eventually("the acknowledgement recorded") {
            try await Self.position(tx, "us-wy")?.obligations == 2_500
        }
        #expect(try await Self.position(tx, "us-wy")?.inFlight == 0)
        #expect(try await Self.position(wy, "us-tx")?.claims == 2_500)
        #expect(try await Self.balance(tx, "alice") == 97_500)

        // bob pays alice 10.00 the other way.
        let back = try await wy.signedTransfer(bob, "bob", "us-tx:alice", 1_000)
        #expect(try await Self.accepted(wy.client.submit(back)))
        try await Self.eventually("alice credited") { try await Self.balance(tx, "alice") == 98_500 }
        try await Self.eventually("us-wy's obligation") { try await Self.position(wy, "us-tx")?.obligations == 1_000 }

        // carol (tier 2) pays bob: us-tx's rules accept, us-wy's own rule refuses, carol is refunded once.
        let carol = try await tx.holder("carol", usd: 5_000)
        let refused = try await tx.signedTransfer(carol, "carol", "us-wy:bob", 700)
        #expect(try await Self.accepted(tx.client.submit(refused)))
        try await Self.eventually("carol refunded") {
            let refunded = try await Self.balance(tx, "carol") == 5_000
            let open = try await Self.position(tx, "us-wy")?.outboundOpen
            return refunded && open == 0
        }
        #expect(try await Self.balance(wy, "bob") == 51_500)
        #expect(try await Self.position(tx, "us-wy")?.obligations == 2_500, "a refusal is no obligation")
        let refusal = try #require(try await tx.client.status(refused.transactionId).interRegion)
        #expect(
            refusal.state == .refused && refusal.code == "rule_rejected" && refusal.ruleId == "WY-TX-INBOUND-KYC3"
                && refusal.region == "us-wy" && refusal.number == 2, "\(refusal)")
        let delivered = try #require(try await tx.client.status(payment.transactionId).interRegion)
        #expect(delivered.state == .credited && delivered.number == 1 && delivered.code == "accepted")

        // us-wy is killed; payments sent meanwhile wait in us-tx's ledger and arrive after its restart.
        wy.processes.last?.kill9()
        var sent: [String] = []
        for _ in 0..<5 {
            let transfer = try await tx.signedTransfer(alice, "alice", "us-wy:bob", 100)
            #expect(try await Self.accepted(tx.client.submit(transfer)))
            sent.append(transfer.transactionId)
        }
        try await Task.sleep(for: .milliseconds(500))
        try await wy.start()
        try await Self.eventually("the five delivered after the restart") {
            try await Self.balance(wy, "bob") == 52_000
        }
        try await Self.eventually("and acknowledged") { try await Self.position(tx, "us-wy")?.outboundOpen == 0 }
        #expect(try await Self.position(tx, "us-wy")?.obligations == 3_000)
        for id in sent { #expect(try await tx.client.status(id).interRegion?.state == .credited) }
        #expect(try await Self.position(wy, "us-tx")?.claims == 3_000)
        #expect(try await Self.position(tx, "us-wy")?.outboundMessages == 7)
        #expect(try await Self.position(wy, "us-tx")?.inboundDecided == 7)

        // Each side: supply = reserves + claims - obligations, in its reserves and in its newest signed header.
        for (node, counterpart) in [(tx, "us-wy"), (wy, "us-tx")] {
            try await Self.eventually("\(node.config.region)'s newest block signed") {
                try await node.client.reserves().proof?.state == .final
            }
            let reserves = try await node.client.reserves()
            let usd = try #require(reserves.tokens.first { $0.token == .usd })
            let position = try #require(try await Self.position(node, counterpart))
            #expect(usd.claims == position.claims && usd.obligations == position.obligations)
            #expect(usd.supply == usd.reserves + usd.claims - usd.obligations, "\(node.config.region)")
            let proof = try #require(reserves.proof)
            let header = try BlockHeader(signingBytes: try #require(Hex.decode(proof.header)))
            #expect(
                header.claims[counterpart]?[.usd] == position.claims
                    && header.obligations[counterpart]?[.usd] == position.obligations)
            #expect(header.supply[.usd] == usd.supply && header.reserves[.usd] == usd.reserves)
        }
        // Across both regions no dollar was made or lost.
        let txUSD = try #require(try await tx.client.reserves().tokens.first { $0.token == .usd })
        let wyUSD = try #require(try await wy.client.reserves().tokens.first { $0.token == .usd })
        #expect(txUSD.supply + wyUSD.supply == txUSD.reserves + wyUSD.reserves)
        tx.stopAll()
        wy.stopAll()
        for node in [tx, wy] {
            let audit = try AuditCommandTests.sdt(["audit", "--data", node.dataPath, "--region", node.configPath])
            #expect(audit.status == 0, "\(node.config.region): \(audit.output)")
        }
    }

    @Test func forgedMisaddressedAndResealedMessagesAreRefusedWithTheirReason() async throws {
        let (tx, wy) = try await Self.twoRegions()
        try await tx.start()
        try await wy.start()
        let alice = try await tx.holder("alice", usd: 10_000)
        _ = try await wy.holder("bob", jurisdiction: "US-WY")
        _ = try await tx.operate(.setKYCTier, "alice", [.kycTier: "3", .reason: "enhanced due diligence done"])
        let payment = try await tx.signedTransfer(alice, "alice", "us-wy:bob", 300)
        #expect(try await Self.accepted(tx.client.submit(payment)))
        try await Self.eventually("bob credited") { try await Self.balance(wy, "bob") == 300 }

        // A genuine message, as us-tx's relay builds it, from us-tx's ledger.
        let reader = try LedgerReader(path: NodeData(directory: tx.dataPath).ledgerPath)
        guard case .found(let receipt) = try reader.receipt(kind: .interRegion, entryID: "outbound:us-wy:1") else {
            Issue.record("no receipt for the outbound message")
            return
        }
        let registry = try RegionRegistry.load(
            path: tx.config.registry!.path, authorityKey: Hex.decode(tx.config.registry!.authorityKey)!)
        let wyEntry = try #require(registry.entry("us-wy"))
        /// Posts one message; returns the status and the message's answer.
        func post(_ envelope: [String: String]) async throws -> (status: Int, json: [String: Any]) {
            let answer = try await wy.raw(
                "POST", "/v1/inter-region/messages",
                body: JSONSerialization.data(withJSONObject: ["messages": [envelope]]))
            return (answer.status, (answer.json["answers"] as? [[String: Any]])?.first ?? [:])
        }
        let genuine = try InterRegionEnvelope.make(receipt: receipt, from: "us-tx", to: wyEntry)
        // Sent again: the first decision, nothing applied twice.
        let again = try await post(genuine.json)
        #expect(
            again.status == 200 && again.json["state"] as? String == "final"
                && again.json["code"] as? String == "accepted",
            "\(again)")
        #expect(try await Self.balance(wy, "bob") == 300)

        var forged = genuine.json
        forged["signature"] = Hex.encode(SigningKey().sign(genuine.headerBytes))
        var misaddressed = genuine.json
        misaddressed["to_region"] = "us-ca"
        var unknown = genuine.json
        unknown["from_region"] = "us-ca"
        // Re-sealed: a record of the attacker's choosing sealed to us-wy under us-tx's genuine header.
        let fake = OutboundMessage(
            region: "us-tx", counterpart: "us-wy", number: 2, transactionID: "forged-1", from: "alice",
            to: "bob", token: .usd, amount: Amount(minorUnits: 1_000_000)!, senderJurisdiction: "US-TX",
            senderKYCTier: 3)
        var inner = WireWriter(capacity: 512)
        inner.write(UInt8(1))
        inner.write(bytes: fake.signingBytes)
        inner.write(UInt32(receipt.leafIndex))
        inner.write(UInt32(receipt.entryCount))
        inner.write(UInt32(receipt.path.count))
        for hash in receipt.path { inner.write(bytes: hash) }
        var resealed = genuine.json
        resealed["sealed"] = Hex.encode(try SealingKey.seal(inner.bytes, to: wyEntry.sealingPublicKey))
        var sealedToAnother = genuine.json
        sealedToAnother["sealed"] = Hex.encode(try SealingKey.seal(inner.bytes, to: SealingKey().publicKey))
        for (body, code) in [
            (forged, "block_signature_invalid"), (misaddressed, "message_misaddressed"),
            (unknown, "sender_region_unknown"),
            (resealed, "merkle_path_invalid"), (sealedToAnother, "seal_invalid"),
        ] {
            let answer = try await post(body)
            #expect(
                answer.status == 200 && answer.json["state"] as? String == "refused"
                    && answer.json["code"] as? String == code,
                "\(code): \(answer)")
        }
        #expect(try await Self.balance(wy, "bob") == 300, "nothing applied")
        #expect(try await Self.position(wy, "us-tx")?.inboundDecided == 1)
        #expect(wy.log.contains("refused a message from"))
        tx.stopAll()
        wy.stopAll()
    }

    /// 1,200 payments stream both ways in batches while each node is killed -9 at seeded moments and
    /// restarted; a batch whose answer was lost is sent again (the same signed transfers, never applied
    /// twice). Afterwards every payment is credited exactly once on the other side, every link's
    /// numbering has no gap, no dollar was made or lost across the two regions, and both audits pass.
    /// Each region's blocks are signed by its own quorum of three custodian daemons; while 1,200 payments
    /// stream both ways, each node is killed -9 three times and a custodian of each region three times, at
    /// seeded moments, each restarted after a pause.
    static let streamingKills = 12

    @Test func paymentsStreamingBothWaysSurviveKillsOfNodesAndCustodians() async throws {
        var quorums: [String: CustodiedNode] = [:]
        let (tx, wy) = try await Self.twoRegions { node in
            let quorum = try CustodiedNode(node: node)
            try await quorum.startCustodians()
            quorums[node.config.region] = quorum
        }
        let custodied = quorums
        defer { for quorum in custodied.values { quorum.stopAll() } }
        try await tx.start()
        try await wy.start()
        let senders = 8
        var keys: [[SigningKey]] = [[], []]
        for index in 0..<senders {
            keys[0].append(try await tx.holder("t\(index)", usd: 100_000))
            keys[1].append(try await wy.holder("w\(index)", usd: 100_000, jurisdiction: "US-WY"))
            _ = try await tx.operate(.setKYCTier, "t\(index)", [.kycTier: "3", .reason: "enhanced due diligence done"])
        }
        let nodes = [tx, wy]
        let (perSide, batchSize) = (600, 50)
        var batches: [[[Components.Schemas.SignedTransfer]]] = [[], []]
        for side in 0..<2 {
            let (prefix, payeePrefix, payeeRegion) = side == 0 ? ("t", "w", "us-wy") : ("w", "t", "us-tx")
            var transfers: [Components.Schemas.SignedTransfer] = []
            for index in 0..<senders {
                let ids = try await nodes[side].client.transactionIDs(
                    account: "\(prefix)\(index)", count: perSide / senders
                ).transactionIds
                for (offset, id) in ids.enumerated() {
                    transfers.append(
                        try Signing.transfer(
                            key: keys[side][index], region: nodes[side].config.region, transactionID: id,
                            from: "\(prefix)\(index)",
                            to: "\(payeeRegion):\(payeePrefix)\((index + offset) % senders)", token: .usd,
                            amountMinorUnits: Int64(1 + offset % 7)))
                }
            }
            batches[side] = stride(from: 0, to: transfers.count, by: batchSize).map {
                Array(transfers[$0..<min($0 + batchSize, transfers.count)])
            }
        }
        let clients = try nodes.map { try NodeClient(baseURL: "http://\($0.config.httpAddress)") }
        // Kills at seeded moments while the batches stream, in turn: us-tx's node, a custodian of us-tx,
        // us-wy's node, a custodian of us-wy; each restarted after a pause (one custodian of a region
        // down at a time, so its quorum can still sign).
        let random = SeededRandom(seed: 20_261_201)
        let kills = SharedCount()
        let killer = Task {
            for round in 0..<Self.streamingKills {
                try await Task.sleep(for: .milliseconds(150 + random.uniform(400)))
                let node = nodes[(round / 2) % 2]
                if round % 2 == 0 {
                    node.processes.last?.kill9()
                    try await Task.sleep(for: .milliseconds(100 + random.uniform(300)))
                    kills.increment()
                    try await node.start()
                } else {
                    let quorum = try #require(custodied[node.config.region])
                    let custodian = 1 + random.uniform(3)
                    quorum.custodians[custodian]?.kill9()
                    kills.increment()
                    try await Task.sleep(for: .milliseconds(100 + random.uniform(500)))
                    try await quorum.startCustodian(custodian)
                }
            }
        }
        // Every batch is sent until it is answered with every transfer accepted (at most 60 s).
        let deadline = ContinuousClock.now + .seconds(60)
        var answered = [Set<Int>(), Set<Int>()]
        while answered[0].count + answered[1].count < batches[0].count + batches[1].count,
            ContinuousClock.now < deadline
        {
            for side in 0..<2 {
                for (index, batch) in batches[side].enumerated() where !answered[side].contains(index) {
                    // The batches go out between the kills: batch n of the stream waits for its share of them.
                    let total = batches[0].count + batches[1].count
                    guard kills.value * total >= (index * 2 + side) * Self.streamingKills else { break }
                    guard let results = try? await clients[side].submitBatch(batch) else { break }
                    // Nothing is refused; a transfer still `queued` (its outcome late across a restart) is
                    // sent again until the ledger answers it.
                    #expect(
                        results.allSatisfy { $0.code == "accepted" || $0.code == "queued" },
                        "\(results.first { $0.code != "accepted" && $0.code != "queued" }.map { "\($0)" } ?? "")")
                    guard results.allSatisfy({ $0.code == "accepted" }) else { continue }
                    answered[side].insert(index)
                    // A stream, not a burst: the kills fall while batches are still coming.
                    try? await Task.sleep(for: .milliseconds(60))
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let killsWhileStreaming = kills.value
        try await killer.value
        #expect(
            killsWhileStreaming == Self.streamingKills, "\(killsWhileStreaming) kills fell while the payments streamed")
        #expect(answered[0].count == batches[0].count && answered[1].count == batches[1].count, "every batch answered")
        try await Self.eventually("every payment decided and acknowledged", timeout: .seconds(60)) {
            let open = try await (Self.position(tx, "us-wy")?.outboundOpen, Self.position(wy, "us-tx")?.outboundOpen)
            let decided = try await (
                Self.position(wy, "us-tx")?.inboundDecided, Self.position(tx, "us-wy")?.inboundDecided
            )
            return open.0 == 0 && open.1 == 0 && decided.0 == Int64(perSide) && decided.1 == Int64(perSide)
        }
        for (node, counterpart, side) in [(tx, "us-wy", 0), (wy, "us-tx", 1)] {
            let position = try #require(try await Self.position(node, counterpart))
            #expect(
                position.outboundMessages == Int64(perSide) && position.inFlight == 0,
                "\(node.config.region): \(position)")
            let sent = batches[side].joined().reduce(Int64(0)) { $0 + $1.amount }
            #expect(position.obligations == sent, "\(node.config.region) owes what it sent and the other credited")
        }
        #expect(try await Self.position(tx, "us-wy")?.claims == Self.position(wy, "us-tx")?.obligations)
        #expect(try await Self.position(wy, "us-tx")?.claims == Self.position(tx, "us-wy")?.obligations)
        for id in batches[0].joined().map(\.transactionId).prefix(40) {
            #expect(try await tx.client.status(id).interRegion?.state == .credited)
        }
        let txUSD = try #require(try await tx.client.reserves().tokens.first { $0.token == .usd })
        let wyUSD = try #require(try await wy.client.reserves().tokens.first { $0.token == .usd })
        #expect(txUSD.supply + wyUSD.supply == txUSD.reserves + wyUSD.reserves)
        #expect(txUSD.supply == txUSD.reserves + txUSD.claims - txUSD.obligations)
        #expect(wyUSD.supply == wyUSD.reserves + wyUSD.claims - wyUSD.obligations)
        tx.stopAll()
        wy.stopAll()
        for node in nodes {
            let audit = try AuditCommandTests.sdt(["audit", "--data", node.dataPath, "--region", node.configPath])
            #expect(audit.status == 0, "\(node.config.region): \(audit.output)")
        }
    }
}

/// A count shared between a test and a task it runs.
final class SharedCount: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
