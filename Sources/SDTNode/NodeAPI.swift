import Foundation
import Logging
import OpenAPIRuntime
import SDTAPI
import SDTBank
import SDTCore
import SDTCrypto
import SDTCustody
import SDTLedger

/// The HTTP contract's handler: checks schema and signatures, hands entries to the queue, and answers
/// reads from the ledger. Business rejections arrive as outcome codes and become 422 problems here.
public struct NodeAPI: APIProtocol {
    let config: RegionConfig
    let front: QueueFront
    let reader: LedgerReader
    let issuer: TransactionIDIssuer
    let blockPublicKey: [UInt8]
    let clock: any WallClock
    let contract: String
    let logger: Logger
    /// Encrypts holders' personal data before it is queued.
    let dataKey: [UInt8]
    /// The registry and this node's sealing key, when the region pays and is paid by others.
    let parties: InterRegionParties?
    /// The custodian bank's desk, when the region config has `[bank]`.
    let bank: BankDesk?
    /// The custody quorum's names and public shares, from its transcript, when blocks are signed by one.
    let roster: CustodianRoster?

    public init(
        config: RegionConfig, front: QueueFront, reader: LedgerReader, issuer: TransactionIDIssuer,
        blockPublicKey: [UInt8], clock: any WallClock, contract: String, logger: Logger, dataKey: [UInt8],
        parties: InterRegionParties? = nil, bank: BankDesk? = nil, roster: CustodianRoster? = nil
    ) {
        self.parties = parties
        self.bank = bank
        self.roster = roster
        self.dataKey = dataKey
        self.config = config
        self.front = front
        self.reader = reader
        self.issuer = issuer
        self.blockPublicKey = blockPublicKey
        self.clock = clock
        self.contract = contract
        self.logger = logger
    }

    var syncWait: Duration { .milliseconds(config.limits.syncWaitMilliseconds) }

