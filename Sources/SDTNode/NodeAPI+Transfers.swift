import Foundation
import OpenAPIRuntime
import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger
import SDTRules

extension NodeAPI {
    /// A transfer that passed the front's checks, or the problem that stopped it.
    enum Checked {
        case ready(Submission)
        case refused(Components.Schemas.Problem)
    }

    /// `linked`: whether the transfer came as a leg of a linked group; a leg may come no other way.
    func check(_ body: Components.Schemas.SignedTransfer, linked: Bool = false) -> Checked {
        func invalid(_ detail: String) -> Checked {
            .refused(Problem.make(status: 400, code: "invalid_field", detail: detail, transactionID: body.transactionId))
        }
        let transfer: Transfer
        do {
            var link: Transfer.Link?
            switch (body.linkId, body.leg, body.legs) {
            case (nil, nil, nil):
                if linked { return invalid("link_id, leg, legs: every leg of a linked group carries all three") }
            case (let id?, let leg?, let legs?):
                guard linked else {
                    return invalid("link_id: this transfer is leg \(leg) of \(legs) of linked group \(Echo.quoted(id)); submit all legs together to POST /v1/transactions/linked")
                }
                link = try Transfer.Link(id: id, index: leg, count: legs)
            default:
                return invalid("link_id, leg, legs: give all three for a leg of a linked group, or none")
            }
            transfer = try Transfer(
                region: body.region, transactionID: body.transactionId, from: body.from, to: body.to,
                token: body.token.rawValue, amountMinorUnits: body.amount, publicKeyHex: body.publicKey,
                pendingTimeoutSeconds: body.timeoutSeconds, link: link
            )
        } catch {
            return invalid(error.description)
        }
        guard transfer.region == config.region else {
            return .refused(Problem.make(
                status: 400, code: OutcomeCode.regionMismatch.name,
                detail: "region: this node serves \(config.region), not \(Echo.quoted(transfer.region))", transactionID: body.transactionId
            ))
        }
        guard let signature = Hex.decode(body.signature), signature.count == Ed25519.signatureByteCount else {
            return .refused(Problem.make(status: 400, code: "signature_invalid", detail: "signature: must be 128 hex characters", transactionID: body.transactionId))
        }
        return .ready(.transfer(transfer, signature: signature))
    }

    /// Verifies signatures on every core: the list is split into one chunk per core.
    static func verifyAll(_ submissions: [Submission]) async -> [Bool] {
        let chunkCount = max(1, min(ProcessInfoCores.count, submissions.count / 64))
        let chunkSize = (submissions.count + chunkCount - 1) / max(chunkCount, 1)
        return await withTaskGroup(of: (Int, [Bool]).self) { group in
            for chunk in 0..<chunkCount {
                let range = (chunk * chunkSize)..<min(submissions.count, (chunk + 1) * chunkSize)
                group.addTask {
                    (chunk, submissions[range].map { submission in
                        Ed25519.verify(signature: submission.signature, message: submission.signingBytes,
                                       publicKey: Hex.decode(submission.publicKeyHex) ?? [])
                    })
                }
            }
            var parts = [[Bool]](repeating: [], count: chunkCount)
            for await (chunk, results) in group { parts[chunk] = results }
            return parts.flatMap { $0 }
        }
    }

    /// Checks a post or void as the front does for a transfer: fields, region, signature's form.
    func check(_ body: Components.Schemas.SignedResolution) -> Checked {
        func invalid(_ detail: String) -> Checked {
            .refused(Problem.make(status: 400, code: "invalid_field", detail: detail, transactionID: body.transactionId))
        }
        switch (body.action, body.amount) {
        case (.post, nil): return invalid("amount: a post names the minor units to move (at most the pending amount)")
        case (.void, .some): return invalid("amount: a void releases the whole reservation and takes no amount")
        default: break
        }
        let resolution: PendingResolution
        do {
            resolution = try PendingResolution(
                region: body.region, transactionID: body.transactionId, pendingID: body.pendingId, account: body.account,
                postAmountMinorUnits: body.amount, publicKeyHex: body.publicKey
            )
        } catch {
            return invalid(error.description)
        }
        guard resolution.region == config.region else {
            return .refused(Problem.make(
                status: 400, code: OutcomeCode.regionMismatch.name,
                detail: "region: this node serves \(config.region), not \(Echo.quoted(resolution.region))", transactionID: body.transactionId
            ))
        }
        guard let signature = Hex.decode(body.signature), signature.count == Ed25519.signatureByteCount else {
            return .refused(Problem.make(status: 400, code: "signature_invalid", detail: "signature: must be 128 hex characters", transactionID: body.transactionId))
        }
        return .ready(.resolution(resolution, signature: signature))
    }

    func status(_ outcome: Outcome?, of submission: Submission) -> Components.Schemas.TransferStatus {
        var answer = status(outcome, transactionID: submission.entryID)
        answer.recordSha3 = Hex.encode(SHA3.hash256(submission.signingBytes))
        return answer
    }

