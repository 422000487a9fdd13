import SDTCore
/// Named, append-only schema migrations. Never edit a shipped migration: add a new one.
enum Migrations {
    static let all: [(name: String, sql: String)] = [
        ("0001-ledger", """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE entries (
            sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
            kind TEXT NOT NULL CHECK (kind IN ('transfer', 'operator')),
            entry_id TEXT NOT NULL,
            signing_bytes BLOB NOT NULL,
            public_key TEXT NOT NULL CHECK (length(public_key) = 64),
            signature BLOB NOT NULL CHECK (length(signature) = 64),
            applied_at_ms INTEGER NOT NULL,
            block_height INTEGER REFERENCES blocks(height),
            leaf_index INTEGER CHECK (leaf_index >= 0),
            UNIQUE (kind, entry_id)
        );
        CREATE INDEX entries_unsealed ON entries(block_height) WHERE block_height IS NULL;
        CREATE TABLE rejections (
            kind TEXT NOT NULL CHECK (kind IN ('transfer', 'operator')),
            entry_id TEXT NOT NULL,
            record_hash BLOB NOT NULL CHECK (length(record_hash) = 32),
            code INTEGER NOT NULL CHECK (code > 0),
            decided_at_ms INTEGER NOT NULL,
            PRIMARY KEY (kind, entry_id)
        );
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            jurisdiction TEXT NOT NULL,
            kyc_tier INTEGER NOT NULL CHECK (kyc_tier BETWEEN 0 AND 3),
            opened_sequence INTEGER NOT NULL REFERENCES entries(sequence)
        );
        CREATE TABLE device_keys (
            public_key TEXT PRIMARY KEY CHECK (length(public_key) = 64),
            account_id TEXT NOT NULL REFERENCES accounts(id),
            added_sequence INTEGER NOT NULL REFERENCES entries(sequence),
            revoked_sequence INTEGER REFERENCES entries(sequence)
        );
        CREATE INDEX device_keys_account ON device_keys(account_id);
        CREATE TABLE postings (
            sequence INTEGER NOT NULL REFERENCES entries(sequence),
            account_id TEXT NOT NULL,
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount <> 0),
            PRIMARY KEY (sequence, account_id, token)
        );
        CREATE INDEX postings_account ON postings(account_id, sequence);
        CREATE TABLE balances (
            account_id TEXT NOT NULL REFERENCES accounts(id),
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount >= 0),
            PRIMARY KEY (account_id, token)
        );
        CREATE TABLE supply (
            token TEXT PRIMARY KEY CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount >= 0)
        );
        CREATE TABLE reserve_references (
            reference TEXT PRIMARY KEY,
            sequence INTEGER NOT NULL REFERENCES entries(sequence)
        );
        CREATE TABLE blocks (
            height INTEGER PRIMARY KEY CHECK (height >= 1),
            header BLOB NOT NULL,
            block_hash BLOB NOT NULL CHECK (length(block_hash) = 32),
            first_sequence INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL CHECK (last_sequence >= first_sequence),
            signature BLOB CHECK (signature IS NULL OR length(signature) = 64)
        );
        """),
        ("0002-block-lookups", """
        CREATE INDEX blocks_unsigned ON blocks(height) WHERE signature IS NULL;
        CREATE INDEX entries_block ON entries(block_height, leaf_index) WHERE block_height IS NOT NULL;
        """),
        ("0003-reserves-rules-compliance", """
        DROP TABLE reserve_references;
        CREATE TABLE reserve_records (
            sequence INTEGER PRIMARY KEY REFERENCES entries(sequence),
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'bar')),
            reference TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            released_sequence INTEGER REFERENCES entries(sequence)
        );
        CREATE UNIQUE INDEX reserve_records_key ON reserve_records(token, kind, reference) WHERE released_sequence IS NULL;
        CREATE INDEX reserve_records_released ON reserve_records(released_sequence) WHERE released_sequence IS NOT NULL;
        CREATE TABLE frozen_accounts (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            sequence INTEGER NOT NULL REFERENCES entries(sequence)
        );
        CREATE TABLE account_events (
            account_id TEXT NOT NULL,
            sequence INTEGER NOT NULL REFERENCES entries(sequence),
            PRIMARY KEY (account_id, sequence)
        );
        CREATE TABLE rule_sets (
            version INTEGER PRIMARY KEY CHECK (version >= 1),
            sha3 TEXT NOT NULL CHECK (length(sha3) = 64),
            text TEXT NOT NULL,
            sequence INTEGER REFERENCES entries(sequence),
            installed_at_ms INTEGER NOT NULL
        );
        CREATE TABLE holds (
            transaction_id TEXT PRIMARY KEY,
            signing_bytes BLOB NOT NULL,
            public_key TEXT NOT NULL CHECK (length(public_key) = 64),
            signature BLOB NOT NULL CHECK (length(signature) = 64),
            rule_id TEXT NOT NULL,
            rule_set_version INTEGER NOT NULL,
            held_at_ms INTEGER NOT NULL,
            review_sequence INTEGER REFERENCES entries(sequence)
        );
        CREATE INDEX holds_open ON holds(held_at_ms) WHERE review_sequence IS NULL;
        CREATE TABLE entry_flags (
            sequence INTEGER NOT NULL REFERENCES entries(sequence),
            flag TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            PRIMARY KEY (sequence, flag)
        );
        CREATE TABLE holder_data (
            account_id TEXT PRIMARY KEY REFERENCES accounts(id),
            sealed BLOB NOT NULL
        );
        ALTER TABLE rejections ADD COLUMN rule_id TEXT;
        ALTER TABLE rejections ADD COLUMN rule_set_version INTEGER;
        """),
        ("0004-pending-and-linked-transfers", """
        CREATE TABLE pending_transfers (
            transaction_id TEXT PRIMARY KEY,
            sequence INTEGER NOT NULL UNIQUE REFERENCES entries(sequence),
            from_account TEXT NOT NULL,
            to_account TEXT NOT NULL,
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount > 0),
            created_at_ms INTEGER NOT NULL,
            expires_at_ms INTEGER NOT NULL CHECK (expires_at_ms > created_at_ms),
            state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided', 'expired')),
            posted_amount INTEGER CHECK (posted_amount IS NULL OR (posted_amount > 0 AND posted_amount <= amount)),
            resolved_sequence INTEGER REFERENCES entries(sequence),
            resolved_at_ms INTEGER,
            CHECK ((state = 'posted') = (posted_amount IS NOT NULL)),
            CHECK ((state IN ('posted', 'voided')) = (resolved_sequence IS NOT NULL)),
            CHECK ((state = 'pending') = (resolved_at_ms IS NULL))
        );
        CREATE INDEX pending_transfers_open ON pending_transfers(expires_at_ms) WHERE state = 'pending';
        CREATE INDEX pending_transfers_payer ON pending_transfers(from_account, token, created_at_ms);
        CREATE UNIQUE INDEX pending_transfers_resolution ON pending_transfers(resolved_sequence) WHERE resolved_sequence IS NOT NULL;
        CREATE TABLE link_groups (
            link_id TEXT PRIMARY KEY,
            record_hash BLOB NOT NULL CHECK (length(record_hash) = 32),
            legs INTEGER NOT NULL CHECK (legs BETWEEN 2 AND 8),
            decided_at_ms INTEGER NOT NULL,
            failed_leg TEXT
        );
        ALTER TABLE rejections ADD COLUMN failed_leg TEXT;
        """),
        // A block's range of sequences says which entries it holds, in leaf order: sealing writes the
        // block alone and no longer rewrites each entry (entries.block_height and leaf_index stay NULL).
        ("0005-blocks-by-range", """
        DROP INDEX entries_unsealed;
        DROP INDEX entries_block;
        CREATE UNIQUE INDEX blocks_last_sequence ON blocks(last_sequence);
        """),
        // Double entry as one row per leg: the amount, the account debited and the account credited, so
        // a leg cannot be unbalanced and costs one row and two account indexes instead of two rows.
        ("0006-movements", """
        CREATE TABLE movements (
            sequence INTEGER NOT NULL REFERENCES entries(sequence),
            leg INTEGER NOT NULL CHECK (leg >= 0),
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount > 0),
            from_account TEXT NOT NULL,
            to_account TEXT NOT NULL CHECK (to_account <> from_account),
            PRIMARY KEY (sequence, leg)
        ) WITHOUT ROWID;
        INSERT INTO movements (sequence, leg, token, amount, from_account, to_account)
            SELECT debit.sequence, 0, debit.token, credit.amount, debit.account_id, credit.account_id
            FROM postings debit JOIN postings credit
              ON credit.sequence = debit.sequence AND credit.token = debit.token AND credit.amount = -debit.amount
            WHERE debit.amount < 0;
        CREATE INDEX movements_from ON movements(from_account, sequence);
        CREATE INDEX movements_to ON movements(to_account, sequence);
        """),
        ("0007-drop-postings", "DROP TABLE postings;"),
        // Payments between regions. Their entries carry no client key or signature (the region's quorum
        // vouches for them by signing their block), so `entries` is rebuilt with a third kind; balances
        // may belong to the in-transit account of a counterpart (a trigger keeps the account check for
        // the rest); then the links' numbering, the outbound messages and the positions.
        ("0008-inter-region", """
        CREATE TABLE entries_0008 (
            sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
            kind TEXT NOT NULL CHECK (kind IN ('transfer', 'operator', 'inter_region')),
            entry_id TEXT NOT NULL,
            signing_bytes BLOB NOT NULL,
            public_key TEXT NOT NULL CHECK ((kind = 'inter_region' AND public_key = '') OR length(public_key) = 64),
            signature BLOB NOT NULL CHECK ((kind = 'inter_region' AND length(signature) = 0) OR length(signature) = 64),
            applied_at_ms INTEGER NOT NULL,
            block_height INTEGER REFERENCES blocks(height),
            leaf_index INTEGER CHECK (leaf_index >= 0),
            UNIQUE (kind, entry_id)
        );
        INSERT INTO entries_0008 (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms, block_height,
                                  leaf_index)
            SELECT sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms, block_height, leaf_index
            FROM entries;
        DROP TABLE entries;
        ALTER TABLE entries_0008 RENAME TO entries;
        CREATE TABLE balances_0008 (
            account_id TEXT NOT NULL,
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            amount INTEGER NOT NULL CHECK (amount >= 0),
            PRIMARY KEY (account_id, token)
        );
        INSERT INTO balances_0008 (account_id, token, amount) SELECT account_id, token, amount FROM balances;
        DROP TABLE balances;
        ALTER TABLE balances_0008 RENAME TO balances;
        -- A balance belongs to an open account, or to the in-transit account of a counterpart region.
        CREATE TRIGGER balances_need_an_account BEFORE INSERT ON balances
        WHEN NEW.account_id NOT LIKE '$transit:%' AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id)
        BEGIN SELECT RAISE(ABORT, 'a balance needs an open account'); END;
        CREATE TRIGGER balances_keep_their_account BEFORE UPDATE OF account_id ON balances
        BEGIN SELECT RAISE(ABORT, 'a balance does not change accounts'); END;
        CREATE TABLE inter_region_links (
            counterpart TEXT PRIMARY KEY,
            last_outbound INTEGER NOT NULL CHECK (last_outbound >= 0),
            last_inbound INTEGER NOT NULL CHECK (last_inbound >= 0)
        );
        CREATE TABLE outbound_messages (
            counterpart TEXT NOT NULL,
            number INTEGER NOT NULL CHECK (number >= 1),
            sequence INTEGER NOT NULL UNIQUE REFERENCES entries(sequence),
            acknowledged_sequence INTEGER UNIQUE REFERENCES entries(sequence),
            PRIMARY KEY (counterpart, number)
        );
        CREATE INDEX outbound_messages_open ON outbound_messages(counterpart, number) WHERE acknowledged_sequence IS NULL;
        CREATE TABLE region_positions (
            counterpart TEXT NOT NULL,
            token TEXT NOT NULL CHECK (token IN ('USD', 'GOLD')),
            claims INTEGER NOT NULL CHECK (claims >= 0),
            obligations INTEGER NOT NULL CHECK (obligations >= 0),
            PRIMARY KEY (counterpart, token)
        );
        """),
        ("0009-block-signers", """
        ALTER TABLE blocks ADD COLUMN signers TEXT;
        ALTER TABLE blocks ADD COLUMN signing_proof BLOB;
        """),
    ]

