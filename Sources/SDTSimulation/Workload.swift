import SDTCore
import SDTCrypto
import SDTTesting

/// One request a client makes of the node: one signed entry, or the legs of a linked group.
struct ClientRequest {
    let number: Int
    let what: String
    let submissions: [Submission]
    /// False for a request whose signature the workload broke on purpose: the front must refuse it.
    let signaturesValid: Bool
    /// The last answer each submission got (nil: none yet, or only "queued").
    var answers: [Outcome?]
    /// When the client sends it (again); nil once every submission has its final answer.
    var sendAt: Int64?
}

/// The simulated clients and the operator: holders who sign transfers, pending transfers, posts,
/// voids and linked groups with their device keys, and an operator who mints, freezes, adds and
/// revokes keys and reviews held transfers. Among them, on purpose: replays of earlier records, new
/// records under used ids, expired ids, and broken signatures.
final class Workload {
    static let holders = ["h0", "h1", "h2", "h3", "h4", "h5"]
    let region: String
    /// The region the holders also pay, as `counterpart:holder` (none in a one-region run).
    let counterpart: String?
    let operatorKey: SigningKey
    let issuer: TransactionIDIssuer
    private let random: SeededRandom
    private var keys: [String: [SigningKey]] = [:]
    private var revoked: [String: [SigningKey]] = [:]
    /// Every request made, by number: request n is `requests[n - 1]`.
    private(set) var requests: [ClientRequest] = []
    /// Requests still waiting for an answer, by number, in the order they were made.
    private(set) var open: [Int] = []
    /// Pending transfers the clients made: id, payer, payee, amount.
    private var pendings: [(id: String, from: String, to: String, amount: Int64)] = []
    /// Transfers the node said it holds for review.
    var held: [String] = []
    private var bars: [(serial: String, weight: Int64)] = []
    private var counter = 0

    init(region: String, counterpart: String?, random: SeededRandom, issuer: TransactionIDIssuer) throws {
        self.region = region
        self.counterpart = counterpart
        self.random = random
        self.issuer = issuer
        operatorKey = try SigningKey(seed: random.bytes(32))
        for holder in Self.holders + ["treasury"] { keys[holder] = [try SigningKey(seed: random.bytes(32))] }
    }

    /// The set-up the node starts from: accounts (h5 in a sanctioned jurisdiction), dollars and a bar.
    func setUp() throws -> [Submission] {
        var setUp: [Submission] = []
        for holder in Self.holders + ["treasury"] {
            setUp.append(
                try action(
                    .openAccount,
                    [
                        .account: holder, .jurisdiction: holder == "h5" ? "KP" : "US-TX",
                        .kycTier: "2", .deviceKey: key(holder).publicKeyHex,
                    ]))
        }
        for holder in Self.holders.dropLast() { setUp.append(try mintUSD(holder, 1_000_000)) }
        setUp.append(try mintBar("h0", weight: 1_000_000))
        return setUp
    }

    private func key(_ account: String) -> SigningKey { keys[account]?.last ?? operatorKey }

    private func nextNumber() -> Int {
        counter += 1
        return counter
    }

