import SDTCore
import CSQLite

/// A SQLite connection with a cache of prepared statements. Not thread-safe: each connection is owned
/// by one thread (the applier) or guarded by one lock (the readers).
package final class SQLiteConnection: @unchecked Sendable {
    // @unchecked: the sqlite3 handle is used by one owner at a time, as documented above.
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    let path: String

    /// Bound values. Text is UTF-8, blobs are bytes; nil binds SQL NULL.
    package enum Value {
        case integer(Int64)
        case text(String)
        case blob([UInt8])
        case null
    }

    /// `durable: false` skips fsync (`synchronous = OFF`): for simulations and scratch ledgers only,
    /// where a commit need not survive a power loss.
    package init(path: String, readOnly: Bool = false, durable: Bool = true) throws(LedgerError) {
        var connection: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let result = sqlite3_open_v2(path, &connection, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard result == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(connection)
            throw LedgerError(.storage, "cannot open \(path): \(message)")
        }
        handle = connection
        self.path = path
        sqlite3_busy_timeout(handle, 10_000)
        if SQLiteProfile.isEnabled, !readOnly { SQLiteProfile.attach(to: handle) }
        try execute("PRAGMA foreign_keys = ON")
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            // FULL: a commit is on disk before it is acknowledged; group commit pays one fsync per batch.
            try execute(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF")
            // Read pages through a memory map and keep a large page cache: fewer read() calls per check.
            try execute("PRAGMA mmap_size = 268435456")
            try execute("PRAGMA cache_size = -65536")
            try execute("PRAGMA wal_autocheckpoint = 16384")
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    package func execute(_ sql: String) throws(LedgerError) {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw LedgerError(.storage, "\(text) in: \(sql.prefix(80))")
        }
    }

    /// Runs `sql` with `values` and returns every row.
    @discardableResult
    package func query(_ sql: String, _ values: [Value] = []) throws(LedgerError) -> [Row] {
        var rows: [Row] = []
        try each(sql, values) { rows.append($0) }
        return rows
    }

    package func each(
        _ sql: String, _ values: [Value] = [], _ body: (Row) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in values.enumerated() { bind(value, at: Int32(index + 1), to: statement) }
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { return }
            guard result == SQLITE_ROW else {
                throw LedgerError(.storage, "\(String(cString: sqlite3_errmsg(handle))) in: \(sql.prefix(80))")
            }
            try body(Row(statement: statement))
        }
    }

    /// Runs each of `migrations` (named, append-only, in order) not yet recorded in `schema_migrations`,
    /// each in its own transaction with its record: the stores beside the ledger (the bank desk's, the K$
    /// node's) migrate this way; the ledger's own runner adds its checks.
    package func applyMigrations(_ migrations: [(name: String, sql: String)]) throws(LedgerError) {
        try execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")
        for (name, sql) in migrations {
            try transaction { () throws(LedgerError) in
                guard try query("SELECT 1 FROM schema_migrations WHERE name = ?", [.text(name)]).isEmpty else { return }
                try execute(sql)
                try query("INSERT INTO schema_migrations (name) VALUES (?)", [.text(name)])
            }
        }
    }

    package func transaction<Result>(_ body: () throws(LedgerError) -> Result) throws(LedgerError) -> Result {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func prepared(_ sql: String) throws(LedgerError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw LedgerError(.storage, "\(String(cString: sqlite3_errmsg(handle))) preparing: \(sql.prefix(80))")
        }
        statements[sql] = statement
        return statement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ value: Value, at index: Int32, to statement: OpaquePointer) {
        switch value {
        case .integer(let number): sqlite3_bind_int64(statement, index, number)
        // The text's full length: a NUL inside it must not end it early (an id `alice\0x` is not `alice`).
        case .text(let text): sqlite3_bind_text(statement, index, text, Int32(text.utf8.count), Self.transient)
        case .blob(let bytes):
            bytes.withUnsafeBytes { buffer in
                _ = sqlite3_bind_blob(statement, index, buffer.baseAddress, Int32(buffer.count), Self.transient)
            }
        case .null: sqlite3_bind_null(statement, index)
        }
    }
}

/// One result row, copied out of the statement when it was stepped; columns are read by index, in the
/// order of the SELECT.
package struct Row {
    private let columns: [SQLiteConnection.Value]

    init(statement: OpaquePointer) {
        columns = (0..<sqlite3_column_count(statement)).map { column in
            switch sqlite3_column_type(statement, column) {
            case SQLITE_NULL: return .null
            case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
            case SQLITE_BLOB:
                let count = Int(sqlite3_column_bytes(statement, column))
                guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return .blob([]) }
                return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
            default:
                guard let pointer = sqlite3_column_text(statement, column) else { return .text("") }
                return .text(String(cString: pointer))
            }
        }
    }

    package func int(_ column: Int32) -> Int64 { optionalInt(column) ?? 0 }

    package func optionalInt(_ column: Int32) -> Int64? {
        if case .integer(let value) = columns[Int(column)] { return value }
        return nil
    }

    package func text(_ column: Int32) -> String {
        switch columns[Int(column)] {
        case .text(let value): value
        case .integer(let value): String(value)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .null: ""
        }
    }

    package func optionalText(_ column: Int32) -> String? {
        if case .null = columns[Int(column)] { return nil }
        return text(column)
    }

    package func blob(_ column: Int32) -> [UInt8] { optionalBlob(column) ?? [] }

    package func optionalBlob(_ column: Int32) -> [UInt8]? {
        switch columns[Int(column)] {
        case .blob(let bytes): bytes
        case .text(let value): Array(value.utf8)
        default: nil
        }
    }
}

