import CSQLite
import Foundation
import Synchronization

/// A diagnostic for finding what bounds the ledger: with `SDT_SQL_PROFILE=1` in the environment,
/// every writing connection sums the time SQLite spends in each statement (its profile callback),
/// and `report()` lists the most expensive ones. Off by default: it costs a callback per statement.
public enum SQLiteProfile {
    public static let isEnabled = ProcessInfo.processInfo.environment["SDT_SQL_PROFILE"] != nil
    private static let totals = Mutex<[String: (nanoseconds: Int64, count: Int)]>([:])

    static func attach(to handle: OpaquePointer) {
        sqlite3_trace_v2(handle, UInt32(SQLITE_TRACE_PROFILE), { _, _, statement, nanoseconds in
            guard let statement, let nanoseconds, let sql = sqlite3_sql(OpaquePointer(statement)) else { return 0 }
            SQLiteProfile.add(String(cString: sql), nanoseconds.load(as: Int64.self))
            return 0
        }, nil)
    }

    private static func add(_ sql: String, _ nanoseconds: Int64) {
        totals.withLock { totals in
            let total = totals[sql] ?? (0, 0)
            totals[sql] = (total.nanoseconds + nanoseconds, total.count + 1)
        }
    }

    /// The `limit` statements that took longest in all: total ms, count, µs each, and the SQL.
    public static func report(limit: Int = 15) -> String {
        totals.withLock { $0 }.sorted { $0.value.nanoseconds > $1.value.nanoseconds }.prefix(limit).map { sql, total in
            let each = Double(total.nanoseconds) / 1e3 / Double(max(total.count, 1))
            let text = sql.replacingOccurrences(of: "\n", with: " ").prefix(100)
            return String(format: "%9.1f ms %9d × %7.2f µs  ", Double(total.nanoseconds) / 1e6, total.count, each) + text
        }.joined(separator: "\n")
    }
}
