import Foundation
import SDTCore
import SDTEngine
import SDTLedger
import SDTRules
import SDTSimulation
import SDTTesting
import Testing

/// The simulator passes on the real engine and custodians, replays a seed exactly, and fails on
/// deliberately broken builds within a bounded number of seeds.
@Suite struct SimulationTests {
    static let steps = 1_000

    @Test func seedsPassOnTheRealEngineAndCustodians() throws {
        for seed in UInt64(1)...4 {
            let report = try Simulation(options: SimulationOptions(seed: seed, steps: Self.steps)).run()
            #expect(report.passed, "seed \(seed): \(report.failure ?? "")")
            #expect(report.faults > 0 && report.entries > 100 && report.told["accepted", default: 0] > 50)
            #expect(report.told.count >= 10, "the workload should meet many outcomes, met \(report.told.keys.sorted())")
        }
    }

    @Test func aSeedReplaysExactlyInThisProcessAndAnother() throws {
        let first = try Simulation(options: SimulationOptions(seed: 11, steps: 600)).run()
        let second = try Simulation(options: SimulationOptions(seed: 11, steps: 600)).run()
        let other = try Simulation(options: SimulationOptions(seed: 12, steps: 600)).run()
        #expect(first.traceHex == second.traceHex && first.passed)
        #expect(first.traceHex != other.traceHex)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NodeProcess.sdtExecutable())
        process.arguments = ["simulate", "--seed", "11", "--steps", "600"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("trace \(first.traceHex)"), "\(text)")
    }

    /// Runs seeds until one fails; returns its failure.
    static func firstFailure(_ options: (UInt64) -> SimulationOptions, seeds: ClosedRange<UInt64>) throws -> String? {
        for seed in seeds {
            let report = try Simulation(options: options(seed)).run()
            if let failure = report.failure { return failure }
        }
        return nil
    }

    @Test func anEngineThatCreditsWithoutDebitingIsCaught() throws {
        let failure = try Self.firstFailure(
            { seed in
                var options = SimulationOptions(seed: seed, steps: Self.steps)
                options.decider = { policy in
                    BrokenDecider(engine: policy.ledgerEngine, breaking: BrokenDecider.creditWithoutDebit)
                }
                return options
            }, seeds: 1...5)
        #expect(failure?.contains("supply") == true, "\(failure ?? "no seed failed")")
    }

    @Test func anEngineWithoutItsIdempotencyCheckIsCaught() throws {
        let failure = try Self.firstFailure(
            { seed in
                var options = SimulationOptions(seed: seed, steps: Self.steps)
                options.decider = { policy in ForgetfulDecider(engine: policy.ledgerEngine) }
                return options
            }, seeds: 1...5)
        // A resubmission decided again is refused by the store's own unique ids: the batch cannot commit.
        #expect(
            failure?.contains("the store refused a batch the engine decided") == true, "\(failure ?? "no seed failed")")
    }

    @Test func custodiansThatForgetWhatTheySignedAreCaughtSigningAFork() throws {
        let failure = try Self.firstFailure(
            { seed in
                var options = SimulationOptions(seed: seed, steps: Self.steps)
                options.custodiansForgetSignedHeights = true
                return options
            }, seeds: 1...20)
        #expect(failure?.contains("different headers at height") == true, "\(failure ?? "no seed failed")")
    }
}

/// Two regions paying each other inside the simulator: every fault of one region in each, faults on the
/// links between them and forged messages; the real engine passes, and a broken one is caught by the
/// checks across the two regions.
@Suite struct TwoRegionSimulationTests {
    @Test func seedsPassWithEveryPaymentCreditedOnceOrRefundedOnce() throws {
        for seed in UInt64(1)...2 {
            let report = try TwoRegionSimulation(options: SimulationOptions(seed: seed, steps: 1_500)).run()
            #expect(report.passed, "seed \(seed): \(report.failure ?? "")")
            let crossings = report.crossings
            #expect(crossings["credited", default: 0] > 10, "\(crossings)")
            #expect(crossings.keys.contains { $0.hasPrefix("refused: ") }, "\(crossings)")
            #expect(report.faults > 50 && report.told["accepted", default: 0] > 100)
        }
    }

    @Test func forgedMessagesAreRefusedWithTheirReasonAndASeedReplays() throws {
        let first = try TwoRegionSimulation(options: SimulationOptions(seed: 7, steps: 2_000)).run()
        let second = try TwoRegionSimulation(options: SimulationOptions(seed: 7, steps: 2_000)).run()
        #expect(first.passed, "\(first.failure ?? "")")
        #expect(first.traceHex == second.traceHex)
        let forged = first.crossings.filter { $0.key.hasPrefix("forged message refused") }
        #expect(forged.count >= 3, "\(first.crossings)")
    }

    @Test func aPayerRegionThatTurnsARefusalIntoAnObligationIsCaught() throws {
        var options = SimulationOptions(seed: 1, steps: 1_500)
        options.decider = { policy in CreditsRefusalsDecider(engine: policy.ledgerEngine) }
        let report = try TwoRegionSimulation(options: options).run()
        #expect(report.failure?.contains("owes") == true, "\(report.failure ?? "no failure")")
    }
}

