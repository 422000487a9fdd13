/// The applier's decision on one entry. Raw numbers are stable and never reused. The order in which
/// the checks run is not the order of the cases: it is `SDTEngine.CheckOrder`, stated in the contract.
public enum OutcomeCode: UInt16, Sendable, CaseIterable, Codable {
    case accepted = 0
    // Transfers.
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
    case accountFrozen = 13
    /// A rule of the region's rule set refused the transfer; the outcome names the rule.
    case ruleRejected = 14
    /// A rule held the transfer for an operator's review: not a rejection, not yet applied.
    case heldForReview = 15
    /// The operator reviewing a held transfer rejected it.
    case reviewRejected = 16
    /// Another leg of the linked group failed, so no leg was applied; the outcome names that leg.
    case linkedLegFailed = 17
    /// A rule would hold this leg for review; a linked group applies at once or not at all.
    case linkNeedsReview = 18
    /// The link id was already used by a different group of legs.
    case linkIDUsed = 19
    /// The legs of a linked group did not arrive together and complete.
    case linkIncomplete = 40
    // Posts and voids of pending transfers.
    case pendingUnknown = 41
    case pendingResolved = 42
    case pendingExpired = 43
    case notPendingParty = 44
    case postExceedsPending = 45
    // Payments between regions.
    /// The other region of a payment (the payee's, or the sender's) is not in this node's registry.
    case counterpartUnknown = 46
    /// A message on an inter-region link is not the next one expected: the earlier ones come first.
    case messageOutOfOrder = 47
    /// An acknowledgement that does not answer an open outbound message of this region as it was sent.
    case acknowledgementUnmatched = 48
    /// Only the engine records outbound messages and incoming decisions; they are not inputs.
    case interRegionRecordNotInput = 49
    // Operator actions.
    case operatorKeyUnknown = 20
    case requestIDUsed = 21
    case accountExists = 22
    case deviceKeyInUse = 23
    case deviceKeyUnknown = 24
    case reserveReferenceUsed = 25
    case barUnknown = 26
    case barWeightMismatch = 27
    case treasuryUnknown = 28
    case alreadyFrozen = 29
    case notFrozen = 30
    case rulesHashMismatch = 31
    case rulesInvalid = 32
    case rulesVersionNotNewer = 33
    case holdUnknown = 34
    case kycTierUnchanged = 35

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
        case .accountFrozen: "account_frozen"
        case .ruleRejected: "rule_rejected"
        case .heldForReview: "held_for_review"
        case .reviewRejected: "review_rejected"
        case .barUnknown: "bar_unknown"
        case .barWeightMismatch: "bar_weight_mismatch"
        case .treasuryUnknown: "treasury_unknown"
        case .alreadyFrozen: "already_frozen"
        case .notFrozen: "not_frozen"
        case .rulesHashMismatch: "rules_hash_mismatch"
        case .rulesInvalid: "rules_invalid"
        case .rulesVersionNotNewer: "rules_version_not_newer"
        case .holdUnknown: "hold_unknown"
        case .kycTierUnchanged: "kyc_tier_unchanged"
        case .linkedLegFailed: "linked_leg_failed"
        case .linkNeedsReview: "link_needs_review"
        case .linkIDUsed: "link_id_used"
        case .linkIncomplete: "link_incomplete"
        case .pendingUnknown: "pending_unknown"
        case .pendingResolved: "pending_resolved"
        case .pendingExpired: "pending_expired"
        case .notPendingParty: "not_pending_party"
        case .postExceedsPending: "post_exceeds_pending"
        case .counterpartUnknown: "counterpart_unknown"
        case .messageOutOfOrder: "message_out_of_order"
        case .acknowledgementUnmatched: "acknowledgement_unmatched"
        case .interRegionRecordNotInput: "inter_region_record_not_input"
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
        case .reserveReferenceUsed: "That deposit or withdrawal reference was already recorded, or that bar is already in the vault."
        case .accountFrozen: "The sending or receiving account is frozen under a legal directive."
        case .ruleRejected: "A rule of the region's rule set refuses this transfer; the rule is named."
        case .heldForReview: "A rule holds this transfer for review by the operator; it is not applied until approved."
        case .reviewRejected: "The operator reviewed this held transfer and rejected it."
        case .barUnknown: "No bar with that serial is in the vault's reserves."
        case .barWeightMismatch: "The amount must equal the bar's fine weight; a bar is released whole."
        case .treasuryUnknown: "The treasury named is not the region's configured treasury account, is not open, or is the account itself."
        case .alreadyFrozen: "The account is already frozen."
        case .notFrozen: "The account is not frozen."
        case .rulesHashMismatch: "The rule set's text does not hash to the signed rules_sha3."
        case .rulesInvalid: "The rule set's text is not a valid rule set for this region; fix the file and sign it again."
        case .rulesVersionNotNewer: "The rule set's version must be greater than the version in force."
        case .holdUnknown: "No transfer with that transaction id is waiting for review."
        case .kycTierUnchanged: "The account already has that KYC tier."
        case .linkedLegFailed: "Another leg of this linked group failed, so no leg was applied; the failed leg is named."
        case .linkNeedsReview: "A rule would hold this leg for review; a linked group applies at once or not at all, so none was applied."
        case .linkIDUsed: "That link id was already used by a different group; sign the legs again under a new link id."
        case .linkIncomplete: "The legs of a linked group must be submitted together, complete and in order, to /v1/transactions/linked."
        case .pendingUnknown: "No pending transfer with that pending_id exists."
        case .pendingResolved: "The pending transfer was already posted or voided."
        case .pendingExpired: "The pending transfer expired; its funds went back to the payer."
        case .notPendingParty: "A post must be signed by the pending transfer's payer, a void by its payee."
        case .postExceedsPending: "The amount posted is larger than the pending amount."
        case .counterpartUnknown:
            "The other region of this payment is not in this node's registry of regions; a payee in this region is written as the account alone."
        case .messageOutOfOrder: "The message is not the next one on its link; the earlier messages must be delivered first."
        case .acknowledgementUnmatched:
            "The acknowledgement does not answer an open outbound message of this region with that token and amount."
        case .interRegionRecordNotInput: "Outbound messages and incoming decisions are recorded by the ledger, not submitted."
        }
    }
}

/// Where an entry stands. A transfer is final once the block that holds it is signed.
public enum EntryState: String, Sendable, Codable {
    case queued
    case accepted
    case final
    case rejected
    /// Held for an operator's review by a rule; becomes `accepted` or `rejected`.
    case held
}