    /// The answer for one outcome, without the record hash.
    private func status(_ outcome: Outcome?, transactionID: String) -> Components.Schemas.TransferStatus {
        guard let outcome else {
            return .init(transactionId: transactionID, state: .queued, code: "queued",
                         detail: "Queued; follow status_url.", statusUrl: statusURL(transactionID))
        }
        switch outcome.code {
        case .accepted:
            return .init(transactionId: transactionID, state: .accepted, code: "accepted", detail: outcome.code.detail,
                         sequence: outcome.sequence, statusUrl: statusURL(transactionID))
        case .heldForReview:
            return .init(transactionId: transactionID, state: .held, code: outcome.code.name,
                         detail: ruleDetail(outcome.code, ruleID: outcome.ruleID, version: outcome.ruleSetVersion),
                         statusUrl: statusURL(transactionID), ruleId: outcome.ruleID, ruleSetVersion: outcome.ruleSetVersion)
        default:
            return .init(transactionId: transactionID, state: .rejected, code: outcome.code.name,
                         detail: ruleDetail(outcome.code, ruleID: outcome.ruleID, version: outcome.ruleSetVersion, failedLeg: outcome.failedLeg),
                         statusUrl: statusURL(transactionID), ruleId: outcome.ruleID, ruleSetVersion: outcome.ruleSetVersion,
                         failedLeg: outcome.failedLeg)
        }
    }

    /// The code's sentence, and for a rule's decision the rule, its version and its stated reason.
    func ruleDetail(_ code: OutcomeCode, ruleID: String?, version: Int64?, failedLeg: String? = nil) -> String {
        if let failedLeg { return "Leg \(failedLeg) of this linked group failed, so no leg was applied; see that leg's status." }
        guard let ruleID, let version else { return code.detail }
        let reason = (try? reader.ruleSet(version: version)).flatMap { record in
            (try? RuleSet(text: record.text))?.rules.first { $0.id == ruleID }?.reason
        }
        let verb = code == .heldForReview ? "Held by" : "Refused by"
        return "\(verb) rule \(ruleID) of rule set version \(version)" + (reason.map { ": \($0)" } ?? ".")
    }

    /// The status path of a transaction, its id encoded as one path segment (ids may hold `%`, `?`, `#`).
    func statusURL(_ transactionID: String) -> String {
        var segment = CharacterSet.urlPathAllowed
        segment.remove(charactersIn: "/%?#")
        return "/v1/transactions/" + (transactionID.addingPercentEncoding(withAllowedCharacters: segment) ?? transactionID)
    }

    /// The answer to one signed transfer, post or void, before it takes its operation's response type.
    enum SingleAnswer {
        case refused(Components.Schemas.Problem)
        case unavailable(Components.Schemas.Problem)
        case waiting(Components.Schemas.TransferStatus)
        case rejected(Components.Schemas.Problem)
        case applied(Components.Schemas.TransferStatus)
    }

    /// Verifies the signature, queues the entry, and waits a short while for its outcome.
    func submitSingle(_ checked: Checked, transactionID: String) async -> SingleAnswer {
        let submission: Submission
        switch checked {
        case .ready(let ready): submission = ready
        case .refused(let problem): return .refused(problem)
        }
        guard await Self.verifyAll([submission]) == [true] else {
            return .refused(Problem.make(
                status: 400, code: "signature_invalid",
                detail: "The signature does not verify over the record's signing bytes with public_key.", transactionID: transactionID
            ))
        }
        let outcomes: [Outcome?]
        do {
            outcomes = try await front.submit([submission], timeout: syncWait)
        } catch {
            return .unavailable(unavailable(error))
        }
        let answer = status(outcomes[0], of: submission)
        switch answer.state {
        case .queued, .held: return .waiting(answer)
        case .rejected:
            return .rejected(Problem.make(
                status: 422, code: answer.code, detail: answer.detail ?? "", transactionID: transactionID,
                ruleID: answer.ruleId, ruleSetVersion: answer.ruleSetVersion
            ))
        case .accepted, .final: return .applied(answer)
        }
    }

