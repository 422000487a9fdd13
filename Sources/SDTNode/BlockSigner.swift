import Logging
import SDTCustody
import SDTCore
import SDTLedger
import ServiceLifecycle

/// Signs sealed blocks as they appear, oldest first; a block is final once its signature is stored.
/// While the signer fails, blocks stay sealed and unsigned — nothing is lost — and are retried.
public struct BlockSigningService: Service {
    let store: BlockSignatureStore
    let signer: any BlockSigner
    let sealed: AsyncStream<Void>
    let logger: Logger
    /// First and largest wait between attempts while signing fails (custodians down): it doubles
    /// from the first to the largest, and resets after a success.
    static let retryMillisecondsFirst = 200
    static let retryMillisecondsMax = 5_000

    public init(store: BlockSignatureStore, signer: any BlockSigner, sealed: AsyncStream<Void>, logger: Logger) {
        self.store = store
        self.signer = signer
        self.sealed = sealed
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await signPending()
            for await _ in sealed.cancelOnGracefulShutdown() {
                try await signPending()
            }
        } onGracefulShutdown: {}
    }

    private func signPending() async throws {
        var wait = Self.retryMillisecondsFirst
        while !Task.isCancelled {
            let blocks = try store.unsignedBlocks(limit: 64)
            guard !blocks.isEmpty else { return }
            for block in blocks {
                do {
                    let signature = try await signer.sign(try store.signingRequest(for: block))
                    try store.store(signature: signature, for: block, publicKey: signer.publicKey)
                    wait = Self.retryMillisecondsFirst
                } catch {
                    logger.warning("block \(block.height) not signed yet (next try in \(wait) ms): \(error)")
                    try await Task.sleep(for: .milliseconds(wait))
                    wait = min(wait * 2, Self.retryMillisecondsMax)
                    break
                }
            }
        }
    }
}
