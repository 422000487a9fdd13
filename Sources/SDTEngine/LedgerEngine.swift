import SDTCore
import SDTRules

/// What the engine needs to know about its region to decide on entries.
public struct EnginePolicy: Sendable {
    public let region: String
    public let tokensOffered: Set<Token>
    public let operatorKeys: Set<String>
    /// The account clawbacks move tokens to; nil when the region has none configured.
    public let treasuryAccount: String?
    /// Whether this node issued a transaction id for an account, and whether it has expired at a time
    /// (ms). The node checks a MAC under its secret; an offline replay, which has no secret, accepts
    /// every id of an entry that the ledger recorded as applied.
    public let checkTransactionID: @Sendable (_ id: String, _ account: String, _ nowMilliseconds: Int64) -> TransactionIDCheck
    /// The other regions of the registry: those this region pays and is paid by.
    public let counterparts: Set<String>

    public init(
        region: String, tokensOffered: Set<Token>, operatorKeys: Set<String>, treasuryAccount: String?,
        counterparts: Set<String> = [],
        checkTransactionID: @escaping @Sendable (String, String, Int64) -> TransactionIDCheck
    ) {
        self.region = region
        self.counterparts = counterparts.subtracting([region])
        self.tokensOffered = tokensOffered
        self.operatorKeys = operatorKeys
        self.treasuryAccount = treasuryAccount
        self.checkTransactionID = checkTransactionID
    }
}

public enum TransactionIDCheck: Sendable, Equatable {
    case valid
    case invalid
    case expired
}

/// The ledger's rules in one place: a pure, synchronous state machine. `decide` reads the state through
/// `LedgerState` and returns the answer and the changes; it does no I/O, reads no clock (time is the
/// `now` it is given) and draws no randomness. The region node's applier, the K$ node, the dry run, the
/// offline audit and the simulator all decide through it, so there is one check ladder and one order
/// of rejections (`CheckOrder`).
public struct LedgerEngine: Sendable {
    public let policy: EnginePolicy

    public init(policy: EnginePolicy) { self.policy = policy }

    /// One thing to decide: a single entry, or the legs of a linked group, decided together.
    public enum Entry: Sendable, Hashable {
        case single(Submission)
        case linked([Submission])

        public var submissions: [Submission] {
            switch self {
            case .single(let submission): [submission]
            case .linked(let legs): legs
            }
        }
    }

    public func decide<State: LedgerState>(_ entry: Entry, state: State, now: Int64) throws(LedgerError) -> Decision {
        switch entry {
        case .single(let submission): try decideSingle(submission, state: state, now: now)
        case .linked(let legs): try decideLinked(legs, state: state, now: now)
        }
    }

    /// Decides a batch in order over `state`, each entry seeing the ones before it; expires due pending
    /// transfers first. Outcomes come in batch order, then those of held transfers a review decided.
    /// Throws, deciding nothing, if the batch would break supply = reserves.
    public func apply<State: LedgerState>(_ batch: [Submission], to state: State, now: Int64) throws(LedgerError) -> BatchResult {
        var staging = Staging(base: state)
        var changes: [LedgerChange] = []
        let due = try staging.pendingTransfersDue(at: now)
        if !due.isEmpty {
            let expiry = LedgerChange.expired(transactionIDs: due.map(\.transactionID), atMilliseconds: now)
            try staging.apply(expiry)
            changes.append(expiry)
        }
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(batch.count)
        var consequences: [Consequence] = []
        var index = 0
        while index < batch.count {
            let group = Self.linkedGroup(in: batch, at: index)
            let entry: Entry = batch[index].link == nil ? .single(batch[index]) : .linked(Array(group))
            let decision = try decide(entry, state: staging, now: now)
            for change in decision.changes { try staging.apply(change) }
            changes += decision.changes
            outcomes += decision.outcomes
            consequences += decision.consequences
            index += group.count
        }
        try checkReserves(staging)
        return BatchResult(outcomes: outcomes + consequences.map(\.outcome), records: batch + consequences.map(\.submission),
                           changes: changes, overlay: staging.overlay)
    }

    /// The legs starting at `index`: the leg there and those right after it that continue its group.
    static func linkedGroup(in batch: [Submission], at index: Int) -> ArraySlice<Submission> {
        guard let first = batch[index].link, first.index == 1 else { return batch[index...index] }
        var end = index + 1
        while end < batch.count, end - index < first.count, let next = batch[end].link,
              next.id == first.id, next.count == first.count, next.index == end - index + 1 {
            end += 1
        }
        return batch[index..<end]
    }

    /// Supply equals attested reserves plus claims on other regions minus obligations to them, for every
    /// token, after every batch.
    private func checkReserves<State: LedgerState>(_ state: State) throws(LedgerError) {
        for token in Token.allCases {
            let (supply, reserves) = (try state.supply(token), try state.reserves(token))
            var net: Int64 = 0
            for counterpart in policy.counterparts {
                let position = try state.position(PositionKey(counterpart: counterpart, token: token))
                net += position.claims - position.obligations
            }
            guard supply == reserves + net else {
                throw LedgerError(.invariant, "\(token.rawValue) supply \(supply) would differ from attested reserves \(reserves) "
                                  + "plus claims less obligations \(net)")
            }
        }
    }
}

// MARK: - What every entry passes first

extension LedgerEngine {
    enum Precheck {
        /// Answered without recording anything: the id stays free (or was already used).
        case answered(Outcome)
        /// Refused and recorded, so that the same record gets the same answer again.
        case rejected(OutcomeCode)
        case proceed
    }

