import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import SDTQueue
import SDTTesting
import Testing

@testable import SDTCustody

/// Three custodian daemons on loopback ZeroMQ sockets, each on its own thread, and a coordinator.
final class Quorum: @unchecked Sendable {
    let ceremony: Ceremony
    let context = QueueContext()
    let state = TemporaryDirectory("custody")
    var daemons: [Int: CustodianDaemon] = [:]
    var endpoints: [String] = []

    init() throws {
        ceremony = try Ceremony()
        endpoints = (1...3).map { _ in "tcp://127.0.0.1:\(FreePort.next())" }
        for identifier in 1...3 { try start(identifier) }
    }

    func start(_ identifier: Int) throws {
        let daemon = try CustodianDaemon(
            share: ceremony.shares[identifier]!, identifier: identifier, transcript: ceremony.transcript,
            context: context, endpoint: endpoints[identifier - 1], stateDirectory: state.path)
        daemons[identifier] = daemon
        Thread { daemon.run { _ in } }.start()
    }

    func stop(_ identifier: Int) {
        daemons[identifier]?.stop()
        daemons[identifier] = nil
        usleep(300_000)
    }

    /// 2 s a request: the release-binary CI run, with every suite at once on two cores, once saw two live
    /// custodians miss a 300 ms bound.
    func signer(timeoutMilliseconds: Int32 = 2_000) throws -> QuorumBlockSigner {
        try QuorumBlockSigner(
            transcript: ceremony.transcript, endpoints: endpoints, context: context,
            timeoutMilliseconds: timeoutMilliseconds)
    }

    deinit { for daemon in daemons.values { daemon.stop() } }
}

/// Builds blocks of signed transfers the way the sealer does.
struct BlockMaker {
    let client = SigningKey()
    var previous: (header: [UInt8], signature: [UInt8])?
    var nextSequence: Int64 = 1
    var height: Int64 = 1

    func entry(amount: Int64) throws -> SignedEntry {
        let transfer = try Transfer(
            region: "us-tx", transactionID: "tx\(nextSequence)-\(amount)", from: "a", to: "b", token: "USD",
            amountMinorUnits: amount, publicKeyHex: client.publicKeyHex)
        return SignedEntry(
            kind: .transfer, signingBytes: transfer.signingBytes, signature: client.sign(transfer.signingBytes))
    }

    /// `claims`: what the header states this region is owed by others; the supply it states follows.
    func request(
        _ entries: [SignedEntry], previousHash: String? = nil, unbackedSupply: Bool = false,
        claims: [String: [Token: Int64]] = [:]
    ) -> BlockSigningRequest {
        let claimed = claims.values.reduce(Int64(0)) { $0 + ($1[.usd] ?? 0) }
        let leaves = entries.map { Merkle.leafHash($0.signingBytes + $0.signature) }
        let header = BlockHeader(
            region: "us-tx", height: height,
            previousHashHex: previousHash ?? previous.map { Hex.encode(SHA3.hash256($0.header)) }
                ?? BlockHeader.genesisPreviousHashHex,
            merkleRootHex: Hex.encode(Merkle.root(leafHashes: leaves)), entryCount: Int64(entries.count),
            firstSequence: nextSequence,
            lastSequence: nextSequence + Int64(entries.count) - 1, supply: unbackedSupply ? [.usd: 1] : [.usd: claimed],
            reserves: [:],
            reserveRootHex: Hex.encode(Merkle.root(leafHashesOrNone: [])), rules: "none", sealedAtMilliseconds: 1,
            claims: claims
        )
        return BlockSigningRequest(
            headerBytes: header.signingBytes, entries: entries, previousHeader: previous?.header,
            previousSignature: previous?.signature)
    }

    mutating func signed(_ request: BlockSigningRequest, _ signature: [UInt8]) {
        previous = (request.headerBytes, signature)
        nextSequence += Int64(request.entries.count)
        height += 1
    }
}

