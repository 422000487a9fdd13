import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import Synchronization

/// The K$ node's durable state in one SQLite file (`global.sqlite`): every checkpoint of every region,
/// the alarms, and the settlement cycles. Each decision is written in one transaction, so a kill -9
/// leaves either all of it or none; checkpoints of one request are decided against what the ones before
/// them recorded.
public final class GlobalStore: Sendable {
    private let connection: Mutex<SQLiteConnection>
    public let path: String

    /// How one submitted checkpoint ended.
    public enum Answer: Sendable, Equatable {
        case recorded(Checkpoint)
        /// The alarm this checkpoint proves; `new` is false when the same evidence was already recorded
        /// (the alarm then carries the time it was first raised).
        case equivocation(EquivocationAlarm, new: Bool)
        /// Refused with a reason; `nextHeight` is what the node expects next from the region, when known.
        case refused(CheckpointRefusal, region: String?, nextHeight: Int64?)
    }

    public init(path: String) throws(LedgerError) {
        let opened = try SQLiteConnection(path: path)
        try opened.applyMigrations(Self.migrations)
        connection = Mutex(opened)
        self.path = path
    }

    static let migrations: [(name: String, sql: String)] = [
        (
            "0001-checkpoints",
            """
            CREATE TABLE checkpoints (
                region TEXT NOT NULL,
                height INTEGER NOT NULL CHECK (height >= 1),
                hash TEXT NOT NULL CHECK (length(hash) = 64),
                header BLOB NOT NULL,
                signature BLOB NOT NULL CHECK (length(signature) = 64),
                received_at_ms INTEGER NOT NULL,
                PRIMARY KEY (region, height)
            );
            CREATE TABLE alarms (
                id INTEGER PRIMARY KEY,
                evidence TEXT NOT NULL CHECK (evidence IN ('two_headers_one_height', 'link_to_another_block')),
                region TEXT NOT NULL,
                height INTEGER NOT NULL,
                recorded_header BLOB NOT NULL,
                recorded_signature BLOB NOT NULL,
                conflicting_header BLOB NOT NULL,
                conflicting_signature BLOB NOT NULL,
                raised_at_ms INTEGER NOT NULL,
                UNIQUE (region, height, conflicting_header)
            );
            CREATE TABLE cycles (
                number INTEGER PRIMARY KEY CHECK (number >= 1),
                planned_at_ms INTEGER NOT NULL,
                record BLOB NOT NULL,
                deferred TEXT NOT NULL
            );
            """
        )
    ]

    // MARK: Checkpoints

