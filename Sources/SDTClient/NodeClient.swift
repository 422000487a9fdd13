import Foundation
import OpenAPIRuntime
import OpenAPIURLSession
import SDTAPI
import SDTCore
import SDTCrypto
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A failure answered by the node (with its problem body) or of the connection to it.
public struct NodeClientError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let problem: Components.Schemas.Problem?
    public let message: String

    public var description: String {
        guard let problem else { return message }
        return "\(problem.status) \(problem.code): \(problem.detail)"
    }
}

/// Typed calls to a region node, over the client generated from the contract.
public struct NodeClient: Sendable {
    public let client: Client
    public let baseURL: String

    /// `reader`: the key that signs requests, for reads of accounts (a holder's device key for its own,
    /// an operator key per its roles); without one, only public data can be read.
    public init(baseURL: String, reader: SigningKey? = nil) throws {
        guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https" else {
            throw NodeClientError(status: 0, problem: nil, message: "'\(baseURL)' is not an http(s) URL such as http://127.0.0.1:8401")
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        configuration.httpMaximumConnectionsPerHost = 16
        client = Client(
            serverURL: url, transport: URLSessionTransport(configuration: .init(session: URLSession(configuration: configuration))),
            middlewares: reader.map { [SignedReads(key: $0, clock: SystemClock())] } ?? []
        )
        self.baseURL = baseURL
    }

    /// Finds the problem body inside any error case of a generated output, or describes the case.
    public static func failure(_ output: Any) -> NodeClientError {
        var status = 0
        func search(_ value: Any) -> Components.Schemas.Problem? {
            if let problem = value as? Components.Schemas.Problem { return problem }
            for child in Mirror(reflecting: value).children {
                if child.label == "statusCode", let code = child.value as? Int { status = code }
                if let found = search(child.value) { return found }
            }
            return nil
        }
        let problem = search(output)
        return NodeClientError(status: problem?.status ?? status, problem: problem, message: "unexpected answer: \(output)")
    }

