/// The second phase of a pending transfer, as it is signed. A post moves `amount` (all of the pending
/// amount or part of it; the rest returns to the payer) and is signed by the payer, the only party who
/// may move the payer's money. A void releases the whole reservation back to the payer and is signed by
/// the payee, who gives up the claim; the payer's way out is to let the transfer expire.
///
/// ```
/// SDT-POST-V1                      SDT-VOID-V1
/// region:<region code>             region:<region code>
/// transaction_id:<id>              transaction_id:<id>
/// pending_id:<pending transfer>    pending_id:<pending transfer>
/// account:<the payer>              account:<the payee>
/// amount:<minor units>             public_key:<64 hex>
/// public_key:<64 hex>
/// ```
/// The transaction id is issued for `account` and lives in the same namespace as transfers' ids.
public struct PendingResolution: Sendable, Hashable {
    public static let postHeader = "SDT-POST-V1"
    public static let voidHeader = "SDT-VOID-V1"
    static let postHeaderLine = Array((postHeader + "\n").utf8)
    static let voidHeaderLine = Array((voidHeader + "\n").utf8)

    public enum Decision: Sendable, Hashable {
        case post(Amount)
        case void
    }

    public let region: String
    public let transactionID: String
    public let pendingID: String
    /// The signer's account: the payer for a post, the payee for a void.
    public let account: String
    public let decision: Decision
    public let publicKeyHex: String
    public let signingBytes: [UInt8]

    public init(
        region: String, transactionID: String, pendingID: String, account: String, postAmountMinorUnits: Int64?, publicKeyHex: String
    ) throws(RecordError) {
        guard Identifier.isValidRegionCode(region[...]) else { throw RecordError("region: \(Echo.quoted(region)) is not a region code like us-tx") }
        guard Identifier.isValidToken(transactionID[...]) else {
            throw RecordError("transaction_id: must be 1-128 printable characters without spaces")
        }
        guard Identifier.isValidToken(pendingID[...]) else {
            throw RecordError("pending_id: must be the transaction_id of a pending transfer (1-128 printable characters)")
        }
        guard pendingID != transactionID else { throw RecordError("transaction_id: must differ from pending_id; ask for a new id") }
        guard Identifier.isValidAccountID(account[...]) else {
            throw RecordError("account: \(Echo.quoted(account)) is not a valid account id (a-z 0-9 . _ -, at most 64)")
        }
        guard Identifier.isValidHex(publicKeyHex[...], byteCount: 32) else {
            throw RecordError("public_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        var fields = [("region", region), ("transaction_id", transactionID), ("pending_id", pendingID), ("account", account)]
        if let postAmountMinorUnits {
            guard let amount = Amount(minorUnits: postAmountMinorUnits) else {
                throw RecordError("amount: \(postAmountMinorUnits) is outside 1...\(Amount.minorUnitsMax) minor units")
            }
            decision = .post(amount)
            fields.append(("amount", amount.description))
        } else {
            decision = .void
        }
        fields.append(("public_key", publicKeyHex))
        self.region = region
        self.transactionID = transactionID
        self.pendingID = pendingID
        self.account = account
        self.publicKeyHex = publicKeyHex
        signingBytes = CanonicalRecord(header: postAmountMinorUnits == nil ? Self.voidHeader : Self.postHeader, fields: fields).bytes
    }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let isPost = signingBytes.starts(with: Self.postHeaderLine)
        let names = ["region", "transaction_id", "pending_id", "account"] + (isPost ? ["amount"] : []) + ["public_key"]
        let values = try CanonicalRecord.parse(signingBytes, header: isPost ? Self.postHeader : Self.voidHeader, names: names)
        var amount: Amount?
        if isPost {
            guard let parsed = Amount(canonical: values[4][...]) else { throw RecordError("amount: not canonical") }
            amount = parsed
        }
        try self.init(
            region: values[0], transactionID: values[1], pendingID: values[2], account: values[3],
            postAmountMinorUnits: amount?.minorUnits, publicKeyHex: values[isPost ? 5 : 4]
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}

/// Any record stored as a `transfer` entry: a transfer, or the post or void of a pending one.
public enum TransferEntryRecord: Sendable, Hashable {
    case transfer(Transfer)
    case resolution(PendingResolution)

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let isResolution = signingBytes.starts(with: PendingResolution.postHeaderLine)
            || signingBytes.starts(with: PendingResolution.voidHeaderLine)
        self = isResolution ? .resolution(try PendingResolution(signingBytes: signingBytes)) : .transfer(try Transfer(signingBytes: signingBytes))
    }

    public var transactionID: String {
        switch self {
        case .transfer(let transfer): transfer.transactionID
        case .resolution(let resolution): resolution.transactionID
        }
    }

    public var publicKeyHex: String {
        switch self {
        case .transfer(let transfer): transfer.publicKeyHex
        case .resolution(let resolution): resolution.publicKeyHex
        }
    }
}