    public func submitTransfer(_ input: Operations.SubmitTransfer.Input) async throws -> Operations.SubmitTransfer.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        switch await submitSingle(check(body), transactionID: body.transactionId) {
        case .refused(let problem): return .badRequest(.init(body: .applicationProblemJson(problem)))
        case .unavailable(let problem): return .serviceUnavailable(.init(body: .applicationProblemJson(problem)))
        case .waiting(let answer):
            return .accepted(.init(headers: .init(location: statusURL(body.transactionId)), body: .json(answer)))
        case .rejected(let problem): return .unprocessableContent(.init(body: .applicationProblemJson(problem)))
        case .applied(let answer): return .ok(.init(body: .json(answer)))
        }
    }

    public func submitTransferBatch(_ input: Operations.SubmitTransferBatch.Input) async throws -> Operations.SubmitTransferBatch.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        guard (1...config.limits.batchTransfersMax).contains(body.transfers.count) else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "batch_too_large", detail: "A batch holds 1...\(config.limits.batchTransfersMax) transfers; this one has \(body.transfers.count)."
            ))))
        }
        var results = [Components.Schemas.TransferStatus?](repeating: nil, count: body.transfers.count)
        var ready: [(index: Int, submission: Submission)] = []
        for (index, item) in body.transfers.enumerated() {
            switch check(item) {
            case .ready(let submission): ready.append((index, submission))
            case .refused(let problem):
                results[index] = .init(transactionId: item.transactionId, state: .rejected, code: problem.code, detail: problem.detail)
            }
        }
        let verified = await Self.verifyAll(ready.map(\.submission))
        var queued: [(index: Int, submission: Submission)] = []
        for (item, isValid) in zip(ready, verified) {
            if isValid {
                queued.append(item)
            } else {
                results[item.index] = .init(transactionId: item.submission.entryID, state: .rejected, code: "signature_invalid",
                                            detail: "The signature does not verify over the transfer's signing bytes.")
            }
        }
        if !queued.isEmpty {
            let outcomes: [Outcome?]
            do {
                outcomes = try await front.submit(queued.map(\.submission), timeout: syncWait)
            } catch {
                return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
            }
            for (item, outcome) in zip(queued, outcomes) {
                results[item.index] = status(outcome, of: item.submission)
            }
        }
        return .ok(.init(body: .json(.init(results: results.compactMap { $0 }))))
    }

    public func getTransfer(_ input: Operations.GetTransfer.Input) async throws -> Operations.GetTransfer.Output {
        let id = input.path.id
        if let record = try reader.status(kind: .transfer, entryID: id) {
            return .ok(.init(body: .json(.init(
                transactionId: id, state: .init(rawValue: record.state.rawValue)!, code: record.code.name,
                detail: ruleDetail(record.code, ruleID: record.ruleID, version: record.ruleSetVersion, failedLeg: record.failedLeg),
                sequence: record.sequence, blockHeight: record.blockHeight, statusUrl: statusURL(id),
                ruleId: record.ruleID, ruleSetVersion: record.ruleSetVersion, flags: record.flags.isEmpty ? nil : record.flags,
                failedLeg: record.failedLeg, pending: record.pending.map(Self.pendingInfo),
                interRegion: try record.sequence.flatMap { try reader.outboundProgress(transferSequence: $0) }.map(Self.interRegionInfo),
                recordSha3: record.recordSHA3.map { Hex.encode($0) }
            ))))
        }
        if front.board.isInFlight(OutcomeBoard.EntryID(kind: .transfer, entryID: id)) {
            return .ok(.init(body: .json(status(nil, transactionID: id))))
        }
        return .notFound(.init(body: .applicationProblemJson(notFound("transaction \(Echo.quoted(id))"))))
    }

    static func interRegionInfo(_ progress: OutboundProgress) -> Components.Schemas.TransferStatus.InterRegionPayload {
        var info = Components.Schemas.TransferStatus.InterRegionPayload(
            region: progress.counterpart, number: progress.number, state: .init(rawValue: progress.state.rawValue)!
        )
        switch progress.verdict {
        case .credited?: info.code = OutcomeCode.accepted.name
        case .refused(let code, let ruleID, let version)?:
            (info.code, info.ruleId, info.ruleSetVersion) = (code.name, ruleID, version)
        case nil: break
        }
        return info
    }

    public func getReceipt(_ input: Operations.GetReceipt.Input) async throws -> Operations.GetReceipt.Output {
        let id = input.path.id
        switch try reader.receipt(kind: .transfer, entryID: id) {
        case .notFound:
            return .notFound(.init(body: .applicationProblemJson(notFound("transaction \(Echo.quoted(id))"))))
        case .notFinal(let record):
            let rejected = record.state == .rejected
            return .conflict(.init(body: .applicationProblemJson(Problem.make(
                status: 409, code: rejected ? "rejected" : "not_final",
                detail: rejected ? "The transfer was rejected (\(record.code.name)); there is no receipt."
                    : "The transfer is \(record.state.rawValue); its block is not signed yet. Retry shortly.",
                transactionID: id
            ))))
        case .found(let receipt):
            return .ok(.init(body: .json(.init(
                transactionId: id,
                entry: .init(kind: .transfer, signingBytes: Hex.encode(receipt.signingBytes), publicKey: receipt.publicKeyHex,
                             signature: Hex.encode(receipt.signature)),
                leafIndex: receipt.leafIndex, entryCount: receipt.entryCount, merklePath: receipt.path.map { Hex.encode($0) },
                block: Self.block(receipt.block)
            ))))
        }
    }

    static func block(_ block: SealedBlock) -> Components.Schemas.Block {
        .init(height: block.height, header: Hex.encode(block.headerBytes), blockHash: Hex.encode(block.hash),
              signature: block.signature.map { Hex.encode($0) }, state: block.isFinal ? .final : .sealed,
              signers: block.signers.isEmpty ? nil : block.signers,
              signingProof: block.signingProof.isEmpty ? nil : Hex.encode(block.signingProof))
    }
}

/// The number of cores signature verification spreads over.
enum ProcessInfoCores {
    static let count = max(1, Foundation.ProcessInfo.processInfo.activeProcessorCount)
}
