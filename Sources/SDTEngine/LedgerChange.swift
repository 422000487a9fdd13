import SDTCore
import SDTRules

/// What applying one accepted entry changes, besides recording the entry itself. A store writes these
/// in order inside the batch's transaction; `Staging` applies them to its overlay.
public enum Effect: Sendable, Hashable {
    /// Double entry: `amount` leaves `from` and reaches `to`. The issuer account stands for the supply.
    case posting(Posting)
    case accountOpened(account: String, state: AccountState, holderData: [UInt8])
    case keyAdded(publicKeyHex: String, account: String)
    case keyRevoked(publicKeyHex: String)
    case kycTierSet(account: String, kycTier: Int)
    case frozen(account: String)
    case unfrozen(account: String)
    /// An operator action on the account, shown in its history.
    case accountEvent(account: String)
    /// A reserve record comes into force (a deposit, a withdrawal, a bar received).
    case reserveRecorded(ReserveKey, amount: Int64)
    /// A bar leaves the reserves whole.
    case reserveReleased(ReserveKey)
    case pendingOpened(PendingState)
    case pendingPosted(transactionID: String, amount: Int64)
    case pendingVoided(transactionID: String)
    case holdReviewed(transactionID: String)
    case ruleSetInstalled(RuleSet)
    /// A rule's flag on an accepted transfer (a currency transaction report, say), with the rule.
    case flagRaised(flag: String, ruleID: String)
    /// The outbound message recorded in this entry takes the next number of its link.
    case outboundSent(OutboundMessage)
    /// The inbound message `number` of the link from `counterpart` was decided.
    case inboundDecided(counterpart: String, number: Int64)
    /// The counterpart's decision on outbound message `number` was recorded.
    case acknowledged(counterpart: String, number: Int64)
    /// Claims on a counterpart grow by `delta` (settlement lowers them).
    case claimChanged(PositionKey, delta: Int64)
    /// Obligations to a counterpart grow by `delta` (settlement lowers them).
    case obligationChanged(PositionKey, delta: Int64)
}

/// One leg of double entry.
public struct Posting: Sendable, Hashable {
    public let token: Token
    public let amount: Int64
    public let from: String
    public let to: String

    public init(token: Token, amount: Int64, from: String, to: String) {
        precondition(amount > 0, "a posting moves a positive amount, not \(amount)")
        self.token = token
        self.amount = amount
        self.from = from
        self.to = to
    }
}

/// An accepted entry as it is recorded: its sequence, the signed submission, when, and its effects.
public struct AppliedEntry: Sendable, Hashable {
    public let sequence: Int64
    public let submission: Submission
    public let appliedAtMilliseconds: Int64
    public let effects: [Effect]

    public init(sequence: Int64, submission: Submission, appliedAtMilliseconds: Int64, effects: [Effect]) {
        self.sequence = sequence
        self.submission = submission
        self.appliedAtMilliseconds = appliedAtMilliseconds
        self.effects = effects
    }

    /// The postings of the entry, in order.
    public var postings: [Posting] {
        effects.compactMap { if case .posting(let posting) = $0 { posting } else { nil } }
    }
}

/// A decision recorded so that the same record gets the same answer again and its id stays used.
public struct Rejection: Sendable, Hashable {
    public let submission: Submission
    public let code: OutcomeCode
    public let ruleID: String?
    public let ruleSetVersion: Int64?
    public let failedLeg: String?
    public let decidedAtMilliseconds: Int64
}

/// A transfer a rule holds for an operator's review.
public struct NewHold: Sendable, Hashable {
    public let hold: HoldState
    public let heldAtMilliseconds: Int64

    public init(hold: HoldState, heldAtMilliseconds: Int64) {
        self.hold = hold
        self.heldAtMilliseconds = heldAtMilliseconds
    }
}

/// A linked group's decision, so that its link id is used once.
public struct LinkGroupRecord: Sendable, Hashable {
    public let linkID: String
    public let legs: [Submission]
    public let failedLeg: String?
    public let decidedAtMilliseconds: Int64
}

/// One change to the ledger, in the order decided.
public enum LedgerChange: Sendable, Hashable {
    case applied(AppliedEntry)
    case rejected(Rejection)
    case held(NewHold)
    /// Open pending transfers whose timeout came; their funds are the payer's again.
    case expired(transactionIDs: [String], atMilliseconds: Int64)
    case linkGroup(LinkGroupRecord)
}

/// The engine's decision on one entry (or one linked group): an answer per submission, in order; the
/// answers for entries it decided on the way (a held transfer a review approved or rejected); and what
/// to record.
public struct Decision: Sendable, Hashable {
    public var outcomes: [Outcome]
    /// Answers for entries decided on the way, each with the record it answers.
    public var consequences: [Consequence]
    public var changes: [LedgerChange]

    public init(outcomes: [Outcome], consequences: [Consequence] = [], changes: [LedgerChange]) {
        self.outcomes = outcomes
        self.consequences = consequences
        self.changes = changes
    }
}

/// An answer for an entry that was not in the batch: a held transfer a review decided.
public struct Consequence: Sendable, Hashable {
    public let outcome: Outcome
    public let submission: Submission
}

/// What a batch decided: every answer, and every change in order, for the store to commit at once.
public struct BatchResult: Sendable {
    public let outcomes: [Outcome]
    /// The record each outcome answers, in the same order: the batch's own, then the consequences'.
    public let records: [Submission]
    public let changes: [LedgerChange]
    /// The state after the batch, as the changes leave it; stores refresh their caches from it.
    public let overlay: StagingOverlay

    public init(outcomes: [Outcome], records: [Submission], changes: [LedgerChange], overlay: StagingOverlay) {
        self.outcomes = outcomes
        self.records = records
        self.changes = changes
        self.overlay = overlay
    }
}
