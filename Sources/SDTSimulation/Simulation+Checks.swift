import SDTCore
import SDTCrypto
import SDTLedger

/// The invariants, after every step and at the end.
extension Simulation {
    static let auditEverySteps = 1_000

    /// Supply equals the sum of balances and the reserves (each leg debits and credits one amount by
    /// construction); no custodian signed two headers at one height; every newly signed block verifies
    /// with the quorum key; and now and then, the offline audit (every balance against the movements).
    func check() throws {
        let problems = try reader.invariantProblems()
        if let problem = problems.first { throw SimulationFailure(problem) }
        if let fork = custody.forks.first { throw SimulationFailure(fork) }
        let head = try reader.head()
        while signedHeight < head.finalHeight {
            signedHeight += 1
            guard let block = try reader.block(height: signedHeight), let signature = block.signature,
                Ed25519.verify(signature: signature, message: block.headerBytes, publicKey: coordinator.publicKey)
            else {
                throw SimulationFailure(
                    "block \(signedHeight) is final but its signature does not verify with the quorum key")
            }
        }
        if (report.steps + report.healingSteps) % Self.auditEverySteps == 0 { try audit() }
    }

    func audit() throws {
        let audit = try LedgerAudit.run(
            path: ledgerPath, blockPublicKey: coordinator.publicKey,
            operatorKeys: [workload.operatorKey.publicKeyHex])
        if let problem = audit.firstProblem { throw SimulationFailure("the audit fails: \(problem)") }
    }

    /// What a client was told must be what the ledger holds for that record: accepted at the very
    /// sequence where the ledger holds its bytes, held while a hold holds it (or since decided), and
    /// any refusal with the record not applied.
    func checkTold(_ submission: Submission, _ outcome: Outcome, request: Int) throws {
        let recorded = try reader.recorded(kind: submission.kind, entryID: submission.entryID)
        let name = "request \(request) (\(submission.kind.rawValue) \(submission.entryID))"
        let applied: Bool =
            if case .applied(_, let bytes)? = recorded { bytes == submission.signingBytes } else { false }
        switch outcome.code {
        case .accepted:
            guard case .applied(let sequence, let bytes)? = recorded, sequence == outcome.sequence,
                bytes == submission.signingBytes
            else {
                throw SimulationFailure(
                    "\(name) was told accepted at \(outcome.sequence ?? -1), the ledger holds "
                        + String(describing: recorded))
            }
        case .heldForReview:
            let reviewed: Bool =
                if case .rejected(let hash, .reviewRejected)? = recorded {
                    hash == SHA3.hash256(submission.signingBytes)
                } else { false }
            let holds: Bool = if case .held(let bytes)? = recorded { bytes == submission.signingBytes } else { false }
            guard holds || applied || reviewed else {
                throw SimulationFailure("\(name) was told held, the ledger holds \(String(describing: recorded))")
            }
        default:
            guard !applied else {
                throw SimulationFailure("\(name) was told \(outcome.code.name) but the ledger applied it")
            }
            if outcome.code != .linkIncomplete { toldNotApplied.append((request, submission, outcome.code.name)) }
        }
    }

    /// Faults stop: links deliver, custodians are honest, the applier and the signer run. The clients
    /// send again whatever is unanswered and the operator reviews what is held, until every request has
    /// its final answer and every block is signed.
    func heal() throws {
        stopFaults()
        while report.healingSteps < options.healingStepsMax {
            if try isQuiet() { return }
            report.healingSteps += 1
            try reviewHeld()
            try step()
        }
        throw SimulationFailure(try unhealed())
    }

    /// Faults stop: links deliver, custodians are honest, the applier and the signer run.
    func stopFaults() {
        faultsOn = false
        work.faults = .init()
        outcomes.faults = .init()
        for identifier in 1...3 { custody.behaviours[identifier] = .honest }
        applierDownUntil = 0
        signerDownUntil = 0
        signerRetryAt = 0
    }

    /// The operator reviews what is still held: approves first, rejects if it is held again.
    func reviewHeld() throws {
        for id in workload.held where reviewed[id, default: 0] < 2 && isUnanswered(heldTransfer: id) {
            let approve = reviewed[id, default: 0] == 0
            reviewed[id, default: 0] += 1
            if let review = try workload.review(id, approve: approve, now: clock.nowMilliseconds()) {
                send(review, now: clock.nowMilliseconds())
            }
        }
    }

    /// What is still not done when healing gave up.
    func unhealed() throws -> String {
        let open = workload.open.prefix(3).map { "\($0) \(workload.request($0).what)" }
        let head = try reader.head()
        return "liveness: \(options.healingStepsMax) steps after the faults stopped, \(region)'s requests \(open) are "
            + "unanswered and blocks \(head.finalHeight + 1)...\(head.sealedHeight) unsigned"
    }

    private func isUnanswered(heldTransfer id: String) -> Bool {
        workload.open.contains { workload.request($0).submissions.contains { $0.entryID == id } }
    }

    func isQuiet() throws -> Bool {
        let head = try reader.head()
        return workload.open.isEmpty && work.isEmpty && outcomes.isEmpty && inbox.isEmpty
            && head.finalHeight == head.sealedHeight && head.sealedSequence == head.appliedSequence
    }

    /// At the end: every block signed (checked by `heal`), the audit passes, and nothing a client was
    /// told was refused got applied later.
    func finalChecks() throws {
        try check()
        try audit()
        for told in toldNotApplied {
            if case .applied(_, let bytes)? = try reader.recorded(
                kind: told.submission.kind, entryID: told.submission.entryID),
                bytes == told.submission.signingBytes
            {
                throw SimulationFailure(
                    "request \(told.request) was told \(told.code) but \(told.submission.entryID) was applied later")
            }
        }
    }
}
