import SDTCore
import SDTCrypto
import SDTGlobal
import Testing

/// A region's chain of signed headers, built the way a region's quorum signs them (one Ed25519
/// signature under the group key; FROST makes the same signature, so verification is the same).
struct RegionChain {
    let region: String
    let key: SigningKey
    var headers: [Checkpoint] = []

    init(_ region: String, keyByte: UInt8) {
        self.region = region
        key = try! SigningKey(seed: [UInt8](repeating: keyByte, count: 32))
    }

    /// The next header of the chain, signed, with the given positions and time.
    mutating func next(
        sealedAt: Int64? = nil, claims: [String: [Token: Int64]] = [:], obligations: [String: [Token: Int64]] = [:],
        supply: Int64 = 1_000
    ) -> Checkpoint {
        let checkpoint = make(
            height: Int64(headers.count + 1), previous: headers.last?.hashHex ?? BlockHeader.genesisPreviousHashHex,
            sealedAt: sealedAt ?? (1_000 * Int64(headers.count + 1)), claims: claims, obligations: obligations,
            supply: supply)
        headers.append(checkpoint)
        return checkpoint
    }

    /// A header at any height and link, signed by this region's key (or by `signer`).
    func make(
        height: Int64, previous: String, sealedAt: Int64, claims: [String: [Token: Int64]] = [:],
        obligations: [String: [Token: Int64]] = [:], supply: Int64 = 1_000, signer: SigningKey? = nil
    ) -> Checkpoint {
        let netUSD =
            claims.values.reduce(0) { $0 + ($1[.usd] ?? 0) } - obligations.values.reduce(0) { $0 + ($1[.usd] ?? 0) }
        let header = BlockHeader(
            region: region, height: height, previousHashHex: previous,
            merkleRootHex: String(repeating: "a", count: 64), entryCount: 1, firstSequence: height,
            lastSequence: height, supply: [.usd: supply, .gold: 0], reserves: [.usd: supply - netUSD, .gold: 0],
            reserveRootHex: String(repeating: "b", count: 64), rules: "none", sealedAtMilliseconds: sealedAt,
            claims: claims, obligations: obligations)
        return try! Checkpoint(headerBytes: header.signingBytes, signature: (signer ?? key).sign(header.signingBytes))
    }
}

struct CheckpointTests {
    static let now: Int64 = 1_000_000
    static let skew: Int64 = 60_000

    static func decide(
        _ checkpoint: Checkpoint, _ store: MemoryCheckpointStore, keys: [String: [UInt8]]
    ) throws -> CheckpointBook.Decision {
        try CheckpointBook.decide(
            checkpoint, blockKeys: keys, state: store, nowMilliseconds: now, allowedSkewMilliseconds: skew)
    }

    static func refusal(
        _ checkpoint: Checkpoint, _ store: MemoryCheckpointStore, keys: [String: [UInt8]]
    ) -> CheckpointRefusal.Code? {
        do {
            _ = try decide(checkpoint, store, keys: keys)
            return nil
        } catch let refusal as CheckpointRefusal {
            return refusal.code
        } catch {
            Issue.record("the in-memory store failed: \(error)")
            return nil
        }
    }

    @Test func aChainIsRecordedInOrderAndTheNewestKept() throws {
        var tx = RegionChain("us-tx", keyByte: 1)
        let keys = ["us-tx": tx.key.publicKey]
        var store = MemoryCheckpointStore()
        for _ in 1...5 {
            let checkpoint = tx.next()
            let decision = try Self.decide(checkpoint, store, keys: keys)
            #expect(decision == .record(checkpoint))
            store.apply(decision)
        }
        #expect(store.newest(of: "us-tx")?.height == 5)
        #expect(store.newest(of: "us-tx")?.hashHex == tx.headers[4].hashHex)
        #expect(store.alarms.isEmpty)
    }

