import Foundation
import Logging
import SDTCore
import SDTLedger
import SDTQueue
import ServiceLifecycle
import Synchronization

/// The front's side of the queue: pushes checked entries to the applier and listens for outcomes.
public final class QueueFront: Service, @unchecked Sendable {
    // @unchecked: `work` is used only under `workLock`; `outcomes` only on the listener thread.
    private let work: QueueSocket
    private let workLock = Mutex(())
    private let outcomes: QueueSocket
    let board: OutcomeBoard
    private let logger: Logger
    private let running = Atomic<Bool>(true)

    public init(work: QueueSocket, outcomes: QueueSocket, clock: any WallClock = SystemClock(), logger: Logger) {
        self.work = work
        self.outcomes = outcomes
        board = OutcomeBoard(clock: clock)
        self.logger = logger
    }

    /// Queues `submissions` as one message and waits up to `timeout` for their outcomes. Returns one
    /// answer per submission, in order: the outcome for that very record, or nil while it is queued.
    func submit(_ submissions: [Submission], timeout: Duration) async throws -> [Outcome?] {
        let keys = submissions.map(OutcomeBoard.Key.init)
        let message = SubmissionCodec.encode(submissions)
        let outcomes = try await board.wait(for: keys, timeout: timeout) {
            try workLock.withLock { _ in try work.send(message) }
        }
        return keys.map { outcomes[$0] }
    }

    public func run() async throws {
        await runBlockingLoop(named: "sdt-outcomes", { self.listen() }, stop: { self.running.store(false, ordering: .relaxed) })
    }

    private func listen() {
        while running.load(ordering: .relaxed) {
            do {
                guard let message = try outcomes.receive(timeoutMilliseconds: 100) else { continue }
                board.deliver(try SubmissionCodec.decodeOutcomes(message))
            } catch let error as QueueError where error.code == .closed {
                return
            } catch {
                logger.error("unreadable outcome message: \(error)")
            }
        }
    }
}
