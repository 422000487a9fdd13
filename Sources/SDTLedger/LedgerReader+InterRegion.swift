import SDTCore
import SDTCrypto
import SDTEngine

/// An outbound message not yet acknowledged, and whether the block holding it is signed.
public struct OpenOutbound: Sendable, Hashable {
    public let counterpart: String
    public let number: Int64
    public let sequence: Int64
    public let isFinal: Bool
}

/// Where a payment to another region stands, for its transfer's status.
public struct OutboundProgress: Sendable, Hashable {
    public enum State: String, Sendable {
        /// Recorded here; the payee's region has not decided yet (as far as this region knows).
        case inFlight = "in_flight"
        case credited
        /// Refused by the payee's region, and the payer refunded.
        case refused
    }

    public let counterpart: String
    public let number: Int64
    public let state: State
    /// For a refusal: the payee region's code and rule.
    public let verdict: InterRegionVerdict?
}

/// One counterpart and token of `GET /v1/inter-region/positions`.
public struct PositionRecord: Sendable, Hashable {
    public let counterpart: String
    public let token: Token
    public let inFlight: Int64
    public let claims: Int64
    public let obligations: Int64
    public let outboundMessages: Int64
    public let outboundOpen: Int64
    public let inboundDecided: Int64
}

extension LedgerReader {
    /// Outbound messages not acknowledged, per counterpart in number order, at most `limit` in all.
    public func openOutbound(limit: Int) throws(LedgerError) -> [OpenOutbound] {
        try read { (connection) throws(LedgerError) -> [OpenOutbound] in
            try connection.query(
                """
                SELECT o.counterpart, o.number, o.sequence, EXISTS (
                    SELECT 1 FROM blocks b WHERE b.first_sequence <= o.sequence AND b.last_sequence >= o.sequence
                      AND b.signature IS NOT NULL)
                FROM outbound_messages o WHERE o.acknowledged_sequence IS NULL ORDER BY o.counterpart, o.number LIMIT ?
                """, [.integer(Int64(limit))]
            ).map {
                OpenOutbound(counterpart: $0.text(0), number: $0.int(1), sequence: $0.int(2), isFinal: $0.int(3) == 1)
            }
        }
    }

    /// A recorded inter-region entry by its id (`outbound:us-wy:3`, `incoming:us-tx:7`, ...).
    public func interRegionEntry(_ entryID: String) throws(LedgerError) -> (sequence: Int64, entry: InterRegionEntry)? {
        try read { (connection) throws(LedgerError) -> (sequence: Int64, entry: InterRegionEntry)? in
            guard
                let row = try connection.query(
                    "SELECT sequence, signing_bytes FROM entries WHERE kind = 'inter_region' AND entry_id = ?",
                    [.text(entryID)]
                ).first
            else { return nil }
            do {
                return (row.int(0), try InterRegionEntry(recordedBytes: row.blob(1)))
            } catch {
                throw LedgerError(.invariant, "inter-region entry \(entryID) does not parse: \(error)")
            }
        }
    }

    /// The payment to another region that the transfer at `sequence` started, if it was one: its
    /// outbound message is the entry right after it.
    public func outboundProgress(transferSequence sequence: Int64) throws(LedgerError) -> OutboundProgress? {
        try read { (connection) throws(LedgerError) -> OutboundProgress? in
            guard
                let row = try connection.query(
                    """
                    SELECT o.counterpart, o.number, a.signing_bytes FROM outbound_messages o
                    LEFT JOIN entries a ON a.sequence = o.acknowledged_sequence WHERE o.sequence = ?
                    """, [.integer(sequence + 1)]
                ).first
            else { return nil }
            guard let bytes = row.optionalBlob(2) else {
                return OutboundProgress(counterpart: row.text(0), number: row.int(1), state: .inFlight, verdict: nil)
            }
            guard let acknowledgement = try? Acknowledgement(signingBytes: bytes) else {
                throw LedgerError(
                    .invariant, "the acknowledgement of outbound message \(row.text(0)) \(row.int(1)) does not parse")
            }
            let state: OutboundProgress.State = acknowledgement.verdict == .credited ? .credited : .refused
            return OutboundProgress(
                counterpart: row.text(0), number: row.int(1), state: state, verdict: acknowledgement.verdict)
        }
    }

