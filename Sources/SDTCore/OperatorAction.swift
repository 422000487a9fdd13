/// An action of the region's operator, signed by an operator key listed in the region config.
/// Like transfers, operator actions go through the queue and the applier, and are sealed into blocks.
///
/// Its canonical record is `region`, `request_id`, `action`, then the action's fields in the order
/// `Kind.fields` gives, then `operator_key`.
public struct OperatorAction: Sendable, Hashable {
    public static let header = "SDT-OPERATOR-V1"

    public enum Kind: String, Sendable, CaseIterable {
        case openAccount = "open_account"
        case addKey = "add_key"
        case revokeKey = "revoke_key"
        case setKYCTier = "set_kyc_tier"
        /// Mints USD against a deposit at a custodian bank.
        case mintUSD = "mint_usd"
        /// Burns USD against a withdrawal from the custodian bank.
        case redeemUSD = "redeem_usd"
        /// Mints GOLD against one bar received into a vault.
        case mintGold = "mint_gold"
        /// Burns GOLD equal to one bar's fine weight and releases that bar from the reserves.
        case redeemGold = "redeem_gold"
        case freeze
        case unfreeze
        /// Moves tokens from an account to the region's treasury account under a legal directive.
        case clawback
        /// Puts a new version of the region's transfer rules in force.
        case setRules = "set_rules"
        /// Approves or rejects a transfer that a rule held for review.
        case review

        /// The action's fields, in signing order.
        public var fields: [Field] {
            switch self {
            case .openAccount: [.account, .jurisdiction, .kycTier, .deviceKey]
            case .addKey, .revokeKey: [.account, .deviceKey]
            case .setKYCTier: [.account, .kycTier, .reason]
            case .mintUSD, .redeemUSD: [.account, .amount, .bank, .reference, .valueDate]
            case .mintGold: [.account, .amount, .vault, .barSerial, .refiner, .grossWeight, .fineness]
            case .redeemGold: [.account, .amount, .barSerial]
            case .freeze, .unfreeze: [.account, .legalDirective, .reason]
            case .clawback: [.account, .token, .amount, .treasury, .legalDirective, .reason]
            case .setRules: [.rulesVersion, .rulesSHA3, .reason]
            case .review: [.transactionID, .decision, .reason]
            }
        }

        /// The token a reserve action mints or burns.
        public var reserveToken: Token? {
            switch self {
            case .mintUSD, .redeemUSD: .usd
            case .mintGold, .redeemGold: .gold
            default: nil
            }
        }
    }

    public enum Field: String, Sendable, CaseIterable, Comparable {
        case account
        case jurisdiction
        case kycTier = "kyc_tier"
        case deviceKey = "device_key"
        case token
        case amount
        case bank
        case reference
        case valueDate = "value_date"
        case vault
        case barSerial = "bar_serial"
        case refiner
        case grossWeight = "gross_weight"
        case fineness
        /// The region's treasury account, which receives a clawback.
        case treasury
        case legalDirective = "legal_directive"
        case reason
        case rulesVersion = "rules_version"
        case rulesSHA3 = "rules_sha3"
        case transactionID = "transaction_id"
        case decision

        public static func < (lhs: Field, rhs: Field) -> Bool { lhs.rawValue < rhs.rawValue }

        /// Why `value` is not acceptable for this field, or nil when it is.
        func problem(with value: String) -> String? {
            let text = value[...]
            switch self {
            case .account, .treasury:
                return Identifier.isValidAccountID(text) ? nil : "\(Echo.quoted(value)) is not a valid account id (a-z 0-9 . _ -, at most 64)"
            case .jurisdiction:
                return Identifier.isValidJurisdiction(text) ? nil : "\(Echo.quoted(value)) is not a country (MX) or subdivision (US-TX) code"
            case .kycTier:
                return Identifier.canonicalInteger(text, in: Int64(KYCTier.range.lowerBound)...Int64(KYCTier.range.upperBound)) != nil
                    ? nil : "\(Echo.quoted(value)) is outside \(KYCTier.range.lowerBound)...\(KYCTier.range.upperBound)"
            case .deviceKey, .rulesSHA3:
                return Identifier.isValidHex(text, byteCount: 32) ? nil : "must be 64 lowercase hex characters"
            case .token:
                return Token(rawValue: value) != nil ? nil : "\(Echo.quoted(value)) is not a token; use USD or GOLD"
            case .amount:
                return Amount(canonical: text) != nil ? nil : "\(Echo.quoted(value)) is outside 1...\(Amount.minorUnitsMax) minor units"
            case .grossWeight:
                return Identifier.canonicalInteger(text, in: 1...Amount.minorUnitsMax) != nil ? nil : "\(Echo.quoted(value)) is not a weight in milligrams (1...\(Amount.minorUnitsMax))"
            case .fineness:
                return Identifier.canonicalInteger(text, in: OperatorAction.finenessRange) != nil ? nil
                    : "\(Echo.quoted(value)) is outside \(OperatorAction.finenessRange.lowerBound)...\(OperatorAction.finenessRange.upperBound) parts per 10,000 (good delivery gold is at least 9950)"
            case .rulesVersion:
                return Identifier.canonicalInteger(text, in: 1...1_000_000) != nil ? nil : "\(Echo.quoted(value)) is not a version number 1...1000000"
            case .reference, .barSerial, .transactionID:
                return Identifier.isValidToken(text) ? nil : "must be 1-128 printable characters without spaces"
            case .valueDate:
                return Identifier.isValidDate(text) ? nil : "\(Echo.quoted(value)) is not a date YYYY-MM-DD"
            case .bank, .vault, .refiner, .legalDirective, .reason:
                return Identifier.isValidText(text) ? nil
                    : "must be 1-200 printable ASCII characters, no line breaks, no space at either end"
            case .decision:
                return ["approve", "reject"].contains(value) ? nil : "\(Echo.quoted(value)) is not approve or reject"
            }
        }
    }