    public func region() async throws -> Components.Schemas.Region {
        let output = try await client.getRegion(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func health() async throws -> Components.Schemas.Health {
        let output = try await client.getHealth(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func transactionIDs(account: String, count: Int = 1) async throws -> Components.Schemas.TransactionIDList {
        let output = try await client.issueTransactionIDs(.init(body: .json(.init(account: account, count: count))))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public enum SubmitResult: Sendable {
        case accepted(Components.Schemas.TransferStatus)
        case queued(Components.Schemas.TransferStatus)
        case rejected(Components.Schemas.Problem)
    }

    /// Submits one transfer. A business rejection (422) is a result; bad input (4xx) and
    /// unavailability (503) throw.
    public func submit(_ transfer: Components.Schemas.SignedTransfer) async throws -> SubmitResult {
        let output = try await client.submitTransfer(.init(body: .json(transfer)))
        switch output {
        case .ok(let ok): return .accepted(try ok.body.json)
        case .accepted(let queued): return .queued(try queued.body.json)
        case .unprocessableContent(let rejected): return .rejected(try rejected.body.applicationProblemJson)
        default: throw Self.failure(output)
        }
    }

    /// Posts or voids a pending transfer; answered like a transfer.
    public func submit(_ resolution: Components.Schemas.SignedResolution) async throws -> SubmitResult {
        let output = try await client.submitResolution(.init(body: .json(resolution)))
        switch output {
        case .ok(let ok): return .accepted(try ok.body.json)
        case .accepted(let queued): return .queued(try queued.body.json)
        case .unprocessableContent(let rejected): return .rejected(try rejected.body.applicationProblemJson)
        default: throw Self.failure(output)
        }
    }

    public enum LinkedResult: Sendable {
        case accepted(Components.Schemas.LinkedResult)
        case queued(Components.Schemas.LinkedResult)
        /// No leg was applied; `failed_leg` names the leg that failed.
        case rejected(Components.Schemas.Problem)
    }

    /// Submits the legs of one linked group, in order.
    public func submitLinked(_ legs: [Components.Schemas.SignedTransfer]) async throws -> LinkedResult {
        let output = try await client.submitLinkedTransfers(.init(body: .json(.init(transfers: legs))))
        switch output {
        case .ok(let ok): return .accepted(try ok.body.json)
        case .accepted(let queued): return .queued(try queued.body.json)
        case .unprocessableContent(let rejected): return .rejected(try rejected.body.applicationProblemJson)
        default: throw Self.failure(output)
        }
    }

    public func submitBatch(_ transfers: [Components.Schemas.SignedTransfer]) async throws -> [Components.Schemas.TransferStatus] {
        let output = try await client.submitTransferBatch(.init(body: .json(.init(transfers: transfers))))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json.results
    }

    public func status(_ transactionID: String) async throws -> Components.Schemas.TransferStatus {
        let output = try await client.getTransfer(.init(path: .init(id: transactionID)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func receipt(_ transactionID: String) async throws -> Components.Schemas.Receipt {
        let output = try await client.getReceipt(.init(path: .init(id: transactionID)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func account(_ id: String) async throws -> Components.Schemas.Account {
        let output = try await client.getAccount(.init(path: .init(id: id)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func history(_ id: String, after: Int64? = nil, limit: Int? = nil) async throws -> Components.Schemas.History {
        let output = try await client.getHistory(.init(path: .init(id: id), query: .init(after: after, limit: limit)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func head() async throws -> Components.Schemas.LedgerHead {
        let output = try await client.getLedgerHead(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func block(_ height: Int64) async throws -> Components.Schemas.Block {
        let output = try await client.getBlock(.init(path: .init(height: height)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func reserves() async throws -> Components.Schemas.Reserves {
        let output = try await client.getReserves(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    /// Per counterpart region and token: in flight, claims, obligations and the links' message counts.
    public func positions() async throws -> Components.Schemas.InterRegionPositions {
        let output = try await client.getInterRegionPositions(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func bars(after: String? = nil, limit: Int? = nil, includeReleased: Bool? = nil) async throws -> Components.Schemas.BarList {
        let output = try await client.listBars(.init(query: .init(after: after, limit: limit, includeReleased: includeReleased)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func bar(_ serial: String) async throws -> Components.Schemas.BarList {
        let output = try await client.getBar(.init(path: .init(serial: serial)))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    /// The rule set in force, or the given version.
    public func rules(version: Int64? = nil) async throws -> Components.Schemas.RuleSetInfo {
        if let version {
            let output = try await client.getRuleSetVersion(.init(path: .init(version: version)))
            guard case .ok(let ok) = output else { throw Self.failure(output) }
            return try ok.body.json
        }
        let output = try await client.getRules(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func dryRun(from: String, to: String, token: Token, amountMinorUnits: Int64) async throws -> Components.Schemas.DryRunResult {
        let output = try await client.dryRunTransfer(.init(body: .json(.init(
            from: from, to: to, token: .init(rawValue: token.rawValue)!, amount: amountMinorUnits
        ))))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func statistics(token: Token, period: String, jurisdiction: String? = nil) async throws -> Components.Schemas.TransferStatistics {
        let output = try await client.getTransferStatistics(.init(query: .init(
            token: .init(rawValue: token.rawValue)!, period: period, jurisdiction: jurisdiction
        )))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    /// Submits an operator action; a rejection (422) or refusal (400/403) throws with the problem.
    public func operatorAction(_ action: Components.Schemas.OperatorAction) async throws -> Components.Schemas.OperatorResult {
        let output = try await client.submitOperatorAction(.init(body: .json(action)))
        switch output {
        case .ok(let ok): return try ok.body.json
        case .accepted(let queued): return try queued.body.json
        default: throw Self.failure(output)
        }
    }

    /// Sends a bank message (camt.054 or pacs.002) to the bank desk; the signed query carries its SHA3-256.
    public func importBankMessage(_ document: [UInt8]) async throws -> Components.Schemas.BankImport {
        let output = try await client.importBankMessage(.init(
            query: .init(sha3: Hex.encode(SHA3.hash256(document))), body: .xml(HTTPBody(document))))
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func bankCredits() async throws -> Components.Schemas.BankCredits {
        let output = try await client.listBankCredits(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func bankPayments() async throws -> Components.Schemas.BankPayments {
        let output = try await client.listBankPayments(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    /// Has the node write the pacs.008 of every redemption not yet paid; returns those awaiting a status.
    public func exportBankPayments() async throws -> Components.Schemas.BankExport {
        let output = try await client.exportBankPayments(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    public func bankAlarms() async throws -> Components.Schemas.BankAlarms {
        let output = try await client.listBankAlarms(.init())
        guard case .ok(let ok) = output else { throw Self.failure(output) }
        return try ok.body.json
    }

    /// Polls the transfer's status until it is final or rejected, or `timeout` passes.
    public func waitUntilSettled(_ transactionID: String, timeout: Duration = .seconds(10)) async throws -> Components.Schemas.TransferStatus {
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try? await status(transactionID)
            if let status, status.state == .final || status.state == .rejected { return status }
            guard ContinuousClock.now < deadline else {
                throw NodeClientError(status: 0, problem: nil, message: "\(transactionID) is not final after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
