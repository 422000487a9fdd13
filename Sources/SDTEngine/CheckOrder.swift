import SDTCore

/// The documented order of rejections: the order of the checks in `LedgerEngine`, the first failing
/// check deciding. The contract (`openapi/openapi.yaml`, "Check order and outcome codes") states the
/// same lists, a test compares them, and another submits entries that break two checks at once and
/// checks that the earlier one in these lists wins.
public enum CheckOrder {
    /// Every entry first, before any check on the ledger's state. (A resubmission of the same record is
    /// recognised after `transaction_id_invalid` and answered as before.)
    public static let entry: [OutcomeCode] = [
        .regionMismatch, .operatorKeyUnknown, .transactionIDInvalid, .transactionIDExpired, .transactionIDUsed, .requestIDUsed,
    ]

    /// A transfer (immediate or pending), after `entry`.
    public static let transfer: [OutcomeCode] = [
        .accountUnknown, .keyNotRegistered, .keyRevoked, .receiverUnknown, .sameAccount, .tokenNotOffered, .accountFrozen,
        .insufficientFunds, .balanceOverflow, .ruleRejected, .heldForReview,
    ]

    /// A linked group, before each leg's `entry` and `transfer` checks; then `link_needs_review` in place
    /// of a hold, and `linked_leg_failed` for the legs that did not fail themselves.
    public static let linked: [OutcomeCode] = [.linkIncomplete, .regionMismatch, .linkIDUsed]

    /// A post or a void, after `entry`. `post_exceeds_pending`, `account_frozen` and `balance_overflow`
    /// concern posts only.
    public static let resolution: [OutcomeCode] = [
        .pendingUnknown, .pendingResolved, .pendingExpired, .notPendingParty, .keyNotRegistered, .keyRevoked,
        .postExceedsPending, .accountFrozen, .balanceOverflow,
    ]

    /// A transfer to another region, after `transfer`'s `account_unknown`, `key_not_registered` and
    /// `key_revoked`.
    public static let outgoing: [OutcomeCode] = [
        .counterpartUnknown, .tokenNotOffered, .accountFrozen, .insufficientFunds, .balanceOverflow, .ruleRejected, .heldForReview,
    ]

    /// A message from another region: answered without recording (`region_mismatch`,
    /// `counterpart_unknown`, `message_out_of_order`), then decided and recorded as credited or refused
    /// with the first of `receiver_unknown`, `token_not_offered`, `account_frozen`, `balance_overflow`,
    /// `rule_rejected`.
    public static let delivery: [OutcomeCode] = [
        .regionMismatch, .counterpartUnknown, .messageOutOfOrder, .receiverUnknown, .tokenNotOffered, .accountFrozen,
        .balanceOverflow, .ruleRejected,
    ]

    /// The other region's decision on one of this region's messages.
    public static let acknowledgement: [OutcomeCode] = [.regionMismatch, .counterpartUnknown, .acknowledgementUnmatched]

    /// An operator action, after `entry`. Each action meets only the checks that concern it.
    public static let operatorAction: [OutcomeCode] = [
        .rulesHashMismatch, .rulesInvalid, .rulesVersionNotNewer, .holdUnknown,
        .accountUnknown, .accountExists, .deviceKeyInUse, .deviceKeyUnknown, .kycTierUnchanged, .alreadyFrozen, .notFrozen,
        .tokenNotOffered, .reserveReferenceUsed, .barUnknown, .barWeightMismatch, .treasuryUnknown, .insufficientFunds,
        .balanceOverflow,
    ]
}
