/// What a signed operator action asks for, with typed values: the ledger engine decides on these, never
/// on the record's text fields. `OperatorAction` builds one from its fields once they are validated.
public enum OperatorCommand: Sendable, Hashable {
    case openAccount(account: String, jurisdiction: String, kycTier: Int, deviceKey: String)
    case addKey(account: String, deviceKey: String)
    case revokeKey(account: String, deviceKey: String)
    case setKYCTier(account: String, kycTier: Int, reason: String)
    /// USD minted against a deposit at the custodian bank, or burned against a withdrawal.
    case mintUSD(BankMovement)
    case redeemUSD(BankMovement)
    /// GOLD minted against one bar received into a vault: the amount is the bar's fine weight.
    case mintGold(GoldBar)
    /// GOLD burned equal to one bar's fine weight; the bar leaves the reserves.
    case redeemGold(account: String, amount: Amount, barSerial: String)
    case freeze(ComplianceOrder)
    case unfreeze(ComplianceOrder)
    case clawback(Clawback)
    case setRules(version: Int64, sha3Hex: String, reason: String)
    case review(transactionID: String, approve: Bool, reason: String)

    /// A deposit or withdrawal at the custodian bank that backs a USD mint or redemption.
    public struct BankMovement: Sendable, Hashable {
        public let account: String
        public let amount: Amount
        public let bank: String
        public let reference: String
        public let valueDate: String
    }

    /// One bar received into a vault.
    public struct GoldBar: Sendable, Hashable {
        public let account: String
        /// The bar's fine weight in milligrams: `floor(grossWeight × fineness / 10000)`.
        public let amount: Amount
        public let vault: String
        public let serial: String
        public let refiner: String
        public let grossWeightMilligrams: Int64
        /// Parts per 10,000.
        public let fineness: Int64
    }

    /// A freeze or unfreeze under a legal directive.
    public struct ComplianceOrder: Sendable, Hashable {
        public let account: String
        public let legalDirective: String
        public let reason: String
    }

    /// Tokens moved from an account to the region's treasury under a legal directive.
    public struct Clawback: Sendable, Hashable {
        public let account: String
        public let token: Token
        public let amount: Amount
        public let treasury: String
        public let legalDirective: String
        public let reason: String
    }

    /// The account the command is about; nil for `set_rules` and `review`.
    public var account: String? {
        switch self {
        case .openAccount(let account, _, _, _), .addKey(let account, _), .revokeKey(let account, _),
             .setKYCTier(let account, _, _), .redeemGold(let account, _, _):
            account
        case .mintUSD(let movement), .redeemUSD(let movement): movement.account
        case .mintGold(let bar): bar.account
        case .freeze(let order), .unfreeze(let order): order.account
        case .clawback(let clawback): clawback.account
        case .setRules, .review: nil
        }
    }

    /// The legal directive a compliance action cites.
    public var legalDirective: String? {
        switch self {
        case .freeze(let order), .unfreeze(let order): order.legalDirective
        case .clawback(let clawback): clawback.legalDirective
        default: nil
        }
    }

    /// The operator's stated reason, for the actions that carry one.
    public var reason: String? {
        switch self {
        case .setKYCTier(_, _, let reason), .setRules(_, _, let reason), .review(_, _, let reason): reason
        case .freeze(let order), .unfreeze(let order): order.reason
        case .clawback(let clawback): clawback.reason
        default: nil
        }
    }

    /// Builds the command from fields `OperatorAction` has already validated, so every value parses.
    init(kind: OperatorAction.Kind, fields: [OperatorAction.Field: String]) {
        func text(_ field: OperatorAction.Field) -> String {
            guard let value = fields[field] else { preconditionFailure("\(kind.rawValue) validated without \(field.rawValue)") }
            return value
        }
        func integer(_ field: OperatorAction.Field) -> Int64 {
            guard let value = Int64(text(field)) else { preconditionFailure("\(field.rawValue) validated as a number: \(text(field))") }
            return value
        }
        func amount() -> Amount {
            guard let amount = Amount(canonical: text(.amount)[...]) else { preconditionFailure("amount validated: \(text(.amount))") }
            return amount
        }
        func bank() -> BankMovement {
            BankMovement(account: text(.account), amount: amount(), bank: text(.bank), reference: text(.reference),
                         valueDate: text(.valueDate))
        }
        func order() -> ComplianceOrder {
            ComplianceOrder(account: text(.account), legalDirective: text(.legalDirective), reason: text(.reason))
        }
        switch kind {
        case .openAccount:
            self = .openAccount(account: text(.account), jurisdiction: text(.jurisdiction), kycTier: Int(integer(.kycTier)),
                                deviceKey: text(.deviceKey))
        case .addKey: self = .addKey(account: text(.account), deviceKey: text(.deviceKey))
        case .revokeKey: self = .revokeKey(account: text(.account), deviceKey: text(.deviceKey))
        case .setKYCTier: self = .setKYCTier(account: text(.account), kycTier: Int(integer(.kycTier)), reason: text(.reason))
        case .mintUSD: self = .mintUSD(bank())
        case .redeemUSD: self = .redeemUSD(bank())
        case .mintGold:
            self = .mintGold(GoldBar(
                account: text(.account), amount: amount(), vault: text(.vault), serial: text(.barSerial), refiner: text(.refiner),
                grossWeightMilligrams: integer(.grossWeight), fineness: integer(.fineness)
            ))
        case .redeemGold: self = .redeemGold(account: text(.account), amount: amount(), barSerial: text(.barSerial))
        case .freeze: self = .freeze(order())
        case .unfreeze: self = .unfreeze(order())
        case .clawback:
            guard let token = Token(rawValue: text(.token)) else { preconditionFailure("token validated: \(text(.token))") }
            self = .clawback(Clawback(
                account: text(.account), token: token, amount: amount(), treasury: text(.treasury),
                legalDirective: text(.legalDirective), reason: text(.reason)
            ))
        case .setRules: self = .setRules(version: integer(.rulesVersion), sha3Hex: text(.rulesSHA3), reason: text(.reason))
        case .review: self = .review(transactionID: text(.transactionID), approve: text(.decision) == "approve", reason: text(.reason))
        }
    }
}
