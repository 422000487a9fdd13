import Foundation
import SDTClient
import SDTCore
import SDTNode
import SDTTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `GET /metrics` of a running node and of a custodian daemon, parsed by Prometheus's own Python
/// parser (`prometheus_client.parser`), moves with the traffic sent and agrees with the API.
@Suite(.serialized) struct MetricsTests {
    /// One sample: its name and labels, as the parser read them.
    struct Sample: Hashable {
        let name: String
        let labels: [String: String]
    }

    /// Scrapes `address` and parses the text with `prometheus_client` (Debian's python3-prometheus-client).
    static func scrape(_ address: String) async throws -> [Sample: Double] {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://\(address)/metrics")!)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200)
        #expect(http.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            samples = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for sample in family.samples:
                    samples.append([sample.name, sample.labels, sample.value])
            print(json.dumps(samples))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let parsed = output.fileHandleForReading.readDataToEndOfFile()
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("prometheus_client could not parse the metrics: \(problems)")
        }
        let rows = try #require(try JSONSerialization.jsonObject(with: parsed) as? [[Any]])
        var samples: [Sample: Double] = [:]
        for row in rows {
            guard let name = row[0] as? String, let labels = row[1] as? [String: String], let value = row[2] as? Double
            else { throw TestFailure("an unexpected sample \(row)") }
            samples[Sample(name: name, labels: labels)] = value
        }
        return samples
    }

    static func value(_ samples: [Sample: Double], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples[Sample(name: name, labels: labels)]
    }

    /// Sum over every sample of `name` whose labels include `labels`.
    static func total(_ samples: [Sample: Double], _ name: String, where labels: [String: String] = [:]) -> Double {
        samples.filter { sample, _ in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }.values.reduce(0, +)
    }

    /// An applier and a front as separate processes, each with its own metrics listener: the front
    /// counts the requests it served and the submissions waiting, the applier its outcomes and the
    /// ledger's gauges; neither reports the other's work.
    @Test func splitRolesEachServeTheirOwnMetrics() async throws {
        let node = try TestNode()
        let applierMetrics = "127.0.0.1:\(FreePort.next())"
        let frontMetrics = "127.0.0.1:\(FreePort.next())"
        try await node.start(role: "applier", arguments: ["--metrics", applierMetrics])
        try await node.start(role: "front", arguments: ["--metrics", frontMetrics])
        let alice = try await node.holder("alice", usd: 50_000)
        _ = try await node.holder("bob")
        let sent = 3
        for _ in 0..<sent {
            let transfer = try await node.signedTransfer(alice, "alice", "bob", 100)
            guard case .accepted = try await node.client.submit(transfer) else { throw TestFailure("not accepted") }
        }
        let front = try await Self.scrape(frontMetrics)
        let applier = try await Self.scrape(applierMetrics)
        let served = [
            "http_route": "/v1/transactions", "http_request_method": "POST", "http_response_status_code": "200",
        ]
        #expect(Self.total(front, "hb_requests_total", where: served) == Double(sent))
        #expect(Self.value(front, "sdt_front_waiting_submissions") == 0)
        #expect(Self.total(front, "sdt_applier_outcomes_total") == 0, "the front applies nothing")
        #expect(Self.total(applier, "hb_requests_total") == 0, "the applier serves no API")
        // Three transfers, two accounts opened and one mint.
        #expect(Self.total(applier, "sdt_applier_outcomes_total", where: ["code": "accepted"]) == Double(sent + 3))
        let head = try await node.client.head()
        #expect(Self.value(applier, "sdt_ledger_applied_sequence") == Double(head.appliedSequence))
        let usd = try #require(try await node.client.reserves().tokens.first { $0.token == .usd })
        #expect(Self.value(applier, "sdt_supply_minor_units", ["token": "USD"]) == Double(usd.supply))
        node.stopAll()
    }

    @Test func aNodesCountersMoveWithItsTrafficAndItsGaugesAgreeWithTheAPI() async throws {
        let node = try TestNode()
        let metrics = "127.0.0.1:\(FreePort.next())"
        node.config.metricsAddress = metrics
        try node.saveConfig()
        try await node.start()
        let alice = try await node.holder("alice", usd: 100_000)
        _ = try await node.holder("bob")
        let before = try await Self.scrape(metrics)
        let route = ["http_route": "/v1/transactions", "http_request_method": "POST"]
        let sent = 7
        for _ in 0..<sent {
            let transfer = try await node.signedTransfer(alice, "alice", "bob", 100)
            guard case .accepted = try await node.client.submit(transfer) else { throw TestFailure("not accepted") }
        }
        // One refused on purpose: a 422 is counted under its own status.
        let broke = try await node.signedTransfer(alice, "alice", "bob", 10_000_000)
        _ = try await node.client.submit(broke)
        let head = try await node.client.head()
        let reserves = try await node.client.reserves()
        let after = try await Self.scrape(metrics)

        let requests = "hb_requests_total"
        let ok = route.merging(["http_response_status_code": "200"]) { $1 }
        let refused = route.merging(["http_response_status_code": "422"]) { $1 }
        #expect(
            Self.total(after, requests, where: ok) - Self.total(before, requests, where: ok) == Double(sent),
            "\(after.keys.filter { $0.name == requests })")
        #expect(Self.total(after, requests, where: refused) - Self.total(before, requests, where: refused) == 1)
        let accepted = ["code": "accepted"]
        #expect(
            Self.total(after, "sdt_applier_outcomes_total", where: accepted)
                - Self.total(before, "sdt_applier_outcomes_total", where: accepted) == Double(sent))
        #expect(Self.total(after, "sdt_applier_outcomes_total", where: ["code": "insufficient_funds"]) == 1)
        // Entries applied, summed over the batches (the count is of batches).
        #expect(
            Self.total(after, "sdt_applier_batch_entries_sum") - Self.total(before, "sdt_applier_batch_entries_sum")
                == Double(sent + 1))
        #expect(Self.total(after, "sdt_applier_commit_seconds_count") >= Double(sent))
        #expect(Self.total(after, "http_server_request_duration_count", where: ok) >= Double(sent))
        // Read at the scrape: the ledger's own figures (the scrape came after the API's answers and
        // nothing was sent in between).
        #expect(Self.value(after, "sdt_ledger_applied_sequence") == Double(head.appliedSequence))
        let usd = try #require(reserves.tokens.first { $0.token == .usd })
        #expect(Self.value(after, "sdt_supply_minor_units", ["token": "USD"]) == Double(usd.supply))
        #expect(Self.value(after, "sdt_reserves_minor_units", ["token": "USD"]) == Double(usd.reserves))
        #expect((Self.value(after, "sdt_blocks_sealed_total") ?? 0) >= 1)
        #expect(Self.value(after, "sdt_front_waiting_submissions") == 0)

        // Not on the public API: the contract has no /metrics.
        #expect(try await node.raw("GET", "/metrics").status == 404)
    }

    @Test func aCustodianCountsWhatItSignsAndTheNodeSeesEachCustodian() async throws {
        let custodied = try CustodiedNode()
        let node = custodied.node
        let nodeMetrics = "127.0.0.1:\(FreePort.next())"
        for identifier in 1...3 { custodied.metrics[identifier] = "127.0.0.1:\(FreePort.next())" }
        node.config.metricsAddress = nodeMetrics
        try await custodied.start()
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        let transfer = try await node.signedTransfer(alice, "alice", "bob", 100)
        _ = try await node.client.submit(transfer)
        #expect(try await node.client.waitUntilSettled(transfer.transactionId, timeout: .seconds(20)).state == .final)
        var signed = 0.0
        for identifier in 1...3 {
            let custodian = try await Self.scrape(custodied.metrics[identifier]!)
            let requests = "sdt_custodian_requests_total"
            #expect(Self.total(custodian, requests, where: ["kind": "ping", "answer": "ok"]) >= 1, "\(custodian)")
            #expect(Self.total(custodian, requests, where: ["answer": "refused"]) == 0)
            signed += Self.total(custodian, requests, where: ["kind": "sign", "answer": "ok"])
        }
        // Each signed block took the shares of two custodians.
        let scraped = try await Self.scrape(nodeMetrics)
        let blocks = Self.value(scraped, "sdt_blocks_signed_total") ?? 0
        #expect(blocks >= 1 && signed >= 2 * blocks, "\(signed) shares for \(blocks) blocks")
        // Every custodian answers, as the node last probed them.
        try await InterRegionTests.eventually("the node probed every custodian") {
            let samples = try await Self.scrape(nodeMetrics)
            return (1...3).allSatisfy { Self.value(samples, "sdt_custodian_reachable", ["custodian": String($0)]) == 1 }
        }
        custodied.custodians[3]!.stop()
        try await InterRegionTests.eventually("the node sees custodian 3 gone") {
            let samples = try await Self.scrape(nodeMetrics)
            return Self.value(samples, "sdt_custodian_reachable", ["custodian": "3"]) == 0
        }
    }
}

