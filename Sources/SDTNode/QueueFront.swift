import Foundation
import Logging
import SDTCore
import SDTLedger
import SDTQueue
import ServiceLifecycle
import Synchronization

/// The front's side of the queue: pushes checked entries to the applier and listens for outcomes.
/// Outcomes travel over publish/subscribe, which drops what is published while a subscriber is not
/// connected (an applier restart, a reconnect): so a request whose outcome is late is also looked up
/// in the ledger, and answered from there when the ledger holds a decision on that very record.
public final class QueueFront: Service, @unchecked Sendable {
    // @unchecked: `work` is used only under `workLock`; `outcomes` only on the listener thread.
    private let work: QueueSocket
    private let workLock = Mutex(())
    private let outcomes: QueueSocket
    let board: OutcomeBoard
    private let logger: Logger
    private let running = Atomic<Bool>(true)
    private let ledger: LedgerReader?
    private let clock: any WallClock
    /// When the applier was last heard from, and the custody it reported.
    let applier: ApplierWatch

    /// How late an outcome is before the ledger is asked, and how often; records looked up per pass.
    static let lateAfterMilliseconds: Int64 = 250
    static let lateRecordsPerPass = 512

    public init(
        work: QueueSocket, outcomes: QueueSocket, ledger: LedgerReader? = nil, applier: ApplierWatch = ApplierWatch(),
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.applier = applier
        self.work = work
        self.outcomes = outcomes
        self.ledger = ledger
        self.clock = clock
        board = OutcomeBoard(clock: clock)
        self.logger = logger
    }

    /// Queues `submissions` as one message and waits up to `timeout` for their outcomes. Returns one
    /// answer per submission, in order: the outcome for that very record, or nil while it is queued.
    func submit(_ submissions: [Submission], timeout: Duration) async throws -> [Outcome?] {
        let keys = submissions.map(OutcomeBoard.Key.init)
        let message = SubmissionCodec.encode(submissions, requestID: RequestID.current ?? "")
        let outcomes = try await board.wait(for: keys, timeout: timeout) {
            try workLock.withLock { _ in try work.send(message) }
        }
        return keys.map { outcomes[$0] }
    }

    /// Before serving: waits up to `milliseconds` for the applier's first heartbeat, which also shows
    /// that this front's subscription to outcomes is in place (a publisher drops what it sends before
    /// a subscriber has joined). Returns whether the applier was heard; call before `run`.
    func waitForApplier(milliseconds: Int64) -> Bool {
        let deadline = clock.nowMilliseconds() + milliseconds
        while clock.nowMilliseconds() < deadline {
            guard let message = try? outcomes.receive(timeoutMilliseconds: 50), message.first == Heartbeat.version else { continue }
            applier.heard((try? Heartbeat.decode(message)) ?? nil, at: clock.nowMilliseconds())
            return true
        }
        return false
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await runBlockingLoop(named: "sdt-outcomes", { self.listen() }, stop: { self.running.store(false, ordering: .relaxed) })
            }
            if ledger != nil {
                group.addTask {
                    while self.running.load(ordering: .relaxed) {
                        try? await Task.sleep(for: .milliseconds(Self.lateAfterMilliseconds))
                        self.answerLateFromLedger()
                    }
                }
            }
        }
    }

    /// Answers waiting requests whose outcome did not arrive from what the ledger recorded for the
    /// same record (same id and same hash). A record the ledger holds no decision on stays waiting.
    func answerLateFromLedger() {
        guard let ledger else { return }
        var found: [Outcome] = []
        for key in board.late(olderThan: Self.lateAfterMilliseconds, limit: Self.lateRecordsPerPass) {
            guard let status = try? ledger.status(kind: key.kind, entryID: key.entryID), status.recordSHA3 == key.recordSHA3 else {
                continue
            }
            var outcome = Outcome(
                kind: key.kind, entryID: key.entryID, code: status.code, sequence: status.sequence, ruleID: status.ruleID,
                ruleSetVersion: status.ruleSetVersion, failedLeg: status.failedLeg
            )
            outcome.recordSHA3 = key.recordSHA3
            found.append(outcome)
        }
        if !found.isEmpty {
            logger.notice("\(found.count) outcome(s) did not arrive from the applier; answered from the ledger")
            board.deliver(found)
        }
    }

    private func listen() {
        while running.load(ordering: .relaxed) {
            do {
                guard let message = try outcomes.receive(timeoutMilliseconds: 100) else { continue }
                if message.first == Heartbeat.version {
                    applier.heard(try Heartbeat.decode(message), at: clock.nowMilliseconds())
                    continue
                }
                board.deliver(try SubmissionCodec.decodeOutcomes(message))
            } catch let error as QueueError where error.code == .closed {
                return
            } catch {
                logger.error("unreadable outcome message: \(error)")
            }
        }
    }
}