/// The engine with its changes rewritten by `breaking`, and the overlay recomputed from what it wrote.
struct BrokenDecider: BatchDecider {
    let engine: LedgerEngine
    let breaking: @Sendable (LedgerChange) -> LedgerChange

    func apply<State: LedgerState>(
        _ batch: [Submission], to state: State, now: Int64
    ) throws(LedgerError) -> BatchResult {
        let result = try engine.apply(batch, to: state, now: now)
        let changes = result.changes.map(breaking)
        var staging = Staging(base: state)
        for change in changes { try staging.apply(change) }
        return BatchResult(
            outcomes: result.outcomes, records: result.records, changes: changes, overlay: staging.overlay)
    }

    /// A transfer credits its payee from the issuer and never debits its payer.
    static let creditWithoutDebit: @Sendable (LedgerChange) -> LedgerChange = { change in
        guard case .applied(let entry) = change, case .transfer = entry.submission else { return change }
        let effects = entry.effects.map { effect -> Effect in
            guard case .posting(let posting) = effect else { return effect }
            return .posting(
                Posting(token: posting.token, amount: posting.amount, from: issuerAccountID, to: posting.to))
        }
        return .applied(
            AppliedEntry(
                sequence: entry.sequence, submission: entry.submission,
                appliedAtMilliseconds: entry.appliedAtMilliseconds, effects: effects))
    }
}

/// A payer's region that believes its payments were credited when the payee's region refused them: it
/// records each refusal as a credit (an obligation, no refund). Its own ledger stays consistent with
/// its records; only the two regions together show an obligation the payee never claimed.
struct CreditsRefusalsDecider: BatchDecider {
    let engine: LedgerEngine

    func apply<State: LedgerState>(
        _ batch: [Submission], to state: State, now: Int64
    ) throws(LedgerError) -> BatchResult {
        try engine.apply(batch.map(Self.credited), to: state, now: now)
    }

    static func credited(_ submission: Submission) -> Submission {
        guard case .interRegion(.acknowledgement(let refused)) = submission, case .refused = refused.verdict else {
            return submission
        }
        return .interRegion(
            .acknowledgement(
                Acknowledgement(
                    region: refused.region, counterpart: refused.counterpart, number: refused.number,
                    incomingSHA3Hex: refused.incomingSHA3Hex, counterpartBlockHeight: refused.counterpartBlockHeight,
                    counterpartBlockHashHex: refused.counterpartBlockHashHex, token: refused.token,
                    amount: refused.amount,
                    verdict: .credited)))
    }
}

/// The engine deciding over a state that never remembers an earlier decision: every resubmission is
/// decided as if new.
struct ForgetfulDecider: BatchDecider {
    let engine: LedgerEngine

    func apply<State: LedgerState>(
        _ batch: [Submission], to state: State, now: Int64
    ) throws(LedgerError) -> BatchResult {
        try engine.apply(batch, to: Forgetful(base: state), now: now)
    }

    struct Forgetful<Base: LedgerState>: LedgerState {
        let base: Base
        func nextSequence() throws(LedgerError) -> Int64 { try base.nextSequence() }
        func ruleSet() throws(LedgerError) -> RuleSet? { try base.ruleSet() }
        func account(_ id: String) throws(LedgerError) -> AccountState? { try base.account(id) }
        func deviceKey(_ key: String) throws(LedgerError) -> DeviceKeyState? { try base.deviceKey(key) }
        func balance(_ key: BalanceKey) throws(LedgerError) -> Int64 { try base.balance(key) }
        func reserved(_ key: BalanceKey) throws(LedgerError) -> Int64 { try base.reserved(key) }
        func supply(_ token: Token) throws(LedgerError) -> Int64 { try base.supply(token) }
        func reserves(_ token: Token) throws(LedgerError) -> Int64 { try base.reserves(token) }
        func reserveRecord(_ key: ReserveKey) throws(LedgerError) -> Int64? { try base.reserveRecord(key) }
        func pendingTransfer(_ id: String) throws(LedgerError) -> PendingState? { try base.pendingTransfer(id) }
        func pendingTransfersDue(at milliseconds: Int64) throws(LedgerError) -> [PendingState] {
            try base.pendingTransfersDue(at: milliseconds)
        }
        func openHold(_ id: String) throws(LedgerError) -> HoldState? { try base.openHold(id) }
        func priorDecision(_ key: EntryKey, signingBytes: [UInt8]) throws(LedgerError) -> PriorDecision? { nil }
        func linkGroup(_ id: String, legs: [[UInt8]]) throws(LedgerError) -> LinkGroupState? {
            try base.linkGroup(id, legs: legs)
        }
        func outgoing(_ key: BalanceKey, since: Int64, retainingSince: Int64) throws(LedgerError) -> VelocityTotals {
            try base.outgoing(key, since: since, retainingSince: retainingSince)
        }
        func position(_ key: PositionKey) throws(LedgerError) -> RegionPosition { try base.position(key) }
        func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
            try base.interRegionLink(counterpart)
        }
        func outboundMessage(counterpart: String, number: Int64) throws(LedgerError) -> OutboundState? {
            try base.outboundMessage(counterpart: counterpart, number: number)
        }
    }
}