    /// The checks before any on the ledger's state, in `CheckOrder.entry`'s order: another region, an
    /// unknown operator key, an id this node did not issue, a resubmission (answered as before), an
    /// expired id, an id used by another record.
    func precheck<State: LedgerState>(_ submission: Submission, state: State, now: Int64) throws(LedgerError) -> Precheck {
        guard submission.region == policy.region else { return .answered(answer(submission, .regionMismatch)) }
        if case .operatorAction(let action, _, _) = submission, !policy.operatorKeys.contains(action.operatorKeyHex) {
            return .answered(answer(submission, .operatorKeyUnknown))
        }
        let idCheck = submission.idAccount.map { policy.checkTransactionID(submission.entryID, $0, now) } ?? .valid
        if idCheck == .invalid { return .answered(answer(submission, .transactionIDInvalid)) }
        let key = EntryKey(kind: submission.kind, entryID: submission.entryID)
        let prior = try state.priorDecision(key, signingBytes: submission.signingBytes)
        if let prior, prior.sameRecord { return .answered(Self.outcome(of: prior.kind, for: submission)) }
        if idCheck == .expired {
            return prior == nil ? .rejected(.transactionIDExpired) : .answered(answer(submission, .transactionIDExpired))
        }
        if prior != nil {
            return .answered(answer(submission, submission.kind == .transfer ? .transactionIDUsed : .requestIDUsed))
        }
        return .proceed
    }

    static func outcome(of prior: PriorDecision.Kind, for submission: Submission) -> Outcome {
        switch prior {
        case .applied(let sequence):
            Outcome(kind: submission.kind, entryID: submission.entryID, code: .accepted, sequence: sequence)
        case .rejected(let code, let ruleID, let version, let failedLeg):
            Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil, ruleID: ruleID,
                    ruleSetVersion: version, failedLeg: failedLeg)
        case .held(let ruleID, let version):
            Outcome(kind: submission.kind, entryID: submission.entryID, code: .heldForReview, sequence: nil, ruleID: ruleID,
                    ruleSetVersion: version)
        }
    }

    func decideSingle<State: LedgerState>(_ submission: Submission, state: State, now: Int64) throws(LedgerError) -> Decision {
        // A leg is applied only with its whole group; alone it is answered, not recorded.
        if submission.link != nil { return answered(submission, .linkIncomplete) }
        if case .interRegion(let entry) = submission { return try decideInterRegion(entry, state: state, now: now) }
        switch try precheck(submission, state: state, now: now) {
        case .answered(let outcome): return Decision(outcomes: [outcome], changes: [])
        case .rejected(let code): return rejected(submission, code, now: now)
        case .proceed: break
        }
        switch submission {
        case .transfer(let transfer, let signature):
            return try decideTransfer(transfer, signature: signature, submission: submission, state: state, now: now)
        case .resolution(let resolution, _):
            return try decideResolution(resolution, submission: submission, state: state, now: now)
        case .operatorAction(let action, _, let attachment):
            return try decideOperator(action, attachment: attachment, submission: submission, state: state, now: now)
        case .interRegion(let entry):
            return try decideInterRegion(entry, state: state, now: now)
        }
    }
}

// MARK: - Building decisions

extension LedgerEngine {
    func answer(_ submission: Submission, _ code: OutcomeCode, sequence: Int64? = nil, rules: RuleDecision? = nil,
                failedLeg: String? = nil) -> Outcome {
        Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: sequence, ruleID: rules?.ruleID,
                ruleSetVersion: rules?.ruleSetVersion, failedLeg: failedLeg)
    }

    /// An answer that records nothing.
    func answered(_ submission: Submission, _ code: OutcomeCode) -> Decision {
        Decision(outcomes: [answer(submission, code)], changes: [])
    }

    /// A refusal that is recorded under the entry's id.
    func rejected(_ submission: Submission, _ code: OutcomeCode, rules: RuleDecision? = nil, failedLeg: String? = nil,
                  now: Int64) -> Decision {
        rejected(submission, code, ruleID: rules?.ruleID, ruleSetVersion: rules?.ruleSetVersion, failedLeg: failedLeg, now: now)
    }

    func rejected(_ submission: Submission, _ code: OutcomeCode, ruleID: String?, ruleSetVersion: Int64?, failedLeg: String?,
                  now: Int64) -> Decision {
        let rejection = Rejection(
            submission: submission, code: code, ruleID: ruleID, ruleSetVersion: ruleSetVersion, failedLeg: failedLeg,
            decidedAtMilliseconds: now
        )
        let outcome = Outcome(kind: submission.kind, entryID: submission.entryID, code: code, sequence: nil, ruleID: ruleID,
                              ruleSetVersion: ruleSetVersion, failedLeg: failedLeg)
        return Decision(outcomes: [outcome], changes: [.rejected(rejection)])
    }

    /// An accepted entry at the next sequence, with its effects.
    func accepted<State: LedgerState>(_ submission: Submission, effects: [Effect], state: State, now: Int64) throws(LedgerError)
        -> Decision {
        let sequence = try state.nextSequence()
        let entry = AppliedEntry(sequence: sequence, submission: submission, appliedAtMilliseconds: now, effects: effects)
        return Decision(outcomes: [answer(submission, .accepted, sequence: sequence)], changes: [.applied(entry)])
    }
}

/// What decides a batch over a state. The ledger engine is the one decider of production; the
/// simulator's tests plug deliberately broken ones in to show that the simulator catches them.
public protocol BatchDecider: Sendable {
    func apply<State: LedgerState>(_ batch: [Submission], to state: State, now: Int64) throws(LedgerError) -> BatchResult
}

extension LedgerEngine: BatchDecider {}
