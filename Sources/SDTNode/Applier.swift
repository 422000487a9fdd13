import Foundation
import Logging
import SDTCore
import SDTLedger
import SDTQueue
import ServiceLifecycle
import Synchronization

/// Takes work off the queue in order, applies it in batches (one SQLite transaction, one fsync per
/// batch), publishes the outcomes, and seals what it applied into blocks. Runs on its own thread,
/// because ZeroMQ and SQLite calls block.
public final class Applier: Service, @unchecked Sendable {
    // @unchecked: the sockets and the writer are used only on the applier thread; `running` is atomic.
    private let writer: LedgerWriter
    private let work: QueueSocket
    private let outcomes: QueueSocket
    private let clock: any WallClock
    private let limits: RegionConfig.Limits
    private let onSealed: @Sendable () -> Void
    private let signatures: SignatureInbox
    private let blockPublicKey: [UInt8]
    private let logger: Logger
    private let running = Atomic<Bool>(true)
    private let custody: CustodyWatch
    /// The front's watch when it runs in this process.
    private let localFront: ApplierWatch?
    private var lastHeartbeatMilliseconds: Int64 = 0
    /// How long one wait for work lasts before the loop checks whether it should stop or seal.
    static let pollMilliseconds: Int32 = 20

    public init(
        writer: LedgerWriter, work: QueueSocket, outcomes: QueueSocket, clock: any WallClock, limits: RegionConfig.Limits,
        signatures: SignatureInbox, blockPublicKey: [UInt8], custody: CustodyWatch = CustodyWatch(), localFront: ApplierWatch? = nil,
        logger: Logger, onSealed: @escaping @Sendable () -> Void
    ) {
        self.custody = custody
        self.localFront = localFront
        localFront?.heard(nil, at: clock.nowMilliseconds())
        self.signatures = signatures
        self.blockPublicKey = blockPublicKey
        self.writer = writer
        self.work = work
        self.outcomes = outcomes
        self.clock = clock
        self.limits = limits
        self.logger = logger
        self.onSealed = onSealed
    }

    public func run() async throws {
        await runBlockingLoop(named: "sdt-applier", { self.loop() }, stop: { self.running.store(false, ordering: .relaxed) })
    }

    private func loop() {
        sealPending()
        while running.load(ordering: .relaxed) {
            do {
                let now = clock.nowMilliseconds()
                if now - lastHeartbeatMilliseconds >= Heartbeat.periodMilliseconds {
                    lastHeartbeatMilliseconds = now
                    let quorum = custody.custody
                    localFront?.heard(quorum, at: now)
                    try outcomes.send(Heartbeat.encode(quorum))
                }
                guard let first = try work.receive(timeoutMilliseconds: Self.pollMilliseconds) else {
                    try writer.expireDue(nowMilliseconds: clock.nowMilliseconds())
                    sealPending()
                    continue
                }
                var batch = decode(first)
                while batch.count < limits.applyBatchMax, let next = try work.receive(timeoutMilliseconds: 0) {
                    batch += decode(next)
                }
                guard !batch.isEmpty else {
                    sealPending()
                    continue
                }
                // The signatures waiting go into the batch's own transaction.
                let signed = signatures.take()
                let decided: [Outcome]
                do {
                    decided = try writer.apply(batch, nowMilliseconds: clock.nowMilliseconds(), signatures: signed, publicKey: blockPublicKey)
                } catch {
                    signatures.putBack(signed)
                    throw error
                }
                try outcomes.send(SubmissionCodec.encode(decided))
                sealPending()
            } catch let error as QueueError where error.code == .closed {
                return
            } catch {
                // Nothing was committed for this batch; its senders time out and resubmit, which is safe.
                logger.error("applier batch failed and was rolled back: \(error)")
            }
        }
    }

    private func decode(_ message: [UInt8]) -> [Submission] {
        // An empty message only wakes the applier: a signature waits to be stored.
        guard !message.isEmpty else { return [] }
        do {
            return try SubmissionCodec.decode(message)
        } catch {
            logger.error("dropped an unreadable work message: \(error)")
            return []
        }
    }

    /// Stores the signatures the signing service handed over, then seals what waits.
    private func sealPending() {
        let signed = signatures.take()
        do {
            try writer.storeSignatures(signed, publicKey: blockPublicKey)
        } catch {
            signatures.putBack(signed)
            logger.error("block signatures not stored, will retry: \(error)")
        }
        do {
            var sealedAny = false
            while try writer.shouldSeal(entriesMax: limits.blockEntriesMax),
                  try writer.sealNextBlock(entriesMax: limits.blockEntriesMax, nowMilliseconds: clock.nowMilliseconds()) != nil {
                sealedAny = true
            }
            if sealedAny { onSealed() }
        } catch {
            logger.error("sealing failed, will retry after the next batch: \(error)")
        }
    }
}
