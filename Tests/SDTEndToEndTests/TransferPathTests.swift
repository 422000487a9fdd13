import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import Testing

@Suite(.serialized) struct TransferPathTests {
    @Test func transferIsAcceptedSealedSignedAndItsReceiptVerifiesOffline() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 12_345)
        guard case .accepted(let status) = try await node.client.submit(signed) else {
            Issue.record("transfer not accepted")
            return
        }
        #expect(status.state == .accepted)
        let final = try await node.client.waitUntilSettled(signed.transactionId)
        #expect(final.state == .final)
        let receipt = try await node.client.receipt(signed.transactionId)
        let region = try await node.client.region()
        let header = try Signing.verify(receipt: receipt, blockPublicKey: Hex.decode(region.blockPublicKey)!)
        #expect(header.height == final.blockHeight)
        #expect(throws: (any Error).self) { try Signing.verify(receipt: receipt, blockPublicKey: SigningKey().publicKey) }
        let balances = try await node.client.account("bob").balances
        #expect(balances.first { $0.token == .usd }?.amount == 12_345)
        let history = try await node.client.history("alice")
        #expect(history.postings.map(\.kind) == [.mint, .transferOut])
        let head = try await node.client.head()
        #expect(head.supply.first { $0.token == .usd }?.amount == 100_000)
        let contract = try await node.raw("GET", "/openapi.yaml")
        #expect(contract.status == 200)
        let health = try await node.raw("GET", "/health")
        #expect(health.json["status"] as? String == "ok")
    }

    @Test func resubmittingReturnsTheSameOutcomeAndAppliesOnce() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 4_000)
        var sequences: [Int64?] = []
        for _ in 0..<3 {
            guard case .accepted(let status) = try await node.client.submit(signed) else {
                Issue.record("resubmission not accepted")
                return
            }
            sequences.append(status.sequence)
        }
        #expect(Set(sequences).count == 1)
        let batch = try await node.client.submitBatch([signed, signed])
        #expect(batch.map(\.sequence) == [sequences[0], sequences[0]])
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 4_000)
        let overdraft = try await node.signedTransfer(alice, "alice", "bob", 7_000)
        for _ in 0..<2 {
            guard case .rejected(let problem) = try await node.client.submit(overdraft) else {
                Issue.record("overdraft not rejected")
                return
            }
            #expect(problem.code == "insufficient_funds")
            #expect(problem.transactionId == overdraft.transactionId)
        }
    }

    @Test func batchSubmitGivesEachTransferItsOwnOutcome() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 1_000)
        _ = try await node.holder("bob")
        let ids = try await node.client.transactionIDs(account: "alice", count: 4).transactionIds
        #expect(Set(ids).count == 4)
        var transfers = [
            try await node.signedTransfer(alice, "alice", "bob", 600, transactionID: ids[0]),
            try await node.signedTransfer(alice, "alice", "bob", 600, transactionID: ids[1]),
            try await node.signedTransfer(alice, "alice", "bob", 400, transactionID: ids[2]),
            try await node.signedTransfer(alice, "alice", "bob", 1, transactionID: ids[3]),
        ]
        transfers[3].signature = String(repeating: "0", count: 128)
        let results = try await node.client.submitBatch(transfers)
        #expect(results.map(\.code) == ["accepted", "insufficient_funds", "accepted", "signature_invalid"])
        #expect(results.map(\.transactionId) == ids)
    }

    @Test func revokedKeyCannotSign() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 1_000)
        _ = try await node.holder("bob")
        let phone = SigningKey()
        _ = try await node.operate(.addKey, "alice", [.deviceKey: phone.publicKeyHex])
        guard case .accepted = try await node.client.submit(try await node.signedTransfer(phone, "alice", "bob", 1)) else {
            Issue.record("added key could not sign")
            return
        }
        _ = try await node.operate(.revokeKey, "alice", [.deviceKey: phone.publicKeyHex])
        guard case .rejected(let problem) = try await node.client.submit(try await node.signedTransfer(phone, "alice", "bob", 1)) else {
            Issue.record("revoked key could still sign")
            return
        }
        #expect(problem.code == "key_revoked")
        guard case .accepted = try await node.client.submit(try await node.signedTransfer(alice, "alice", "bob", 1)) else {
            Issue.record("the remaining key stopped working")
            return
        }
        let keys = try await node.client.account("alice").deviceKeys
        #expect(keys.map(\.state) == [.active, .revoked])
    }

    @Test func frontAndApplierRunAsSeparateProcessesOverTCP() async throws {
        let node = try TestNode()
        try await node.start(role: "applier")
        try await node.start(role: "front")
        let alice = try await node.holder("alice", usd: 5_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 2_500)
        guard case .accepted = try await node.client.submit(signed) else {
            Issue.record("split-process transfer not accepted")
            return
        }
        #expect(try await node.client.waitUntilSettled(signed.transactionId).state == .final)
    }
}
