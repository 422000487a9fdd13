import SDTCore
import SDTCrypto
import Synchronization

/// Read access for the HTTP front: one connection behind a lock. Reads see committed data only.
public final class LedgerReader: Sendable {
    private let connection: Mutex<SQLiteConnection>

    public init(path: String) throws(LedgerError) {
        let opened = try SQLiteConnection(path: path)
        try Migrations.run(on: opened)
        connection = Mutex(opened)
    }

    func read<Result>(_ body: (SQLiteConnection) throws(LedgerError) -> Result) throws(LedgerError) -> Result {
        try connection.withLock { (connection) throws(LedgerError) -> Result in try body(connection) }
    }

    /// The height of the block that holds entry `e` (nil while unsealed): blocks hold consecutive
    /// ranges of sequences, so it is the first block whose range ends at or after the entry.
    static let blockOfEntry = "SELECT height FROM blocks WHERE last_sequence >= e.sequence ORDER BY last_sequence LIMIT 1"

    public func status(kind: EntryKind, entryID: String) throws(LedgerError) -> EntryStatusRecord? {
        try read { (connection) throws(LedgerError) -> EntryStatusRecord? in
            let key: [SQLiteConnection.Value] = [.text(kind.rawValue), .text(entryID)]
            if let row = try connection.query(
                """
                SELECT e.sequence, b.height, b.signature IS NOT NULL, e.signing_bytes FROM entries e
                LEFT JOIN blocks b ON b.height = (\(Self.blockOfEntry)) WHERE e.kind = ? AND e.entry_id = ?
                """, key
            ).first {
                let flags = try connection.query("SELECT flag FROM entry_flags WHERE sequence = ? ORDER BY flag", [.integer(row.int(0))])
                    .map { $0.text(0) }
                let pending = try connection.query(
                    "SELECT state, amount, posted_amount, expires_at_ms, resolved_sequence, token FROM pending_transfers WHERE sequence = ?",
                    [.integer(row.int(0))]
                ).first.flatMap { pending in
                    Token(rawValue: pending.text(5)).map {
                        PendingRecord(state: pending.text(0), token: $0, amount: pending.int(1), postedAmount: pending.optionalInt(2),
                                      expiresAtMilliseconds: pending.int(3), resolvedSequence: pending.optionalInt(4))
                    }
                }
                return EntryStatusRecord(
                    kind: kind, entryID: entryID, state: row.int(2) == 1 ? .final : .accepted, code: .accepted,
                    sequence: row.int(0), blockHeight: row.optionalInt(1), flags: flags, pending: pending,
                    recordSHA3: SHA3.hash256(row.blob(3))
                )
            }
            if let row = try connection.query(
                "SELECT code, rule_id, rule_set_version, failed_leg, record_hash FROM rejections WHERE kind = ? AND entry_id = ?", key
            ).first {
                return EntryStatusRecord(
                    kind: kind, entryID: entryID, state: .rejected,
                    code: OutcomeCode(rawValue: UInt16(row.int(0))) ?? .transactionIDInvalid, sequence: nil, blockHeight: nil,
                    ruleID: row.optionalText(1), ruleSetVersion: row.optionalInt(2), failedLeg: row.optionalText(3),
                    recordSHA3: row.blob(4)
                )
            }
            guard kind == .transfer else { return nil }
            return try connection.query(
                "SELECT rule_id, rule_set_version, signing_bytes FROM holds WHERE transaction_id = ? AND review_sequence IS NULL",
                [.text(entryID)]
            ).first.map {
                EntryStatusRecord(kind: kind, entryID: entryID, state: .held, code: .heldForReview, sequence: nil, blockHeight: nil,
                                  ruleID: $0.text(0), ruleSetVersion: $0.int(1), recordSHA3: SHA3.hash256($0.blob(2)))
            }
        }
    }

