import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTTesting
import Testing

/// Several signed bodies under one transaction id — rival amounts, rival payees, a body signed by
/// another holder, exact replays — sent as one batch or as concurrent requests, in random mixes from a
/// fixed seed. Every answer must describe the body it answers: only the body the ledger applied may be
/// told `accepted`, with the sequence the ledger gives it; every other body is told it was rejected;
/// `GET` agrees with every answer; and the balances are exactly what the applied bodies say.
@Suite(.serialized) struct DuplicateIDAnswersTests {
    /// One submitted body and the answer it got.
    struct Answered {
        let body: Components.Schemas.SignedTransfer
        let state: String
        let code: String
        let sequence: Int64?
        let recordSHA3: String?
    }

    static func recordSHA3(_ body: Components.Schemas.SignedTransfer) throws -> String {
        let transfer = try Transfer(
            region: body.region, transactionID: body.transactionId, from: body.from, to: body.to,
            token: body.token.rawValue,
            amountMinorUnits: body.amount, publicKeyHex: body.publicKey
        )
        return Hex.encode(SHA3.hash256(transfer.signingBytes))
    }

    @Test(arguments: [UInt64(11), 12])
    func everyAnswerUnderASharedIDDescribesItsOwnBody(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        let node = try TestNode()
        try await node.start()
        let start: Int64 = 20_000
        let keys = [
            "alice": try await node.holder("alice", usd: start), "carol": try await node.holder("carol", usd: start),
        ]
        _ = try await node.holder("bob")
        var answers: [Answered] = []
        var ids: Set<String> = []
        for round in 0..<8 {
            var bodies: [Components.Schemas.SignedTransfer] = []
            for payer in ["alice", "alice", "carol"] {
                let id = try await node.client.transactionIDs(account: payer).transactionIds[0]
                ids.insert(id)
                for _ in 0..<pick(1...4) {
                    let payee = payer == "alice" ? ["bob", "carol"][pick(0...1)] : "bob"
                    // Now and then more than the payer holds, so that a rival body fails on funds.
                    let amount = pick(0...5) == 0 ? Int64(start * 10) : Int64(pick(1...1_500))
                    bodies.append(
                        try Signing.transfer(
                            key: keys[payer]!, region: node.config.region, transactionID: id,
                            from: payer, to: payee, token: .usd, amountMinorUnits: amount))
                }
                if payer == "alice", pick(0...2) == 0 {
                    // carol reuses alice's id for a transfer of her own.
                    bodies.append(
                        try Signing.transfer(
                            key: keys["carol"]!, region: node.config.region, transactionID: id,
                            from: "carol", to: "bob", token: .usd, amountMinorUnits: 7))
                }
            }
            for _ in 0..<pick(0...3) { bodies.append(bodies[pick(0...(bodies.count - 1))]) }
            bodies.shuffle(using: &random)
            if round % 2 == 0 {
                let results = try await node.client.submitBatch(bodies)
                #expect(results.count == bodies.count)
                for (body, result) in zip(bodies, results) {
                    answers.append(
                        Answered(
                            body: body, state: result.state.rawValue, code: result.code, sequence: result.sequence,
                            recordSHA3: result.recordSha3))
                }
            } else {
                let client = node.client!
                answers += try await withThrowingTaskGroup(of: Answered.self) { group in
                    for body in bodies {
                        group.addTask {
                            switch try await client.submit(body) {
                            case .accepted(let status), .queued(let status):
                                Answered(
                                    body: body, state: status.state.rawValue, code: status.code,
                                    sequence: status.sequence,
                                    recordSHA3: status.recordSha3)
                            case .rejected(let problem):
                                Answered(
                                    body: body, state: "rejected", code: problem.code, sequence: nil, recordSHA3: nil)
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
        }

        var applied: [String: Components.Schemas.TransferStatus] = [:]
        var expected = ["alice": start, "bob": Int64(0), "carol": start]
        for id in ids {
            let status = try await node.client.status(id)
            guard status.state == .accepted || status.state == .final else { continue }
            applied[id] = status
            let body = try #require(
                answers.first { $0.body.transactionId == id && (try? Self.recordSHA3($0.body)) == status.recordSha3 },
                "the ledger applied a body under \(id) that nobody sent")
            expected[body.body.from]! -= body.body.amount
            expected[body.body.to]! += body.body.amount
        }
        var checked = 0
        for answer in answers {
            let hash = try Self.recordSHA3(answer.body)
            if let recordSHA3 = answer.recordSHA3 {
                #expect(recordSHA3 == hash, "an answer about another body: \(answer)")
            }
            let ledger = applied[answer.body.transactionId]
            let isApplied = ledger?.recordSha3 == hash
            switch answer.state {
            case "accepted", "final":
                #expect(
                    isApplied,
                    "told accepted, but the ledger applied another body: \(answer) vs \(String(describing: ledger))")
                #expect(answer.sequence == ledger?.sequence, "\(answer)")
            case "rejected":
                #expect(!isApplied, "told rejected (\(answer.code)), but the ledger applied this very body")
                if ledger != nil, answer.body.from == "alice" || answer.body.publicKey == keys["alice"]!.publicKeyHex {
                    // A rival of the applied body under alice's id: the id is spent, or it failed on its own.
                    #expect(answer.code != "accepted")
                }
            case "queued":
                break
            default:
                Issue.record("unexpected answer state \(answer.state)")
            }
            checked += 1
        }
        #expect(checked == answers.count && answers.count > 30)
        #expect(applied.count > 8, "too few applied to test anything: \(applied.count) of \(ids.count)")
        #expect(answers.contains { $0.code == "transaction_id_used" })
        for (account, amount) in expected {
            let balance = try await node.client.account(account).balances.first { $0.token == .usd }?.amount ?? 0
            #expect(balance == amount, "\(account): the ledger holds \(balance), the applied bodies say \(amount)")
        }
    }
}
