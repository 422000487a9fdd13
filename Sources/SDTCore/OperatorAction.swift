/// An action of the region's operator, signed by an operator key listed in the region config.
/// Like transfers, operator actions go through the queue and the applier, and are sealed into blocks.
public struct OperatorAction: Sendable, Hashable {
    public static let header = "SDT-OPERATOR-V1"

    public enum Kind: String, Sendable, CaseIterable {
        case openAccount = "open_account"
        case addKey = "add_key"
        case revokeKey = "revoke_key"
        case mint
        case redeem

        /// The action-specific fields, in signing order, between `account` and `operator_key`.
        var detailNames: [String] {
            switch self {
            case .openAccount: ["jurisdiction", "kyc_tier", "device_key"]
            case .addKey, .revokeKey: ["device_key"]
            case .mint, .redeem: ["token", "amount", "reserve_reference"]
            }
        }
    }

    /// The fields an action may carry; which ones it must carry depends on its kind.
    public struct Details: Sendable, Hashable {
        public var jurisdiction: String?
        public var kycTier: Int?
        public var deviceKeyHex: String?
        public var token: String?
        public var amountMinorUnits: Int64?
        /// USD: the deposit (mint) or withdrawal (redeem) reference; GOLD: the vault receipt.
        public var reserveReference: String?

        public init(
            jurisdiction: String? = nil, kycTier: Int? = nil, deviceKeyHex: String? = nil, token: String? = nil,
            amountMinorUnits: Int64? = nil, reserveReference: String? = nil
        ) {
            self.jurisdiction = jurisdiction
            self.kycTier = kycTier
            self.deviceKeyHex = deviceKeyHex
            self.token = token
            self.amountMinorUnits = amountMinorUnits
            self.reserveReference = reserveReference
        }
    }

    public let region: String
    public let requestID: String
    public let kind: Kind
    public let account: String
    public let details: Details
    public let operatorKeyHex: String

    public var token: Token? { details.token.flatMap(Token.init(rawValue:)) }
    public var amount: Amount? { details.amountMinorUnits.flatMap(Amount.init(minorUnits:)) }

    /// Validates every field the kind needs and refuses fields it does not take.
    public init(
        region: String, requestID: String, kind: Kind, account: String, details: Details, operatorKeyHex: String
    ) throws(RecordError) {
        guard Identifier.isValidRegionCode(region[...]) else { throw RecordError("region: '\(region)' is not a region code like us-tx") }
        guard Identifier.isValidToken(requestID[...]) else {
            throw RecordError("request_id: must be 1-128 printable characters without spaces")
        }
        guard Identifier.isValidAccountID(account[...]) else { throw RecordError("account: '\(account)' is not a valid account id (a-z 0-9 . _ -, at most 64)") }
        guard Identifier.isValidHex(operatorKeyHex[...], byteCount: 32) else {
            throw RecordError("operator_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        try Self.check(details, for: kind)
        self.region = region
        self.requestID = requestID
        self.kind = kind
        self.account = account
        self.details = details
        self.operatorKeyHex = operatorKeyHex
    }

    private static func check(_ details: Details, for kind: Kind) throws(RecordError) {
        let present: [String: Bool] = [
            "jurisdiction": details.jurisdiction != nil, "kyc_tier": details.kycTier != nil,
            "device_key": details.deviceKeyHex != nil, "token": details.token != nil,
            "amount": details.amountMinorUnits != nil, "reserve_reference": details.reserveReference != nil,
        ]
        for (name, isPresent) in present.sorted(by: { $0.key < $1.key }) {
            let needed = kind.detailNames.contains(name)
            if needed && !isPresent { throw RecordError("\(name): required for \(kind.rawValue)") }
            if !needed && isPresent { throw RecordError("\(name): not allowed for \(kind.rawValue)") }
        }
        if let jurisdiction = details.jurisdiction, !Identifier.isValidJurisdiction(jurisdiction[...]) {
            throw RecordError("jurisdiction: '\(jurisdiction)' is not a country (MX) or subdivision (US-TX) code")
        }
        if let tier = details.kycTier, !KYCTier.range.contains(tier) {
            throw RecordError("kyc_tier: \(tier) is outside \(KYCTier.range.lowerBound)...\(KYCTier.range.upperBound)")
        }
        if let key = details.deviceKeyHex, !Identifier.isValidHex(key[...], byteCount: 32) {
            throw RecordError("device_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        if let token = details.token, Token(rawValue: token) == nil {
            throw RecordError("token: '\(token)' is not a token; use USD or GOLD")
        }
        if let amount = details.amountMinorUnits, Amount(minorUnits: amount) == nil {
            throw RecordError("amount: \(amount) is outside 1...\(Amount.minorUnitsMax) minor units")
        }
        if let reference = details.reserveReference, !Identifier.isValidToken(reference[...]) {
            throw RecordError("reserve_reference: must be 1-128 printable characters without spaces")
        }
    }

    private func detailValue(_ name: String) -> String {
        switch name {
        case "jurisdiction": details.jurisdiction ?? ""
        case "kyc_tier": details.kycTier.map(String.init) ?? ""
        case "device_key": details.deviceKeyHex ?? ""
        case "token": details.token ?? ""
        case "amount": details.amountMinorUnits.map(String.init) ?? ""
        default: details.reserveReference ?? ""
        }
    }

    public var record: CanonicalRecord {
        var fields: [(name: String, value: String)] = [
            ("region", region), ("request_id", requestID), ("action", kind.rawValue), ("account", account),
        ]
        for name in kind.detailNames { fields.append((name, detailValue(name))) }
        fields.append(("operator_key", operatorKeyHex))
        return CanonicalRecord(header: Self.header, fields: fields)
    }

    /// The exact bytes the operator signs.
    public var signingBytes: [UInt8] { record.bytes }

    /// Parses signed bytes back into an action (used by the audit).
    public init(signingBytes: [UInt8]) throws(RecordError) {
        guard let text = String(validating: signingBytes, as: UTF8.self) else { throw RecordError("record is not UTF-8") }
        let lines = text.split(separator: "\n")
        guard lines.count > 3, lines[3].hasPrefix("action:"),
              let kind = Kind(rawValue: String(lines[3].dropFirst("action:".count)))
        else { throw RecordError("record has no known action") }
        let names = ["region", "request_id", "action", "account"] + kind.detailNames + ["operator_key"]
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: names)
        var details = Details()
        for (name, value) in zip(kind.detailNames, values[4...]) {
            switch name {
            case "jurisdiction": details.jurisdiction = value
            case "kyc_tier":
                guard let tier = Int(value), String(tier) == value else { throw RecordError("kyc_tier: not canonical") }
                details.kycTier = tier
            case "device_key": details.deviceKeyHex = value
            case "token": details.token = value
            case "amount":
                guard let amount = Amount(canonical: value[...]) else { throw RecordError("amount: not canonical") }
                details.amountMinorUnits = amount.minorUnits
            default: details.reserveReference = value
            }
        }
        try self.init(
            region: values[0], requestID: values[1], kind: kind, account: values[3], details: details,
            operatorKeyHex: values[values.count - 1]
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}
