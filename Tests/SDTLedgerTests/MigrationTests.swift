import SDTCore
import SDTTesting
import Testing
@testable import SDTLedger

/// Migrations that convert data keep every fact, and refuse a ledger they cannot convert.
@Suite struct MigrationTests {
    /// A ledger of the schema before `0006-movements`, with a mint and a transfer as two posting rows each.
    func ledgerBeforeMovements(_ directory: TemporaryDirectory) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: directory.file("old.sqlite"))
        try Migrations.run(on: connection, through: "0005-blocks-by-range")
        let key = String(repeating: "a", count: 64)
        for (sequence, id) in [(1, "mint-1"), (2, "tx-1")] {
            try connection.query(
                "INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms) VALUES (?, ?, ?, x'00', ?, zeroblob(64), 0)",
                [.integer(Int64(sequence)), .text(sequence == 1 ? "operator" : "transfer"), .text(id), .text(key)]
            )
        }
        for (sequence, account, amount) in [(1, issuerAccountID, -500), (1, "alice", 500), (2, "alice", -200), (2, "bob", 200)] {
            try connection.query("INSERT INTO postings (sequence, account_id, token, amount) VALUES (?, ?, 'USD', ?)",
                                 [.integer(Int64(sequence)), .text(account), .integer(Int64(amount))])
        }
        return connection
    }

    @Test func postingsBecomeOneMovementPerEntryWithNothingLost() throws {
        let directory = TemporaryDirectory("migration")
        let connection = try ledgerBeforeMovements(directory)
        try Migrations.run(on: connection)
        let movements = try connection.query("SELECT sequence, leg, token, amount, from_account, to_account FROM movements ORDER BY sequence")
            .map { "\($0.int(0))/\($0.int(1)) \($0.text(4))->\($0.text(5)) \($0.int(3)) \($0.text(2))" }
        #expect(movements == ["1/0 $issuer->alice 500 USD", "2/0 alice->bob 200 USD"])
        #expect(try connection.query("SELECT name FROM sqlite_master WHERE name = 'postings'").isEmpty)
    }

    @Test func aLedgerWhosePostingsDoNotPairUpIsNotConverted() throws {
        let directory = TemporaryDirectory("migration")
        let connection = try ledgerBeforeMovements(directory)
        try connection.query("UPDATE postings SET amount = 201 WHERE sequence = 2 AND account_id = 'bob'")
        #expect(throws: LedgerError.self) { try Migrations.run(on: connection) }
        // Nothing of the failed migration stays: the postings are all there, and no movements table.
        #expect(try connection.query("SELECT COUNT(*) FROM postings").first?.int(0) == 4)
        #expect(try connection.query("SELECT name FROM sqlite_master WHERE name = 'movements'").isEmpty)
    }

    @Test func entriesAreRebuiltForInterRegionRecordsWithEveryRowAndReferenceKept() throws {
        let directory = TemporaryDirectory("migration")
        let connection = try ledgerBeforeMovements(directory)
        try Migrations.run(on: connection, through: "0007-drop-postings")
        try connection.query("INSERT INTO accounts (id, jurisdiction, kyc_tier, opened_sequence) VALUES ('alice', 'US-TX', 2, 1)")
        let before = try connection.query("SELECT sequence, kind, entry_id, public_key FROM entries ORDER BY sequence")
            .map { "\($0.int(0)) \($0.text(1)) \($0.text(2)) \($0.text(3))" }
        // Before: an entry without a client signature does not fit.
        #expect(throws: LedgerError.self) {
            try connection.query("INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms) "
                                 + "VALUES (3, 'inter_region', 'outbound:us-wy:1', x'00', '', x'', 0)")
        }
        try Migrations.run(on: connection)
        let after = try connection.query("SELECT sequence, kind, entry_id, public_key FROM entries ORDER BY sequence")
            .map { "\($0.int(0)) \($0.text(1)) \($0.text(2)) \($0.text(3))" }
        #expect(after == before && after.count == 2)
        #expect(try connection.query("PRAGMA foreign_key_check").isEmpty)
        try connection.query("INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms) "
                             + "VALUES (3, 'inter_region', 'outbound:us-wy:1', x'00', '', x'', 0)")
        // References to entries still hold after the rebuild: an account opened by a missing entry is refused.
        #expect(throws: LedgerError.self) {
            try connection.query("INSERT INTO accounts (id, jurisdiction, kyc_tier, opened_sequence) VALUES ('bob', 'US-TX', 2, 99)")
        }
        // A balance still needs an open account, unless it is a counterpart's in-transit account.
        #expect(throws: LedgerError.self) {
            try connection.query("INSERT INTO balances (account_id, token, amount) VALUES ('mallory', 'USD', 5)")
        }
        try connection.query("INSERT INTO balances (account_id, token, amount) VALUES ('alice', 'USD', 5)")
        try connection.query("INSERT INTO balances (account_id, token, amount) VALUES ('$transit:us-wy', 'USD', 5)")
        // A transfer or operator entry still needs its 64-byte signature.
        #expect(throws: LedgerError.self) {
            try connection.query("INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms) "
                                 + "VALUES (4, 'transfer', 'tx-9', x'00', '', x'', 0)")
        }
    }
}
