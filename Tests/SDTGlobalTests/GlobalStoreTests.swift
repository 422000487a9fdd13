import SDTCore
import SDTCrypto
import SDTGlobal
import SDTTesting
import Testing

/// The K$ node's SQLite store against the in-memory one: the same submissions get the same answers,
/// what is recorded survives reopening the file, and a cycle's record reads back as it was planned.
struct GlobalStoreTests {
    static let now: Int64 = 1_000_000

    /// The answer's code: `recorded`, `equivocation`, or the refusal code.
    static func code(_ answer: GlobalStore.Answer) -> String {
        switch answer {
        case .recorded: "recorded"
        case .equivocation: "equivocation"
        case .refused(let refusal, _, _): refusal.code.rawValue
        }
    }

    @Test func theSQLiteStoreAnswersAsTheInMemoryOneAndKeepsItAll() throws {
        var tx = RegionChain("us-tx", keyByte: 1)
        var wy = RegionChain("us-wy", keyByte: 2)
        let keys = ["us-tx": tx.key.publicKey, "us-wy": wy.key.publicKey]
        let first = tx.next(obligations: ["us-wy": [.usd: 500]])
        let second = tx.next(obligations: ["us-wy": [.usd: 700]])
        let wyFirst = wy.next(claims: ["us-tx": [.usd: 700]])
        let submissions: [Checkpoint] = [
            first, second, first,  // the same again: replayed
            tx.make(height: 4, previous: second.hashHex, sealedAt: 4_000),  // a gap
            tx.make(height: 2, previous: first.hashHex, sealedAt: 2_500, supply: 5),  // a second block 2
            wyFirst,
            try Checkpoint(headerBytes: wyFirst.headerBytes, signature: first.signature),  // forged
        ]
        var memory = MemoryCheckpointStore()
        var expected: [String] = []
        for checkpoint in submissions {
            do {
                let decision = try CheckpointBook.decide(
                    checkpoint, blockKeys: keys, state: memory, nowMilliseconds: Self.now, allowedSkewMilliseconds: 0)
                memory.apply(decision)
                if case .record = decision { expected.append("recorded") } else { expected.append("equivocation") }
            } catch let refusal as CheckpointRefusal {
                expected.append(refusal.code.rawValue)
            }
        }
        #expect(
            expected == [
                "recorded", "recorded", "checkpoint_replayed", "checkpoint_out_of_order", "equivocation", "recorded",
                "checkpoint_signature_invalid",
            ])
        let folder = TemporaryDirectory("global-store")
        let path = folder.file("global.sqlite")
        do {
            let store = try GlobalStore(path: path)
            // Half in one request, half in another: each decided against what the ones before recorded.
            let answers =
                try store.submit(
                    submissions.prefix(3).map { ($0.headerBytes, $0.signature) }, blockKeys: keys,
                    nowMilliseconds: Self.now, allowedSkewMilliseconds: 0)
                + store.submit(
                    submissions.dropFirst(3).map { ($0.headerBytes, $0.signature) }, blockKeys: keys,
                    nowMilliseconds: Self.now, allowedSkewMilliseconds: 0)
            #expect(answers.map(Self.code) == expected)
            if case .refused(_, let region, let next) = answers[3] {
                #expect(region == "us-tx" && next == 3)
            } else {
                Issue.record("the gap was not refused")
            }
            let malformed = try store.submit(
                [(Array("not a header\n".utf8), first.signature)], blockKeys: keys, nowMilliseconds: Self.now,
                allowedSkewMilliseconds: 0)
            #expect(malformed.map(Self.code) == ["checkpoint_malformed"])
            // The same evidence again: answered as the alarm it is, with its first time, and not recorded twice.
            let again = try store.submit(
                [(submissions[4].headerBytes, submissions[4].signature)], blockKeys: keys,
                nowMilliseconds: Self.now + 5,
                allowedSkewMilliseconds: 0)
            guard case .equivocation(let alarm, let new)? = again.first else {
                Issue.record("the evidence sent again was answered \(again)")
                return
            }
            #expect(!new && alarm.raisedAtMilliseconds == Self.now)
            #expect(try store.alarms().count == 1)
        }
        let reopened = try GlobalStore(path: path)
        #expect(try reopened.newestCheckpoints().map(\.checkpoint) == memory.newestCheckpoints)
        #expect(try reopened.checkpoint(region: "us-tx", height: 1)?.checkpoint == first)
        #expect(try reopened.alarms() == memory.alarms)
        #expect(try reopened.counts() == (regions: 2, alarms: 1, cycles: 0))