    public func receipt(kind: EntryKind, entryID: String) throws(LedgerError) -> ReceiptLookup {
        guard let status = try status(kind: kind, entryID: entryID) else { return .notFound }
        guard status.state == .final, let height = status.blockHeight, let sequence = status.sequence else {
            return .notFinal(status)
        }
        return try read { (connection) throws(LedgerError) -> ReceiptLookup in
            let blockRow = try connection.query("SELECT header, signature FROM blocks WHERE height = ?", [.integer(height)])
            guard let blockRow = blockRow.first else { throw LedgerError(.invariant, "block \(height) is missing") }
            let block = try SealedBlock(headerBytes: blockRow.blob(0), signature: blockRow.optionalBlob(1))
            var leaves: [[UInt8]] = []
            var entry: (bytes: [UInt8], key: String, signature: [UInt8], index: Int)?
            try connection.each(
                "SELECT sequence, signing_bytes, public_key, signature FROM entries WHERE sequence BETWEEN ? AND ? ORDER BY sequence",
                [.integer(block.header.firstSequence), .integer(block.header.lastSequence)]
            ) { row in
                if row.int(0) == sequence { entry = (row.blob(1), row.text(2), row.blob(3), leaves.count) }
                leaves.append(Merkle.leafHash(row.blob(1) + row.blob(3)))
            }
            guard let entry else { throw LedgerError(.invariant, "entry \(sequence) is not in block \(height)") }
            return .found(ReceiptRecord(
                entryID: entryID, kind: kind, signingBytes: entry.bytes, publicKeyHex: entry.key, signature: entry.signature,
                leafIndex: entry.index, entryCount: leaves.count, path: Merkle.path(index: entry.index, leafHashes: leaves),
                block: block
            ))
        }
    }

    public func account(_ id: String) throws(LedgerError) -> AccountRecord? {
        try read { (connection) throws(LedgerError) -> AccountRecord? in
            guard let row = try connection.query("SELECT jurisdiction, kyc_tier FROM accounts WHERE id = ?", [.text(id)]).first else {
                return nil
            }
            let (jurisdiction, tier) = (row.text(0), Int(row.int(1)))
            let keys = try connection.query(
                "SELECT public_key, revoked_sequence FROM device_keys WHERE account_id = ? ORDER BY added_sequence", [.text(id)]
            ).map { DeviceKeyRecord(publicKeyHex: $0.text(0), revoked: $0.optionalInt(1) != nil) }
            var balances: [Token: Int64] = [:]
            try connection.each("SELECT token, amount FROM balances WHERE account_id = ?", [.text(id)]) { row in
                if let token = Token(rawValue: row.text(0)) { balances[token] = row.int(1) }
            }
            let frozen = try !connection.query("SELECT 1 FROM frozen_accounts WHERE account_id = ?", [.text(id)]).isEmpty
            var record = AccountRecord(id: id, jurisdiction: jurisdiction, kycTier: tier, frozen: frozen, deviceKeys: keys, balances: balances)
            try connection.each(
                "SELECT token, SUM(amount) FROM pending_transfers WHERE from_account = ? AND state = 'pending' GROUP BY token", [.text(id)]
            ) { row in
                if let token = Token(rawValue: row.text(0)) { record.reserved[token] = row.int(1) }
            }
            return record
        }
    }

    public func history(_ id: String, after: Int64, limit: Int) throws(LedgerError) -> [PostingRecord] {
        try read { (connection) throws(LedgerError) -> [PostingRecord] in
            try connection.query(
                """
                SELECT p.sequence, e.entry_id, p.token, p.amount, (\(Self.blockOfEntry)), p.counterparty, e.kind
                FROM (
                    SELECT sequence, token, amount, from_account AS counterparty FROM movements
                    WHERE to_account = ?1 AND sequence > ?2
                    UNION ALL
                    SELECT sequence, token, -amount, to_account FROM movements WHERE from_account = ?1 AND sequence > ?2
                    ORDER BY sequence LIMIT ?3
                ) p JOIN entries e ON e.sequence = p.sequence ORDER BY p.sequence
                """,
                [.text(id), .integer(after), .integer(Int64(limit))]
            ).compactMap { row in
                guard let token = Token(rawValue: row.text(2)) else { return nil }
                let amount = row.int(3)
                let counterparty = row.text(5)
                let kind: PostingRecord.Kind = if counterparty == issuerAccountID {
                    amount > 0 ? .mint : .redeem
                } else if row.text(6) == EntryKind.operatorAction.rawValue {
                    amount > 0 ? .clawbackIn : .clawbackOut
                } else {
                    amount > 0 ? .transferIn : .transferOut
                }
                return PostingRecord(
                    sequence: row.int(0), entryID: row.text(1), kind: kind, token: token, amount: amount,
                    counterparty: counterparty == issuerAccountID ? nil : counterparty, blockHeight: row.optionalInt(4)
                )
            }
        }
    }

