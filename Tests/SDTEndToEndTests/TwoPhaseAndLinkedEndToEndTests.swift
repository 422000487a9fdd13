import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTTesting
import Testing

/// Pending transfers, posts, voids, expiry and linked groups through a real node process over HTTP.
@Suite struct TwoPhaseAndLinkedEndToEndTests {
    func resolution(_ node: TestNode, _ key: SigningKey, pending: String, by account: String, post amount: Int64?) async throws
        -> Components.Schemas.SignedResolution {
        let id = try await node.client.transactionIDs(account: account).transactionIds[0]
        return try Signing.resolution(key: key, region: node.config.region, transactionID: id, pendingID: pending, account: account,
                                      postAmountMinorUnits: amount)
    }

    func leg(_ node: TestNode, _ key: SigningKey, _ from: String, _ to: String, _ amount: Int64, token: Token = .usd,
             link: String, _ index: Int, of count: Int) async throws -> Components.Schemas.SignedTransfer {
        let id = try await node.client.transactionIDs(account: from).transactionIds[0]
        return try Signing.transfer(key: key, region: node.config.region, transactionID: id, from: from, to: to, token: token,
                                    amountMinorUnits: amount, link: .init(id: link, index: index, count: count))
    }

    @Test func aPendingTransferIsPostedInPartByThePayer() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        let bob = try await node.holder("bob")
        let id = try await node.client.transactionIDs(account: "alice").transactionIds[0]
        let pending = try Signing.transfer(key: alice, region: node.config.region, transactionID: id, from: "alice", to: "bob", token: .usd,
                                           amountMinorUnits: 30_000, pendingTimeoutSeconds: 600)
        guard case .accepted = try await node.client.submit(pending) else { throw TestFailure("the pending transfer was not accepted") }
        var status = try await node.client.status(pending.transactionId)
        #expect(status.pending?.state == .pending && status.pending?.amount == 30_000)
        let usd = try await node.client.account("alice").balances.first { $0.token == .usd }
        #expect(usd?.amount == 100_000 && usd?.reserved == 30_000)
        // Only the payer posts.
        guard case .rejected(let wrongParty) = try await node.client.submit(
            resolution(node, bob, pending: pending.transactionId, by: "bob", post: 30_000)
        ) else { throw TestFailure("the payee posted") }
        #expect(wrongParty.code == "not_pending_party")
        let post = try await resolution(node, alice, pending: pending.transactionId, by: "alice", post: 12_000)
        guard case .accepted = try await node.client.submit(post) else { throw TestFailure("the post was not accepted") }
        status = try await node.client.status(pending.transactionId)
        #expect(status.pending?.state == .posted && status.pending?.postedAmount == 12_000)
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 12_000)
        let after = try await node.client.account("alice").balances.first { $0.token == .usd }
        #expect(after?.amount == 88_000 && after?.reserved == nil)
        #expect(try await node.client.waitUntilSettled(post.transactionId).state == .final)
    }

    @Test func aPendingTransferExpiresByItselfAndCanBeVoidedOnlyByThePayee() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        let bob = try await node.holder("bob")
        let short = try Signing.transfer(
            key: alice, region: node.config.region, transactionID: try await node.client.transactionIDs(account: "alice").transactionIds[0],
            from: "alice", to: "bob", token: .usd, amountMinorUnits: 100_000, pendingTimeoutSeconds: 1
        )
        let lateVoid = try await resolution(node, bob, pending: short.transactionId, by: "bob", post: nil)
        guard case .accepted = try await node.client.submit(short) else { throw TestFailure("the pending transfer was not accepted") }
        // Nobody sends anything: the idle applier lets it lapse.
        let deadline = ContinuousClock.now + .seconds(10)
        while try await node.client.status(short.transactionId).pending?.state != .expired, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await node.client.status(short.transactionId).pending?.state == .expired)
        guard case .rejected(let expired) = try await node.client.submit(lateVoid) else { throw TestFailure("a void after expiry was applied") }
        #expect(expired.code == "pending_expired")

        let long = try Signing.transfer(
            key: alice, region: node.config.region, transactionID: try await node.client.transactionIDs(account: "alice").transactionIds[0],
            from: "alice", to: "bob", token: .usd, amountMinorUnits: 50_000, pendingTimeoutSeconds: 600
        )
        guard case .accepted = try await node.client.submit(long) else { throw TestFailure("the pending transfer was not accepted") }
        guard case .rejected(let byPayer) = try await node.client.submit(
            resolution(node, alice, pending: long.transactionId, by: "alice", post: nil)
        ) else { throw TestFailure("the payer voided") }
        #expect(byPayer.code == "not_pending_party")
        guard case .accepted = try await node.client.submit(resolution(node, bob, pending: long.transactionId, by: "bob", post: nil)) else {
            throw TestFailure("the payee's void was not accepted")
        }
        #expect(try await node.client.status(long.transactionId).pending?.state == .voided)
        #expect(try await node.client.account("alice").balances.first { $0.token == .usd }?.reserved == nil)
    }

    @Test func aLinkedSwapAppliesWholeOrNotAtAllAndNamesTheFailedLeg() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        let bob = try await node.holder("bob")
        _ = try await node.operate(.mintGold, "bob", ReserveFields.bar(31_103, "BAR-SWAP"))
        let failing = [
            try await leg(node, alice, "alice", "bob", 50_000, link: "swap-1", 1, of: 2),
            try await leg(node, bob, "bob", "alice", 31_104, token: .gold, link: "swap-1", 2, of: 2),
        ]
        guard case .rejected(let problem) = try await node.client.submitLinked(failing) else { throw TestFailure("a group with a failing leg applied") }
        #expect(problem.code == "insufficient_funds" && problem.failedLeg == failing[1].transactionId)
        let first = try await node.client.status(failing[0].transactionId)
        #expect(first.state == .rejected && first.code == "linked_leg_failed" && first.failedLeg == failing[1].transactionId)
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 0)

        let swap = [
            try await leg(node, alice, "alice", "bob", 50_000, link: "swap-2", 1, of: 2),
            try await leg(node, bob, "bob", "alice", 31_103, token: .gold, link: "swap-2", 2, of: 2),
        ]
        guard case .accepted(let applied) = try await node.client.submitLinked(swap) else { throw TestFailure("the swap was not applied") }
        #expect(applied.results.map(\.state) == [.accepted, .accepted])
        #expect(try await node.client.account("alice").balances.first { $0.token == .gold }?.amount == 31_103)
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 50_000)
    }

    @Test func badLegsAndResolutionsAreRefusedBeforeQueueing() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        let bob = try await node.holder("bob")
        let before = try await node.client.head().appliedSequence
        let legs = [
            try await leg(node, alice, "alice", "bob", 100, link: "g-1", 1, of: 2),
            try await leg(node, bob, "bob", "alice", 100, link: "g-1", 2, of: 2),
        ]
        // A leg alone, legs out of order, a leg of another group, a forged leg.
        let alone = try await node.raw("POST", "/v1/transactions", body: node.json(legs[0]))
        #expect(alone.status == 400 && (alone.json["detail"] as? String)?.contains("/v1/transactions/linked") == true)
        let reversed = try await node.raw("POST", "/v1/transactions/linked", body: node.json(["transfers": [legs[1], legs[0]]]))
        #expect(reversed.status == 400 && (reversed.json["detail"] as? String)?.contains("transfers[0]") == true)
        let other = try await leg(node, bob, "bob", "alice", 100, link: "g-2", 2, of: 2)
        let mixed = try await node.raw("POST", "/v1/transactions/linked", body: node.json(["transfers": [legs[0], other]]))
        #expect(mixed.status == 400 && mixed.json["code"] as? String == "invalid_field")
        var forged = legs[1]
        forged.amount = 99
        let bad = try await node.raw("POST", "/v1/transactions/linked", body: node.json(["transfers": [legs[0], forged]]))
        #expect(bad.status == 400 && bad.json["code"] as? String == "signature_invalid")
        let single = try await node.raw("POST", "/v1/transactions/linked", body: node.json(["transfers": [legs[0]]]))
        #expect(single.status == 400)
        // A void with an amount, a post without one, a zero timeout.
        var void = try await resolution(node, bob, pending: "tx-any", by: "bob", post: nil)
        void.amount = 5
        #expect(try await node.raw("POST", "/v1/transactions/resolutions", body: node.json(void)).status == 400)
        var post = try await resolution(node, alice, pending: "tx-any", by: "alice", post: 5)
        post.amount = nil
        #expect(try await node.raw("POST", "/v1/transactions/resolutions", body: node.json(post)).status == 400)
        var zero = try await node.signedTransfer(alice, "alice", "bob", 100)
        zero.timeoutSeconds = 0
        #expect(try await node.raw("POST", "/v1/transactions", body: node.json(zero)).status == 400)
        #expect(try await node.client.head().appliedSequence == before)
        // The legs themselves were not consumed.
        guard case .accepted = try await node.client.submitLinked(legs) else { throw TestFailure("the group did not apply") }
    }
}
