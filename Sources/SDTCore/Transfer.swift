/// A client's instruction to move `amount` of `token` from one account to another, as it is signed.
/// The signer's device public key is part of the signed record, so the front can check the signature
/// without the ledger; the applier then checks that the key is registered to `from` and not revoked.
public struct Transfer: Sendable, Hashable {
    public static let header = "SDT-TRANSFER-V1"
    static let fieldNames = ["region", "transaction_id", "from", "to", "token", "amount", "public_key"]

    public let region: String
    public let transactionID: String
    public let from: String
    public let to: String
    public let token: Token
    public let amount: Amount
    /// Hex (lowercase, 64 characters) of the 32-byte Ed25519 device public key that signs.
    public let publicKeyHex: String
    /// The exact bytes a client signs, built once when the transfer is made.
    public let signingBytes: [UInt8]

    /// Validates every field; the error names the field and what is allowed.
    public init(
        region: String, transactionID: String, from: String, to: String,
        token: String, amountMinorUnits: Int64, publicKeyHex: String
    ) throws(RecordError) {
        guard Identifier.isValidRegionCode(region[...]) else { throw RecordError("region: '\(region)' is not a region code like us-tx") }
        guard Identifier.isValidToken(transactionID[...]) else {
            throw RecordError("transaction_id: must be 1-128 printable characters without spaces")
        }
        guard Identifier.isValidAccountID(from[...]) else { throw RecordError("from: '\(from)' is not a valid account id (a-z 0-9 . _ -, at most 64)") }
        guard Identifier.isValidAccountID(to[...]) else { throw RecordError("to: '\(to)' is not a valid account id (a-z 0-9 . _ -, at most 64)") }
        guard let parsedToken = Token(rawValue: token) else {
            throw RecordError("token: '\(token)' is not a token; use USD or GOLD (one token per transfer)")
        }
        guard let parsedAmount = Amount(minorUnits: amountMinorUnits) else {
            throw RecordError("amount: \(amountMinorUnits) is outside 1...\(Amount.minorUnitsMax) minor units")
        }
        guard Identifier.isValidHex(publicKeyHex[...], byteCount: 32) else {
            throw RecordError("public_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        self.region = region
        self.transactionID = transactionID
        self.from = from
        self.to = to
        self.token = parsedToken
        self.amount = parsedAmount
        self.publicKeyHex = publicKeyHex
        signingBytes = CanonicalRecord(header: Self.header, fields: [
            ("region", region), ("transaction_id", transactionID), ("from", from), ("to", to),
            ("token", parsedToken.rawValue), ("amount", parsedAmount.description), ("public_key", publicKeyHex),
        ]).bytes
    }

    /// Parses signed bytes back into a transfer (used by the audit and by receipt checks).
    public init(signingBytes: [UInt8]) throws(RecordError) {
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        guard let amount = Amount(canonical: values[5][...]) else { throw RecordError("amount: not canonical") }
        try self.init(
            region: values[0], transactionID: values[1], from: values[2], to: values[3],
            token: values[4], amountMinorUnits: amount.minorUnits, publicKeyHex: values[6]
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}
