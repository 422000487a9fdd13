import SDTCore
import SDTCustody
import SDTCrypto
import SDTLedger

/// One step of simulated time: faults, clients, the front, the applier, the sealer, the signer, and
/// the checks.
extension Simulation {
    func step() throws {
        clock.advance(milliseconds: Int64(1 + random.uniform(20)))
        try tick()
    }

    /// The step's work at the clock's time, without moving it: two regions share one clock.
    func tick() throws {
        let now = clock.nowMilliseconds()
        trace.note("step \(report.steps + report.healingSteps) at \(now)")
        if faultsOn {
            try injectFaults(now: now)
            if random.chance(perMille: 600), let request = try workload.next(now: now) { send(request, now: now) }
        }
        resend(now: now)
        try frontReceives(now: now)
        try applierRuns(now: now)
        try signerRuns(now: now)
        try check()
    }

    // MARK: Faults

    private func injectFaults(now: Int64) throws {
        let roll = random.uniform(1_000)
        switch roll {
        case 0..<3:
            guard writer != nil else { return }
            crashApplier(now: now, why: "crash")
        case 3..<13:
            let link = random.uniform(2)
            let faults = SimulatedLink<Void>.Faults(
                dropPerMille: random.uniform(150), duplicatePerMille: random.uniform(150),
                delayMillisecondsMax: Int64(random.uniform(300))
            )
            if link == 0 {
                work.faults = .init(
                    dropPerMille: faults.dropPerMille, duplicatePerMille: faults.duplicatePerMille,
                    delayMillisecondsMax: faults.delayMillisecondsMax)
            } else {
                outcomes.faults = .init(
                    dropPerMille: faults.dropPerMille, duplicatePerMille: faults.duplicatePerMille,
                    delayMillisecondsMax: faults.delayMillisecondsMax)
            }
            fault(
                "\(link == 0 ? "work queue" : "outcome channel"): drop \(faults.dropPerMille)‰, duplicate "
                    + "\(faults.duplicatePerMille)‰, delay up to \(faults.delayMillisecondsMax) ms")
        case 13..<25:
            let identifier = 1 + random.uniform(3)
            let behaviours = CustodianBehaviour.allCases
            let behaviour = random.chance(perMille: 400) ? .honest : behaviours[random.uniform(behaviours.count)]
            custody.behaviours[identifier] = behaviour
            fault("custodian \(identifier) \(behaviour.rawValue)")
        case 25..<28:
            let identifier = 1 + random.uniform(3)
            custody.restart(identifier)
            fault("custodian \(identifier) restarts")
        case 28..<33:
            signerDownUntil = now + Int64(100 + random.uniform(900))
            fault("signer stops after sealing, until \(signerDownUntil)")
        case 33..<35:
            try forgeSecondBlock()
        default:
            break
        }
    }

    private func fault(_ what: String) {
        report.faults += 1
        trace.note("fault \(what)")
    }

    private func crashApplier(now: Int64, why: String) {
        writer = nil
        inbox = []
        applierDownUntil = now + Int64(50 + random.uniform(450))
        fault("applier \(why), down until \(applierDownUntil)")
    }

    /// As a compromised node would: asks two custodians to sign a second header at a signed height, with
    /// the same entries and predecessor. Honest custodians refuse it.
    private func forgeSecondBlock() throws {
        guard signedHeight > 0, let block = try reader.block(height: Int64(1 + random.uniform(Int(signedHeight))))
        else { return }
        let request = try signatures.signingRequest(for: block)
        let header = block.header
        let forged = BlockHeader(
            region: header.region, height: header.height, previousHashHex: header.previousHashHex,
            merkleRootHex: header.merkleRootHex,
            entryCount: header.entryCount, firstSequence: header.firstSequence, lastSequence: header.lastSequence,
            supply: header.supply, reserves: header.reserves, reserveRootHex: header.reserveRootHex,
            rules: header.rules,
            sealedAtMilliseconds: header.sealedAtMilliseconds + 1
        )
        let forgedRequest = BlockSigningRequest(
            headerBytes: forged.signingBytes, entries: request.entries,
            previousHeader: request.previousHeader, previousSignature: request.previousSignature)
        var commitments: [FROST.Commitment] = []
        for (identifier, reply) in custody.exchange([1, 2], .commit(header: forged.signingBytes)) {
            guard case .ok(let parts)? = reply, parts.count == 2 else { continue }
            commitments.append(.init(identifier: identifier, hiding: parts[0], binding: parts[1]))
        }
        fault("a forged second block is sent for signing at height \(header.height)")
        guard commitments.count == 2 else { return }
        _ = custody.exchange([1, 2], .sign(forgedRequest, commitments: commitments))
    }

    // MARK: Clients and the front

    /// The front: a request whose signature does not verify is refused and never queued; the others are
    /// queued in one work message, and the client waits for each record's own answer.
    func send(_ request: ClientRequest, now: Int64) {
        var request = request
        let ids = request.submissions.map(\.entryID).joined(separator: ",")
        trace.note("send \(request.number) \(request.what) \(ids)")
        let verified = request.submissions.allSatisfy { submission in
            Ed25519.verify(
                signature: submission.signature, message: submission.signingBytes,
                publicKey: Hex.decode(submission.publicKeyHex) ?? [])
        }
        guard verified else {
            // A 400 from the front: nothing reached the applier.
            request.sendAt = nil
            workload.record(request)
            for submission in request.submissions {
                toldNotApplied.append((request.number, submission, "signature_invalid"))
            }
            trace.note("front refuses \(request.number): signature")
            return
        }
        for (index, submission) in request.submissions.enumerated()
        where request.answers[index] == nil || !isFinal(request.answers[index]!) {
            let key = Key(
                kind: submission.kind, entryID: submission.entryID, recordSHA3: SHA3.hash256(submission.signingBytes))
            if !(waiting[key] ?? []).contains(where: { $0.request == request.number && $0.index == index }) {
                waiting[key, default: []].append((request.number, index))
            }
        }
        work.send(request.submissions, now: now)
        request.sendAt = now + Self.resubmitMilliseconds
        workload.record(request)
    }

