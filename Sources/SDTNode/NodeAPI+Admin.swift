import SDTAPI
import SDTCore
import SDTCrypto
import SDTLedger
import SDTRules

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
                fields: Self.fields(of: body), operatorKeyHex: body.operatorKey
            )
        } catch {
            return bad(error.code?.name ?? "invalid_field", error.description)
        }
        switch action.command {
        case .openAccount(_, _, _, let key), .addKey(_, let key):
            guard Ed25519Group.isValidElement(Hex.decode(key) ?? []) else {
                return bad("invalid_field", "device_key: \(key) is not an Ed25519 public key: it must encode a point of the prime-order "
                           + "subgroup (not the identity, not of small order, canonical)")
            }
        default:
            break
        }
        let attachment: [UInt8]
        switch attachmentFor(action, body) {
        case .success(let bytes): attachment = bytes
        case .failure(let problem): return bad(problem.code?.name ?? "invalid_field", problem.description)
        }
        guard action.region == config.region else { return bad(OutcomeCode.regionMismatch.name, "region: this node serves \(config.region), not \(Echo.quoted(action.region))") }
        guard config.operatorKeys.contains(action.operatorKeyHex) else {
            return .forbidden(.init(body: .applicationProblemJson(Problem.make(
                status: 403, code: OutcomeCode.operatorKeyUnknown.name, detail: OutcomeCode.operatorKeyUnknown.detail, requestID: body.requestId
            ))))
        }
        let roles = config.roles(of: action.operatorKeyHex) ?? []
        guard roles.contains(action.command.requiredRole) else {
            return .forbidden(.init(body: .applicationProblemJson(Problem.make(
                status: 403, code: "operator_role_missing",
                detail: "\(body.action.rawValue) needs an operator key with the \(action.command.requiredRole.rawValue) role; this key has "
                    + (roles.isEmpty ? "none" : roles.sorted().map(\.rawValue).joined(separator: ", "))
                    + " ([operators.roles] in the region config).",
                requestID: body.requestId
            ))))
        }
        guard let signature = Hex.decode(body.signature),
              Ed25519.verify(signature: signature, message: action.signingBytes, publicKey: Hex.decode(action.operatorKeyHex) ?? [])
        else { return bad("signature_invalid", "The signature does not verify over the action's signing bytes with operator_key.") }
        if let problem = try bankMintProblem(action.command) {
            return .unprocessableContent(.init(body: .applicationProblemJson(Problem.make(
                status: 422, code: "bank_credit_mismatch", detail: "mint_usd: \(problem)", requestID: action.requestID
            ))))
        }
        let outcome: Outcome?
        do {
            outcome = try await front.submit([.operatorAction(action, signature: signature, attachment: attachment)], timeout: syncWait)[0]
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

extension NodeAPI {
    /// The JSON body's action fields, as the canonical text the record signs.
    static func fields(of body: Components.Schemas.OperatorAction) -> [OperatorAction.Field: String] {
        let values: [(OperatorAction.Field, String?)] = [
            (.account, body.account), (.jurisdiction, body.jurisdiction), (.kycTier, body.kycTier.map(String.init)),
            (.deviceKey, body.deviceKey), (.token, body.token?.rawValue), (.amount, body.amount.map(String.init)),
            (.bank, body.bank), (.reference, body.reference), (.valueDate, body.valueDate), (.vault, body.vault),
            (.barSerial, body.barSerial), (.refiner, body.refiner), (.grossWeight, body.grossWeight.map(String.init)),
            (.fineness, body.fineness.map(String.init)), (.treasury, body.treasury), (.legalDirective, body.legalDirective),
            (.reason, body.reason), (.rulesVersion, body.rulesVersion.map(String.init)), (.rulesSHA3, body.rulesSha3),
            (.transactionID, body.transactionId), (.decision, body.decision?.rawValue),
        ]
        var fields: [OperatorAction.Field: String] = [:]
        for case let (field, value?) in values { fields[field] = value }
        return fields
    }

    /// What travels unsigned with the action: a rule set's text (checked here, so a bad file gets a
    /// 400 that says what is wrong) or the holder's personal data, encrypted with the node's data key.
    func attachmentFor(_ action: OperatorAction, _ body: Components.Schemas.OperatorAction) -> Result<[UInt8], RecordError> {
        if body.rulesText != nil, action.kind != .setRules { return .failure(RecordError("rules_text: only set_rules carries it")) }
        if body.holder != nil, action.kind != .openAccount { return .failure(RecordError("holder: only open_account carries it")) }
        switch action.command {
        case .setRules(let version, let signedSHA3, _):
            guard let text = body.rulesText else { return .failure(RecordError("rules_text: required for set_rules")) }
            let sha3 = Hex.encode(SHA3.hash256(Array(text.utf8)))
            guard sha3 == signedSHA3 else {
                return .failure(RecordError("rules_sha3: the text hashes to \(sha3), not \(signedSHA3); sign the hash of the exact text",
                                            code: .rulesHashMismatch))
            }
            let rules: RuleSet
            do {
                rules = try RuleSet(text: text)
            } catch {
                return .failure(RecordError("rules_text: \(error.description)", code: .rulesInvalid))
            }
            guard rules.region == config.region, rules.version == version else {
                return .failure(RecordError("rules_text: the file is version \(rules.version) of region \(rules.region); the action says version \(version) of \(config.region)", code: .rulesInvalid))
            }
            return .success(Array(text.utf8))
        case .openAccount(let account, _, _, _):
            guard let holder = body.holder else { return .success([]) }
            do {
                return .success(try HolderData.seal(holder, region: config.region, account: account, key: dataKey))
            } catch {
                return .failure(RecordError("holder: \(error)"))
            }
        default:
            return .success([])
        }
    }
}