    /// Fineness of gold bars accepted as reserves, in parts per 10,000 (London Good Delivery: ≥ 995.0).
    public static let finenessRange: ClosedRange<Int64> = 9_950...10_000

    public let region: String
    public let requestID: String
    public let kind: Kind
    /// Exactly the kind's fields, as their canonical text.
    public let fields: [Field: String]
    public let operatorKeyHex: String
    /// The action's typed values: what the ledger decides on.
    public let command: OperatorCommand

    /// Validates every field the kind needs and refuses fields it does not take.
    public init(
        region: String, requestID: String, kind: Kind, fields: [Field: String], operatorKeyHex: String
    ) throws(RecordError) {
        guard Identifier.isValidRegionCode(region[...]) else { throw RecordError("region: \(Echo.quoted(region)) is not a region code like us-tx") }
        guard Identifier.isValidToken(requestID[...]) else {
            throw RecordError("request_id: must be 1-128 printable characters without spaces")
        }
        guard Identifier.isValidHex(operatorKeyHex[...], byteCount: 32) else {
            throw RecordError("operator_key: must be 64 lowercase hex characters (an Ed25519 public key)")
        }
        for field in kind.fields where fields[field] == nil { throw RecordError("\(field.rawValue): required for \(kind.rawValue)") }
        for field in fields.keys.sorted() where !kind.fields.contains(field) {
            throw RecordError("\(field.rawValue): not allowed for \(kind.rawValue)")
        }
        for field in kind.fields {
            if let problem = field.problem(with: fields[field] ?? "") { throw RecordError("\(field.rawValue): \(problem)") }
        }
        if kind == .mintGold { try Self.checkBar(fields) }
        self.region = region
        self.requestID = requestID
        self.kind = kind
        self.fields = fields
        self.operatorKeyHex = operatorKeyHex
        command = OperatorCommand(kind: kind, fields: fields)
    }

    /// A bar's fine weight is its gross weight times its fineness, rounded down to the milligram; the
    /// amount minted must be exactly that.
    private static func checkBar(_ fields: [Field: String]) throws(RecordError) {
        guard let gross = fields[.grossWeight].flatMap({ Int64($0) }), let fineness = fields[.fineness].flatMap({ Int64($0) }),
              let amount = fields[.amount].flatMap({ Int64($0) })
        else { return }
        let (product, overflow) = gross.multipliedReportingOverflow(by: fineness)
        let fine = overflow ? Int64.max : product / 10_000
        guard fine == amount else {
            throw RecordError(
                "amount: a bar of gross weight \(gross) mg at fineness \(fineness)/10000 holds \(fine) mg of fine gold; mint exactly that, not \(amount)",
                code: .barWeightMismatch
            )
        }
    }

    public var record: CanonicalRecord {
        var lines: [(name: String, value: String)] = [("region", region), ("request_id", requestID), ("action", kind.rawValue)]
        for field in kind.fields { lines.append((field.rawValue, fields[field] ?? "")) }
        lines.append(("operator_key", operatorKeyHex))
        return CanonicalRecord(header: Self.header, fields: lines)
    }

    /// The exact bytes the operator signs.
    public var signingBytes: [UInt8] { record.bytes }

    /// Parses signed bytes back into an action (used by the applier and the audit).
    public init(signingBytes: [UInt8]) throws(RecordError) {
        guard let text = String(validating: signingBytes, as: UTF8.self) else { throw RecordError("record is not UTF-8") }
        let lines = text.split(separator: "\n")
        guard lines.count > 3, lines[3].hasPrefix("action:"),
              let kind = Kind(rawValue: String(lines[3].dropFirst("action:".count)))
        else { throw RecordError("record has no known action") }
        let names = ["region", "request_id", "action"] + kind.fields.map(\.rawValue) + ["operator_key"]
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: names)
        var fields: [Field: String] = [:]
        for (field, value) in zip(kind.fields, values[3...]) { fields[field] = value }
        try self.init(region: values[0], requestID: values[1], kind: kind, fields: fields, operatorKeyHex: values[values.count - 1])
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}