/// `--log-format json`: every log line is one JSON object, and the id of the request that sent a
/// transfer (the client's `X-Request-Id`) is on the front's line, the applier's and the sealer's, the
/// last naming the block the transfer's status names.
@Suite(.serialized) struct StructuredLogTests {
    @Test func aRequestIdFollowsATransferFromTheFrontThroughTheApplierToItsBlock() async throws {
        let node = try TestNode()
        try await node.start(arguments: ["--log-format", "json", "--log-level", "debug"])
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        let transfer = try await node.signedTransfer(alice, "alice", "bob", 250)
        let id = "trace-\(UInt32.random(in: 0...UInt32.max))"
        let answer = try await node.raw(
            "POST", "/v1/transactions", body: try node.json(transfer), headers: ["X-Request-Id": id])
        #expect(answer.status == 200 && answer.headers["x-request-id"] == id, "\(answer.status) \(answer.headers)")
        let status = try await node.client.waitUntilSettled(transfer.transactionId, timeout: .seconds(20))
        let block = try #require(status.blockHeight)
        // An id the front will not take is replaced by one of its own.
        let replaced = try await node.raw("GET", "/v1/region", headers: ["X-Request-Id": "not ok"])
        #expect(replaced.headers["x-request-id"].map { $0.count == 16 && $0 != "not ok" } == true)
        node.stopAll()

        var lines: [[String: Any]] = []
        for line in node.log.split(separator: "\n") where line.hasPrefix("{") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            lines.append(try #require(object, "not a JSON object: \(line)"))
        }
        #expect(lines.count > 5)
        #expect(lines.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String })
        let mine = lines.filter { ($0["request_id"] as? String) == id }
        #expect(mine.contains { ($0["message"] as? String)?.hasPrefix("served POST /v1/transactions") == true })
        let applied = mine.first { ($0["message"] as? String)?.hasPrefix("applied") == true }
        #expect(
            (applied?["entries"] as? [String])?.contains(
                "\(transfer.transactionId) accepted at \(status.sequence ?? -1)")
                == true, "\(mine)")
        let sealed = lines.first { ($0["request_ids"] as? [String])?.contains(id) == true }
        #expect(sealed?["block"] as? String == String(block), "\(String(describing: sealed))")
    }
}