    @Test func everyBadCheckpointIsRefusedWithItsReasonAndNothingRecorded() throws {
        var tx = RegionChain("us-tx", keyByte: 1)
        let keys = ["us-tx": tx.key.publicKey]
        var store = MemoryCheckpointStore()
        let first = tx.next()
        store.apply(try Self.decide(first, store, keys: keys))

        // From a region the registry does not list.
        var unknown = RegionChain("us-ca", keyByte: 9)
        #expect(Self.refusal(unknown.next(), store, keys: keys) == .regionUnknown)
        // Signed by a key that is not the region's.
        let forged = tx.make(
            height: 2, previous: first.hashHex, sealedAt: 2_000,
            signer: try SigningKey(seed: [UInt8](repeating: 7, count: 32)))
        #expect(Self.refusal(forged, store, keys: keys) == .signatureInvalid)
        // A valid signature over other bytes: the signature of block 1 on block 2's header.
        let good = tx.make(height: 2, previous: first.hashHex, sealedAt: 2_000)
        let swapped = try Checkpoint(headerBytes: good.headerBytes, signature: first.signature)
        #expect(Self.refusal(swapped, store, keys: keys) == .signatureInvalid)
        // Sealed after the clock plus the skew (and exactly at the bound is fine).
        #expect(
            Self.refusal(
                tx.make(height: 2, previous: first.hashHex, sealedAt: Self.now + Self.skew + 1), store, keys: keys)
                == .fromFuture)
        #expect(
            Self.refusal(tx.make(height: 2, previous: first.hashHex, sealedAt: Self.now + Self.skew), store, keys: keys)
                == nil)
        // The same checkpoint again.
        #expect(Self.refusal(first, store, keys: keys) == .replayed)
        // A gap: block 3 while block 2 is missing.
        #expect(
            Self.refusal(tx.make(height: 3, previous: good.hashHex, sealedAt: 3_000), store, keys: keys) == .outOfOrder)
        // Time going back.
        #expect(
            Self.refusal(tx.make(height: 2, previous: first.hashHex, sealedAt: 500), store, keys: keys) == .outOfOrder)
        // A region's first checkpoint must be its block 1.
        var wy = RegionChain("us-wy", keyByte: 2)
        _ = wy.next()
        let second = wy.next()
        #expect(Self.refusal(second, store, keys: keys.merging(["us-wy": wy.key.publicKey]) { $1 }) == .outOfOrder)
        // A header that names its own region as a counterpart.
        let selfOwed = BlockHeader(
            region: "us-tx", height: 2, previousHashHex: first.hashHex,
            merkleRootHex: String(repeating: "a", count: 64),
            entryCount: 1, firstSequence: 2, lastSequence: 2, supply: [.usd: 1_000, .gold: 0],
            reserves: [.usd: 1_005, .gold: 0], reserveRootHex: String(repeating: "b", count: 64), rules: "none",
            sealedAtMilliseconds: 2_000, obligations: ["us-tx": [.usd: 5]])
        #expect(throws: CheckpointRefusal.self) {
            try Checkpoint(headerBytes: selfOwed.signingBytes, signature: tx.key.sign(selfOwed.signingBytes))
        }
        // Bytes that are not a header, and a short signature.
        #expect(throws: CheckpointRefusal.self) {
            try Checkpoint(headerBytes: Array("SDT-BLOCK-V2\n".utf8), signature: first.signature)
        }
        #expect(throws: CheckpointRefusal.self) {
            try Checkpoint(headerBytes: first.headerBytes, signature: [1, 2, 3])
        }
    }

    @Test func aNextHeaderLinkingToAnotherBlockIsEquivocationEvenFromTheFuture() throws {
        var tx = RegionChain("us-tx", keyByte: 1)
        let keys = ["us-tx": tx.key.publicKey]
        var store = MemoryCheckpointStore()
        for _ in 1...2 { store.apply(try Self.decide(tx.next(), store, keys: keys)) }
        // Block 3 signed by us-tx's quorum, following a block 2 the K$ node never saw, sealed far ahead.
        let forked = tx.make(height: 3, previous: String(repeating: "e", count: 64), sealedAt: Self.now * 10)
        let decision = try Self.decide(forked, store, keys: keys)
        guard case .equivocation(let alarm) = decision else {
            Issue.record("expected an equivocation, got \(decision)")
            return
        }
        #expect(alarm.evidence == .linkToAnotherBlock && alarm.height == 2 && alarm.recorded == tx.headers[1])
        // Another header for a recorded height, sealed in the future: evidence too, before any check of time.
        let twice = tx.make(height: 1, previous: BlockHeader.genesisPreviousHashHex, sealedAt: Self.now * 10)
        guard case .equivocation(let same) = try Self.decide(twice, store, keys: keys) else {
            Issue.record("expected an equivocation for a second block 1")
            return
        }
        #expect(same.evidence == .twoHeadersOneHeight && same.height == 1)
    }

    @Test func twoSignedHeadersForOneHeightRaiseTheAlarmAndKeepTheFirst() throws {
        var tx = RegionChain("us-tx", keyByte: 1)
        let keys = ["us-tx": tx.key.publicKey]
        var store = MemoryCheckpointStore()
        for _ in 1...3 { store.apply(try Self.decide(tx.next(), store, keys: keys)) }
        // The quorum signs a second block 2 (another history).
        let other = tx.make(height: 2, previous: tx.headers[0].hashHex, sealedAt: 2_500, supply: 9_999)
        let decision = try Self.decide(other, store, keys: keys)
        guard case .equivocation(let alarm) = decision else {
            Issue.record("expected an equivocation, got \(decision)")
            return
        }
        #expect(alarm.region == "us-tx" && alarm.height == 2)
        #expect(alarm.recorded == tx.headers[1] && alarm.conflicting == other)
        store.apply(decision)
        #expect(store.haltedRegions == ["us-tx"])
        #expect(store.checkpoint(of: "us-tx", at: 2) == tx.headers[1])
        #expect(store.newest(of: "us-tx")?.height == 3)
        // A conflicting header that is not signed by the region's key is a forgery, not an equivocation.
        let forged = tx.make(
            height: 2, previous: tx.headers[0].hashHex, sealedAt: 2_500, supply: 1,
            signer: try SigningKey(seed: [UInt8](repeating: 8, count: 32)))
        #expect(Self.refusal(forged, store, keys: keys) == .signatureInvalid)
    }
}