    /// Decides and records `submitted` (header bytes and signature, as they came) in order, in one
    /// transaction.
    public func submit(
        _ submitted: [(header: [UInt8], signature: [UInt8])], blockKeys: [String: [UInt8]], nowMilliseconds: Int64,
        allowedSkewMilliseconds: Int64
    ) throws(LedgerError) -> [Answer] {
        try connection.withLock { (connection) throws(LedgerError) -> [Answer] in
            try connection.transaction { () throws(LedgerError) -> [Answer] in
                let state = SQLiteCheckpointState(connection: connection)
                var answers: [Answer] = []
                for item in submitted {
                    let checkpoint: Checkpoint
                    do throws(CheckpointRefusal) {
                        checkpoint = try Checkpoint(headerBytes: item.header, signature: item.signature)
                    } catch {
                        answers.append(.refused(error, region: nil, nextHeight: nil))
                        continue
                    }
                    do {
                        let decision = try CheckpointBook.decide(
                            checkpoint, blockKeys: blockKeys, state: state, nowMilliseconds: nowMilliseconds,
                            allowedSkewMilliseconds: allowedSkewMilliseconds)
                        switch decision {
                        case .record(let checkpoint):
                            try connection.query(
                                """
                                INSERT INTO checkpoints (region, height, hash, header, signature, received_at_ms)
                                VALUES (?, ?, ?, ?, ?, ?)
                                """,
                                [
                                    .text(checkpoint.region), .integer(checkpoint.height), .text(checkpoint.hashHex),
                                    .blob(checkpoint.headerBytes), .blob(checkpoint.signature),
                                    .integer(nowMilliseconds),
                                ])
                            answers.append(.recorded(checkpoint))
                        case .equivocation(let alarm):
                            let earlier = try connection.query(
                                """
                                SELECT raised_at_ms FROM alarms
                                WHERE region = ? AND height = ? AND conflicting_header = ?
                                """,
                                [.text(alarm.region), .integer(alarm.height), .blob(alarm.conflicting.headerBytes)]
                            ).first?.int(0)
                            if let earlier {
                                answers.append(
                                    .equivocation(
                                        EquivocationAlarm(
                                            recorded: alarm.recorded, conflicting: alarm.conflicting,
                                            raisedAtMilliseconds: earlier), new: false))
                                continue
                            }
                            try connection.query(
                                """
                                INSERT INTO alarms (evidence, region, height, recorded_header, recorded_signature,
                                    conflicting_header, conflicting_signature, raised_at_ms)
                                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                                """,
                                [
                                    .text(alarm.evidence.rawValue), .text(alarm.region), .integer(alarm.height),
                                    .blob(alarm.recorded.headerBytes), .blob(alarm.recorded.signature),
                                    .blob(alarm.conflicting.headerBytes), .blob(alarm.conflicting.signature),
                                    .integer(alarm.raisedAtMilliseconds),
                                ])
                            answers.append(.equivocation(alarm, new: true))
                        }
                    } catch let refusal as CheckpointRefusal {
                        let next = (try state.newest(of: checkpoint.region)?.height ?? 0) + 1
                        let known = blockKeys[checkpoint.region] != nil
                        answers.append(.refused(refusal, region: checkpoint.region, nextHeight: known ? next : nil))
                    } catch let error as LedgerError {
                        throw error
                    } catch {
                        throw LedgerError(.storage, "checkpoint of \(checkpoint.region): \(error)")
                    }
                }
                return answers
            }
        }
    }

    /// The newest checkpoint of every region that has one, sorted by region.
    public func newestCheckpoints() throws(LedgerError) -> [StoredCheckpoint] {
        try connection.withLock { (connection) throws(LedgerError) -> [StoredCheckpoint] in
            try connection.query(
                """
                SELECT c.header, c.signature, c.received_at_ms FROM checkpoints c
                JOIN (SELECT region, MAX(height) AS height FROM checkpoints GROUP BY region) n
                  ON n.region = c.region AND n.height = c.height
                ORDER BY c.region
                """
            ).map { row throws(LedgerError) in try StoredCheckpoint(row) }
        }
    }

    /// A region's newest checkpoint, or the one at `height`.
    public func checkpoint(region: String, height: Int64? = nil) throws(LedgerError) -> StoredCheckpoint? {
        try connection.withLock { (connection) throws(LedgerError) -> StoredCheckpoint? in
            let rows =
                if let height {
                    try connection.query(
                        "SELECT header, signature, received_at_ms FROM checkpoints WHERE region = ? AND height = ?",
                        [.text(region), .integer(height)])
                } else {
                    try connection.query(
                        """
                        SELECT header, signature, received_at_ms FROM checkpoints WHERE region = ?
                        ORDER BY height DESC LIMIT 1
                        """, [.text(region)])
                }
            return try rows.first.map { row throws(LedgerError) in try StoredCheckpoint(row) }
        }
    }

