/// A client's instruction to move `amount` of `token` from one account to another, as it is signed.
/// The signer's device public key is part of the signed record, so the front can check the signature
/// without the ledger; the applier then checks that the key is registered to `from` and not revoked.
///
/// An immediate transfer on its own is signed as `SDT-TRANSFER-V1`. A pending transfer (two-phase:
/// it reserves the payer's funds until posted, voided or expired) or a leg of a linked group is signed
/// as `SDT-TRANSFER-V2`, whose extra lines commit the payer to the phase and to the group, so a leg can
/// never be applied outside its group nor a pending transfer applied as an immediate one.
public struct Transfer: Sendable, Hashable {
    public static let header = "SDT-TRANSFER-V1"
    public static let headerV2 = "SDT-TRANSFER-V2"
    static let fieldNames = ["region", "transaction_id", "from", "to", "token", "amount", "public_key"]
    static let fieldNamesV2 = fieldNames + ["mode", "timeout", "link", "leg"]
    static let headerV2Line = Array((headerV2 + "\n").utf8)
    /// The longest a pending transfer may reserve funds: 30 days.
    public static let pendingTimeoutSecondsMax: Int64 = 30 * 24 * 3600
    /// The most legs a linked group may have.
    public static let linkLegsMax = 8

    /// Where a leg sits in its linked group: `index` counts from 1 to `count`.
    public struct Link: Sendable, Hashable {
        public let id: String
        public let index: Int
        public let count: Int

        public init(id: String, index: Int, count: Int) throws(RecordError) {
            // The account id alphabet: never `-` alone, which stands for "not linked".
            guard Identifier.isValidAccountID(id[...]) else {
                throw RecordError("link: \(Echo.quoted(id)) must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit")
            }
            guard (2...Transfer.linkLegsMax).contains(count), (1...count).contains(index) else {
                throw RecordError("leg: \(index)/\(count) is not a leg i/n with 1 <= i <= n and 2 <= n <= \(Transfer.linkLegsMax)")
            }
            self.id = id
            self.index = index
            self.count = count
        }
    }

    public let region: String
    public let transactionID: String
    public let from: String
    /// The payee's account: in this region, or in `toRegion` when that is set.
    public let to: String
    /// The payee's region for a payment to another region (signed as `to:us-wy:bob`); nil for a payee here.
    public let toRegion: String?
    public let token: Token
    public let amount: Amount
    /// Hex (lowercase, 64 characters) of the 32-byte Ed25519 device public key that signs.
    public let publicKeyHex: String
    /// Set for a pending transfer: how long its funds stay reserved before it expires.
    public let pendingTimeoutSeconds: Int64?
    /// Set for a leg of a linked group.
    public let link: Link?
    /// The exact bytes a client signs, built once when the transfer is made.
    public let signingBytes: [UInt8]

    public var isPending: Bool { pendingTimeoutSeconds != nil }

