import SDTCore
import SDTCrypto
import Synchronization

/// Where HTTP requests wait for the applier's outcomes. A request registers the records it sent
/// before sending, and is resumed once all of them are decided or its wait runs out. An outcome
/// reaches the waiters of the very record it answers (its id *and* its hash): two different records
/// under one id each get their own answer, never the other's.
final class OutcomeBoard: Sendable {
    struct Key: Hashable, Sendable {
        let kind: EntryKind
        let entryID: String
        /// SHA3-256 of the signed record.
        let recordSHA3: [UInt8]

        init(kind: EntryKind, entryID: String, recordSHA3: [UInt8]) {
            self.kind = kind
            self.entryID = entryID
            self.recordSHA3 = recordSHA3
        }

        init(_ submission: Submission) {
            kind = submission.kind
            entryID = submission.entryID
            recordSHA3 = SHA3.hash256(submission.signingBytes)
        }

        init(_ outcome: Outcome) {
            kind = outcome.kind
            entryID = outcome.entryID
            recordSHA3 = outcome.recordSHA3 ?? []
        }

        var id: EntryID { EntryID(kind: kind, entryID: entryID) }
    }

    /// An id, whatever record carries it: what a status query asks about.
    struct EntryID: Hashable, Sendable {
        let kind: EntryKind
        let entryID: String
    }

    private struct Waiter {
        var remaining: Set<Key>
        var results: [Key: Outcome]
        let continuation: CheckedContinuation<[Key: Outcome], Never>
        /// When the waiter registered (ms), to find the ones whose outcomes are late.
        let since: Int64
    }

    private struct State {
        var waiters: [Int: Waiter] = [:]
        var waitersByKey: [Key: [Int]] = [:]
        /// Ids sent and not yet decided, with when they were sent (ms).
        var inFlight: [EntryID: Int64] = [:]
        var lastPruneMilliseconds: Int64 = 0
        var nextID = 0
    }

    /// Entries remembered as queued for status queries; past this, new ones are not remembered.
    static let inFlightMax = 200_000
    /// How long an entry counts as queued without an outcome. Work lost in a crash of the applier
    /// never gets one; after this the node stops calling it queued and the client resubmits.
    static let inFlightLifetimeMilliseconds: Int64 = 60_000
    private let state = Mutex(State())
    private let clock: any WallClock
    private let sleep: @Sendable (Duration) async -> Void

    /// `clock` times the entries in flight; `sleep` times each wait (a simulation passes its own).
    init(clock: any WallClock = SystemClock(), sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) {
        self.clock = clock
        self.sleep = sleep
    }

    /// Registers `keys`, runs `send`, and waits up to `timeout` for their outcomes. Keys without an
    /// outcome by then are missing from the result (still queued). If `send` throws, nothing waits.
    func wait(for keys: [Key], timeout: Duration, send: () throws -> Void) async throws -> [Key: Outcome] {
        let unique = Set(keys)
        var sendError: (any Error)?
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let now = clock.nowMilliseconds()
        var timer: Task<Void, Never>?
        let results = await withCheckedContinuation { continuation in
            state.withLock { state in
                state.waiters[id] = Waiter(remaining: unique, results: [:], continuation: continuation, since: now)
                for key in unique {
                    state.waitersByKey[key, default: []].append(id)
                    if state.inFlight.count >= Self.inFlightMax { Self.pruneExpired(&state, now: now) }
                    if state.inFlight.count < Self.inFlightMax { state.inFlight[key.id] = now }
                }
            }
            // The timer starts only once the waiter is registered, so it always finds it.
            timer = Task {
                await self.sleep(timeout)
                self.finish(id)
            }
            do {
                try send()
            } catch {
                sendError = error
                state.withLock { state in
                    for key in unique { state.inFlight[key.id] = nil }
                }
                finish(id)
            }
        }
        timer?.cancel()
        if let sendError { throw sendError }
        return results
    }

    /// Records still waited for by requests registered at least `milliseconds` ago, at most `limit`:
    /// their outcomes are late, perhaps published while this front was not subscribed, so the front
    /// looks for them in the ledger.
    func late(olderThan milliseconds: Int64, limit: Int) -> [Key] {
        let cutoff = clock.nowMilliseconds() - milliseconds
        return state.withLock { state in
            var keys: Set<Key> = []
            for waiter in state.waiters.values where waiter.since <= cutoff {
                for key in waiter.remaining {
                    keys.insert(key)
                    if keys.count >= limit { return Array(keys) }
                }
            }
            return Array(keys)
        }
    }

    /// Records queued and still waited for: the front's view of the queue's depth.
    var waitingCount: Int { state.withLock { $0.waitersByKey.count } }

    func isInFlight(_ id: EntryID) -> Bool {
        let now = clock.nowMilliseconds()
        return state.withLock { state in state.inFlight[id].map { now - $0 < Self.inFlightLifetimeMilliseconds } ?? false }
    }

    /// Drops expired entries, at most once a second so that a full table is not scanned per insert.
    private static func pruneExpired(_ state: inout State, now: Int64) {
        guard now - state.lastPruneMilliseconds >= 1_000 else { return }
        state.lastPruneMilliseconds = now
        state.inFlight = state.inFlight.filter { now - $0.value < inFlightLifetimeMilliseconds }
    }

    func deliver(_ outcomes: [Outcome]) {
        var ready: [(CheckedContinuation<[Key: Outcome], Never>, [Key: Outcome])] = []
        state.withLock { state in
            for outcome in outcomes {
                let key = Key(outcome)
                state.inFlight[key.id] = nil
                guard let ids = state.waitersByKey.removeValue(forKey: key) else { continue }
                for id in ids {
                    // Mutate in place: copying the waiter out would copy its results for every outcome.
                    state.waiters[id]?.results[key] = outcome
                    state.waiters[id]?.remaining.remove(key)
                    if state.waiters[id]?.remaining.isEmpty == true, let waiter = state.waiters.removeValue(forKey: id) {
                        ready.append((waiter.continuation, waiter.results))
                    }
                }
            }
        }
        for (continuation, results) in ready { continuation.resume(returning: results) }
    }

    private func finish(_ id: Int) {
        let waiter: Waiter? = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
            for key in waiter.remaining {
                state.waitersByKey[key]?.removeAll { $0 == id }
                if state.waitersByKey[key]?.isEmpty == true { state.waitersByKey[key] = nil }
            }
            return waiter
        }
        waiter?.continuation.resume(returning: waiter?.results ?? [:])
    }
}
