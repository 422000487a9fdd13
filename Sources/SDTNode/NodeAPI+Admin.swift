import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger

extension NodeAPI {
    public func submitOperatorAction(_ input: Operations.SubmitOperatorAction.Input) async throws -> Operations.SubmitOperatorAction.Output {
        guard case .json(let body) = input.body else { preconditionFailure("the contract has one body type") }
        func bad(_ code: String, _ detail: String) -> Operations.SubmitOperatorAction.Output {
            .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: code, detail: detail, requestID: body.requestId))))
        }
        let action: OperatorAction
        do {
            action = try OperatorAction(
                region: body.region, requestID: body.requestId, kind: OperatorAction.Kind(rawValue: body.action.rawValue)!,
                account: body.account,
                details: .init(jurisdiction: body.jurisdiction, kycTier: body.kycTier, deviceKeyHex: body.deviceKey,
                               token: body.token?.rawValue, amountMinorUnits: body.amount, reserveReference: body.reserveReference),
                operatorKeyHex: body.operatorKey
            )
        } catch {
            return bad("invalid_field", error.description)
        }
        guard action.region == config.region else { return bad("invalid_field", "region: this node serves \(config.region), not '\(action.region)'") }
        guard config.operatorKeys.contains(action.operatorKeyHex) else {
            return .forbidden(.init(body: .applicationProblemJson(Problem.make(
                status: 403, code: OutcomeCode.operatorKeyUnknown.name, detail: OutcomeCode.operatorKeyUnknown.detail, requestID: body.requestId
            ))))
        }
        guard let signature = Hex.decode(body.signature),
              Ed25519.verify(signature: signature, message: action.signingBytes, publicKey: Hex.decode(action.operatorKeyHex) ?? [])
        else { return bad("signature_invalid", "The signature does not verify over the action's signing bytes with operator_key.") }
        let outcome: Outcome?
        do {
            outcome = try await front.submit([.operatorAction(action, signature: signature)], timeout: syncWait)[
                OutcomeBoard.Key(kind: .operatorAction, entryID: action.requestID)
            ]
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
        }
        guard let outcome else {
            return .accepted(.init(body: .json(.init(requestId: action.requestID, state: .queued, code: "queued",
                                                     detail: "Queued; submit the same signed action again to learn its outcome."))))
        }
        guard outcome.code == .accepted else {
            return .unprocessableContent(.init(body: .applicationProblemJson(Problem.make(
                status: 422, code: outcome.code.name, detail: outcome.code.detail, requestID: action.requestID
            ))))
        }
        return .ok(.init(body: .json(.init(requestId: action.requestID, state: .accepted, code: "accepted",
                                           detail: outcome.code.detail, sequence: outcome.sequence))))
    }
}