    /// Every counterpart and token this region has a link or position with.
    public func positions() throws(LedgerError) -> [PositionRecord] {
        try read { (connection) throws(LedgerError) -> [PositionRecord] in
            var counterparts = Set<String>()
            var links: [String: (Int64, Int64)] = [:]
            for row in try connection.query("SELECT counterpart, last_outbound, last_inbound FROM inter_region_links") {
                links[row.text(0)] = (row.int(1), row.int(2))
                counterparts.insert(row.text(0))
            }
            var positions: [PositionKey: RegionPosition] = [:]
            for row in try connection.query("SELECT counterpart, token, claims, obligations FROM region_positions") {
                guard let token = Token(rawValue: row.text(1)) else { continue }
                positions[PositionKey(counterpart: row.text(0), token: token)] = RegionPosition(
                    claims: row.int(2), obligations: row.int(3))
                counterparts.insert(row.text(0))
            }
            var open: [String: Int64] = [:]
            for row in try connection.query(
                """
                SELECT counterpart, COUNT(*) FROM outbound_messages WHERE acknowledged_sequence IS NULL
                GROUP BY counterpart
                """
            ) { open[row.text(0)] = row.int(1) }
            var records: [PositionRecord] = []
            for counterpart in counterparts.sorted() {
                for token in Token.allCases.sorted() {
                    let transit =
                        try connection.query(
                            "SELECT amount FROM balances WHERE account_id = ? AND token = ?",
                            [.text(inTransitAccountID(counterpart)), .text(token.rawValue)]
                        ).first?.int(0) ?? 0
                    let position = positions[PositionKey(counterpart: counterpart, token: token)] ?? .zero
                    records.append(
                        PositionRecord(
                            counterpart: counterpart, token: token, inFlight: transit, claims: position.claims,
                            obligations: position.obligations, outboundMessages: links[counterpart]?.0 ?? 0,
                            outboundOpen: open[counterpart] ?? 0, inboundDecided: links[counterpart]?.1 ?? 0
                        ))
                }
            }
            return records
        }
    }

    /// Receipts of the final inter-region entries among `entryIDs`, by id; those not final (or not
    /// recorded) are left out. Each block's tree is built once, however many of its entries are asked.
    public func interRegionReceipts(_ entryIDs: [String]) throws(LedgerError) -> [String: ReceiptRecord] {
        try read { (connection) throws(LedgerError) -> [String: ReceiptRecord] in
            var wanted: [Int64: [(sequence: Int64, entryID: String)]] = [:]
            for entryID in entryIDs {
                guard
                    let row = try connection.query(
                        """
                        SELECT e.sequence, b.height FROM entries e JOIN blocks b ON b.height = (\(Self.blockOfEntry))
                        WHERE e.kind = 'inter_region' AND e.entry_id = ? AND b.signature IS NOT NULL
                        """, [.text(entryID)]
                    ).first
                else { continue }
                wanted[row.int(1), default: []].append((row.int(0), entryID))
            }
            var receipts: [String: ReceiptRecord] = [:]
            for (height, entries) in wanted {
                guard
                    let blockRow = try connection.query(
                        "SELECT header, signature FROM blocks WHERE height = ?", [.integer(height)]
                    ).first
                else { throw LedgerError(.invariant, "block \(height) is missing") }
                let block = try SealedBlock(headerBytes: blockRow.blob(0), signature: blockRow.optionalBlob(1))
                let bySequence = Dictionary(uniqueKeysWithValues: entries.map { ($0.sequence, $0.entryID) })
                var leaves: [[UInt8]] = []
                var found: [(entryID: String, bytes: [UInt8], index: Int)] = []
                try connection.each(
                    "SELECT sequence, signing_bytes, signature FROM entries WHERE sequence BETWEEN ? AND "
                        + "? ORDER BY sequence",
                    [.integer(block.header.firstSequence), .integer(block.header.lastSequence)]
                ) { row in
                    if let entryID = bySequence[row.int(0)] { found.append((entryID, row.blob(1), leaves.count)) }
                    leaves.append(Merkle.leafHash(row.blob(1) + row.blob(2)))
                }
                let paths = Merkle.paths(indices: found.map(\.index), leafHashes: leaves)
                for (entry, path) in zip(found, paths) {
                    receipts[entry.entryID] = ReceiptRecord(
                        entryID: entry.entryID, kind: .interRegion, signingBytes: entry.bytes, publicKeyHex: "",
                        signature: [],
                        leafIndex: entry.index, entryCount: leaves.count, path: path, block: block)
                }
            }
            return receipts
        }
    }

    /// The last message number of each link with `counterpart`: outbound recorded, inbound decided.
    public func interRegionLink(_ counterpart: String) throws(LedgerError) -> InterRegionLink {
        try read { (connection) throws(LedgerError) -> InterRegionLink in
            try SQLiteStateReads(connection: connection).interRegionLink(counterpart)
        }
    }
}