    /// Validates every field; the error names the field and what is allowed.
    public init(
        region: String, transactionID: String, from: String, to: String,
        token: String, amountMinorUnits: Int64, publicKeyHex: String,
        pendingTimeoutSeconds: Int64? = nil, link: Link? = nil
    ) throws(RecordError) {
        guard Identifier.isValidRegionCode(region[...]) else { throw RecordError("region: \(Echo.quoted(region)) is not a region code like us-tx") }
        guard Identifier.isValidToken(transactionID[...]) else {
            throw RecordError("transaction_id: must be 1-128 printable characters without spaces")
        }
        guard Identifier.isValidAccountID(from[...]) else { throw RecordError("from: \(Echo.quoted(from)) is not a valid account id (a-z 0-9 . _ -, at most 64)") }
        let colon = to.firstIndex(of: ":")
        let payeeAccount = colon.map { to[to.index(after: $0)...] } ?? to[...]
        guard Identifier.isValidAccountID(payeeAccount) else {
            throw RecordError("to: \(Echo.quoted(to)) is not a valid account id (a-z 0-9 . _ -, at most 64), or region:account")
        }
        let payeeRegion = colon.map { to[..<$0] }
        if let payeeRegion {
            guard Identifier.isValidRegionCode(payeeRegion) else {
                throw RecordError("to: \(Echo.quoted(to)) names no region code before the colon (region:account, like us-wy:bob)")
            }
            guard pendingTimeoutSeconds == nil, link == nil else {
                throw RecordError("to: a payment to another region is immediate and not linked (no timeout, no link)")
            }
        }
        guard let parsedToken = Token(rawValue: token) else {
            throw RecordError("token: \(Echo.quoted(token)) is not a token; use USD or GOLD (one token per transfer)")
        }
        guard let parsedAmount = Amount(minorUnits: amountMinorUnits) else {
            throw RecordError("amount: \(amountMinorUnits) is outside 1...\(Amount.minorUnitsMax) minor units")
        }
        guard Identifier.isValidHex(publicKeyHex[...], byteCount: 32) else {
            throw RecordError("public_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        if let pendingTimeoutSeconds, !(1...Self.pendingTimeoutSecondsMax).contains(pendingTimeoutSeconds) {
            throw RecordError("timeout: \(pendingTimeoutSeconds) s is outside 1...\(Self.pendingTimeoutSecondsMax) seconds (30 days)")
        }
        self.region = region
        self.transactionID = transactionID
        self.from = from
        self.to = String(payeeAccount)
        self.toRegion = payeeRegion.map(String.init)
        self.token = parsedToken
        self.amount = parsedAmount
        self.publicKeyHex = publicKeyHex
        self.pendingTimeoutSeconds = pendingTimeoutSeconds
        self.link = link
        var fields = [
            ("region", region), ("transaction_id", transactionID), ("from", from), ("to", to),
            ("token", parsedToken.rawValue), ("amount", parsedAmount.description), ("public_key", publicKeyHex),
        ]
        guard pendingTimeoutSeconds != nil || link != nil else {
            signingBytes = CanonicalRecord(header: Self.header, fields: fields).bytes
            return
        }
        fields += [
            ("mode", pendingTimeoutSeconds == nil ? "immediate" : "pending"), ("timeout", String(pendingTimeoutSeconds ?? 0)),
            ("link", link?.id ?? "-"), ("leg", link.map { "\($0.index)/\($0.count)" } ?? "-"),
        ]
        signingBytes = CanonicalRecord(header: Self.headerV2, fields: fields).bytes
    }

    /// Parses signed bytes back into a transfer (used by the applier, the audit and receipt checks).
    public init(signingBytes: [UInt8]) throws(RecordError) {
        let isV2 = signingBytes.starts(with: Self.headerV2Line)
        let values = try CanonicalRecord.parse(
            signingBytes, header: isV2 ? Self.headerV2 : Self.header, names: isV2 ? Self.fieldNamesV2 : Self.fieldNames
        )
        guard let amount = Amount(canonical: values[5][...]) else { throw RecordError("amount: not canonical") }
        var timeout: Int64?
        var link: Link?
        if isV2 {
            switch values[7] {
            case "immediate":
                guard values[8] == "0" else { throw RecordError("timeout: an immediate transfer has timeout 0") }
            case "pending":
                guard let seconds = Identifier.canonicalInteger(values[8][...], in: 1...Self.pendingTimeoutSecondsMax) else {
                    throw RecordError("timeout: must be 1...\(Self.pendingTimeoutSecondsMax) seconds")
                }
                timeout = seconds
            default:
                throw RecordError("mode: must be immediate or pending")
            }
            if values[9] != "-" || values[10] != "-" { link = try Self.parseLink(id: values[9], leg: values[10]) }
        }
        try self.init(
            region: values[0], transactionID: values[1], from: values[2], to: values[3],
            token: values[4], amountMinorUnits: amount.minorUnits, publicKeyHex: values[6],
            pendingTimeoutSeconds: timeout, link: link
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }

    private static func parseLink(id: String, leg: String) throws(RecordError) -> Link {
        let parts = leg.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Identifier.canonicalInteger(parts[0], in: 1...Int64(linkLegsMax)),
              let count = Identifier.canonicalInteger(parts[1], in: 2...Int64(linkLegsMax))
        else { throw RecordError("leg: must be i/n, like 1/2") }
        return try Link(id: id, index: Int(index), count: Int(count))
    }
}
