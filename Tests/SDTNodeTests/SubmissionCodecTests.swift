import SDTCore
import SDTCrypto
import SDTCustody
import SDTQueue
import SDTLedger
import Testing
@testable import SDTNode

@Suite struct SubmissionCodecTests {
    func submissions() throws -> [Submission] {
        let key = SigningKey()
        let transfer = try Transfer(region: "us-tx", transactionID: "tx1", from: "a", to: "b", token: "GOLD",
                                    amountMinorUnits: 7, publicKeyHex: key.publicKeyHex)
        let action = try OperatorAction(region: "us-tx", requestID: "r1", kind: .addKey,
                                        fields: [.account: "a", .deviceKey: key.publicKeyHex], operatorKeyHex: key.publicKeyHex)
        return [.transfer(transfer, signature: key.sign(transfer.signingBytes)),
                .operatorAction(action, signature: key.sign(action.signingBytes), attachment: Array("rules or sealed data".utf8))]
    }

    @Test func workAndOutcomesRoundTrip() throws {
        let original = try submissions()
        #expect(try SubmissionCodec.decode(SubmissionCodec.encode(original)) == original)
        let traced = try SubmissionCodec.decodeWork(SubmissionCodec.encode(original, requestID: "req-7.a_B"))
        #expect(traced.requestID == "req-7.a_B" && traced.submissions == original)
        let outcomes = [Outcome(kind: .transfer, entryID: "tx1", code: .accepted, sequence: 9),
                        Outcome(kind: .operatorAction, entryID: "r1", code: .deviceKeyInUse, sequence: nil),
                        Outcome(kind: .transfer, entryID: "tx2", code: .ruleRejected, sequence: nil, ruleID: "TX-CTR", ruleSetVersion: 3)]
        #expect(try SubmissionCodec.decodeOutcomes(SubmissionCodec.encode(outcomes)) == outcomes)
    }

    @Test func damagedMessagesAreErrorsNotCrashes() throws {
        let bytes = SubmissionCodec.encode(try submissions())
        for length in [0, 1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: (any Error).self) { try SubmissionCodec.decode(Array(bytes.prefix(length))) }
        }
        var wrongVersion = bytes
        wrongVersion[0] = 99
        #expect(throws: (any Error).self) { try SubmissionCodec.decode(wrongVersion) }
        var alteredRecord = bytes
        if let index = alteredRecord.firstIndex(of: UInt8(ascii: "G")) { alteredRecord[index] = UInt8(ascii: "g") }
        #expect(throws: (any Error).self) { try SubmissionCodec.decode(alteredRecord) }
    }

    @Test func waitersTimeOutWithoutOutcomesAndResumeWithThem() async throws {
        let board = OutcomeBoard()
        let key = OutcomeBoard.Key(kind: .transfer, entryID: "tx1", recordSHA3: [UInt8](repeating: 1, count: 32))
        let nothing = try await board.wait(for: [key], timeout: .milliseconds(20)) {}
        #expect(nothing.isEmpty)
        var outcome = Outcome(kind: .transfer, entryID: "tx1", code: .accepted, sequence: 1)
        outcome.recordSHA3 = key.recordSHA3
        let delivered = try await board.wait(for: [key, key], timeout: .seconds(5)) { board.deliver([outcome]) }
        #expect(delivered == [key: outcome])
        struct SendFailed: Error {}
        await #expect(throws: SendFailed.self) { try await board.wait(for: [key], timeout: .seconds(5)) { throw SendFailed() } }
        #expect(!board.isInFlight(key.id))
    }

    /// Two different records under one id: each waiter gets the answer for its own record only.
    @Test func anOutcomeReachesOnlyTheWaitersOfItsOwnRecord() async throws {
        let board = OutcomeBoard()
        let applied = OutcomeBoard.Key(kind: .transfer, entryID: "tx1", recordSHA3: [UInt8](repeating: 1, count: 32))
        let other = OutcomeBoard.Key(kind: .transfer, entryID: "tx1", recordSHA3: [UInt8](repeating: 2, count: 32))
        var accepted = Outcome(kind: .transfer, entryID: "tx1", code: .accepted, sequence: 7)
        accepted.recordSHA3 = applied.recordSHA3
        var used = Outcome(kind: .transfer, entryID: "tx1", code: .transactionIDUsed, sequence: nil)
        used.recordSHA3 = other.recordSHA3
        async let first = board.wait(for: [applied], timeout: .seconds(5)) {}
        async let second = board.wait(for: [other], timeout: .seconds(5)) {}
        try await Task.sleep(for: .milliseconds(50))
        board.deliver([accepted, used])
        #expect(try await first == [applied: accepted])
        #expect(try await second == [other: used])
    }

    /// The heartbeat carries the quorum as probed, a bad share kept apart from a custodian that is down.
    @Test func heartbeatsCarryEachCustodiansStateAndLastProblem() throws {
        let custody = Custody(threshold: 2, custodians: [
            CustodianStatus(identifier: 1, name: "ana", reachable: true, lastProblem: nil),
            CustodianStatus(identifier: 2, name: "ben", reachable: true,
                            lastProblem: CustodianProblem(identifier: 2, round: "sign", kind: .badShare)),
            CustodianStatus(identifier: 3, name: "cai", reachable: false,
                            lastProblem: CustodianProblem(identifier: 3, round: "commit", kind: .refused("no open commitment"))),
        ])
        #expect(try Heartbeat.decode(Heartbeat.encode(custody)) == custody)
        #expect(try Heartbeat.decode(Heartbeat.encode(nil)) == nil)
        #expect(Heartbeat.encode(custody).first != SubmissionCodec.outcomesVersion)
        #expect(throws: WireError.self) { try Heartbeat.decode(Array(Heartbeat.encode(custody).dropLast(3))) }
    }
}
