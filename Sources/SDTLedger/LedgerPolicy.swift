import SDTCore
import SDTCrypto

/// What the applier needs to know about its region to decide on entries.
public struct LedgerPolicy: Sendable {
    public let region: String
    public let tokensOffered: Set<Token>
    public let operatorKeys: Set<String>
    public let transactionIDs: TransactionIDIssuer
    /// The account clawbacks move tokens to; nil when the region has none configured.
    public let treasuryAccount: String?

    public init(
        region: String, tokensOffered: Set<Token>, operatorKeys: Set<String>, transactionIDs: TransactionIDIssuer,
        treasuryAccount: String? = nil
    ) {
        self.region = region
        self.tokensOffered = tokensOffered
        self.operatorKeys = operatorKeys
        self.transactionIDs = transactionIDs
        self.treasuryAccount = treasuryAccount
    }
}

/// The account that mints debit and redemptions credit; its balance is minus the supply. Its id cannot
/// collide with a holder's, whose alphabet has no `$`.
public let issuerAccountID = "$issuer"
