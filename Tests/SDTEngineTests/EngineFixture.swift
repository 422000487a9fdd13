import SDTCore
import SDTEngine
import SDTRules

/// A region decided by the engine alone, on the in-memory store. Signatures are placeholders: the
/// engine never checks them (the front does). Transaction ids are `tx-<expiry ms>-<n>`; the policy
/// treats any other id as not issued.
struct EngineFixture {
    static let region = "us-tx"
    static let operatorKey = hexKey(0xAA)
    static let signature = [UInt8](repeating: 7, count: 64)
    /// The fixture's own region: `us-tx` unless a test of payments between regions names another.
    let ownRegion: String
    var store = MemoryLedgerStore()
    var now: Int64 = 1_800_000_000_000
    var engine: LedgerEngine
    private var counter = 0

    init(tokensOffered: Set<Token> = [.usd, .gold], treasury: String? = "treasury", region: String = EngineFixture.region,
         counterparts: Set<String> = []) {
        ownRegion = region
        engine = LedgerEngine(policy: EnginePolicy(
            region: region, tokensOffered: tokensOffered, operatorKeys: [Self.operatorKey], treasuryAccount: treasury,
            counterparts: counterparts,
            checkTransactionID: { id, _, now in
                let parts = id.split(separator: "-")
                guard parts.count == 3, parts[0] == "tx", let expiry = Int64(parts[1]) else { return .invalid }
                return expiry <= now ? .expired : .valid
            }
        ))
    }

    /// A distinct, well-formed Ed25519-sized key in hex (not a real point: the engine does not care).
    static func hexKey(_ byte: UInt8) -> String { String(repeating: String(byte, radix: 16, uppercase: false), count: 32) }

    mutating func nextID(expiresIn milliseconds: Int64 = 60_000) -> String {
        counter += 1
        return "tx-\(now + milliseconds)-\(counter)"
    }

    mutating func action(_ kind: OperatorAction.Kind, _ fields: [OperatorAction.Field: String], attachment: [UInt8] = [],
                         key: String = EngineFixture.operatorKey, requestID: String? = nil) throws -> Submission {
        counter += 1
        let action = try OperatorAction(region: ownRegion, requestID: requestID ?? "req-\(counter)", kind: kind, fields: fields,
                                        operatorKeyHex: key)
        return .operatorAction(action, signature: Self.signature, attachment: attachment)
    }

    mutating func transfer(_ from: String, _ to: String, _ amount: Int64, key: String, token: Token = .usd, id: String? = nil,
                           region: String? = nil, timeout: Int64? = nil, link: Transfer.Link? = nil) throws -> Submission {
        let transactionID = id ?? nextID()
        let transfer = try Transfer(region: region ?? ownRegion, transactionID: transactionID, from: from, to: to, token: token.rawValue,
                                    amountMinorUnits: amount, publicKeyHex: key, pendingTimeoutSeconds: timeout, link: link)
        return .transfer(transfer, signature: Self.signature)
    }

    mutating func resolve(_ pendingID: String, account: String, key: String, post amount: Int64?, id: String? = nil) throws -> Submission {
        let resolution = try PendingResolution(region: ownRegion, transactionID: id ?? nextID(), pendingID: pendingID, account: account,
                                               postAmountMinorUnits: amount, publicKeyHex: key)
        return .resolution(resolution, signature: Self.signature)
    }

    /// Decides and commits a batch; returns its outcomes.
    @discardableResult
    mutating func apply(_ batch: [Submission]) throws -> [Outcome] {
        let result = try engine.apply(batch, to: store, now: now)
        try store.commit(result)
        return result.outcomes
    }

    /// Decides without committing.
    func decide(_ batch: [Submission]) throws -> [Outcome] { try engine.apply(batch, to: store, now: now).outcomes }

    mutating func open(_ account: String, key: String, jurisdiction: String = "US-TX", tier: Int = 2) throws {
        let outcome = try apply([action(.openAccount, [.account: account, .jurisdiction: jurisdiction, .kycTier: String(tier),
                                                       .deviceKey: key])])
        precondition(outcome.map(\.code) == [.accepted], "opening \(account): \(outcome)")
    }

    mutating func mintUSD(_ account: String, _ amount: Int64) throws {
        counter += 1
        let outcome = try apply([action(.mintUSD, [.account: account, .amount: String(amount), .bank: "Frost Bank",
                                                   .reference: "DEP-\(counter)", .valueDate: "2026-11-20"])])
        precondition(outcome.map(\.code) == [.accepted], "minting to \(account): \(outcome)")
    }

    mutating func mintBar(_ account: String, serial: String, fineWeight: Int64) throws {
        let outcome = try apply([action(.mintGold, [.account: account, .amount: String(fineWeight), .vault: "Texas Bullion Depository",
                                                    .barSerial: serial, .refiner: "Valcambi", .grossWeight: String(fineWeight),
                                                    .fineness: "10000"])])
        precondition(outcome.map(\.code) == [.accepted], "minting bar \(serial): \(outcome)")
    }

    mutating func putRules(_ text: String) throws {
        let rules = try RuleSet(text: text)
        store.putInForce(rules)
    }

    func balance(_ account: String, _ token: Token = .usd) throws -> Int64 { try store.balance(BalanceKey(account: account, token: token)) }
}