    /// Every alarm, oldest first.
    public func alarms() throws(LedgerError) -> [EquivocationAlarm] {
        try connection.withLock { (connection) throws(LedgerError) -> [EquivocationAlarm] in
            try connection.query(
                """
                SELECT recorded_header, recorded_signature, conflicting_header, conflicting_signature, raised_at_ms
                FROM alarms ORDER BY id
                """
            ).map { row throws(LedgerError) in
                do {
                    return EquivocationAlarm(
                        recorded: try Checkpoint(headerBytes: row.blob(0), signature: row.blob(1)),
                        conflicting: try Checkpoint(headerBytes: row.blob(2), signature: row.blob(3)),
                        raisedAtMilliseconds: row.int(4))
                } catch {
                    throw LedgerError(.invariant, "a stored alarm does not parse: \(error)")
                }
            }
        }
    }

    // MARK: Cycles

    /// Plans the next cycle from every region's newest checkpoint, leaving out regions with an alarm and
    /// what earlier cycles cover, and records it. Nothing is recorded if planning fails, or if the cycle
    /// would settle nothing (the error says what waits, and why).
    ///
    /// Every recorded cycle counts as planned and not applied: the regions do not apply settlement
    /// entries yet, so what a cycle covers stays taken off the regions' obligations in every later cycle.
    public func settle(nowMilliseconds: Int64) throws(LedgerError) -> StoredCycle {
        try connection.withLock { (connection) throws(LedgerError) -> StoredCycle in
            try connection.transaction { () throws(LedgerError) -> StoredCycle in
                let number =
                    (try connection.query("SELECT COALESCE(MAX(number), 0) FROM cycles").first?.int(0) ?? 0) + 1
                let newest = try connection.query(
                    """
                    SELECT c.header, c.signature, c.received_at_ms FROM checkpoints c
                    JOIN (SELECT region, MAX(height) AS height FROM checkpoints GROUP BY region) n
                      ON n.region = c.region AND n.height = c.height
                    """
                ).map { row throws(LedgerError) in try StoredCheckpoint(row).checkpoint }
                let halted = Set(try connection.query("SELECT DISTINCT region FROM alarms").map { $0.text(0) })
                var planned: [Obligation] = []
                for row in try connection.query("SELECT number, record FROM cycles ORDER BY number") {
                    do {
                        planned += try SettlementCycle.Recorded(recordBytes: row.blob(1)).covered
                    } catch {
                        throw LedgerError(.invariant, "stored cycle \(row.int(0)) does not parse: \(error)")
                    }
                }
                let cycle: SettlementCycle
                do {
                    cycle = try SettlementCycle.plan(
                        number: number, checkpoints: newest, halted: halted, planned: planned)
                } catch {
                    throw LedgerError(.usage, "cycle \(number) cannot be planned: \(error)")
                }
                guard !cycle.covered.isEmpty else {
                    let waiting = cycle.deferred.map { "\($0.obligation.text) (\($0.reason))" }
                    throw LedgerError(
                        .usage,
                        "nothing to settle: every obligation the regions' newest checkpoints show is in an earlier "
                            + "cycle" + (waiting.isEmpty ? "" : ", or waits: " + waiting.joined(separator: "; ")))
                }
                let deferred = cycle.deferred.map { "\($0.obligation.text)|\($0.reason)" }.joined(separator: "\n")
                try connection.query(
                    "INSERT INTO cycles (number, planned_at_ms, record, deferred) VALUES (?, ?, ?, ?)",
                    [.integer(number), .integer(nowMilliseconds), .blob(cycle.signingBytes), .text(deferred)])
                return try StoredCycle(cycle: cycle, plannedAtMilliseconds: nowMilliseconds)
            }
        }
    }

    /// The newest `limit` cycles, newest first.
    public func cycles(limit: Int) throws(LedgerError) -> [StoredCycle] {
        try connection.withLock { (connection) throws(LedgerError) -> [StoredCycle] in
            try connection.query(
                "SELECT number, planned_at_ms, record, deferred FROM cycles ORDER BY number DESC LIMIT ?",
                [.integer(Int64(limit))]
            ).map { row throws(LedgerError) in try StoredCycle(row) }
        }
    }

