import Logging
import SDTCustody
import SDTLedger
import ServiceLifecycle

/// Signs sealed blocks as they appear, oldest first; a block is final once its signature is stored.
/// While the signer fails, blocks stay sealed and unsigned — nothing is lost — and are retried.
public struct BlockSigningService: Service {
    let store: BlockSignatureStore
    let signer: any BlockSigner
    let sealed: AsyncStream<Void>
    let logger: Logger
    static let retryMilliseconds = 200

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
        while !Task.isCancelled {
            let blocks = try store.unsignedBlocks(limit: 64)
            guard !blocks.isEmpty else { return }
            for block in blocks {
                do {
                    let signature = try await signer.sign(try store.signingRequest(for: block))
                    try store.store(signature: signature, for: block, publicKey: signer.publicKey)
                } catch {
                    logger.warning("block \(block.height) not signed yet: \(error)")
                    try await Task.sleep(for: .milliseconds(Self.retryMilliseconds))
                    break
                }
            }
        }
    }
}
