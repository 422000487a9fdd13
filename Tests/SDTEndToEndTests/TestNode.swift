import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTNode
import SDTTesting
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `sdt node` process on free loopback ports, with its own data directory and operator key.
final class TestNode: @unchecked Sendable {
    let directory = TemporaryDirectory("node")
    let operatorKey = SigningKey()
    var config: RegionConfig
    var processes: [NodeProcess] = []
    var client: NodeClient!
    private var requestCounter = 0

    var dataPath: String { directory.file("data") }
    var configPath: String { directory.file("region.toml") }

    init(region: String = "us-tx", limits: (inout RegionConfig.Limits) -> Void = { _ in }) throws {
        let base = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../regions/\(region).toml")
        config = try RegionConfig.load(path: base.path)
        config.operatorKeys = [operatorKey.publicKeyHex]
        // Port 0: the kernel picks the front's port when it binds and the node prints it, so no other
        // test can take it in between (a port found free and released can be taken by anyone).
        config.httpAddress = "127.0.0.1:0"
        config.queueEndpoint = "tcp://127.0.0.1:\(FreePort.next())"
        config.outcomesEndpoint = "tcp://127.0.0.1:\(FreePort.next())"
        limits(&config.limits)
        try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Writes `config` again, after a test changed it.
    func saveConfig() throws { try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8) }

    /// Starts `sdt node` with `role` (all-in-one by default) and waits until it serves.
    @discardableResult
    func start(role: String = "all", arguments: [String] = []) async throws -> NodeProcess {
        let process = try NodeProcess(
            arguments: ["node", "--region", configPath, "--data", dataPath, "--role", role] + arguments,
            logPath: directory.file("node-\(processes.count).log")
        )
        try await process.start(marker: role == "applier" ? "taking work" : "listening on")
        processes.append(process)
        if role != "applier" { client = try NodeClient(baseURL: process.baseURL, reader: operatorKey) }
        return process
    }

    func stopAll() { for process in processes { process.stop() } }

    var log: String {
        (0..<processes.count).compactMap { try? String(contentsOfFile: directory.file("node-\($0).log"), encoding: .utf8) }.joined()
    }

    /// An operator action on `account` (empty for actions without one) with the other `fields`.
    func operate(
        _ kind: OperatorAction.Kind, _ account: String, _ fields: [OperatorAction.Field: String], rulesText: String? = nil,
        holder: Components.Schemas.OperatorAction.HolderPayload? = nil, key: SigningKey? = nil
    ) async throws -> Components.Schemas.OperatorResult {
        requestCounter += 1
        var all = fields
        if !account.isEmpty { all[.account] = account }
        return try await client.operatorAction(Signing.operatorAction(
            key: key ?? operatorKey, region: config.region, requestID: "test-\(requestCounter)", kind: kind, fields: all,
            rulesText: rulesText, holder: holder
        ))
    }

    /// Opens `account` with a fresh device key and mints `usd` cents to it.
    func holder(_ account: String, usd: Int64 = 0, jurisdiction: String = "US-TX") async throws -> SigningKey {
        let key = SigningKey()
        _ = try await operate(.openAccount, account, [.jurisdiction: jurisdiction, .kycTier: "2", .deviceKey: key.publicKeyHex])
        if usd > 0 {
            _ = try await operate(.mintUSD, account, ReserveFields.deposit(usd, "DEP-\(account)-\(usd)"))
        }
        return key
    }

    func signedTransfer(_ key: SigningKey, _ from: String, _ to: String, _ amount: Int64, token: Token = .usd,
                        transactionID: String? = nil) async throws -> Components.Schemas.SignedTransfer {
        let id: String
        if let transactionID {
            id = transactionID
        } else {
            id = try await client.transactionIDs(account: from).transactionIds[0]
        }
        return try Signing.transfer(key: key, region: config.region, transactionID: id, from: from, to: to, token: token,
                                    amountMinorUnits: amount)
    }

    /// Sends raw bytes, as a careless or hostile client would; returns the status and the JSON body.
    /// A request as sent, optionally signed by `reader` (an `SDT-REQUEST-V1` over method, path and query)
    /// at `time` (default now), or with `authorization` as given.
    func raw(
        _ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json",
        reader: SigningKey? = nil, time: Int64? = nil, authorization: String? = nil, headers: [String: String] = [:]
    ) async throws -> (status: Int, json: [String: Any], contentType: String, headers: [String: String]) {
        var request = URLRequest(url: URL(string: client.baseURL + path)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        if body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let reader {
            let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let signed = SignedRequest(method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
                                       timeMilliseconds: time ?? SystemClock().nowMilliseconds(), publicKeyHex: reader.publicKeyHex)
            request.setValue(signed.authorization(signatureHex: Hex.encode(reader.sign(signed.signingBytes))), forHTTPHeaderField: "Authorization")
        }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        var answered: [String: String] = [:]
        // Names in lower case: HTTP header names are case-insensitive.
        for case let (name as String, value as String) in http.allHeaderFields { answered[name.lowercased()] = value }
        return (http.statusCode, json, http.value(forHTTPHeaderField: "Content-Type") ?? "", answered)
    }

    func json(_ value: some Encodable) throws -> Data { try JSONEncoder().encode(value) }

    /// `GET /health` until `satisfied` holds of its status and body, at most `timeout`; returns the last answer.
    func health(within timeout: Duration = .seconds(10), until satisfied: (Int, [String: Any]) -> Bool) async throws
        -> (status: Int, json: [String: Any]) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let answer = try await raw("GET", "/health")
            if satisfied(answer.status, answer.json) || ContinuousClock.now >= deadline { return (answer.status, answer.json) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    deinit { stopAll() }
}