    public func cycle(_ number: Int64) throws(LedgerError) -> StoredCycle? {
        try connection.withLock { (connection) throws(LedgerError) -> StoredCycle? in
            try connection.query(
                "SELECT number, planned_at_ms, record, deferred FROM cycles WHERE number = ?", [.integer(number)]
            ).first.map { row throws(LedgerError) in try StoredCycle(row) }
        }
    }

    /// Counts for the health answer: regions with checkpoints, alarms, cycles.
    public func counts() throws(LedgerError) -> (regions: Int, alarms: Int, cycles: Int64) {
        try connection.withLock { (connection) throws(LedgerError) -> (regions: Int, alarms: Int, cycles: Int64) in
            let regions = try connection.query("SELECT COUNT(DISTINCT region) FROM checkpoints").first?.int(0) ?? 0
            let alarms = try connection.query("SELECT COUNT(*) FROM alarms").first?.int(0) ?? 0
            let cycles = try connection.query("SELECT COALESCE(MAX(number), 0) FROM cycles").first?.int(0) ?? 0
            return (Int(regions), Int(alarms), cycles)
        }
    }
}

/// A checkpoint as the K$ node recorded it, with the time it arrived.
public struct StoredCheckpoint: Sendable, Hashable {
    public let checkpoint: Checkpoint
    public let receivedAtMilliseconds: Int64

    init(_ row: Row) throws(LedgerError) {
        do {
            checkpoint = try Checkpoint(headerBytes: row.blob(0), signature: row.blob(1))
        } catch {
            throw LedgerError(.invariant, "a stored checkpoint does not parse: \(error)")
        }
        receivedAtMilliseconds = row.int(2)
    }
}

/// A recorded settlement cycle: its record, parsed back, and what it deferred.
public struct StoredCycle: Sendable, Hashable {
    public let record: SettlementCycle.Recorded
    public let deferred: [SettlementCycle.Deferred]
    public let plannedAtMilliseconds: Int64

    init(cycle: SettlementCycle, plannedAtMilliseconds: Int64) throws(LedgerError) {
        do {
            record = try SettlementCycle.Recorded(recordBytes: cycle.signingBytes)
        } catch {
            throw LedgerError(.invariant, "cycle \(cycle.number)'s record does not parse back: \(error)")
        }
        deferred = cycle.deferred
        self.plannedAtMilliseconds = plannedAtMilliseconds
    }

    init(_ row: Row) throws(LedgerError) {
        do {
            record = try SettlementCycle.Recorded(recordBytes: row.blob(2))
            deferred = try row.text(3).split(separator: "\n").map { line throws(NettingError) in
                let parts = line.split(separator: "|", maxSplits: 1)
                guard parts.count == 2, let obligation = Obligation(text: parts[0]) else {
                    throw NettingError("a deferred line is malformed")
                }
                return SettlementCycle.Deferred(obligation: obligation, reason: String(parts[1]))
            }
        } catch {
            throw LedgerError(.invariant, "stored cycle \(row.int(0)) does not parse: \(error)")
        }
        plannedAtMilliseconds = row.int(1)
    }
}

/// `CheckpointState` over the store's connection, inside its transaction.
struct SQLiteCheckpointState: CheckpointState {
    let connection: SQLiteConnection

    func newest(of region: String) throws(LedgerError) -> Checkpoint? {
        try connection.query(
            "SELECT header, signature, received_at_ms FROM checkpoints WHERE region = ? ORDER BY height DESC LIMIT 1",
            [.text(region)]
        ).first.map { row throws(LedgerError) in try StoredCheckpoint(row).checkpoint }
    }

    func checkpoint(of region: String, at height: Int64) throws(LedgerError) -> Checkpoint? {
        try connection.query(
            "SELECT header, signature, received_at_ms FROM checkpoints WHERE region = ? AND height = ?",
            [.text(region), .integer(height)]
        ).first.map { row throws(LedgerError) in try StoredCheckpoint(row).checkpoint }
    }
}
