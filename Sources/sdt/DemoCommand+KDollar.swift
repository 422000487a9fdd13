import Foundation
import OpenAPIURLSession
import SDTBank
import SDTClient
import SDTCore
import SDTCrypto
import SDTGlobal
import SDTGlobalAPI
import SDTNode
import SDTTesting

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The demo's K$ node: the regions send it their signed block headers; it refuses a forged one, goes
/// down and catches up, and nets the regions' obligations in a settlement cycle.
struct KDollarDemo {
    let configPath: String
    let dataPath: String
    let baseURL: String
    var process: NodeProcess?
    var starts = 0
    let client: SDTGlobalAPI.Client
}

extension DemoStory {
    /// Writes the K$ node's config over the registry both regions use, and points both at it.
    mutating func prepareKDollar(first: inout RegionConfig) throws {
        guard let registry = first.registry, var second = other else { return }
        let address = "127.0.0.1:\(FreePort.next())"
        let config = GlobalConfig(
            name: "K$ Authority", httpAddress: address, registryPath: registry.path,
            registryAuthorityKey: registry.authorityKey)
        let configPath = path("kdollar.toml")
        try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
        let baseURL = "http://\(address)"
        first.kdollarEndpoint = baseURL
        second.config.kdollarEndpoint = baseURL
        try second.config.tomlText.write(toFile: second.configPath, atomically: true, encoding: .utf8)
        other = second
        kdollar = KDollarDemo(
            configPath: configPath, dataPath: path("kdollar"), baseURL: baseURL,
            client: SDTGlobalAPI.Client(serverURL: URL(string: baseURL)!, transport: URLSessionTransport()))
    }

    /// Starts (or restarts) the K$ node.
    mutating func startKDollar() async throws {
        guard var node = kdollar else { return }
        let process = try NodeProcess(
            arguments: ["global", "serve", "--config", node.configPath, "--data", node.dataPath],
            logPath: path("kdollar-\(node.starts).log"))
        try await process.start()
        node.starts += 1
        node.process = process
        kdollar = node
        if node.starts == 1 {
            say(
                "Start the K$ node",
                "\(node.baseURL) (contract openapi/global.yaml): it checks every region's signed block headers "
                    + "(its checkpoints) against the same registry",
                "both region nodes send it each header once their quorum has signed it; the outbox is their ledger")
        }
    }

