import Logging
import Metrics
import SDTCore
import SDTCrypto
import SDTCustody
import SDTLedger
import SDTQueue
import ServiceLifecycle
import Synchronization

/// Signatures the signing service made that the applier has not stored yet. The applier is the
/// ledger's only writer: it takes them on its thread and stores them in a transaction of its own,
/// so signing never waits on the applier's lock nor the applier on a second writer's fsync.
public final class SignatureInbox: Sendable {
    private let pending = Mutex<[BlockSignatureRecord]>([])
    private let wake: @Sendable () -> Void

    /// `wake` tells the applier to look now rather than at its next poll.
    public init(wake: @escaping @Sendable () -> Void = {}) { self.wake = wake }

    func deliver(_ record: BlockSignatureRecord) {
        pending.withLock { $0.append(record) }
        wake()
    }

    /// Everything delivered so far, oldest first; the inbox is then empty.
    func take() -> [BlockSignatureRecord] {
        pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
    }

    /// Puts back what could not be stored, ahead of anything delivered since.
    func putBack(_ signed: [BlockSignatureRecord]) {
        pending.withLock { $0 = signed + $0 }
    }
}

/// Signs sealed blocks as they appear, oldest first, and hands each verified signature to the
/// applier; a block is final once the applier has stored it. While the signer fails, blocks stay
/// sealed and unsigned — nothing is lost — and are retried.
public final class BlockSigningService: Service, @unchecked Sendable {
    // @unchecked: `delivered` and `last` are used only by `run`, one signing at a time.
    let store: BlockSignatureStore
    let signer: any BlockSigner
    private let blocksSigned = Counter(label: MetricName.blocksSigned)
    private let signingFailures = Counter(label: MetricName.blockSigningFailures)
    let sealed: AsyncStream<Void>
    let inbox: SignatureInbox
    let logger: Logger
    /// Heights signed and handed over, not yet seen stored: not to be signed again meanwhile.
    private var delivered: Set<Int64> = []
    /// The newest signature made: the next block's request names it before the applier stored it.
    private var last: (height: Int64, signature: [UInt8])?
    /// First and largest wait between attempts while signing fails (custodians down): it doubles
    /// from the first to the largest, and resets after a success.
    static let retryMillisecondsFirst = 200
    static let retryMillisecondsMax = 5_000

    let custody: CustodyWatch
    /// How often every custodian is pinged for health.
    static let probeMilliseconds = 2_000

    public init(
        store: BlockSignatureStore, signer: any BlockSigner, sealed: AsyncStream<Void>, inbox: SignatureInbox,
        custody: CustodyWatch = CustodyWatch(), logger: Logger
    ) {
        self.custody = custody
        self.store = store
        self.signer = signer
        self.sealed = sealed
        self.inbox = inbox
        self.logger = logger
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await self.signPending()
                    for await _ in self.sealed.cancelOnGracefulShutdown() {
                        try await self.signPending()
                    }
                } onGracefulShutdown: {}
            }
            group.addTask {
                await cancelWhenGracefulShutdown { await self.probeUntilCancelled() }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Pings the custodians every `probeMilliseconds` and logs a change in who answers.
    private func probeUntilCancelled() async {
        var unreachable: Set<Int> = []
        while !Task.isCancelled {
            let probed = await signer.probe()
            custody.update(probed)
            if let probed {
                let now = Set(probed.custodians.filter { !$0.reachable }.map(\.identifier))
                for custodian in probed.custodians where now.contains(custodian.identifier) != unreachable.contains(custodian.identifier) {
                    if now.contains(custodian.identifier) {
                        let consequence = probed.canSign ? "" : "; fewer than \(probed.threshold) answer, no block can be signed"
                        logger.warning("custodian \(custodian.identifier) (\(custodian.name)) does not answer\(consequence)")
                    } else {
                        logger.notice("custodian \(custodian.identifier) (\(custodian.name)) answers again")
                    }
                }
                unreachable = now
            }
            try? await Task.sleep(for: .milliseconds(Self.probeMilliseconds))
        }
    }

    /// Logs each custodian problem of the last signing as what it is: a share that does not verify is
    /// a fault or an attack, not a custodian that is down.
    private func logProblems() async {
        for problem in await signer.problemsInLastSigning() {
            if case .badShare = problem.kind {
                logger.error("\(problem)")
            } else {
                logger.warning("\(problem)")
            }
        }
    }

    private func signPending() async throws {
        var wait = Self.retryMillisecondsFirst
        while !Task.isCancelled {
            let unsigned = try store.unsignedBlocks(limit: 64)
            delivered.formIntersection(unsigned.map(\.height))
            let blocks = unsigned.filter { !delivered.contains($0.height) }
            guard !blocks.isEmpty else { return }
            for block in blocks {
                do {
                    let previous = last.flatMap { $0.height == block.height - 1 ? $0.signature : nil }
                    let request = try store.signingRequest(for: block, previousSignature: previous)
                    let signed: QuorumSignature
                    do {
                        signed = try await signer.sign(request)
                        await logProblems()
                    } catch {
                        await logProblems()
                        throw error
                    }
                    let signature = signed.signature
                    guard Ed25519.verify(signature: signature, message: block.headerBytes, publicKey: signer.publicKey) else {
                        throw LedgerError(.invariant, "the signature for block \(block.height) does not verify; not stored")
                    }
                    last = (block.height, signature)
                    delivered.insert(block.height)
                    inbox.deliver(
                        BlockSignatureRecord(
                            block: block, signature: signature, signers: signed.signers, proof: signed.proof))
                    blocksSigned.increment()
                    wait = Self.retryMillisecondsFirst
                } catch {
                    signingFailures.increment()
                    logger.warning("block \(block.height) not signed yet (next try in \(wait) ms): \(error)")
                    try await Task.sleep(for: .milliseconds(wait))
                    wait = min(wait * 2, Self.retryMillisecondsMax)
                    break
                }
            }
        }
    }
}
