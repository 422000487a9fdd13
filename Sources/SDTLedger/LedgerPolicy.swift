import SDTCore
import SDTCrypto
import SDTEngine

/// What the applier needs to know about its region to decide on entries.
public struct LedgerPolicy: Sendable {
    public let region: String
    public let tokensOffered: Set<Token>
    public let operatorKeys: Set<String>
    public let transactionIDs: TransactionIDIssuer
    /// The account clawbacks move tokens to; nil when the region has none configured.
    public let treasuryAccount: String?
    /// The other regions of the registry, which this region pays and is paid by.
    public let counterparts: Set<String>

    public init(
        region: String, tokensOffered: Set<Token>, operatorKeys: Set<String>, transactionIDs: TransactionIDIssuer,
        treasuryAccount: String? = nil, counterparts: Set<String> = []
    ) {
        self.counterparts = counterparts
        self.region = region
        self.tokensOffered = tokensOffered
        self.operatorKeys = operatorKeys
        self.transactionIDs = transactionIDs
        self.treasuryAccount = treasuryAccount
    }
}

extension LedgerPolicy {
    /// The engine's policy: the same region facts, with ids checked against this node's issuer.
    var engine: EnginePolicy {
        let issuer = transactionIDs
        return EnginePolicy(
            region: region, tokensOffered: tokensOffered, operatorKeys: operatorKeys, treasuryAccount: treasuryAccount,
            counterparts: counterparts, checkTransactionID: { id, account, now in
                switch issuer.check(id, account: account, nowMilliseconds: now) {
                case .valid: .valid
                case .invalid: .invalid
                case .expired: .expired
                }
            }
        )
    }
}

extension LedgerPolicy {
    /// The engine this policy describes, for a decider that wraps it.
    public var ledgerEngine: LedgerEngine { LedgerEngine(policy: engine) }
}
