import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import SDTTesting
import Testing

/// Rules, reserves, reviews and privacy through a real node process over HTTP.
@Suite struct RulesAndReservesTests {
    static let rulesPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../regions/us-tx.rules.toml").path

    @Test func aRuleRefusalNamesTheRuleAndADryRunChangesNothing() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 2_000_000)
        _ = try await node.holder("bob")
        _ = try await node.holder("carlos", jurisdiction: "MX")
        let abroad = try await node.signedTransfer(alice, "alice", "carlos", 100)
        guard case .rejected(let problem) = try await node.client.submit(abroad) else { throw TestFailure("a USD transfer abroad was not refused") }
        #expect(problem.code == "rule_rejected" && problem.ruleId == "TX-USD-DOMESTIC" && problem.ruleSetVersion == 1)
        #expect(problem.detail.contains("only between accounts in the United States"))
        let status = try await node.client.status(abroad.transactionId)
        #expect(status.state == .rejected && status.ruleId == "TX-USD-DOMESTIC")

        let before = try await node.client.head().appliedSequence
        let dry = try await node.client.dryRun(from: "alice", to: "bob", token: .usd, amountMinorUnits: 1_000_000)
        #expect(dry.decision == .accept && dry.ruleId == "TX-CTR-10K" && dry.flags == ["currency_transaction_report"])
        let dryAbroad = try await node.client.dryRun(from: "alice", to: "carlos", token: .usd, amountMinorUnits: 1)
        #expect(dryAbroad.decision == .reject && dryAbroad.ruleId == "TX-USD-DOMESTIC")
        let dryUnknown = try await node.client.dryRun(from: "alice", to: "nobody", token: .usd, amountMinorUnits: 1)
        #expect(dryUnknown.decision == .reject && dryUnknown.code == "receiver_unknown")
        #expect(try await node.client.head().appliedSequence == before)

        let text = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        let rules = try await node.client.rules()
        #expect(rules.version == 1 && rules.text == text && rules.sha3 == Hex.encode(SHA3.hash256(Array(text.utf8))))
        let sent = try await node.signedTransfer(alice, "alice", "bob", 1_000_000)
        _ = try await node.client.submit(sent)
        let settled = try await node.client.waitUntilSettled(sent.transactionId)
        #expect(settled.flags == ["currency_transaction_report"])
        let block = try await node.raw("GET", "/v1/blocks/\(settled.blockHeight ?? 0)")
        let header = try BlockHeader(signingBytes: Hex.decode(block.json["header"] as? String ?? "") ?? [])
        #expect(header.rules == "1:\(rules.sha3)")
    }

    @Test func aHeldTransferWaitsForTheOperatorsReview() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 12_000_000)
        _ = try await node.holder("bob")
        let large = try await node.signedTransfer(alice, "alice", "bob", 6_000_000)
        guard case .queued(let held) = try await node.client.submit(large) else { throw TestFailure("a $60,000 transfer was not held") }
        #expect(held.state == .held && held.ruleId == "TX-USD-REVIEW-50K")
        #expect(try await node.client.status(large.transactionId).state == .held)
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount ?? 0 == 0)
        let review = try await node.operate(.review, "", [.transactionID: large.transactionId, .decision: "approve", .reason: "invoice checked"])
        #expect(review.state == .accepted)
        let final = try await node.client.waitUntilSettled(large.transactionId)
        #expect(final.state == .final && final.flags == ["currency_transaction_report"])
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 6_000_000)
    }

    @Test func ruleChangesAreSignedRecordedAndEarlierVersionsStayQueryable() async throws {
        let node = try TestNode()
        try await node.start()
        let text = try String(contentsOfFile: Self.rulesPath, encoding: .utf8)
        let next = text.replacingOccurrences(of: "version = 1", with: "version = 2")
            .replacingOccurrences(of: "amount_at_least = \"50000.00\"", with: "amount_at_least = \"75000.00\"")
        let sha3 = Hex.encode(SHA3.hash256(Array(next.utf8)))
        let badText = next.replacingOccurrences(of: "decision = \"hold\"", with: "decision = \"later\"")
        await #expect(throws: NodeClientError.self) {
            try await node.operate(.setRules, "", [.rulesVersion: "2", .rulesSHA3: Hex.encode(SHA3.hash256(Array(badText.utf8))), .reason: "r"],
                                   rulesText: badText)
        }
        do {
            _ = try await node.operate(.setRules, "", [.rulesVersion: "2", .rulesSHA3: sha3, .reason: "r"], rulesText: badText)
            Issue.record("a rule text that does not hash to rules_sha3 was accepted")
        } catch let error as NodeClientError {
            #expect(error.problem?.code == "rules_hash_mismatch" && error.problem?.detail.contains("rules_sha3") == true)
        }
        let result = try await node.operate(.setRules, "", [.rulesVersion: "2", .rulesSHA3: sha3, .reason: "raise the review threshold"], rulesText: next)
        #expect(result.state == .accepted)
        let now = try await node.client.rules()
        #expect(now.version == 2 && now.versions == [1, 2] && now.putInForceBySequence == result.sequence)
        let old = try await node.client.rules(version: 1)
        #expect(old.inForce == false && old.text == text)
    }

    @Test func reservesAndTheBarsBehindGoldArePublic() async throws {
        let node = try TestNode()
        try await node.start()
        _ = try await node.holder("bob")
        let bar: [OperatorAction.Field: String] = [.amount: "999900", .vault: "Texas Bullion Depository", .barSerial: "TXBD-1",
                                                  .refiner: "Valcambi", .grossWeight: "1000000", .fineness: "9999"]
        #expect(try await node.operate(.mintGold, "bob", bar).state == .accepted)
        // Weights that do not add up: refused with a 400 that says what the bar holds, nothing minted.
        let wrong: [String: Any] = [
            "region": "us-tx", "request_id": "bad-bar", "action": "mint_gold", "account": "bob", "amount": 1_000_000,
            "vault": "Texas Bullion Depository", "bar_serial": "TXBD-2", "refiner": "Valcambi", "gross_weight": 1_000_000, "fineness": 9999,
            "operator_key": node.operatorKey.publicKeyHex, "signature": String(repeating: "0", count: 128),
        ]
        let refused = try await node.raw("POST", "/v1/admin/operations", body: JSONSerialization.data(withJSONObject: wrong))
        #expect(refused.status == 400 && (refused.json["detail"] as? String)?.contains("holds 999900 mg") == true)
        let reserves = try await node.client.reserves()
        let gold = try #require(reserves.tokens.first { $0.token == .gold })
        #expect(gold.supply == 999_900 && gold.reserves == 999_900 && reserves.barsHeld == 1)
        let bars = try await node.client.bars()
        #expect(bars.bars.map(\.serial) == ["TXBD-1"] && bars.bars[0].state == .held && bars.bars[0].fineWeight == 999_900)
        #expect(try await node.client.bar("TXBD-1").bars.first?.vault == "Texas Bullion Depository")
        #expect(try await node.raw("GET", "/v1/reserves/bars/NO-SUCH-BAR").status == 404)
    }

    /// Anyone, asking nothing of the node's honesty, checks a block's proof of reserves: the operator
    /// records behind it verify with an operator key, their Merkle root is the signed header's
    /// `reserve_root`, and their sum its `reserves` — for the newest block and an older one.
    @Test func theRecordsBehindEveryReserveRootArePublicAndRecomputeIt() async throws {
        let node = try TestNode()
        try await node.start()
        _ = try await node.holder("alice", usd: 50_000)
        let region = try await node.client.region()
        let blockKey = try #require(Hex.decode(region.blockPublicKey))
        func check(_ height: Int64?) async throws -> (height: Int64, records: Int) {
            let answer = try await node.raw("GET", "/v1/reserves/records" + (height.map { "?height=\($0)" } ?? ""))
            #expect(answer.status == 200, "\(answer.json)")
            let records = answer.json["records"] as? [[String: Any]] ?? []
            var leaves: [[UInt8]] = []
            var sums: [Token: Int64] = [:]
            for record in records {
                let entry = try #require(record["entry"] as? [String: Any])
                let bytes = try #require(Hex.decode(entry["signing_bytes"] as? String ?? ""))
                let signature = try #require(Hex.decode(entry["signature"] as? String ?? ""))
                #expect(region.operatorKeys.contains(entry["public_key"] as? String ?? ""))
                #expect(Ed25519.verify(signature: signature, message: bytes, publicKey: Hex.decode(entry["public_key"] as? String ?? "")!))
                leaves.append(Merkle.leafHash(bytes))
                let amount = Int64(record["amount"] as? Int ?? 0)
                sums[Token(rawValue: record["token"] as? String ?? "")!, default: 0] += record["kind"] as? String == "withdrawal" ? -amount : amount
            }
            let number = try #require(answer.json["height"] as? Int)
            let block = try await node.client.block(Int64(number))
            let headerBytes = try #require(Hex.decode(block.header))
            let header = try BlockHeader(signingBytes: headerBytes)
            #expect(header.reserveRootHex == Hex.encode(Merkle.root(leafHashesOrNone: leaves)), "the records do not recompute the root")
            #expect(answer.json["reserve_root"] as? String == header.reserveRootHex)
            #expect(header.reserves.filter { $0.value != 0 } == sums.filter { $0.value != 0 })
            if let signature = block.signature.flatMap(Hex.decode) {
                #expect(Ed25519.verify(signature: signature, message: headerBytes, publicKey: blockKey))
            }
            return (Int64(number), records.count)
        }
        let first = try await check(nil)
        _ = try await node.operate(.mintGold, "alice", ReserveFields.bar(31_103, "BAR-PROOF"))
        _ = try await node.operate(.redeemUSD, "alice", ReserveFields.deposit(10_000, "WDL-1"))
        var head = try await node.client.head()
        for _ in 0..<50 where (head.sealedSequence ?? 0) < head.appliedSequence {
            try await Task.sleep(for: .milliseconds(100))
            head = try await node.client.head()
        }
        let newest = try await check(head.sealedHeight)
        #expect(newest.records == first.records + 2 && newest.height > first.height)
        #expect(try await check(first.height).records == first.records)
        #expect(try await node.raw("GET", "/v1/reserves/records?height=999999").status == 404)
        #expect(try await node.raw("GET", "/v1/reserves/records?height=0").status == 400)
    }

    @Test func statisticsRefuseSmallCohortsWithoutSayingTheirSize() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 1_000)
        _ = try await node.holder("bob")
        _ = try await node.client.submit(node.signedTransfer(alice, "alice", "bob", 5))
        let small = try await node.raw("GET", "/v1/statistics/transfers?token=USD&period=2026-11")
        #expect(small.status == 403 && small.json["code"] as? String == "cohort_too_small")
        #expect((small.json["detail"] as? String)?.contains("1000 accounts") == true)
        let badPeriod = try await node.raw("GET", "/v1/statistics/transfers?token=USD&period=2026-13")
        #expect(badPeriod.status == 400 && (badPeriod.json["detail"] as? String)?.contains("period") == true)
    }

    @Test func personalDataIsEncryptedAtRestAndNeverLogged() async throws {
        let node = try TestNode()
        try await node.start()
        let name = "Zebulon Quincy-Marchbanks"
        let address = "4417 Persimmon Hollow Rd, Marfa TX"
        let key = SigningKey()
        let opened = try await node.operate(
            .openAccount, "zeb", [.jurisdiction: "US-TX", .kycTier: "2", .deviceKey: key.publicKeyHex],
            holder: .init(name: name, address: address, kycDocuments: ["TX-DL-48213377"])
        )
        #expect(opened.state == .accepted)
        _ = try await node.holder("bob", usd: 100)
        node.stopAll()
        var files = [node.directory.file("node-0.log")]
        let data = node.dataPath
        for file in try FileManager.default.contentsOfDirectory(atPath: data) { files.append((data as NSString).appendingPathComponent(file)) }
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for secret in [name, address, "TX-DL-48213377"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in plaintext in \(file)")
            }
        }
        // Stored sealed, and the node's data key opens it; the account id is bound to it.
        let sealed = try #require(try LedgerReader(path: NodeData(directory: data).ledgerPath).sealedHolderData("zeb"))
        let dataKey = try NodeData(directory: data).dataKey()
        #expect(HolderData.open(sealed, region: "us-tx", account: "zeb", key: dataKey)?.contains(name) == true)
        #expect(HolderData.open(sealed, region: "us-tx", account: "bob", key: dataKey) == nil)
    }
}
