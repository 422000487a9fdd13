import SDTCore
import SDTCrypto
import SDTTesting
import SDTRules
@testable import SDTLedger

/// A real ledger file with an operator, a block key and helpers that sign entries as clients would.
final class LedgerFixture: @unchecked Sendable {
    let directory = TemporaryDirectory("ledger")
    let operatorKey = SigningKey()
    let blockKey = SigningKey()
    let issuer: TransactionIDIssuer
    let writer: LedgerWriter
    var now: Int64 = 1_800_000_000_000
    private var requestCounter = 0

    var path: String { directory.file("ledger.sqlite") }

    /// The other regions this one pays (none unless a test of payments between regions names them).
    let counterparts: Set<String>

    init(counterparts: Set<String> = []) throws {
        let issuer = try TransactionIDIssuer(secret: SecureRandom.bytes(32), region: "us-tx")
        self.issuer = issuer
        self.counterparts = counterparts
        writer = try LedgerWriter(path: directory.file("ledger.sqlite"), policy: LedgerPolicy(
            region: "us-tx", tokensOffered: [.usd, .gold], operatorKeys: [operatorKey.publicKeyHex], transactionIDs: issuer,
            treasuryAccount: "treasury", counterparts: counterparts
        ))
    }

    var policy: LedgerPolicy {
        LedgerPolicy(region: "us-tx", tokensOffered: [.usd, .gold], operatorKeys: [operatorKey.publicKeyHex], transactionIDs: issuer,
                     treasuryAccount: "treasury", counterparts: counterparts)
    }

    /// An operator action on `account` (empty for actions without one) with the other `fields`.
    func operatorAction(
        _ kind: OperatorAction.Kind, _ account: String, _ fields: [OperatorAction.Field: String], attachment: [UInt8] = []
    ) throws -> Submission {
        requestCounter += 1
        var all = fields
        if !account.isEmpty { all[.account] = account }
        let action = try OperatorAction(
            region: "us-tx", requestID: "req-\(requestCounter)", kind: kind, fields: all, operatorKeyHex: operatorKey.publicKeyHex
        )
        return .operatorAction(action, signature: operatorKey.sign(action.signingBytes), attachment: attachment)
    }

    func transfer(_ from: String, _ to: String, _ amount: Int64, key: SigningKey, token: String = "USD",
                  transactionID: String? = nil, pendingTimeoutSeconds: Int64? = nil, link: Transfer.Link? = nil) throws -> Submission {
        let id = transactionID ?? issuer.issue(account: from, expiresAtMilliseconds: now + 60_000)
        let transfer = try Transfer(region: "us-tx", transactionID: id, from: from, to: to, token: token,
                                    amountMinorUnits: amount, publicKeyHex: key.publicKeyHex,
                                    pendingTimeoutSeconds: pendingTimeoutSeconds, link: link)
        return .transfer(transfer, signature: key.sign(transfer.signingBytes))
    }

    /// A post (`amount` set) or a void (`amount` nil) of `pending`, signed by `account` with `key`.
    func resolve(_ pending: Submission, by account: String, key: SigningKey, post amount: Int64?) throws -> Submission {
        let id = issuer.issue(account: account, expiresAtMilliseconds: now + 60_000)
        let resolution = try PendingResolution(region: "us-tx", transactionID: id, pendingID: pending.entryID, account: account,
                                               postAmountMinorUnits: amount, publicKeyHex: key.publicKeyHex)
        return .resolution(resolution, signature: key.sign(resolution.signingBytes))
    }

    func balance(_ account: String, _ token: Token = .usd) throws -> Int64 {
        try SQLiteConnection(path: path).query(
            "SELECT amount FROM balances WHERE account_id = ? AND token = ?", [.text(account), .text(token.rawValue)]
        ).first?.int(0) ?? 0
    }

    @discardableResult
    func apply(_ submissions: Submission...) throws -> [Outcome] {
        try writer.apply(submissions, nowMilliseconds: now)
    }

    @discardableResult
    func apply(_ submissions: [Submission]) throws -> [Outcome] {
        try writer.apply(submissions, nowMilliseconds: now)
    }

    /// Opens alice and bob with one device key each and mints 1,000.00 USD to alice.
    func openTwoHolders() throws -> (alice: SigningKey, bob: SigningKey) {
        let alice = SigningKey()
        let bob = SigningKey()
        let outcomes = try apply(
            operatorAction(.openAccount, "alice", [.jurisdiction: "US-TX", .kycTier: "2", .deviceKey: alice.publicKeyHex]),
            operatorAction(.openAccount, "bob", [.jurisdiction: "US-WY", .kycTier: "1", .deviceKey: bob.publicKeyHex]),
            operatorAction(.mintUSD, "alice", ReserveFields.deposit(100_000, "DEP-1"))
        )
        precondition(outcomes.allSatisfy { $0.code == .accepted }, "fixture set-up failed: \(outcomes)")
        return (alice, bob)
    }

    func sealAndSign() throws {
        let signatures = try BlockSignatureStore(path: path)
        while try writer.sealNextBlock(entriesMax: 3, nowMilliseconds: now) != nil {}
        for block in try signatures.unsignedBlocks(limit: 100) {
            try signatures.store(signature: blockKey.sign(block.headerBytes), for: block, publicKey: blockKey.publicKey)
        }
    }

    func audit() throws -> AuditReport {
        try LedgerAudit.run(path: path, blockPublicKey: blockKey.publicKey, operatorKeys: [operatorKey.publicKeyHex])
    }

    /// Runs SQL on the file behind the ledger's back, as an attacker with a SQLite client would.
    func tamper(_ sql: String) throws {
        let connection = try SQLiteConnection(path: path)
        try connection.execute(sql)
    }
}
