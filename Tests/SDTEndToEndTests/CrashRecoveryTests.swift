import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import Synchronization
import Testing

final class Acknowledged: Sendable {
    let state = Mutex<[String: Int64]>([:])
}

@Suite(.serialized) struct CrashRecoveryTests {
    static let holders = 8

    /// Sends single transfers from every holder until `stopAfter` or a failure, and returns the ones
    /// the node acknowledged as accepted, with their sequences. Bounded in count and time.
    static func submitUntilKilled(
        _ node: TestNode, keys: [SigningKey], client: NodeClient, stopAfter: Duration,
        kill: @escaping @Sendable () -> Void
    ) async throws -> [String: Int64] {
        let acknowledged = Acknowledged()
        let deadline = ContinuousClock.now + stopAfter
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, key) in keys.enumerated() {
                let ids = try await client.transactionIDs(account: "h\(index)", count: 400).transactionIds
                let to = "h\((index + 1) % keys.count)"
                group.addTask {
                    for id in ids where ContinuousClock.now < deadline {
                        let signed = try Signing.transfer(
                            key: key, region: "us-tx", transactionID: id, from: "h\(index)", to: to,
                            token: .usd, amountMinorUnits: 1)
                        guard let result = try? await client.submit(signed) else { return }
                        if case .accepted(let status) = result {
                            acknowledged.state.withLock { $0[id] = status.sequence ?? -1 }
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(700))
                kill()
            }
            try await group.waitForAll()
        }
        return acknowledged.state.withLock { $0 }
    }

    static func prepare(_ node: TestNode) async throws -> [SigningKey] {
        var keys: [SigningKey] = []
        for index in 0..<holders { keys.append(try await node.holder("h\(index)", usd: 1_000_000)) }
        return keys
    }

    /// After a restart: every acknowledged transfer is there at its sequence, becomes final, is not
    /// applied again when resubmitted, and the audit passes.
    static func checkRecovered(_ node: TestNode, _ acknowledged: [String: Int64]) async throws {
        #expect(acknowledged.count > 10, "too few transfers were acknowledged before the kill to test anything")
        for (id, sequence) in acknowledged {
            let status = try await node.client.waitUntilSettled(id, timeout: .seconds(20))
            #expect(status.state == .final, "\(id) is \(status.state)")
            #expect(status.sequence == sequence, "\(id) moved from sequence \(sequence) to \(status.sequence ?? -1)")
        }
        let head = try await node.client.head()
        node.stopAll()
        let report = try LedgerAudit.run(
            path: NodeData(directory: node.dataPath).ledgerPath,
            blockPublicKey: try NodeData(directory: node.dataPath).existingBlockPublicKey(),
            operatorKeys: [node.operatorKey.publicKeyHex]
        )
        #expect(report.isIntact, "\(report.firstProblem ?? "")")
        #expect(Int64(report.entriesChecked) == head.appliedSequence)
        #expect(report.supply[.usd] == Int64(holders) * 1_000_000)
    }

    @Test func acknowledgedTransfersSurviveKillNineOfTheNode() async throws {
        let node = try TestNode()
        let process = try await node.start()
        let keys = try await Self.prepare(node)
        let acknowledged = try await Self.submitUntilKilled(
            node, keys: keys, client: node.client, stopAfter: .seconds(5)
        ) {
            process.kill9()
        }
        try await node.start()
        try await Self.checkRecovered(node, acknowledged)
    }

    @Test func acknowledgedTransfersSurviveKillNineOfTheApplierProcess() async throws {
        let node = try TestNode()
        let applier = try await node.start(role: "applier")
        try await node.start(role: "front")
        let keys = try await Self.prepare(node)
        let acknowledged = try await Self.submitUntilKilled(
            node, keys: keys, client: node.client, stopAfter: .seconds(5)
        ) {
            applier.kill9()
        }
        let late = try await node.signedTransfer(keys[0], "h0", "h1", 1)
        let during = try await node.raw("POST", "/v1/transactions", body: try node.json(late))
        #expect([202, 503].contains(during.status), "with the applier down the front answered \(during.status)")
        try await node.start(role: "applier")
        // The client of the unanswered transfer sends it again until the ledger answers (it may already
        // have been applied from the queue): then the head counts it.
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if case .accepted? = try? await node.client.submit(late) { break }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("the transfer sent while the applier was down stays unanswered")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Self.checkRecovered(node, acknowledged)
    }

    /// A transfer sent right after the applier restarts is answered with its outcome, not `queued`:
    /// an outcome published before the front has subscribed again is found in the ledger.
    @Test func aTransferSentJustAfterAnApplierRestartGetsItsOutcome() async throws {
        let node = try TestNode()
        var applier = try await node.start(role: "applier")
        try await node.start(role: "front")
        let alice = try await node.holder("alice", usd: 100_000)
        _ = try await node.holder("bob")
        var answers: [Int] = []
        for _ in 0..<10 {
            applier.kill9()
            applier = try await node.start(role: "applier")
            let signed = try await node.signedTransfer(alice, "alice", "bob", 1)
            let answer = try await node.raw("POST", "/v1/transactions", body: try node.json(signed))
            answers.append(answer.status)
            #expect(answer.status == 200, "answered \(answer.status) \(answer.json)")
            if answer.status == 200 {
                let status = try await node.client.status(signed.transactionId)
                #expect(
                    status.sequence == answer.json["sequence"] as? Int64 ?? Int64(answer.json["sequence"] as? Int ?? -1)
                )
            }
        }
        #expect(answers.count == 10)
    }

    /// A front tells the truth about its applier: `ok` while it is heard, 503 `unavailable` naming it
    /// once it is gone, `ok` again after it is back.
    @Test func aFrontsHealthSaysWhenItsApplierIsGone() async throws {
        let node = try TestNode()
        let applier = try await node.start(role: "applier")
        try await node.start(role: "front")
        let up = try await node.health { status, _ in status == 200 }
        #expect(up.json["status"] as? String == "ok", "\(up.json)")
        #expect((up.json["applier"] as? [String: Any])?["reachable"] as? Bool == true)
        applier.kill9()
        let gone = try await node.health { status, _ in status == 503 }
        #expect(gone.status == 503, "\(gone.json)")
        #expect(gone.json["status"] as? String == "unavailable")
        #expect(
            (gone.json["problems"] as? [String])?.first?.contains("the applier was last heard") == true, "\(gone.json)")
        try await node.start(role: "applier")
        let back = try await node.health { status, _ in status == 200 }
        #expect(back.json["status"] as? String == "ok", "\(back.json)")
    }
}
