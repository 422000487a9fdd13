import Foundation
import SDTClient
import SDTCore
import SDTCrypto
import SDTTesting
import Testing

/// Every long-running process exits 0 on SIGTERM and on SIGINT within a bounded time, having kept
/// everything it acknowledged. `.ci/run` runs this suite on the release build too (`SDT_BINARY`),
/// where shutdown once hung while the debug build exited.
@Suite(.serialized) struct ShutdownTests {
    static let bound = Duration.seconds(10)

    @Test(arguments: [SIGTERM, SIGINT])
    func theNodeAndEachRoleExitZeroKeepingWhatTheyAcknowledged(signal: Int32) async throws {
        let node = try TestNode()
        var all = try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        _ = try await node.holder("bob")
        var acknowledged: [String] = []
        for _ in 0..<5 {
            let signed = try await node.signedTransfer(alice, "alice", "bob", 10)
            if case .accepted = try await node.client.submit(signed) { acknowledged.append(signed.transactionId) }
        }
        #expect(acknowledged.count == 5)
        #expect(all.terminate(signal, within: Self.bound) == 0, "\(node.log)")

        let applier = try await node.start(role: "applier")
        let front = try await node.start(role: "front")
        for id in acknowledged { #expect(try await node.client.status(id).state != .queued) }
        let signed = try await node.signedTransfer(alice, "alice", "bob", 10)
        if case .accepted = try await node.client.submit(signed) { acknowledged.append(signed.transactionId) }
        #expect(front.terminate(signal, within: Self.bound) == 0, "\(node.log)")
        #expect(applier.terminate(signal, within: Self.bound) == 0, "\(node.log)")

        all = try await node.start()
        for id in acknowledged {
            let status = try await node.client.status(id)
            #expect(status.state == .accepted || status.state == .final, "\(id) is \(status.state)")
        }
        let bob = try await node.client.account("bob").balances.first { $0.token == .usd }?.amount
        #expect(bob == Int64(10 * acknowledged.count))
        #expect(all.terminate(signal, within: Self.bound) == 0)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aCustodianExitsZero(signal: Int32) async throws {
        let custodied = try CustodiedNode()
        try await custodied.start()
        for identifier in 1...3 {
            #expect(
                custodied.custodians[identifier]!.terminate(signal, within: Self.bound) == 0,
                "custodian \(identifier) did not exit 0")
        }
        custodied.node.stopAll()
    }
}
