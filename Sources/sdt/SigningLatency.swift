import Foundation
import SDTCore
import SDTCrypto
import SDTCustody
import SDTLedger
import SDTQueue

/// Times the quorum coordinator signing a chain of blocks against the running custodian processes.
enum SigningLatency {
    static func measure(quorum: LocalQuorum, blocks: Int, entriesPerBlock: Int) async throws -> BenchRun {
        let context = QueueContext()
        let signer = try QuorumBlockSigner(transcript: quorum.transcript, endpoints: quorum.endpoints, context: context,
                                           timeoutMilliseconds: 5_000)
        let client = SigningKey()
        var previous: (header: [UInt8], signature: [UInt8])?
        var sequence: Int64 = 1
        var latencies: [Double] = []
        for height in 1...blocks {
            let entries = try (0..<entriesPerBlock).map { index in
                let transfer = try Transfer(region: quorum.transcript.region, transactionID: "tx\(height)-\(index)", from: "a", to: "b",
                                            token: "USD", amountMinorUnits: 1, publicKeyHex: client.publicKeyHex)
                return SignedEntry(kind: .transfer, signingBytes: transfer.signingBytes, signature: client.sign(transfer.signingBytes))
            }
            let header = BlockHeader(
                region: quorum.transcript.region, height: Int64(height),
                previousHashHex: previous.map { Hex.encode(SHA3.hash256($0.header)) } ?? BlockHeader.genesisPreviousHashHex,
                merkleRootHex: Hex.encode(Merkle.root(leafHashes: entries.map { Merkle.leafHash($0.signingBytes + $0.signature) })),
                entryCount: Int64(entries.count), firstSequence: sequence, lastSequence: sequence + Int64(entries.count) - 1,
                supply: [:], reserves: [:], reserveRootHex: Hex.encode(Merkle.root(leafHashesOrNone: [])), rules: "none",
                sealedAtMilliseconds: 0
            )
            let request = BlockSigningRequest(headerBytes: header.signingBytes, entries: entries, previousHeader: previous?.header,
                                              previousSignature: previous?.signature)
            let start = ContinuousClock.now
            let signature = try await signer.sign(request).signature
            latencies.append((ContinuousClock.now - start).seconds * 1000)
            previous = (header.signingBytes, signature)
            sequence += Int64(entries.count)
        }
        return BenchRun(count: blocks, seconds: latencies.reduce(0, +) / 1000, latenciesMilliseconds: latencies.sorted())
    }
}