@Suite(.serialized) struct CustodianDaemonTests {
    @Test func everyPairSignsAndTheResultIsAnOrdinaryEd25519Signature() async throws {
        let quorum = try Quorum()
        let signer = try quorum.signer()
        var maker = BlockMaker()
        for down in [3, 2, 1] {
            quorum.stop(down)
            let request = maker.request([try maker.entry(amount: 5), try maker.entry(amount: 7)])
            let signed = try await signer.sign(request)
            let signature = signed.signature
            #expect(
                Ed25519.verify(
                    signature: signature, message: request.headerBytes,
                    publicKey: quorum.ceremony.transcript.groupPublicKeyBytes))
            // Who signed is recorded, and proven by their shares to anyone holding the transcript.
            let transcript = quorum.ceremony.transcript
            let publicShares = Dictionary(
                uniqueKeysWithValues: transcript.custodians.map { ($0.identifier, Hex.decode($0.publicShare)!) })
            #expect(signed.signers == [1, 2, 3].filter { $0 != down })
            #expect(
                QuorumSignature.verifiedSigners(
                    proof: signed.proof, signature: signed.signature, threshold: 2, publicShares: publicShares,
                    groupPublicKey: transcript.groupPublicKeyBytes,
                    message: request.headerBytes) == signed.signers)
            var forged = signed.proof
            forged[forged.count - 1] ^= 1
            #expect(
                QuorumSignature.verifiedSigners(
                    proof: forged, signature: signed.signature, threshold: 2, publicShares: publicShares,
                    groupPublicKey: transcript.groupPublicKeyBytes,
                    message: request.headerBytes) == nil, "a changed share proves nothing")
            var swapped = signed.proof
            swapped[1] = UInt8(down)
            #expect(
                QuorumSignature.verifiedSigners(
                    proof: swapped, signature: signed.signature, threshold: 2, publicShares: publicShares,
                    groupPublicKey: transcript.groupPublicKeyBytes,
                    message: request.headerBytes) == nil, "a share claimed for another custodian proves nothing")
            // One custodian's own honest part alone proves nothing: fewer than the threshold, and its
            // share does not add up to the signature.
            let alone = Array(signed.proof.prefix(signed.proof.count / 2))
            #expect(
                QuorumSignature.verifiedSigners(
                    proof: alone, signature: signed.signature, threshold: 1, publicShares: publicShares,
                    groupPublicKey: transcript.groupPublicKeyBytes, message: request.headerBytes) == nil)
            #expect(
                QuorumSignature.verifiedSigners(
                    proof: alone, signature: signed.signature, threshold: 2, publicShares: publicShares,
                    groupPublicKey: transcript.groupPublicKeyBytes, message: request.headerBytes) == nil)
            maker.signed(request, signature)
            try quorum.start(down)
        }
    }

    /// A block with a payment to another region: the client's transfer and the outbound message the
    /// ledger records after it (no client signature) — each custodian checks both and signs. A record
    /// that does not parse, or one that carries a signature, is refused.
    @Test func blocksWithInterRegionRecordsAreCheckedAndSigned() async throws {
        let quorum = try Quorum()
        let signer = try quorum.signer()
        var maker = BlockMaker()
        let message = OutboundMessage(
            region: "us-tx", counterpart: "us-wy", number: 1, transactionID: "tx1-5", from: "a", to: "b",
            token: .usd, amount: Amount(minorUnits: 5)!, senderJurisdiction: "US-TX", senderKYCTier: 2)
        let outbound = SignedEntry(kind: .interRegion, signingBytes: message.signingBytes, signature: [])
        let request = maker.request([try maker.entry(amount: 5), outbound])
        let signature = try await signer.sign(request).signature
        #expect(
            Ed25519.verify(
                signature: signature, message: request.headerBytes,
                publicKey: quorum.ceremony.transcript.groupPublicKeyBytes))
        maker.signed(request, signature)
        for bad in [
            SignedEntry(kind: .interRegion, signingBytes: Array("SDT-OUTBOUND-V1\nregion:us-tx\n".utf8), signature: []),
            SignedEntry(
                kind: .interRegion, signingBytes: message.signingBytes, signature: [UInt8](repeating: 1, count: 64)),
        ] {
            await #expect(throws: CryptoError.self) { try await signer.sign(maker.request([bad])) }
        }
        // A credit for a payment from us-wy: the header's claim on us-wy must be exactly what the block credits.
        let incoming = OutboundMessage(
            region: "us-wy", counterpart: "us-tx", number: 1, transactionID: "wy-1", from: "d", to: "a",
            token: .usd, amount: Amount(minorUnits: 40)!, senderJurisdiction: "US-WY", senderKYCTier: 3)
        let hash = Hex.encode(SHA3.hash256(incoming.signingBytes))
        let decision = Delivery(message: incoming, messageSHA3Hex: hash, sourceBlockHeight: 1, sourceBlockHashHex: hash)
            .decided(.credited)
        let credit = SignedEntry(kind: .interRegion, signingBytes: decision.signingBytes, signature: [])
        let overstatements: [[String: [Token: Int64]]] = [
            ["us-wy": [.usd: 41]], ["us-wy": [.usd: 40], "us-ca": [.usd: 1]], [:],
        ]
        for overstated in overstatements {
            await #expect(throws: CryptoError.self) {
                try await signer.sign(maker.request([credit], claims: overstated))
            }
        }
        let backed = maker.request([credit], claims: ["us-wy": [.usd: 40]])
        #expect(
            Ed25519.verify(
                signature: try await signer.sign(backed).signature, message: backed.headerBytes,
                publicKey: quorum.ceremony.transcript.groupPublicKeyBytes))
    }

    @Test func withOneCustodianLeftNothingIsSignedUntilAnotherReturns() async throws {
        let quorum = try Quorum()
        let signer = try quorum.signer()
        let maker = BlockMaker()
        quorum.stop(1)
        quorum.stop(2)
        let request = maker.request([try maker.entry(amount: 5)])
        await #expect(throws: CryptoError.self) { try await signer.sign(request) }
        try quorum.start(2)
        let signature = try await signer.sign(request).signature
        #expect(
            Ed25519.verify(
                signature: signature, message: request.headerBytes,
                publicKey: quorum.ceremony.transcript.groupPublicKeyBytes))
    }

    @Test func honestCustodiansRefuseTamperedBlocks() async throws {
        let quorum = try Quorum()
        let signer = try quorum.signer()
        var maker = BlockMaker()
        let first = maker.request([try maker.entry(amount: 5)])
        maker.signed(first, try await signer.sign(first).signature)

        let good = try maker.entry(amount: 9)
        let changedTransfer = SignedEntry(
            kind: .transfer, signingBytes: try maker.entry(amount: 900).signingBytes, signature: good.signature)
        let badSignature = SignedEntry(
            kind: .transfer, signingBytes: good.signingBytes, signature: SigningKey().sign(good.signingBytes))
        var withChangedEntry = maker.request([good])
        withChangedEntry = BlockSigningRequest(
            headerBytes: withChangedEntry.headerBytes, entries: [changedTransfer],
            previousHeader: withChangedEntry.previousHeader, previousSignature: withChangedEntry.previousSignature)
        let tampered: [(String, BlockSigningRequest)] = [
            ("changed transfer", withChangedEntry),
            ("bad client signature (Merkle root recomputed)", maker.request([badSignature])),
            ("wrong previous hash", maker.request([good], previousHash: String(repeating: "ab", count: 32))),
            ("supply not backed by reserves", maker.request([good], unbackedSupply: true)),
            (
                "unsigned predecessor",
                BlockSigningRequest(
                    headerBytes: maker.request([good]).headerBytes, entries: [good],
                    previousHeader: first.headerBytes, previousSignature: SigningKey().sign(first.headerBytes))
            ),
        ]
        for (name, request) in tampered {
            await #expect(throws: CryptoError.self, "\(name) was signed") { try await signer.sign(request) }
        }
        let honest = maker.request([good])
        #expect(
            Ed25519.verify(
                signature: try await signer.sign(honest).signature, message: honest.headerBytes,
                publicKey: quorum.ceremony.transcript.groupPublicKeyBytes))
    }

    @Test func aCustodianNeverSignsTwoDifferentBlocksAtOneHeight() async throws {
        let quorum = try Quorum()
        let signer = try quorum.signer()
        let maker = BlockMaker()
        let one = maker.request([try maker.entry(amount: 1)])
        _ = try await signer.sign(one)
        let fork = maker.request([try maker.entry(amount: 2)])
        await #expect(throws: CryptoError.self) { try await signer.sign(fork) }
        _ = try await signer.sign(one)
    }

    @Test func theCoordinatorRefusesATranscriptNotSignedByAllThree() throws {
        let quorum = try Quorum()
        var partly = quorum.ceremony.transcript
        partly.signatures["3"] = nil
        #expect(throws: CryptoError.self) {
            try QuorumBlockSigner(
                transcript: partly, endpoints: quorum.endpoints, context: quorum.context, timeoutMilliseconds: 100)
        }
        #expect(throws: CryptoError.self) {
            try QuorumBlockSigner(
                transcript: quorum.ceremony.transcript, endpoints: Array(quorum.endpoints.prefix(2)),
                context: quorum.context,
                timeoutMilliseconds: 100)
        }
    }
}
