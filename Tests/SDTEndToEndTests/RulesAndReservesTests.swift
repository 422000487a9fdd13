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