    /// The regions' checkpoints at the K$ node, a forged one refused, a kill -9 caught up, a netting cycle.
    /// `whileDown` pays within the first region while the K$ node is down.
    mutating func showKDollar(
        _ regions: [(code: String, client: NodeClient)], whileDown: (inout DemoStory) async throws -> String
    ) async throws {
        guard let node = kdollar else { return }
        try await caughtUp(node, regions)
        let newest = try await node.client.listCheckpoints().ok.body.json.checkpoints
        say(
            "Checkpoints at the K$ node",
            newest.map { checkpoint in
                let owed = checkpoint.obligations.filter { $0.amount > 0 }.map {
                    "owes \($0.counterpart) \(Amount.display($0.amount, Token(rawValue: $0.token.rawValue)!))"
                }
                return "\(checkpoint.region): block \(checkpoint.height) \(checkpoint.hash.prefix(16))…, "
                    + (owed.isEmpty ? "no obligations" : owed.joined(separator: ", "))
            }.joined(separator: "\n   "))

        // A header for the next height of the first region, signed by a key that is not its quorum's.
        let first = try require(newest.first)
        let forged = BlockHeader(
            region: first.region, height: first.height + 1, previousHashHex: first.hash,
            merkleRootHex: String(repeating: "0", count: 64), entryCount: 1, firstSequence: 1, lastSequence: 1,
            supply: [.usd: 1_000_000_000, .gold: 0], reserves: [.usd: 0, .gold: 0],
            reserveRootHex: String(repeating: "0", count: 64), rules: "none",
            sealedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let answer = try await node.client.submitCheckpoints(
            body: .json(
                .init(checkpoints: [
                    .init(
                        header: Hex.encode(forged.signingBytes),
                        signature: Hex.encode(SigningKey().sign(forged.signingBytes)))
                ]))
        ).ok.body.json.answers.first
        guard answer?.status == .refused else { throw DemoError("the K$ node recorded a forged checkpoint") }
        say(
            "A forged checkpoint, refused",
            "a header for \(first.region) block \(first.height + 1) claiming 10,000,000.00 USD of supply, signed by "
                + "a key that is not \(first.region)'s quorum: \(answer?.code ?? "?")",
            "\(answer?.detail ?? "")")

        let missed = try await kdollar!.height(regions[0].code)
        kdollar?.process?.kill9()
        let paid = try await whileDown(&self)
        let now = try await regions[0].client.head().finalHeight
        try await startKDollar()
        try await caughtUp(kdollar!, regions)
        say(
            "The K$ node killed -9 and restarted",
            "while it was down: \(paid); \(regions[0].code)'s newest signed block became \(now), "
                + "the K$ node had \(missed)",
            "it kept every checkpoint (SQLite, one transaction per request); \(regions[0].code)'s relay asked it "
                + "for its newest and sent from there: it holds block \(try await kdollar!.height(regions[0].code)) now"
        )

        let cycle = try GlobalStore(path: GlobalRunner.storePath(node.dataPath)).settle(
            nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let published = try await node.client.getCycle(path: .init(number: cycle.record.number)).ok.body.json
        say(
            "A settlement cycle: multilateral netting of the regions' obligations",
            GlobalRunner.summary(cycle).replacingOccurrences(of: "\n", with: "\n   "),
            "published at \(node.baseURL)/v1/cycles/\(published.number): "
                + "record SHA3 \(published.recordSha3.prefix(16))…, "
                + "status \(published.status.rawValue) (signing by the K$ quorum and the regions' settlement "
                + "entries come next)")
        try await showPacs009(node, cycle: cycle.record.number)
    }

    /// The cycle's USD instructions as the pacs.009 the K$ node serves, read back and checked.
    private mutating func showPacs009(_ node: KDollarDemo, cycle number: Int64) async throws {
        let answer = try await node.client.getCyclePacs009(path: .init(number: number))
        guard case .ok(let ok) = answer else {
            throw DemoError("GET /v1/cycles/\(number)/pacs009 answered \(answer)")
        }
        let document = Array(try await Data(collecting: try ok.body.xml, upTo: 1 << 20))
        let file = path("kdollar-cycle-\(number)-pacs009.xml")
        try Data(document).write(to: URL(fileURLWithPath: file))
        let body = try ISO20022Message.read(document, accepting: [.pacs009]).body
        func text(_ element: XMLElement?, _ names: String...) -> String {
            names.reduce(element) { $0?.child($1) }?.text ?? "?"
        }
        let lines = body.children.filter { $0.name == "CdtTrfTxInf" }.map { item in
            "\(text(item, "PmtId", "EndToEndId")): \(text(item, "IntrBkSttlmAmt")) USD from "
                + "\(text(item, "Dbtr", "FinInstnId", "Nm"))'s \(text(item, "DbtrAcct", "Id", "Othr", "Id")) at "
                + "\(text(item, "DbtrAgt", "FinInstnId", "BICFI")) to \(text(item, "Cdtr", "FinInstnId", "Nm"))'s "
                + "\(text(item, "CdtrAcct", "Id", "Othr", "Id")) at \(text(item, "CdtrAgt", "FinInstnId", "BICFI")), "
                + "UETR \(text(item, "PmtId", "UETR"))"
        }
        let count = text(body, "GrpHdr", "NbOfTxs")
        say(
            "The cycle's USD settlement for the banks (ISO 20022 pacs.009)",
            "\(node.baseURL)/v1/cycles/\(number)/pacs009 → \(file): \(text(body, "GrpHdr", "MsgId")), "
                + "\(count) transaction\(count == "1" ? "" : "s"), \(text(body, "GrpHdr", "TtlIntrBkSttlmAmt")) USD, "
                + "valid against the official pacs.009.001.09 schema",
            lines.joined(separator: "\n   "),
            "each between the reserve accounts the signed registry lists, to be settled by the payer's bank; the "
                + "same cycle over the same accounts gives the same bytes, so a bank that receives it twice sees "
                + "the same MsgId and UETRs")
    }

    /// Waits (bounded) until the K$ node holds every region's newest signed block.
    private func caughtUp(_ node: KDollarDemo, _ regions: [(code: String, client: NodeClient)]) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        for region in regions {
            let final = try await region.client.head().finalHeight
            while try await node.height(region.code) < final {
                guard ContinuousClock.now < deadline else {
                    throw DemoError("the K$ node did not receive \(region.code)'s block \(final) within 60 s")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

extension KDollarDemo {
    /// The height of `region`'s newest checkpoint at the K$ node, 0 for none.
    func height(_ region: String) async throws -> Int64 {
        switch try await client.getCheckpoint(path: .init(region: region)) {
        case .ok(let ok): return try ok.body.json.height
        default: return 0
        }
    }
}

/// Like `#require` outside tests: the value, or a demo error naming what was missing.
private func require<Value>(_ value: Value?) throws -> Value {
    guard let value else { throw DemoError("the K$ node answered without a checkpoint") }
    return value
}