    /// Migrations that rebuild a table other tables refer to: they run with foreign keys off (SQLite's
    /// documented procedure for a table rebuild), and every reference is checked before they commit.
    static let rebuildsTables: Set<String> = ["0008-inter-region"]

    /// Checks a migration must pass before the next one runs: a query that returns 0 when all is well.
    static let checks: [String: (sql: String, problem: String)] = [
        "0006-movements": (
            "SELECT (SELECT COUNT(*) FROM postings) - 2 * (SELECT COUNT(*) FROM movements)",
            "postings that are not one debit and one credit of one amount per entry; the ledger was not converted"
        ),
    ]

    /// Runs every migration not yet applied, in order (with `through`, only up to that one: for tests
    /// of a migration on a ledger of the schema before it).
    static func run(on connection: SQLiteConnection, through last: String? = nil) throws(LedgerError) {
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")
        let applied = Set(try connection.query("SELECT name FROM schema_migrations").map { $0.text(0) })
        let wanted = last.flatMap { name in all.firstIndex { $0.name == name } }.map { all[...$0] } ?? all[...]
        for migration in wanted where !applied.contains(migration.name) {
            let rebuild = rebuildsTables.contains(migration.name)
            if rebuild { try connection.execute("PRAGMA foreign_keys = OFF") }
            defer { if rebuild { try? connection.execute("PRAGMA foreign_keys = ON") } }
            try connection.transaction { () throws(LedgerError) in
                try connection.execute(migration.sql)
                if rebuild, let broken = try connection.query("PRAGMA foreign_key_check").first {
                    throw LedgerError(.invariant, "migration \(migration.name): table \(broken.text(0)) row \(broken.int(1)) "
                                      + "refers to a missing row of \(broken.text(2)); the ledger was not converted")
                }
                if let check = checks[migration.name], let left = try connection.query(check.sql).first?.int(0), left != 0 {
                    throw LedgerError(.invariant, "migration \(migration.name): \(left) \(check.problem)")
                }
                try connection.query("INSERT INTO schema_migrations (name) VALUES (?)", [.text(migration.name)])
            }
        }
    }
}