    private func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[random.uniform(items.count)] }

    /// The next request, made at `now`, or nil for a step in which the clients do nothing new.
    func next(now: Int64) throws -> ClientRequest? {
        let roll = random.uniform(100)
        let made: (String, [Submission], Bool)? =
            switch roll {
            case 0..<34:
                if counterpart != nil, random.chance(perMille: 400) {
                    try transfer(now: now, abroad: true).map { ("transfer abroad", [$0], true) }
                } else {
                    try transfer(now: now).map { ("transfer", [$0], true) }
                }
            case 34..<42: try transfer(now: now, pending: true).map { ("pending", [$0], true) }
            case 42..<50: try resolution(now: now).map { ("resolution", [$0], true) }
            case 50..<55: try linked(now: now).map { ("linked", $0, true) }
            case 55..<64: try operatorAction().map { ("operator", [$0], true) }
            case 64..<74: pick(requests).map { ("replay of \($0.number)", $0.submissions, $0.signaturesValid) }
            case 74..<80: try reusedID(now: now).map { ("reused id", [$0], true) }
            case 80..<84: try transfer(now: now, idExpired: true).map { ("expired id", [$0], true) }
            case 84..<88: try transfer(now: now).map { ("bad signature", [Self.breakSignature($0)], false) }
            default: nil
            }
        guard let (what, submissions, valid) = made else { return nil }
        return add(what: what, submissions: submissions, valid: valid, now: now)
    }

    private func add(what: String, submissions: [Submission], valid: Bool, now: Int64) -> ClientRequest {
        let request = ClientRequest(
            number: requests.count + 1, what: what, submissions: submissions, signaturesValid: valid,
            answers: submissions.map { _ in nil }, sendAt: now)
        requests.append(request)
        open.append(request.number)
        return request
    }

    func request(_ number: Int) -> ClientRequest { requests[number - 1] }

    /// The operator's review of a held transfer, as a request of its own.
    func review(_ transactionID: String, approve: Bool, now: Int64) throws -> ClientRequest? {
        let review = try action(
            .review,
            [
                .transactionID: transactionID, .decision: approve ? "approve" : "reject",
                .reason: "review before the end of the run",
            ])
        return add(what: "review", submissions: [review], valid: true, now: now)
    }

    func record(_ request: ClientRequest) {
        requests[request.number - 1] = request
        if request.sendAt == nil { open.removeAll { $0 == request.number } }
    }

    /// A transfer between holders; `abroad`, to a holder (or no one) of the counterpart region.
    private func transfer(
        now: Int64, pending: Bool = false, idExpired: Bool = false, abroad: Bool = false
    ) throws -> Submission? {
        guard let from = pick(Self.holders.dropLast()), var to = pick(Self.holders.filter({ $0 != from }) + ["nobody"])
        else { return nil }
        if abroad, let counterpart { to = "\(counterpart):\(to)" }
        let gold = from == "h0" && random.chance(perMille: 300)
        let amount = Int64(1 + random.uniform(gold ? 300_000 : 80_000))
        let expiry = idExpired ? now - 1 : now + 60_000
        let signer = random.chance(perMille: 30) ? (revoked[from]?.last ?? key(from)) : key(from)
        let transfer = try Transfer(
            region: region, transactionID: issuer.issue(account: from, expiresAtMilliseconds: expiry), from: from,
            to: to,
            token: gold ? "GOLD" : "USD", amountMinorUnits: amount, publicKeyHex: signer.publicKeyHex,
            pendingTimeoutSeconds: pending ? Int64(1 + random.uniform(30)) : nil
        )
        if pending { pendings.append((transfer.transactionID, from, to, amount)) }
        return .transfer(transfer, signature: signer.sign(transfer.signingBytes))
    }

    private func resolution(now: Int64) throws -> Submission? {
        guard let pending = pick(pendings) else { return nil }
        let post = random.chance(perMille: 600)
        let account = post ? pending.from : pending.to
        guard account != "nobody" else { return nil }
        let signer = key(account)
        let resolution = try PendingResolution(
            region: region, transactionID: issuer.issue(account: account, expiresAtMilliseconds: now + 60_000),
            pendingID: pending.id, account: account,
            postAmountMinorUnits: post ? Int64(1 + random.uniform(Int(pending.amount))) : nil,
            publicKeyHex: signer.publicKeyHex
        )
        return .resolution(resolution, signature: signer.sign(resolution.signingBytes))
    }

    private func linked(now: Int64) throws -> [Submission]? {
        guard let first = pick(Self.holders.dropLast()),
            let second = pick(Self.holders.dropLast().filter({ $0 != first }))
        else {
            return nil
        }
        let linkID = "link-\(nextNumber())"
        var legs: [Submission] = []
        for (index, (from, to)) in [(first, second), (second, first)].enumerated() {
            let transfer = try Transfer(
                region: region, transactionID: issuer.issue(account: from, expiresAtMilliseconds: now + 60_000),
                from: from, to: to,
                token: "USD", amountMinorUnits: Int64(1 + random.uniform(60_000)), publicKeyHex: key(from).publicKeyHex,
                link: Transfer.Link(id: linkID, index: index + 1, count: 2)
            )
            legs.append(.transfer(transfer, signature: key(from).sign(transfer.signingBytes)))
        }
        return legs
    }

    private func reusedID(now: Int64) throws -> Submission? {
        let earlier = requests.compactMap { request -> Transfer? in
            guard case .transfer(let transfer, _)? = request.submissions.first, transfer.link == nil else { return nil }
            return transfer
        }
        guard let original = pick(earlier), original.from != "nobody" else { return nil }
        let signer = key(original.from)
        let transfer = try Transfer(
            region: region, transactionID: original.transactionID, from: original.from, to: original.to,
            token: original.token.rawValue,
            amountMinorUnits: original.amount.minorUnits + 1, publicKeyHex: signer.publicKeyHex
        )
        return .transfer(transfer, signature: signer.sign(transfer.signingBytes))
    }

    private func operatorAction() throws -> Submission? {
        guard let holder = pick(Array(Self.holders.dropLast().dropFirst())) else { return nil }
        switch random.uniform(9) {
        case 0: return try mintUSD(holder, Int64(1_000 + random.uniform(100_000)))
        case 1: return try action(.freeze, [.account: holder, .legalDirective: "Case SIM", .reason: "simulated order"])
        case 2: return try action(.unfreeze, [.account: holder, .legalDirective: "Case SIM", .reason: "order lifted"])
        case 3:
            let added = try SigningKey(seed: random.bytes(32))
            keys[holder, default: []].append(added)
            return try action(.addKey, [.account: holder, .deviceKey: added.publicKeyHex])
        case 4:
            guard let keys = keys[holder], keys.count > 1 else { return nil }
            let old = keys[0]
            self.keys[holder]?.removeFirst()
            revoked[holder, default: []].append(old)
            return try action(.revokeKey, [.account: holder, .deviceKey: old.publicKeyHex])
        case 5:
            guard let id = pick(held) else { return nil }
            return try action(
                .review,
                [
                    .transactionID: id, .decision: random.chance(perMille: 700) ? "approve" : "reject",
                    .reason: "simulated review",
                ])
        case 6:
            return try action(
                .clawback,
                [
                    .account: holder, .token: "USD", .amount: String(1 + random.uniform(5_000)),
                    .treasury: "treasury", .legalDirective: "Case SIM", .reason: "simulated judgment",
                ])
        case 7: return try mintBar(holder, weight: Int64(1_000 + random.uniform(1_000_000)))
        default:
            guard let bar = pick(bars) else { return nil }
            return try action(.redeemGold, [.account: "h0", .amount: String(bar.weight), .barSerial: bar.serial])
        }
    }

    private func mintUSD(_ holder: String, _ amount: Int64) throws -> Submission {
        try action(
            .mintUSD,
            [
                .account: holder, .amount: String(amount), .bank: "Sim Bank", .reference: "DEP-\(nextNumber())",
                .valueDate: "2026-12-01",
            ])
    }

    private func mintBar(_ holder: String, weight: Int64) throws -> Submission {
        let serial = "BAR-\(nextNumber())"
        bars.append((serial, weight))
        return try action(
            .mintGold,
            [
                .account: holder, .amount: String(weight), .vault: "Sim Vault", .barSerial: serial,
                .refiner: "Sim Refiner", .grossWeight: String(weight), .fineness: "10000",
            ])
    }

    private func action(_ kind: OperatorAction.Kind, _ fields: [OperatorAction.Field: String]) throws -> Submission {
        let action = try OperatorAction(
            region: region, requestID: "op-\(nextNumber())", kind: kind, fields: fields,
            operatorKeyHex: operatorKey.publicKeyHex)
        return .operatorAction(action, signature: operatorKey.sign(action.signingBytes))
    }

    static func breakSignature(_ submission: Submission) -> Submission {
        guard case .transfer(let transfer, var signature) = submission else { return submission }
        signature[0] ^= 0x01
        return .transfer(transfer, signature: signature)
    }
}
