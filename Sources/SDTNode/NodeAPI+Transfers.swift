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

    func check(_ body: Components.Schemas.SignedTransfer) -> Checked {
        let transfer: Transfer
        do {
            transfer = try Transfer(
                region: body.region, transactionID: body.transactionId, from: body.from, to: body.to,
                token: body.token.rawValue, amountMinorUnits: body.amount, publicKeyHex: body.publicKey
            )
        } catch {
            return .refused(Problem.make(status: 400, code: "invalid_field", detail: error.description, transactionID: body.transactionId))
        }
        guard transfer.region == config.region else {
            return .refused(Problem.make(
                status: 400, code: "invalid_field",
                detail: "region: this node serves \(config.region), not '\(transfer.region)'", transactionID: body.transactionId
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

    func status(_ outcome: Outcome?, transactionID: String) -> Components.Schemas.TransferStatus {
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
                         detail: ruleDetail(outcome.code, ruleID: outcome.ruleID, version: outcome.ruleSetVersion),
                         statusUrl: statusURL(transactionID), ruleId: outcome.ruleID, ruleSetVersion: outcome.ruleSetVersion)
        }
    }

    /// The code's sentence, and for a rule's decision the rule, its version and its stated reason.
    func ruleDetail(_ code: OutcomeCode, ruleID: String?, version: Int64?) -> String {
        guard let ruleID, let version else { return code.detail }
        let reason = (try? reader.ruleSet(version: version)).flatMap { record in
            (try? RuleSet(text: record.text))?.rules.first { $0.id == ruleID }?.reason
        }
        let verb = code == .heldForReview ? "Held by" : "Refused by"
        return "\(verb) rule \(ruleID) of rule set version \(version)" + (reason.map { ": \($0)" } ?? ".")
    }

    func statusURL(_ transactionID: String) -> String { "/v1/transactions/\(transactionID)" }

    public func submitTransfer(_ input: Operations.SubmitTransfer.Input) async throws -> Operations.SubmitTransfer.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        let submission: Submission
        switch check(body) {
        case .ready(let checked): submission = checked
        case .refused(let problem): return .badRequest(.init(body: .applicationProblemJson(problem)))
        }
        guard await Self.verifyAll([submission]) == [true] else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "signature_invalid",
                detail: "The signature does not verify over the transfer's signing bytes with public_key.", transactionID: body.transactionId
            ))))
        }
        let outcomes: [OutcomeBoard.Key: Outcome]
        do {
            outcomes = try await front.submit([submission], timeout: syncWait)
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
        }
        let outcome = outcomes[OutcomeBoard.Key(kind: .transfer, entryID: body.transactionId)]
        let answer = status(outcome, transactionID: body.transactionId)
        switch answer.state {
        case .queued, .held: return .accepted(.init(headers: .init(location: statusURL(body.transactionId)), body: .json(answer)))
        case .rejected:
            return .unprocessableContent(.init(body: .applicationProblemJson(Problem.make(
                status: 422, code: answer.code, detail: answer.detail ?? "", transactionID: body.transactionId,
                ruleID: answer.ruleId, ruleSetVersion: answer.ruleSetVersion
            ))))
        case .accepted, .final: return .ok(.init(body: .json(answer)))
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
        var queued: [Submission] = []
        for (item, isValid) in zip(ready, verified) {
            if isValid {
                queued.append(item.submission)
            } else {
                results[item.index] = .init(transactionId: item.submission.entryID, state: .rejected, code: "signature_invalid",
                                            detail: "The signature does not verify over the transfer's signing bytes.")
            }
        }
        var outcomes: [OutcomeBoard.Key: Outcome] = [:]
        if !queued.isEmpty {
            do {
                outcomes = try await front.submit(queued, timeout: syncWait)
            } catch {
                return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
            }
        }
        for (index, item) in body.transfers.enumerated() where results[index] == nil {
            results[index] = status(outcomes[OutcomeBoard.Key(kind: .transfer, entryID: item.transactionId)], transactionID: item.transactionId)
        }
        return .ok(.init(body: .json(.init(results: results.compactMap { $0 }))))
    }

    public func getTransfer(_ input: Operations.GetTransfer.Input) async throws -> Operations.GetTransfer.Output {
        let id = input.path.id
        if let record = try reader.status(kind: .transfer, entryID: id) {
            return .ok(.init(body: .json(.init(
                transactionId: id, state: .init(rawValue: record.state.rawValue)!, code: record.code.name,
                detail: ruleDetail(record.code, ruleID: record.ruleID, version: record.ruleSetVersion),
                sequence: record.sequence, blockHeight: record.blockHeight, statusUrl: statusURL(id),
                ruleId: record.ruleID, ruleSetVersion: record.ruleSetVersion, flags: record.flags.isEmpty ? nil : record.flags
            ))))
        }
        if front.board.isInFlight(.init(kind: .transfer, entryID: id)) {
            return .ok(.init(body: .json(status(nil, transactionID: id))))
        }
        return .notFound(.init(body: .applicationProblemJson(notFound("transaction \(id)"))))
    }

    public func getReceipt(_ input: Operations.GetReceipt.Input) async throws -> Operations.GetReceipt.Output {
        let id = input.path.id
        switch try reader.receipt(kind: .transfer, entryID: id) {
        case .notFound:
            return .notFound(.init(body: .applicationProblemJson(notFound("transaction \(id)"))))
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
              signature: block.signature.map { Hex.encode($0) }, state: block.isFinal ? .final : .sealed)
    }
}

/// The number of cores signature verification spreads over.
enum ProcessInfoCores {
    static let count = max(1, Foundation.ProcessInfo.processInfo.activeProcessorCount)
}