    public func head() throws(LedgerError) -> LedgerHead {
        try read { (connection) throws(LedgerError) -> LedgerHead in
            let applied = try connection.query("SELECT COALESCE(MAX(sequence), 0) FROM entries").first?.int(0) ?? 0
            // Newest first by primary key: blocks are sealed and signed in height order, so these stop at
            // the first row (the signed one after the few unsigned at the top) instead of scanning every block.
            let sealed = try connection.query("SELECT height, last_sequence FROM blocks ORDER BY height DESC LIMIT 1").first
            let final = try connection.query(
                "SELECT height, last_sequence FROM blocks WHERE signature IS NOT NULL ORDER BY height DESC LIMIT 1"
            ).first
            var supply: [Token: Int64] = [:]
            try connection.each("SELECT token, amount FROM supply") { row in
                if let token = Token(rawValue: row.text(0)) { supply[token] = row.int(1) }
            }
            return LedgerHead(
                appliedSequence: applied, sealedHeight: sealed?.int(0) ?? 0, sealedSequence: sealed?.int(1) ?? 0,
                finalHeight: final?.int(0) ?? 0, finalSequence: final?.int(1) ?? 0, supply: supply
            )
        }
    }

    public func block(height: Int64) throws(LedgerError) -> SealedBlock? {
        try read { (connection) throws(LedgerError) -> SealedBlock? in
            try connection.query(
                "SELECT header, signature, signers, signing_proof FROM blocks WHERE height = ?", [.integer(height)]
            ).first.map { row throws(LedgerError) in try SealedBlock(row: row) }
        }
    }

    /// The newest `count` sealed blocks, oldest first, in one query.
    public func newestBlocks(_ count: Int) throws(LedgerError) -> [SealedBlock] {
        try read { (connection) throws(LedgerError) -> [SealedBlock] in
            try connection.query(
                "SELECT header, signature, signers, signing_proof FROM blocks ORDER BY height DESC LIMIT ?",
                [.integer(Int64(count))]
            ).map { row throws(LedgerError) in try SealedBlock(row: row) }.reversed()
        }
    }

    /// Claims and obligations per token, summed over every counterpart.
    public func positionTotals() throws(LedgerError) -> (claims: [Token: Int64], obligations: [Token: Int64]) {
        var claims: [Token: Int64] = [:]
        var obligations: [Token: Int64] = [:]
        for position in try positions() {
            claims[position.token, default: 0] += position.claims
            obligations[position.token, default: 0] += position.obligations
        }
        return (claims, obligations)
    }
}

/// What the ledger recorded under an id, with enough of the record to tell which one it was.
public enum RecordedDecision: Sendable, Hashable {
    case applied(sequence: Int64, signingBytes: [UInt8])
    case rejected(recordSHA3: [UInt8], code: OutcomeCode)
    case held(signingBytes: [UInt8])
}

extension LedgerReader {
    /// The decision recorded under `entryID`, if any: an applied entry, a recorded rejection, or an
    /// open hold.
    public func recorded(kind: EntryKind, entryID: String) throws(LedgerError) -> RecordedDecision? {
        try read { (connection) throws(LedgerError) -> RecordedDecision? in
            let key: [SQLiteConnection.Value] = [.text(kind.rawValue), .text(entryID)]
            if let row = try connection.query("SELECT sequence, signing_bytes FROM entries WHERE kind = ? AND entry_id = ?", key).first {
                return .applied(sequence: row.int(0), signingBytes: row.blob(1))
            }
            if let row = try connection.query("SELECT record_hash, code FROM rejections WHERE kind = ? AND entry_id = ?", key).first {
                return .rejected(recordSHA3: row.blob(0), code: OutcomeCode(rawValue: UInt16(row.int(1))) ?? .transactionIDInvalid)
            }
            guard kind == .transfer else { return nil }
            return try connection.query(
                "SELECT signing_bytes FROM holds WHERE transaction_id = ? AND review_sequence IS NULL", [.text(entryID)]
            ).first.map { .held(signingBytes: $0.blob(0)) }
        }
    }

