import Foundation
import Logging
import Metrics
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
    private let batchEntries = Recorder(label: MetricName.applierBatchEntries)
    private let commitTimer = Metrics.Timer(label: MetricName.applierCommitSeconds)
    private let batchFailures = Counter(label: MetricName.applierBatchFailures)
    private let blocksSealed = Counter(label: MetricName.blocksSealed)
    /// Entries applied for a request and not sealed yet, for the debug log (bounded).
    private var unsealedRequests: [(sequence: Int64, requestID: String)] = []
    static let unsealedRequestsMax = 100_000
    /// One counter per outcome code, made on first use (only the applier thread uses them).
    private var outcomeCounters: [OutcomeCode: Counter] = [:]

    private func outcomeCounter(_ code: OutcomeCode) -> Counter {
        if let counter = outcomeCounters[code] { return counter }
        let counter = Counter(label: MetricName.applierOutcomes, dimensions: [("code", code.name)])
        outcomeCounters[code] = counter
        return counter
    }

    public init(
        writer: LedgerWriter, work: QueueSocket, outcomes: QueueSocket, clock: any WallClock,
        limits: RegionConfig.Limits,
        signatures: SignatureInbox, blockPublicKey: [UInt8], custody: CustodyWatch = CustodyWatch(),
        localFront: ApplierWatch? = nil,
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
        await runBlockingLoop(
            named: "sdt-applier", { self.loop() }, stop: { self.running.store(false, ordering: .relaxed) })
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
                // Which request sent which entries, for the debug log.
                let opened = decode(first)
                var batch = opened.submissions
                var requests = [(id: opened.requestID, count: batch.count)]
                while batch.count < limits.applyBatchMax, let next = try work.receive(timeoutMilliseconds: 0) {
                    let (id, submissions) = decode(next)
                    requests.append((id, submissions.count))
                    batch += submissions
                }
                guard !batch.isEmpty else {
                    sealPending()
                    continue
                }
                // The signatures waiting go into the batch's own transaction.
                let signed = signatures.take()
                let decided: [Outcome]
                let started = ContinuousClock.now
                do {
                    decided = try writer.apply(
                        batch, nowMilliseconds: clock.nowMilliseconds(), signatures: signed, publicKey: blockPublicKey)
                } catch {
                    signatures.putBack(signed)
                    batchFailures.increment()
                    throw error
                }
                commitTimer.record(duration: ContinuousClock.now - started)
                batchEntries.record(batch.count)
                for outcome in decided { outcomeCounter(outcome.code).increment() }
                try outcomes.send(SubmissionCodec.encode(decided))
                if logger.logLevel <= .debug { noteApplied(decided, requests: requests) }
                sealPending()
            } catch let error as QueueError where error.code == .closed {
                return
            } catch {
                // Nothing was committed for this batch; its senders time out and resubmit, which is safe.
                logger.error("applier batch failed and was rolled back: \(error)")
            }
        }
    }

    private func decode(_ message: [UInt8]) -> (requestID: String, submissions: [Submission]) {
        // An empty message only wakes the applier: a signature waits to be stored.
        guard !message.isEmpty else { return ("", []) }
        do {
            return try SubmissionCodec.decodeWork(message)
        } catch {
            logger.error("dropped an unreadable work message: \(error)")
            return ("", [])
        }
    }

    /// At debug level: each request's entries as decided, with its id, and the entries it got applied
    /// remembered until their block is sealed (so the sealing line names the requests too).
    private func noteApplied(_ decided: [Outcome], requests: [(id: String, count: Int)]) {
        var rest = decided[...]
        for request in requests {
            let mine = rest.prefix(request.count)
            rest = rest.dropFirst(request.count)
            guard !request.id.isEmpty, !mine.isEmpty else { continue }
            let entries = mine.map { "\($0.entryID) \($0.code.name)\($0.sequence.map { " at \($0)" } ?? "")" }
            logger.debug(
                "applied \(mine.count) entries",
                metadata: ["request_id": "\(request.id)", "entries": .array(entries.map { .string($0) })])
            for case let sequence? in mine.map(\.sequence) { unsealedRequests.append((sequence, request.id)) }
        }
        if unsealedRequests.count > Self.unsealedRequestsMax {
            unsealedRequests.removeFirst(unsealedRequests.count - Self.unsealedRequestsMax)
        }
    }

    /// At debug level: the block just sealed and the requests whose entries it holds.
    private func noteSealed(_ block: SealedBlock) {
        guard logger.logLevel <= .debug else { return }
        let last = block.header.lastSequence
        let ids = Set(unsealedRequests.prefix { $0.sequence <= last }.map(\.requestID)).sorted()
        unsealedRequests.removeAll { $0.sequence <= last }
        logger.debug(
            "sealed block \(block.header.height), entries \(block.header.firstSequence)...\(last)",
            metadata: ["request_ids": .array(ids.map { .string($0) }), "block": "\(block.header.height)"])
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
            let entriesMax = limits.blockEntriesMax
            while try writer.shouldSeal(entriesMax: entriesMax),
                let block = try writer.sealNextBlock(entriesMax: entriesMax, nowMilliseconds: clock.nowMilliseconds())
            {
                sealedAny = true
                blocksSealed.increment()
                noteSealed(block)
            }
            if sealedAny { onSealed() }
        } catch {
            logger.error("sealing failed, will retry after the next batch: \(error)")
        }
    }
}