    public func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        typealias Health = Components.Schemas.Health
        var problems: [String] = []
        var unavailable = false
        let head: LedgerHead?
        do {
            head = try reader.head()
        } catch {
            head = nil
            unavailable = true
            problems.append("the ledger cannot be read: \(error)")
        }
        let now = clock.nowMilliseconds()
        let heard = front.applier.heard
        let silence = heard.map { now - $0.atMilliseconds }
        let applierReachable = silence.map { $0 <= Heartbeat.silenceMilliseconds } ?? false
        if !applierReachable {
            unavailable = true
            problems.append(silence.map { "the applier was last heard \($0 / 1_000) s ago" } ?? "the applier has not been heard since this front started")
        }
        var custody = Health.CustodyPayload(kind: config.custody == nil ? .singleKey : .quorum, custodians: [])
        if let quorum = heard?.custody {
            custody.threshold = quorum.threshold
            for custodian in quorum.custodians {
                let name = "custodian \(custodian.identifier) (\(custodian.name))"
                if !custodian.reachable { problems.append("\(name) does not answer") }
                if case .badShare? = custodian.lastProblem?.kind {
                    problems.append("\(name) sent a signature share that does not verify: a fault or an attack")
                }
                custody.custodians.append(.init(
                    identifier: custodian.identifier, name: custodian.name, reachable: custodian.reachable,
                    lastProblem: custodian.lastProblem.map { .init(round: $0.round, kind: Self.kind($0.kind), detail: $0.description) }
                ))
            }
            if !quorum.canSign { problems.append("fewer than \(quorum.threshold) custodians answer: no block can be signed") }
        }
        let health = Health(
            status: unavailable ? .unavailable : problems.isEmpty ? .ok : .degraded, region: config.region, problems: problems,
            appliedSequence: head?.appliedSequence, sealedHeight: head?.sealedHeight, finalHeight: head?.finalHeight,
            blocksWaiting: head.map { $0.sealedHeight - $0.finalHeight },
            applier: .init(reachable: applierReachable, lastHeardMillisecondsAgo: silence), custody: custody
        )
        return unavailable ? .serviceUnavailable(.init(body: .json(health))) : .ok(.init(body: .json(health)))
    }

    private static func kind(_ kind: CustodianProblem.Kind) -> Components.Schemas.Health.CustodyPayload.CustodiansPayloadPayload
        .LastProblemPayload.KindPayload {
        switch kind {
        case .noAnswer: .noAnswer
        case .refused: .refused
        case .badShare: .badShare
        case .malformed: .malformed
        }
    }

    public func getContract(_ input: Operations.GetContract.Input) async throws -> Operations.GetContract.Output {
        .ok(.init(body: .yaml(HTTPBody(contract))))
    }

    public func getRegion(_ input: Operations.GetRegion.Input) async throws -> Operations.GetRegion.Output {
        .ok(.init(body: .json(.init(
            region: config.region, name: config.name,
            tokens: config.tokens.map { .init(token: .init(rawValue: $0.rawValue)!, minorUnit: $0.minorUnitName, reserveRecord: $0.reserveRecordName) },
            blockPublicKey: Hex.encode(blockPublicKey), operatorKeys: config.operatorKeys,
            transactionIdLifetimeSeconds: config.limits.transactionIDLifetimeSeconds, bank: config.bank?.name
        ))))
    }

    public func issueTransactionIDs(_ input: Operations.IssueTransactionIDs.Input) async throws -> Operations.IssueTransactionIDs.Output {
        guard case .json(let request) = input.body else { preconditionFailure("the contract has one body type") }
        let count = request.count ?? 1
        guard (1...config.limits.transactionIDsPerRequestMax).contains(count) else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "invalid_field", detail: "count: must be 1...\(config.limits.transactionIDsPerRequestMax)"
            ))))
        }
        guard Identifier.isValidAccountID(request.account[...]) else {
            return .badRequest(.init(body: .applicationProblemJson(Problem.make(
                status: 400, code: "invalid_field", detail: "account: \(Echo.quoted(request.account)) is not a valid account id"
            ))))
        }
        guard try reader.account(request.account) != nil else {
            return .notFound(.init(body: .applicationProblemJson(notFound("account \(request.account)"))))
        }
        let expiry = clock.nowMilliseconds() + Int64(config.limits.transactionIDLifetimeSeconds) * 1000
        let ids = (0..<count).map { _ in issuer.issue(account: request.account, expiresAtMilliseconds: expiry) }
        return .ok(.init(body: .json(.init(account: request.account, expiresAtMs: expiry, transactionIds: ids))))
    }

    func notFound(_ what: String) -> Components.Schemas.Problem {
        Problem.make(status: 404, code: "not_found", detail: "No \(what) on this node.")
    }

    func unavailable(_ error: any Error) -> Components.Schemas.Problem {
        let silence = front.applier.heard.map { clock.nowMilliseconds() - $0.atMilliseconds }
        let applier = silence.map { "the applier was last heard \($0) ms ago" } ?? "the applier has not been heard"
        logger.warning("unavailable: \(error); \(applier)")
        return Problem.make(status: 503, code: "unavailable", detail: "The work queue or ledger cannot take work now; retry shortly.")
    }
}

/// Who may sign a region's blocks: each custodian's name and public share from the ceremony transcript,
/// so that the recorded signers of a block can be checked against their shares before they are shown.
public struct CustodianRoster: Sendable {
    public let names: [Int: String]
    public let publicShares: [Int: [UInt8]]
    public let groupPublicKey: [UInt8]
    public let threshold: Int

    public init(transcript: CeremonyTranscript) {
        threshold = transcript.threshold
        names = Dictionary(uniqueKeysWithValues: transcript.custodians.map { ($0.identifier, $0.name) })
        publicShares = Dictionary(
            uniqueKeysWithValues: transcript.custodians.compactMap { custodian in
                Hex.decode(custodian.publicShare).map { (custodian.identifier, $0) }
            })
        groupPublicKey = transcript.groupPublicKeyBytes
    }

    /// The signers of `block` its proof verifies, or nil when it records none or the proof fails.
    public func provenSigners(of block: SealedBlock) -> [Int]? {
        guard !block.signers.isEmpty, let signature = block.signature,
            let proven = QuorumSignature.verifiedSigners(
                proof: block.signingProof, signature: signature, threshold: threshold, publicShares: publicShares,
                groupPublicKey: groupPublicKey,
                message: block.headerBytes),
            proven == block.signers
        else { return nil }
        return proven
    }
}