    /// The ledger's totals, checked on its tables: the supply of each token equals the sum of balances,
    /// and the attested reserves plus claims on other regions less obligations to them. (Each leg of
    /// double entry is one row that debits one account and credits another by one amount, so debits
    /// equal credits by construction; the audit checks every balance against the movements.) Returns
    /// what is broken (nothing when intact).
    public func invariantProblems() throws(LedgerError) -> [String] {
        try read { (connection) throws(LedgerError) -> [String] in
            var problems: [String] = []
            var balances: [String: Int64] = [:]
            for row in try connection.query("SELECT token, SUM(amount) FROM balances GROUP BY token") { balances[row.text(0)] = row.int(1) }
            var supply: [String: Int64] = [:]
            for row in try connection.query("SELECT token, amount FROM supply") { supply[row.text(0)] = row.int(1) }
            var reserves: [String: Int64] = [:]
            for row in try connection.query(
                """
                SELECT token, SUM(CASE kind WHEN 'withdrawal' THEN -amount ELSE amount END) FROM reserve_records
                WHERE released_sequence IS NULL GROUP BY token
                """
            ) { reserves[row.text(0)] = row.int(1) }
            var net: [String: Int64] = [:]
            for row in try connection.query("SELECT token, SUM(claims) - SUM(obligations) FROM region_positions GROUP BY token") {
                net[row.text(0)] = row.int(1)
            }
            for token in Token.allCases.map(\.rawValue) {
                let (held, issued, backed) = (balances[token] ?? 0, supply[token] ?? 0, (reserves[token] ?? 0) + (net[token] ?? 0))
                if held != issued { problems.append("\(token): balances sum to \(held) but supply is \(issued)") }
                if issued != backed {
                    problems.append("\(token): supply \(issued) differs from attested reserves plus claims less obligations \(backed)")
                }
            }
            return problems
        }
    }
}

extension LedgerReader {
    /// The account a device key is registered to, and whether it was revoked; nil when no account has it.
    public func deviceKey(_ publicKeyHex: String) throws(LedgerError) -> (account: String, revoked: Bool)? {
        try read { (connection) throws(LedgerError) -> (account: String, revoked: Bool)? in
            try connection.query("SELECT account_id, revoked_sequence FROM device_keys WHERE public_key = ?", [.text(publicKeyHex)])
                .first.map { ($0.text(0), $0.optionalInt(1) != nil) }
        }
    }
}

/// One reserve record in force: the signed operator action that created it, so that anyone can
/// check it and recompute a block's `reserve_root` from it.
public struct ReserveRecordEntry: Sendable, Hashable {
    public let sequence: Int64
    /// `deposit`, `withdrawal` or `bar`.
    public let kind: String
    public let token: Token
    public let amount: Int64
    public let signingBytes: [UInt8]
    public let publicKeyHex: String
    public let signature: [UInt8]
}

extension LedgerReader {
    /// The reserve records in force after entry `sequence`, in ledger order: the leaves of the
    /// reserve root of a block whose last entry is `sequence`.
    public func reserveRecords(asOf sequence: Int64) throws(LedgerError) -> [ReserveRecordEntry] {
        try read { (connection) throws(LedgerError) -> [ReserveRecordEntry] in
            try connection.query(
                """
                SELECT r.sequence, r.kind, r.token, r.amount, e.signing_bytes, e.public_key, e.signature
                FROM reserve_records r JOIN entries e ON e.sequence = r.sequence
                WHERE r.sequence <= ?1 AND (r.released_sequence IS NULL OR r.released_sequence > ?1) ORDER BY r.sequence
                """, [.integer(sequence)]
            ).compactMap { row in
                Token(rawValue: row.text(2)).map { token in
                    ReserveRecordEntry(sequence: row.int(0), kind: row.text(1), token: token, amount: row.int(3),
                                       signingBytes: row.blob(4), publicKeyHex: row.text(5), signature: row.blob(6))
                }
            }
        }
    }
}
