import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import Synchronization

/// The region's desk at its custodian bank: it reads the bank's ISO 20022 messages, keeps what they
/// said in a store of its own (`bank.sqlite` beside the ledger), and reconciles them with the ledger.
///
/// Nothing here moves money. A credit the bank reports becomes a *proposed* USD mint, which an operator
/// turns into a signed `mint_usd` (whose reference is the bank's); every redemption the ledger applied
/// becomes a pacs.008 to pay the holder, whose pacs.002 status marks it settled or rejected (a rejected
/// payment comes back as a proposed mint, to be approved like any credit). Each import is one SQLite
/// transaction: a message is applied whole or not at all, and a message or entry seen before applies
/// nothing again.
public final class BankDesk: Sendable {
    /// Who the region is at its bank.
    public struct Settings: Sendable, Equatable {
        /// The bank's name as USD mints and redemptions record it (`bank` of `mint_usd`).
        public var bankName: String
        /// The bank's BIC: the debtor agent of every payment out.
        public var bankBIC: String
        /// The region's reserve account at the bank: what camt.054 must report on, and the debtor account.
        public var reserveAccount: String
        /// The debtor's name on payments (the region's name).
        public var accountHolder: String
        /// A folder each new pacs.008 is also written to (`<MsgId>.xml`), or nil.
        public var outbox: String?

        public init(bankName: String, bankBIC: String, reserveAccount: String, accountHolder: String, outbox: String?) {
            self.bankName = bankName
            self.bankBIC = bankBIC
            self.reserveAccount = reserveAccount
            self.accountHolder = accountHolder
            self.outbox = outbox
        }
    }

    public let settings: Settings
    let region: String
    let ledger: LedgerReader
    let clock: any WallClock
    let random: any RandomSource
    private let store: Mutex<SQLiteConnection>

    public init(
        path: String, settings: Settings, region: String, ledger: LedgerReader, clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom()
    ) throws(LedgerError) {
        let connection = try SQLiteConnection(path: path)
        try BankDeskSchema.migrate(connection)
        store = Mutex(connection)
        self.settings = settings
        self.region = region
        self.ledger = ledger
        self.clock = clock
        self.random = random
    }

    @discardableResult
    func withStore<Result>(_ body: (SQLiteConnection) throws(LedgerError) -> Result) throws(LedgerError) -> Result {
        try store.withLock { (connection) throws(LedgerError) -> Result in try body(connection) }
    }
}

/// The bank desk's tables: named, append-only migrations, as for the ledger.
enum BankDeskSchema {
    static let migrations: [(name: String, sql: String)] = [
        (
            "0001-bank-desk",
            """
            CREATE TABLE bank_messages (
                kind TEXT NOT NULL,
                message_id TEXT NOT NULL,
                sha3 TEXT NOT NULL CHECK (length(sha3) = 64),
                received_ms INTEGER NOT NULL,
                operator_key TEXT NOT NULL,
                PRIMARY KEY (kind, message_id)
            );
            CREATE TABLE bank_entries (
                reference TEXT PRIMARY KEY,
                message_id TEXT NOT NULL,
                direction TEXT NOT NULL CHECK (direction IN ('CRDT', 'DBIT')),
                reversal INTEGER NOT NULL CHECK (reversal IN (0, 1)),
                amount INTEGER NOT NULL,
                result TEXT NOT NULL
            );
            CREATE TABLE bank_credits (
                reference TEXT PRIMARY KEY,
                origin TEXT NOT NULL CHECK (origin IN ('camt.054', 'pacs.002')),
                message_id TEXT NOT NULL,
                account TEXT,
                amount INTEGER NOT NULL CHECK (amount > 0),
                value_date TEXT NOT NULL,
                received_ms INTEGER NOT NULL,
                reversed_by TEXT
            );
            CREATE TABLE bank_payments (
                end_to_end_id TEXT PRIMARY KEY,
                uetr TEXT NOT NULL UNIQUE,
                message_id TEXT NOT NULL UNIQUE,
                withdrawal_sequence INTEGER NOT NULL UNIQUE,
                reference TEXT NOT NULL,
                account TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                document BLOB NOT NULL,
                created_ms INTEGER NOT NULL,
                status TEXT NOT NULL DEFAULT 'sent',
                reasons TEXT NOT NULL DEFAULT '',
                status_message_id TEXT,
                debited_by TEXT,
                refund_reference TEXT,
                written INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE bank_alarms (
                id INTEGER PRIMARY KEY,
                raised_ms INTEGER NOT NULL,
                kind TEXT NOT NULL,
                reference TEXT NOT NULL,
                detail TEXT NOT NULL,
                message_id TEXT NOT NULL
            );
            """
        )
    ]

    static func migrate(_ connection: SQLiteConnection) throws(LedgerError) {
        try connection.applyMigrations(migrations)
    }
}
