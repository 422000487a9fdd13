/// The signed header of a block of entries. Its canonical record is what the region key signs, and
/// the block hash is SHA3-256 of those bytes.
public struct BlockHeader: Sendable, Hashable {
    public static let header = "SDT-BLOCK-V2"
    /// A block of a region that has a position with another region also signs its claims and obligations.
    public static let headerV3 = "SDT-BLOCK-V3"
    static let fieldNames = [
        "region", "height", "previous_hash", "merkle_root", "entry_count", "first_sequence", "last_sequence",
        "supply", "reserves", "reserve_root", "rules", "sealed_at_ms",
    ]
    static let fieldNamesV3 = Array(fieldNames[..<10]) + ["claims", "obligations"] + Array(fieldNames[10...])

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
    /// After this block, per counterpart region and token: what the counterpart owes this region for
    /// payments this region credited (claims), and what this region owes it (obligations). Empty for a
    /// region that never had a payment with another; then the header is `SDT-BLOCK-V2`.
    public let claims: [String: [Token: Int64]]
    public let obligations: [String: [Token: Int64]]

    public static let genesisPreviousHashHex = String(repeating: "0", count: 64)

    public init(
        region: String, height: Int64, previousHashHex: String, merkleRootHex: String, entryCount: Int64,
        firstSequence: Int64, lastSequence: Int64, supply: [Token: Int64], reserves: [Token: Int64], reserveRootHex: String,
        rules: String, sealedAtMilliseconds: Int64, claims: [String: [Token: Int64]] = [:], obligations: [String: [Token: Int64]] = [:]
    ) {
        self.claims = claims
        self.obligations = obligations
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

    /// `us-wy/GOLD=0,us-wy/USD=2500`: every counterpart, sorted, with every token; `-` for none.
    static func encodePositions(_ positions: [String: [Token: Int64]]) -> String {
        guard !positions.isEmpty else { return "-" }
        return positions.keys.sorted().flatMap { counterpart in
            Token.allCases.sorted().map { "\(counterpart)/\($0.rawValue)=\(positions[counterpart]?[$0] ?? 0)" }
        }.joined(separator: ",")
    }

    static func decodePositions(_ text: String, _ name: String) throws(RecordError) -> [String: [Token: Int64]] {
        guard text != "-" else { return [:] }
        var positions: [String: [Token: Int64]] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            let key = parts.first?.split(separator: "/", omittingEmptySubsequences: false) ?? []
            guard parts.count == 2, key.count == 2, Identifier.isValidRegionCode(key[0]), let token = Token(rawValue: String(key[1])),
                  let amount = Identifier.canonicalInteger(parts[1], in: 0...Int64.max)
            else { throw RecordError("block header \(name) is malformed") }
            positions[String(key[0]), default: [:]][token] = amount
        }
        return positions
    }

    public var record: CanonicalRecord {
        var fields = [
            ("region", region), ("height", String(height)), ("previous_hash", previousHashHex),
            ("merkle_root", merkleRootHex), ("entry_count", String(entryCount)),
            ("first_sequence", String(firstSequence)), ("last_sequence", String(lastSequence)),
            ("supply", Self.encodeAmounts(supply)), ("reserves", Self.encodeAmounts(reserves)), ("reserve_root", reserveRootHex),
            ("rules", rules), ("sealed_at_ms", String(sealedAtMilliseconds)),
        ]
        guard !claims.isEmpty || !obligations.isEmpty else { return CanonicalRecord(header: Self.header, fields: fields) }
        fields.insert(contentsOf: [("claims", Self.encodePositions(claims)), ("obligations", Self.encodePositions(obligations))], at: 10)
        return CanonicalRecord(header: Self.headerV3, fields: fields)
    }

    /// Claims less obligations of a token, over every counterpart: what reserves plus this equals supply.
    public func netPosition(_ token: Token) -> Int64 {
        claims.values.reduce(0) { $0 + ($1[token] ?? 0) } - obligations.values.reduce(0) { $0 + ($1[token] ?? 0) }
    }

    public var signingBytes: [UInt8] { record.bytes }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        var values: [String]
        var positions: (claims: [String: [Token: Int64]], obligations: [String: [Token: Int64]]) = ([:], [:])
        if signingBytes.starts(with: Array((Self.headerV3 + "\n").utf8)) {
            values = try CanonicalRecord.parse(signingBytes, header: Self.headerV3, names: Self.fieldNamesV3)
            positions = (try Self.decodePositions(values[10], "claims"), try Self.decodePositions(values[11], "obligations"))
            values.removeSubrange(10...11)
        } else {
            values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        }
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
            reserves: try amounts(values[8], "reserves"), reserveRootHex: values[9], rules: values[10], sealedAtMilliseconds: numbers[4],
            claims: positions.claims, obligations: positions.obligations
        )
        guard self.signingBytes == signingBytes else { throw RecordError("block header is not in canonical form") }
    }
}