        // us-tx has an alarm: its obligation to us-wy waits, so there is nothing to settle and nothing
        // is recorded; the error says what waits and why.
        do {
            _ = try reopened.settle(nowMilliseconds: Self.now)
            Issue.record("a cycle was recorded that settles nothing")
        } catch {
            #expect("\(error)".contains("nothing to settle") && "\(error)".contains("us-tx>us-wy/USD=700"), "\(error)")
            #expect("\(error)".contains("equivocation alarm"))
        }
        #expect(try reopened.counts().cycles == 0)

        // Without the alarm (another store, the same chains) the cycle is recorded and reads back as planned.
        let clean = try GlobalStore(path: folder.file("clean.sqlite"))
        _ = try clean.submit(
            [first, second, wyFirst].map { ($0.headerBytes, $0.signature) }, blockKeys: keys, nowMilliseconds: Self.now,
            allowedSkewMilliseconds: 0)
        let cycle = try clean.settle(nowMilliseconds: Self.now)
        #expect(cycle.record.number == 1 && cycle.record.instructions == [NettingTests.owe("us-tx", "us-wy", 700)])
        let planned = try SettlementCycle.plan(number: 1, checkpoints: [second, wyFirst], halted: [])
        #expect(cycle.record.bytes == planned.signingBytes)
        #expect(try clean.cycle(1) == cycle)
        #expect(try clean.cycles(limit: 5) == [cycle])
        // The same checkpoints again: all of it is in cycle 1, so nothing is recorded.
        #expect(throws: LedgerError.self) { try clean.settle(nowMilliseconds: Self.now) }
        #expect(try clean.counts().cycles == 1)
    }

    @Test func aCycleRecordReadsBackAndItsSumsAreChecked() throws {
        let (tx, wy, ca) = SettlementCycleTests.chains()
        let cycle = try SettlementCycle.plan(number: 3, checkpoints: [tx, wy, ca], halted: [])
        let recorded = try SettlementCycle.Recorded(recordBytes: cycle.signingBytes)
        #expect(recorded.number == 3 && recorded.basis == cycle.basis && recorded.covered == cycle.covered)
        #expect(recorded.instructions == cycle.result.instructions)
        #expect(recorded.gross == cycle.result.gross && recorded.net == cycle.result.net)
        // Instructions that do not settle what is covered (the totals still match) are refused.
        let swapped = String(decoding: cycle.signingBytes, as: UTF8.self).replacingOccurrences(
            of: "instructions:us-tx>us-wy/USD=200", with: "instructions:us-ca>us-tx/USD=200")
        #expect(throws: RecordError.self) { try SettlementCycle.Recorded(recordBytes: Array(swapped.utf8)) }
        // Covered obligations out of order are not the canonical record.
        let reordered = String(decoding: cycle.signingBytes, as: UTF8.self).replacingOccurrences(
            of: "covered:us-ca>us-tx/USD=200,us-tx>us-wy/USD=1000",
            with: "covered:us-tx>us-wy/USD=1000,us-ca>us-tx/USD=200")
        #expect(reordered != String(decoding: cycle.signingBytes, as: UTF8.self))
        #expect(throws: RecordError.self) { try SettlementCycle.Recorded(recordBytes: Array(reordered.utf8)) }
        // A net line that is not the sum of the instructions is refused.
        let text = String(decoding: cycle.signingBytes, as: UTF8.self).replacingOccurrences(
            of: "net:GOLD=0,USD=200", with: "net:GOLD=0,USD=201")
        #expect(throws: RecordError.self) { try SettlementCycle.Recorded(recordBytes: Array(text.utf8)) }
    }
}
