/// The applier's decision on one entry. Raw numbers are stable and never reused; the applier checks
/// in the order of the cases below and the first failing check decides (documented in the contract).
public enum OutcomeCode: UInt16, Sendable, CaseIterable, Codable {
    case accepted = 0
    // Transfers, in check order.
    case regionMismatch = 1
    case transactionIDInvalid = 2
    case transactionIDExpired = 3
    case transactionIDUsed = 4
    case accountUnknown = 5
    case keyNotRegistered = 6
    case keyRevoked = 7
    case receiverUnknown = 8
    case sameAccount = 9
    case tokenNotOffered = 10
    case insufficientFunds = 11
    case balanceOverflow = 12
    // Operator actions, in check order (after region mismatch).
    case operatorKeyUnknown = 20
    case requestIDUsed = 21
    case accountExists = 22
    case deviceKeyInUse = 23
    case deviceKeyUnknown = 24
    case reserveReferenceUsed = 25

    /// The stable machine-readable name used in problem bodies and statuses.
    public var name: String {
        switch self {
        case .accepted: "accepted"
        case .regionMismatch: "region_mismatch"
        case .transactionIDInvalid: "transaction_id_invalid"
        case .transactionIDExpired: "transaction_id_expired"
        case .transactionIDUsed: "transaction_id_used"
        case .accountUnknown: "account_unknown"
        case .keyNotRegistered: "key_not_registered"
        case .keyRevoked: "key_revoked"
        case .receiverUnknown: "receiver_unknown"
        case .sameAccount: "same_account"
        case .tokenNotOffered: "token_not_offered"
        case .insufficientFunds: "insufficient_funds"
        case .balanceOverflow: "balance_overflow"
        case .operatorKeyUnknown: "operator_key_unknown"
        case .requestIDUsed: "request_id_used"
        case .accountExists: "account_exists"
        case .deviceKeyInUse: "device_key_in_use"
        case .deviceKeyUnknown: "device_key_unknown"
        case .reserveReferenceUsed: "reserve_reference_used"
        }
    }

    /// A sentence that tells the client what is wrong and what to do.
    public var detail: String {
        switch self {
        case .accepted: "The entry was applied."
        case .regionMismatch: "The signed record names another region; sign it for this node's region."
        case .transactionIDInvalid: "The transaction_id was not issued by this node for the sending account; ask for a new one."
        case .transactionIDExpired: "The transaction_id has expired; ask for a new one and sign again."
        case .transactionIDUsed: "The transaction_id was already used by a different transfer; ask for a new one."
        case .accountUnknown: "The sending account does not exist."
        case .keyNotRegistered: "The signing key is not registered to the sending account."
        case .keyRevoked: "The signing key was revoked; sign with a current device key."
        case .receiverUnknown: "The receiving account does not exist."
        case .sameAccount: "Sender and receiver are the same account."
        case .tokenNotOffered: "This region does not offer that token."
        case .insufficientFunds: "The sending account's balance of this token is smaller than the amount."
        case .balanceOverflow: "The receiving balance would exceed the largest representable amount."
        case .operatorKeyUnknown: "The operator key is not listed in this region's configuration."
        case .requestIDUsed: "The request_id was already used by a different operator action."
        case .accountExists: "An account with that id already exists."
        case .deviceKeyInUse: "That device key is already registered."
        case .deviceKeyUnknown: "That device key is not an active key of this account."
        case .reserveReferenceUsed: "That reserve reference was already used for a mint or redemption."
        }
    }
}

/// Where an entry stands. A transfer is final once the block that holds it is signed.
public enum EntryState: String, Sendable, Codable {
    case queued
    case accepted
    case final
    case rejected
}
