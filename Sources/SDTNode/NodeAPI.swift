import Foundation
import Logging
import OpenAPIRuntime
import SDTAPI
import SDTCore
import SDTCrypto
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

    public init(
        config: RegionConfig, front: QueueFront, reader: LedgerReader, issuer: TransactionIDIssuer,
        blockPublicKey: [UInt8], clock: any WallClock, contract: String, logger: Logger, dataKey: [UInt8]
    ) {
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
        do {
            let head = try reader.head()
            return .ok(.init(body: .json(.init(
                status: .ok, region: config.region, appliedSequence: head.appliedSequence, sealedHeight: head.sealedHeight,
                finalHeight: head.finalHeight
            ))))
        } catch {
            return .serviceUnavailable(.init(body: .applicationProblemJson(unavailable(error))))
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
            transactionIdLifetimeSeconds: config.limits.transactionIDLifetimeSeconds
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
        logger.warning("unavailable: \(error)")
        return Problem.make(status: 503, code: "unavailable", detail: "The work queue or ledger cannot take work now; retry shortly.")
    }
}
