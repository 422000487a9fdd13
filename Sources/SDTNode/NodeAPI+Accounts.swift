import SDTAPI
import SDTCore
import SDTLedger

extension NodeAPI {
    static func balances(_ balances: [Token: Int64], reserved: [Token: Int64] = [:], tokens: [Token]) -> [Components.Schemas.TokenBalance] {
        tokens.sorted().map { token in
            let amount = balances[token] ?? 0
            return .init(token: .init(rawValue: token.rawValue)!, amount: amount, display: Amount.display(amount, token),
                         reserved: reserved[token])
        }
    }

    /// A request the current reader may not make: 401 without a signed reader, 403 for a holder asking
    /// about another account (whether or not it exists: no reader learns which accounts exist).
    enum ReadRefusalError: Error {
        case unauthenticated(Components.Schemas.Problem)
        case forbidden(Components.Schemas.Problem)
    }

    /// The level at which the current reader sees `account`, or why it may not read it.
    func access(to account: String) -> Result<ReadLevel, ReadRefusalError> {
        if let level = Reader.current.access(to: account) { return .success(level) }
        guard Reader.current != .public else {
            return .failure(.unauthenticated(Problem.make(
                status: 401, code: "authentication_required",
                detail: "Reading an account needs a signed request: the holder's device key or an operator key (Authorization: SDT-Signature)."
            )))
        }
        return .failure(.forbidden(Problem.make(status: 403, code: "forbidden", detail: "A device key reads its own account only.")))
    }

    public func getAccount(_ input: Operations.GetAccount.Input) async throws -> Operations.GetAccount.Output {
        switch access(to: input.path.id) {
        case .success: break
        case .failure(.unauthenticated(let problem)):
            return .unauthorized(.init(headers: .init(wwwAuthenticate: SignedRequest.scheme), body: .applicationProblemJson(problem)))
        case .failure(.forbidden(let problem)): return .forbidden(.init(body: .applicationProblemJson(problem)))
        }
        guard let account = try reader.account(input.path.id) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("account \(Echo.quoted(input.path.id))"))))
        }
        return .ok(.init(body: .json(.init(
            id: account.id, jurisdiction: account.jurisdiction, kycTier: account.kycTier, frozen: account.frozen,
            deviceKeys: account.deviceKeys.map { .init(publicKey: $0.publicKeyHex, state: $0.revoked ? .revoked : .active) },
            balances: Self.balances(account.balances, reserved: account.reserved, tokens: config.tokens)
        ))))
    }

    public func getBalance(_ input: Operations.GetBalance.Input) async throws -> Operations.GetBalance.Output {
        switch access(to: input.path.id) {
        case .success: break
        case .failure(.unauthenticated(let problem)):
            return .unauthorized(.init(headers: .init(wwwAuthenticate: SignedRequest.scheme), body: .applicationProblemJson(problem)))
        case .failure(.forbidden(let problem)): return .forbidden(.init(body: .applicationProblemJson(problem)))
        }
        guard let account = try reader.account(input.path.id) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("account \(Echo.quoted(input.path.id))"))))
        }
        return .ok(.init(body: .json(.init(
            account: account.id, balances: Self.balances(account.balances, reserved: account.reserved, tokens: config.tokens)
        ))))
    }

    public func getHistory(_ input: Operations.GetHistory.Input) async throws -> Operations.GetHistory.Output {
        let level: ReadLevel
        switch access(to: input.path.id) {
        case .success(let granted): level = granted
        case .failure(.unauthenticated(let problem)):
            return .unauthorized(.init(headers: .init(wwwAuthenticate: SignedRequest.scheme), body: .applicationProblemJson(problem)))
        case .failure(.forbidden(let problem)): return .forbidden(.init(body: .applicationProblemJson(problem)))
        }
        let limit = input.query.limit ?? 100
        let after = input.query.after ?? 0
        guard (1...500).contains(limit), after >= 0 else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "invalid_field", detail: "limit must be 1...500 and after must be >= 0"
            ))))
        }
        guard try reader.account(input.path.id) != nil else {
            return .notFound(.init(body: .applicationProblemJson(notFound("account \(Echo.quoted(input.path.id))"))))
        }
        let postings = try reader.history(input.path.id, after: after, limit: limit)
        let events = try reader.events(input.path.id, after: after, limit: limit)
        // A full page of either list ends the page where that list stops, so the next page loses neither.
        let ends = [postings.count == limit ? postings.last?.sequence : nil, events.count == limit ? events.last?.sequence : nil]
        let nextAfter = ends.compactMap { $0 }.min()
        return .ok(.init(body: .json(.init(
            account: input.path.id,
            postings: postings.filter { nextAfter == nil || $0.sequence <= nextAfter! }.map {
                .init(sequence: $0.sequence, entryId: $0.entryID, kind: .init(rawValue: $0.kind.rawValue)!,
                      token: .init(rawValue: $0.token.rawValue)!, amount: $0.amount, counterparty: $0.counterparty,
                      blockHeight: $0.blockHeight)
            },
            // The legal directive and the reason behind an action are compliance data.
            events: events.filter { nextAfter == nil || $0.sequence <= nextAfter! }.map {
                .init(sequence: $0.sequence, requestId: $0.requestID, action: $0.action,
                      legalDirective: level >= .compliance ? $0.legalDirective : nil, reason: level >= .compliance ? $0.reason : nil,
                      blockHeight: $0.blockHeight)
            },
            nextAfter: nextAfter
        ))))
    }

    public func getLedgerHead(_ input: Operations.GetLedgerHead.Input) async throws -> Operations.GetLedgerHead.Output {
        let head = try reader.head()
        return .ok(.init(body: .json(.init(
            region: config.region, appliedSequence: head.appliedSequence, sealedHeight: head.sealedHeight,
            sealedSequence: head.sealedSequence, finalHeight: head.finalHeight, finalSequence: head.finalSequence,
            supply: Self.balances(head.supply, tokens: config.tokens)
        ))))
    }

    public func getBlock(_ input: Operations.GetBlock.Input) async throws -> Operations.GetBlock.Output {
        guard input.path.height >= 1 else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(status: 400, code: "invalid_field", detail: "height must be >= 1"))))
        }
        guard let block = try reader.block(height: input.path.height) else {
            return .notFound(.init(body: .applicationProblemJson(notFound("block \(input.path.height)"))))
        }
        return .ok(.init(body: .json(Self.block(block))))
    }
}