    /// Clients whose answer is late (queued, lost, or only held) send the same signed records again.
    func resend(now: Int64) {
        for number in workload.open where (workload.request(number).sendAt ?? .max) <= now {
            send(workload.request(number), now: now)
        }
    }

    func isFinal(_ outcome: Outcome) -> Bool { outcome.code != .heldForReview && outcome.code != .linkIncomplete }

    private func frontReceives(now: Int64) throws {
        for message in outcomes.receive(now: now) {
            for outcome in message {
                let key = Key(kind: outcome.kind, entryID: outcome.entryID, recordSHA3: outcome.recordSHA3 ?? [])
                for (number, index) in waiting[key] ?? [] { try tell(number, index, outcome) }
            }
        }
    }

    /// A client hears an answer; it must be the ledger's truth about that very record.
    private func tell(_ number: Int, _ index: Int, _ outcome: Outcome) throws {
        var request = workload.request(number)
        guard request.sendAt != nil else { return }
        let submission = request.submissions[index]
        trace.note("told \(number)/\(index) \(outcome.code.name) \(outcome.sequence ?? -1)")
        report.told[outcome.code.name, default: 0] += 1
        try checkTold(submission, outcome, request: number)
        request.answers[index] = outcome
        if outcome.code == .heldForReview, !workload.held.contains(submission.entryID) {
            workload.held.append(submission.entryID)
        }
        if request.answers.allSatisfy({ $0.map(isFinal) ?? false }) {
            request.sendAt = nil
            for (place, done) in request.submissions.enumerated() {
                let key = Key(kind: done.kind, entryID: done.entryID, recordSHA3: SHA3.hash256(done.signingBytes))
                waiting[key]?.removeAll { $0.request == number && $0.index == place }
                if waiting[key]?.isEmpty == true { waiting[key] = nil }
            }
        }
        workload.record(request)
    }

    // MARK: Applier, sealer, signer

    private func applierRuns(now: Int64) throws {
        if writer == nil {
            guard now >= applierDownUntil else { return }
            writer = try Self.openWriter(ledgerPath, policy, options)
            trace.note("applier restarts")
        }
        guard let writer else { return }
        inbox += work.receive(now: now)
        guard !inbox.isEmpty else {
            try writer.expireDue(nowMilliseconds: now)
            try seal()
            return
        }
        var batch: [Submission] = []
        while let next = inbox.first, batch.isEmpty || batch.count + next.count <= Self.batchMax {
            batch += next
            inbox.removeFirst()
        }
        if faultsOn, random.chance(perMille: 3) {
            return crashApplier(now: now, why: "crash with \(batch.count) entries taken, not committed")
        }
        let decided: [Outcome]
        do {
            decided = try writer.apply(batch, nowMilliseconds: now)
        } catch {
            throw SimulationFailure("the store refused a batch the engine decided: \(error)")
        }
        trace.note(
            "applied \(batch.count): "
                + decided.map { "\($0.code.rawValue):\($0.sequence ?? -1)" }.joined(separator: ","))
        if faultsOn, random.chance(perMille: 3) {
            return crashApplier(now: now, why: "crash after commit, outcomes not sent")
        }
        outcomes.send(decided, now: now)
        try seal()
    }

    func seal() throws {
        guard let writer else { return }
        while try writer.shouldSeal(entriesMax: Self.blockEntriesMax),
            let block = try writer.sealNextBlock(
                entriesMax: Self.blockEntriesMax, nowMilliseconds: clock.nowMilliseconds())
        {
            trace.note("sealed \(block.height) \(Hex.encode(block.hash))")
        }
    }

    private func signerRuns(now: Int64) throws {
        guard now >= signerDownUntil, now >= signerRetryAt else { return }
        for block in try signatures.unsignedBlocks(limit: 2) {
            do {
                let signed = try coordinator.sign(try signatures.signingRequest(for: block))
                // Byzantine custodians may answer anything: the signers recorded must be the ones whose
                // shares verify, as anyone with the transcript can check.
                let proven = QuorumSignature.verifiedSigners(
                    proof: signed.proof, signature: signed.signature, threshold: coordinator.threshold,
                    publicShares: coordinator.publicShares, groupPublicKey: coordinator.publicKey,
                    message: block.headerBytes)
                guard proven == signed.signers, signed.signers.count == coordinator.threshold else {
                    throw SimulationFailure(
                        "block \(block.height): signers \(signed.signers) are not proven by their shares")
                }
                try signatures.store(
                    signature: signed.signature, for: block, publicKey: coordinator.publicKey, signers: signed.signers,
                    proof: signed.proof)
                trace.note("signed \(block.height) by \(signed.signers)")
                signerWaitMilliseconds = Self.signerWaitFirst
            } catch {
                trace.note(
                    "not signed \(block.height): \(coordinator.lastProblems.map(\.description).joined(separator: "; "))"
                )
                signerRetryAt = now + signerWaitMilliseconds
                signerWaitMilliseconds = min(signerWaitMilliseconds * 2, Self.signerWaitMax)
                return
            }
        }
    }
}
