import SDTAPI
import SDTCore
import SDTLedger

/// Posts and voids of pending transfers, and linked groups of transfers.
extension NodeAPI {
    static func pendingInfo(_ record: PendingRecord) -> Components.Schemas.PendingInfo {
        .init(state: .init(rawValue: record.state) ?? .pending, token: .init(rawValue: record.token.rawValue)!, amount: record.amount, postedAmount: record.postedAmount,
              expiresAtMs: record.expiresAtMilliseconds, resolvedSequence: record.resolvedSequence)
    }

    public func submitResolution(_ input: Operations.SubmitResolution.Input) async throws -> Operations.SubmitResolution.Output {
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

    public func submitLinkedTransfers(_ input: Operations.SubmitLinkedTransfers.Input) async throws -> Operations.SubmitLinkedTransfers.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        func refuse(_ code: String, _ detail: String, _ transactionID: String? = nil) -> Operations.SubmitLinkedTransfers.Output {
            .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: code, detail: detail, transactionID: transactionID))))
        }
        let legs = body.transfers
        guard (2...Transfer.linkLegsMax).contains(legs.count) else {
            return refuse("invalid_field", "transfers: a linked group has 2...\(Transfer.linkLegsMax) legs; this one has \(legs.count)")
        }
        var submissions: [Submission] = []
        for (position, leg) in legs.enumerated() {
            switch check(leg, linked: true) {
            case .refused(let problem):
                return refuse(problem.code, "transfers[\(position)]: \(problem.detail)", leg.transactionId)
            case .ready(let submission):
                guard let link = submission.link, link.id == legs[0].linkId, link.count == legs.count, link.index == position + 1 else {
                    return refuse("invalid_field", """
                        transfers[\(position)]: legs must share one link_id, have legs = \(legs.count), and come in order \
                        (this one is leg \(leg.leg ?? 0) of \(leg.legs ?? 0) of \(leg.linkId ?? "?"))
                        """, leg.transactionId)
                }
                submissions.append(submission)
            }
        }
        guard Set(legs.map(\.transactionId)).count == legs.count else {
            return refuse("invalid_field", "transfers: each leg needs its own transaction_id")
        }
        let verified = await Self.verifyAll(submissions)
        if let bad = verified.firstIndex(of: false) {
            return refuse("signature_invalid", "transfers[\(bad)]: the signature does not verify over the leg's signing bytes", legs[bad].transactionId)
        }
        let decided: [Outcome?]
        do {
            decided = try await front.submit(submissions, timeout: syncWait)
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
        }
        let results = zip(submissions, decided).map { status($1, of: $0) }
        let linkID = legs[0].linkId ?? ""
        if decided.allSatisfy({ $0?.code == .accepted }) {
            return .ok(.init(body: .json(.init(linkId: linkID, state: .accepted, results: results))))
        }
        // The leg that failed names the group's problem; when all legs share one code, that code does.
        guard let failed = decided.compactMap({ $0 }).first(where: { $0.code != .accepted && $0.code != .linkedLegFailed }) else {
            return .accepted(.init(body: .json(.init(linkId: linkID, state: .queued, results: results))))
        }
        let named = decided.contains { $0?.code == .linkedLegFailed }
        let detail = (named ? "Leg \(failed.entryID) failed, so no leg was applied: " : "No leg was applied: ")
            + ruleDetail(failed.code, ruleID: failed.ruleID, version: failed.ruleSetVersion)
        var problem = Problem.make(status: 422, code: failed.code.name, detail: detail, transactionID: failed.entryID,
                                   ruleID: failed.ruleID, ruleSetVersion: failed.ruleSetVersion)
        problem.failedLeg = named ? failed.entryID : nil
        return .unprocessableContent(.init(body: .applicationProblemJson(problem)))
    }
}
