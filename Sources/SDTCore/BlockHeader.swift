/// The signed header of a block of entries. Its canonical record is what the region key signs, and
/// the block hash is SHA3-256 of those bytes.
public struct BlockHeader: Sendable, Hashable {
    public static let header = "SDT-BLOCK-V2"
    static let fieldNames = [
        "region", "height", "previous_hash", "merkle_root", "entry_count", "first_sequence", "last_sequence",
        "supply", "reserves", "reserve_root", "rules", "sealed_at_ms",
    ]

    public let region: String
    public let height: Int64
    /// Hex SHA3-256 of the previous block's header; 64 zeros for height 1.
    public let previousHashHex: String
    public let merkleRootHex: String
    public let entryCount: Int64
    public let firstSequence: Int64
    public let lastSequence: Int64
    /// Supply of each token after this block, in minor units, sorted by token.
    public let supply: [Token: Int64]
    /// Attested reserves of each token after this block (USD cents on deposit, GOLD mg in bars held).
    public let reserves: [Token: Int64]
    /// Merkle root over the signed operator actions of the reserve records in force after this block:
    /// USD deposits and withdrawals, and the GOLD bars held, in ledger order.
    public let reserveRootHex: String
    /// The rule set in force after this block: `<version>:<sha3 hex>`, or `none`.
    public let rules: String
    public let sealedAtMilliseconds: Int64

    public static let genesisPreviousHashHex = String(repeating: "0", count: 64)

    public init(
        region: String, height: Int64, previousHashHex: String, merkleRootHex: String, entryCount: Int64,
        firstSequence: Int64, lastSequence: Int64, supply: [Token: Int64], reserves: [Token: Int64], reserveRootHex: String,
        rules: String, sealedAtMilliseconds: Int64
    ) {
        self.region = region
        self.height = height
        self.previousHashHex = previousHashHex
        self.merkleRootHex = merkleRootHex
        self.entryCount = entryCount
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.supply = supply
        self.reserves = reserves
        self.reserveRootHex = reserveRootHex
        self.rules = rules
        self.sealedAtMilliseconds = sealedAtMilliseconds
    }

    /// `GOLD=123,USD=456`: every token, sorted, so the supply line has one form.
    static func encodeAmounts(_ supply: [Token: Int64]) -> String {
        Token.allCases.sorted().map { "\($0.rawValue)=\(supply[$0] ?? 0)" }.joined(separator: ",")
    }

    public var record: CanonicalRecord {
        CanonicalRecord(header: Self.header, fields: [
            ("region", region), ("height", String(height)), ("previous_hash", previousHashHex),
            ("merkle_root", merkleRootHex), ("entry_count", String(entryCount)),
            ("first_sequence", String(firstSequence)), ("last_sequence", String(lastSequence)),
            ("supply", Self.encodeAmounts(supply)), ("reserves", Self.encodeAmounts(reserves)), ("reserve_root", reserveRootHex),
            ("rules", rules), ("sealed_at_ms", String(sealedAtMilliseconds)),
        ])
    }

    public var signingBytes: [UInt8] { record.bytes }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        let numbers = [values[1], values[4], values[5], values[6], values[11]].compactMap { Int64($0) }
        guard numbers.count == 5 else { throw RecordError("block header has a non-numeric field") }
        func amounts(_ text: String, _ name: String) throws(RecordError) -> [Token: Int64] {
            var amounts: [Token: Int64] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let token = Token(rawValue: String(parts[0])), let value = Int64(parts[1]) else {
                    throw RecordError("block header \(name) is malformed")
                }
                amounts[token] = value
            }
            return amounts
        }
        self.init(
            region: values[0], height: numbers[0], previousHashHex: values[2], merkleRootHex: values[3],
            entryCount: numbers[1], firstSequence: numbers[2], lastSequence: numbers[3], supply: try amounts(values[7], "supply"),
            reserves: try amounts(values[8], "reserves"), reserveRootHex: values[9], rules: values[10], sealedAtMilliseconds: numbers[4]
        )
        guard self.signingBytes == signingBytes else { throw RecordError("block header is not in canonical form") }
    }
}
