import SDTCore
import SDTCrypto
import SDTEngine

/// Which transfer ids the ledger decided, for ids that can still be decided: each id states its
/// expiry, so an id that expired before `floorMilliseconds` is only ever looked up in SQLite. Above
/// the floor, an id whose fingerprint is not here was never decided, and the applier skips the two
/// index lookups that would say so; an id whose fingerprint is here is looked up as before. Memory is
/// bounded: past `fingerprintsMax` the oldest expiry minutes are dropped and the floor rises.
struct RecentIDs {
    static let fingerprintsMax = 4_000_000
    static let bucketMilliseconds: Int64 = 60_000
    private(set) var floorMilliseconds: Int64
    private var buckets: [Int64: Set<UInt64>] = [:]
    private var count = 0

    init(floorMilliseconds: Int64) {
        self.floorMilliseconds = floorMilliseconds - floorMilliseconds % Self.bucketMilliseconds
    }

    /// Whether the ledger may have decided `id`: false only when it certainly has not.
    func mayBeDecided(_ id: String) -> Bool {
        guard let expiry = TransactionIDIssuer.expiry(of: id), expiry >= floorMilliseconds,
              let fingerprint = TransactionIDIssuer.fingerprint(of: id)
        else { return true }
        return buckets[expiry / Self.bucketMilliseconds]?.contains(fingerprint) ?? false
    }

    mutating func insert(_ id: String) {
        guard let expiry = TransactionIDIssuer.expiry(of: id), expiry >= floorMilliseconds,
              let fingerprint = TransactionIDIssuer.fingerprint(of: id),
              buckets[expiry / Self.bucketMilliseconds, default: []].insert(fingerprint).inserted
        else { return }
        count += 1
        while count > Self.fingerprintsMax, let oldest = buckets.keys.min() { drop(oldest) }
    }

    /// Forgets the ids that expired before `now`: they are refused as expired, and a resubmission of
    /// one is looked up in SQLite.
    mutating func forget(before now: Int64) {
        while let oldest = buckets.keys.min(), (oldest + 1) * Self.bucketMilliseconds <= now { drop(oldest) }
    }

    private mutating func drop(_ bucket: Int64) {
        count -= buckets.removeValue(forKey: bucket)?.count ?? 0
        floorMilliseconds = max(floorMilliseconds, (bucket + 1) * Self.bucketMilliseconds)
    }

    /// The ids a committed batch decided.
    mutating func insert(_ changes: [LedgerChange]) {
        for change in changes {
            switch change {
            case .applied(let entry) where entry.submission.kind == .transfer: insert(entry.submission.entryID)
            case .rejected(let rejection) where rejection.submission.kind == .transfer: insert(rejection.submission.entryID)
            case .held(let new): insert(new.hold.transfer.transactionID)
            default: break
            }
        }
    }
}
