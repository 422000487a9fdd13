import Foundation
import SDTBank
import SDTClient
import SDTCore
import SDTCrypto
import SDTNode
import SDTTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The K$ node as processes: two region nodes send it their signed block headers, it survives a kill -9,
/// refuses bad checkpoints with their reasons, raises the alarm on a second signed header for one
/// height, and nets the regions' obligations in a settlement cycle.
@Suite(.serialized) struct GlobalNodeTests {
    /// A K$ node process over the registry the two regions use, at a fixed loopback port.
    struct KDollarNode {
        let directory: TemporaryDirectory
        let configPath: String
        let dataPath: String
        let baseURL: String
        let metrics = "127.0.0.1:\(FreePort.next())"

        init(registry: RegionConfig.Registry) throws {
            directory = TemporaryDirectory("kdollar")
            let address = "127.0.0.1:\(FreePort.next())"
            var config = GlobalConfig(
                name: "K$ Authority", httpAddress: address, registryPath: registry.path,
                registryAuthorityKey: registry.authorityKey, allowedSkewMilliseconds: 60_000,
                settlementPeriodSeconds: 0,
                requestBodyBytesMax: 1_048_576)
            configPath = directory.file("kdollar.toml")
            dataPath = directory.file("data")
            baseURL = "http://\(address)"
            config.metricsAddress = metrics
            try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
        }

        func start() async throws -> NodeProcess {
            let process = try NodeProcess(
                arguments: ["global", "serve", "--config", configPath, "--data", dataPath],
                logPath: directory.file("kdollar-\(UUID().uuidString.prefix(6)).log"))
            _ = try await process.start(marker: "listening on")
            return process
        }

        func get(_ path: String) async throws -> (status: Int, json: [String: Any]) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: baseURL + path)!)
            return (
                (response as! HTTPURLResponse).statusCode,
                (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            )
        }

        /// Posts headers and signatures (hex); returns the answers.
        func post(_ checkpoints: [[String: String]]) async throws -> [[String: Any]] {
            var request = URLRequest(url: URL(string: baseURL + "/v1/checkpoints")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: ["checkpoints": checkpoints])
            let (data, response) = try await URLSession.shared.data(for: request)
            #expect((response as! HTTPURLResponse).statusCode == 200)
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return json["answers"] as? [[String: Any]] ?? []
        }

        /// The height of `region`'s newest checkpoint here, 0 for none.
        func height(_ region: String) async throws -> Int64 {
            let answer = try await get("/v1/checkpoints/\(region)")
            return answer.status == 200 ? (answer.json["height"] as? NSNumber)?.int64Value ?? 0 : 0
        }
    }

    /// Loads the K$ page at 375 CSS pixels in headless Chromium and prints what a reader sees, as JSON.
    static let browserScript = """
        import json, sys
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        url, shot = sys.argv[1:3]
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=375,1400"]:
            options.add_argument(argument)
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": 375, "height": 1400, "pixelRatio": 1.0}})
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.set_page_load_timeout(30)
            driver.get(url)
            tables = driver.find_elements(By.TAG_NAME, "table")
            page = {
                "title": driver.title,
                "h1": [e.text for e in driver.find_elements(By.TAG_NAME, "h1")],
                "h2": [e.text for e in driver.find_elements(By.TAG_NAME, "h2")],
                "cells": {e.get_attribute("id"): e.text for e in driver.find_elements(By.CSS_SELECTOR, "td[id]")},
                "halted": driver.find_element(By.ID, "halted").text,
                "instructions": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#instructions li")],
                "tables": len(tables),
                "tables_marked_up": all(t.find_elements(By.TAG_NAME, "caption") and
                                        t.find_elements(By.CSS_SELECTOR, "th[scope]") for t in tables),
                "scroll_width": driver.execute_script("return document.documentElement.scrollWidth"),
                "inner_width": driver.execute_script("return window.innerWidth"),
                "scripts": len(driver.find_elements(By.TAG_NAME, "script")),
            }
            driver.save_screenshot(shot)
            print(json.dumps(page))
        finally:
            driver.quit()
        """

    /// A header of `region` signed by `key`.
    static func signed(_ header: BlockHeader, _ key: SigningKey) -> [String: String] {
        ["header": Hex.encode(header.signingBytes), "signature": Hex.encode(key.sign(header.signingBytes))]
    }

    static func header(_ region: String, height: Int64, previous: String, sealedAt: Int64, supply: Int64 = 0)
        -> BlockHeader
    {
        BlockHeader(
            region: region, height: height, previousHashHex: previous, merkleRootHex: String(repeating: "a", count: 64),
            entryCount: 1, firstSequence: 1, lastSequence: 1, supply: [.usd: supply, .gold: 0],
            reserves: [.usd: supply, .gold: 0], reserveRootHex: String(repeating: "b", count: 64), rules: "none",
            sealedAtMilliseconds: sealedAt)
    }

    @Test func checkpointsReachTheKDollarNodeWhichRefusesForgeriesAndNetsTheRegions() async throws {
        // Each region's [bank] gives its registry entry the USD reserve account the pacs.009 pays between.
        let (tx, wy) = try await InterRegionTests.twoRegions { node in
            let texas = node.config.region == "us-tx"
            node.config.bank = .init(
                name: texas ? "Frost Bank" : "First Interstate Bank", bic: texas ? "FRSTUS44XXX" : "FIBKUS55",
                reserveAccount: texas ? "TX-RESERVE-0001" : "WY-RESERVE-0001", outbox: nil)
            try node.saveConfig()
        }
        let kdollar = try KDollarNode(registry: try #require(tx.config.registry))
        let wyMetrics = "127.0.0.1:\(FreePort.next())"
        wy.config.metricsAddress = wyMetrics
        for node in [tx, wy] {
            node.config.kdollarEndpoint = kdollar.baseURL
            try node.saveConfig()
        }
        var global = try await kdollar.start()
        defer { global.stop() }
        try await tx.start()
        try await wy.start()
        let alice = try await tx.holder("alice", usd: 100_000)
        let bob = try await wy.holder("bob", usd: 50_000, jurisdiction: "US-WY")
        _ = try await tx.operate(.setKYCTier, "alice", [.kycTier: "3", .reason: "enhanced due diligence done"])
        // alice pays bob 25.00, bob pays alice 10.00: us-tx owes us-wy 25.00 and us-wy owes us-tx 10.00.
        let payment = try await tx.signedTransfer(alice, "alice", "us-wy:bob", 2_500)
        #expect(try await InterRegionTests.accepted(tx.client.submit(payment)))
        try await InterRegionTests.eventually("us-tx's obligation") {
            try await InterRegionTests.position(tx, "us-wy")?.obligations == 2_500
        }
        // The K$ node dies in the middle; the region nodes keep working and catch it up after.
        global.kill9()
        let back = try await wy.signedTransfer(bob, "bob", "us-tx:alice", 1_000)
        #expect(try await InterRegionTests.accepted(wy.client.submit(back)))
        try await InterRegionTests.eventually("us-wy's obligation") {
            try await InterRegionTests.position(wy, "us-tx")?.obligations == 1_000
        }
        global = try await kdollar.start()
        for node in [tx, wy] {
            try await InterRegionTests.eventually("\(node.config.region)'s newest block at the K$ node") {
                let final = try await node.client.head().finalHeight
                return try await kdollar.height(node.config.region) == final
            }
        }
        let list = try await kdollar.get("/v1/checkpoints")
        let newest = list.json["checkpoints"] as? [[String: Any]] ?? []
        #expect(newest.map { $0["region"] as? String } == ["us-tx", "us-wy"])
        let txNewest = try #require(newest.first)
        #expect(
            (txNewest["obligations"] as? [[String: Any]])?.contains {
                $0["counterpart"] as? String == "us-wy" && $0["token"] as? String == "USD"
                    && ($0["amount"] as? NSNumber)?.int64Value == 2_500
            } == true, "\(txNewest)")

        // Bad checkpoints, each refused with its reason and nothing recorded.
        let txKey = try NodeData(directory: tx.dataPath).blockKey()
        let wyKey = try NodeData(directory: wy.dataPath).blockKey()
        let txHeight = try await kdollar.height("us-tx")
        let txTop = try #require(try await kdollar.get("/v1/checkpoints/us-tx").json["hash"] as? String)
        let now = SystemClock().nowMilliseconds()
        let next = Self.header("us-tx", height: txHeight + 1, previous: txTop, sealedAt: now)
        let answers = try await kdollar.post([
            Self.signed(next, SigningKey()),  // not us-tx's key
            Self.signed(
                Self.header("us-ca", height: 1, previous: BlockHeader.genesisPreviousHashHex, sealedAt: now), txKey),
            Self.signed(Self.header("us-tx", height: txHeight + 1, previous: txTop, sealedAt: now + 3_600_000), txKey),
            Self.signed(Self.header("us-tx", height: txHeight + 2, previous: txTop, sealedAt: now), txKey),
            ["header": "zz", "signature": String(repeating: "0", count: 128)],
        ])
        #expect(
            answers.map { $0["code"] as? String } == [
                "checkpoint_signature_invalid", "region_unknown", "checkpoint_from_future", "checkpoint_out_of_order",
                "checkpoint_malformed",
            ], "\(answers)")
        #expect(answers.allSatisfy { $0["status"] as? String == "refused" })
        #expect(answers[3]["next_height"] as? NSNumber == NSNumber(value: txHeight + 1))
        #expect(try await kdollar.height("us-tx") == txHeight)
        // A block the region really sent, sent again: replayed, nothing changes.
        let first = try await kdollar.get("/v1/checkpoints/us-tx?height=1")
        let replay = try await kdollar.post([
            [
                "header": try #require(first.json["header"] as? String),
                "signature": try #require(first.json["signature"] as? String),
            ]
        ])
        #expect(replay.first?["code"] as? String == "checkpoint_replayed")

        // The cycle nets 25.00 one way and 10.00 the other into one instruction of 15.00.
        let settled = try AuditCommandTests.sdt(["global", "settle", "--data", kdollar.dataPath, "--json"])
        #expect(settled.status == 0, "\(settled.output)")
        let cycle = try #require(
            try JSONSerialization.jsonObject(with: Data(settled.output.utf8)) as? [String: Any], "\(settled.output)")
        #expect(cycle["instructions"] as? [String] == ["us-tx>us-wy/USD=1500"], "\(cycle)")
        let usd = (cycle["tokens"] as? [String: Any])?["USD"] as? [String: String]
        #expect(usd?["gross"] == "3500" && usd?["net"] == "1500" && usd?["efficiency"] == "2.33:1", "\(cycle)")
        let stored = try await kdollar.get("/v1/cycles/1")
        #expect(stored.status == 200 && stored.json["status"] as? String == "planned")
        #expect((stored.json["record"] as? String)?.contains("instructions:us-tx>us-wy/USD=1500\n") == true)

        // The instruction as a pacs.009 from Texas's reserve bank to Wyoming's: valid for xmllint against
        // the official schema, and the same bytes from the API and from the command line.
        let (xml, response) = try await URLSession.shared.data(
            from: URL(string: kdollar.baseURL + "/v1/cycles/1/pacs009")!)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200 && http.value(forHTTPHeaderField: "Content-Type") == "application/xml")
        let checked = try xmllint(Array(xml), schemaPath: BankDeskEndToEndTests.schema(.pacs009))
        #expect(checked.status == 0, "\(checked.output)")
        let body = try ISO20022Message.read(Array(xml), accepting: [.pacs009]).body
        let transaction = try #require(body.child("CdtTrfTxInf"))
        #expect(body.child("GrpHdr")?.child("NbOfTxs")?.text == "1")
        #expect(transaction.child("IntrBkSttlmAmt")?.text == "15.00")
        #expect(transaction.child("Dbtr")?.child("FinInstnId")?.child("Othr")?.child("Id")?.text == "us-tx")
        #expect(transaction.child("DbtrAcct")?.child("Id")?.child("Othr")?.child("Id")?.text == "TX-RESERVE-0001")
        #expect(transaction.child("DbtrAgt")?.child("FinInstnId")?.child("BICFI")?.text == "FRSTUS44XXX")
        #expect(transaction.child("InstdAgt")?.child("FinInstnId")?.child("BICFI")?.text == "FRSTUS44XXX")
        #expect(transaction.child("CdtrAgt")?.child("FinInstnId")?.child("BICFI")?.text == "FIBKUS55")
        #expect(transaction.child("Cdtr")?.child("FinInstnId")?.child("Othr")?.child("Id")?.text == "us-wy")
        #expect(transaction.child("CdtrAcct")?.child("Id")?.child("Othr")?.child("Id")?.text == "WY-RESERVE-0001")
        let file = kdollar.directory.file("cycle-1.xml")
        let exported = try AuditCommandTests.sdt([
            "global", "pacs009", "--config", kdollar.configPath, "--data", kdollar.dataPath, "--cycle", "1", "--out",
            file,
        ])
        #expect(exported.status == 0 && exported.output.contains(", 1 transaction, 15.00 USD"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == xml)
        #expect(try await kdollar.get("/v1/cycles/9/pacs009").status == 404)
        let none = try AuditCommandTests.sdt([
            "global", "pacs009", "--config", kdollar.configPath, "--data", kdollar.dataPath, "--cycle", "9",
        ])
        #expect(none.status != 0 && none.output.contains("no cycle 9"), "\(none.output)")

        // us-wy's key signs a second block 1: the alarm, and us-wy takes no part in the next cycle.
        let equivocation = try await kdollar.post([
            Self.signed(
                Self.header("us-wy", height: 1, previous: BlockHeader.genesisPreviousHashHex, sealedAt: 1, supply: 7),
                wyKey)
        ])
        #expect(equivocation.first?["status"] as? String == "equivocation", "\(equivocation)")
        let evidence = try await kdollar.post([
            Self.signed(
                Self.header("us-wy", height: 1, previous: BlockHeader.genesisPreviousHashHex, sealedAt: 1, supply: 7),
                wyKey)
        ])
        #expect((evidence.first?["detail"] as? String)?.contains("already recorded") == true, "\(evidence)")

        // us-wy's key signs a block ahead of its node (valid, so recorded): when the node's own block of
        // that height arrives, the K$ node answers with an alarm and us-wy's relay stops sending.
        let wyHeight = try await kdollar.height("us-wy")
        let wyTop = try #require(try await kdollar.get("/v1/checkpoints/us-wy").json["hash"] as? String)
        let ahead = try await kdollar.post([
            Self.signed(
                Self.header("us-wy", height: wyHeight + 1, previous: wyTop, sealedAt: SystemClock().nowMilliseconds()),
                wyKey)
        ])
        #expect(ahead.first?["status"] as? String == "recorded", "\(ahead)")
        let dana = try await wy.holder("dana", jurisdiction: "US-WY")
        _ = dana
        let log = wy.directory.file("node-0.log")
        try await InterRegionTests.eventually("us-wy's relay stopping") {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.contains("stops sending checkpoints")
        }
        // us-wy goes on working (only its checkpoints stop): a new account after the stop reaches a signed
        // block. The stop is on its metrics page, with the newest of its own blocks the K$ node holds.
        let stoppedAt = try await wy.client.head().finalHeight
        _ = try await wy.holder("erin", jurisdiction: "US-WY")
        try await InterRegionTests.eventually("a us-wy block after the relay stopped") {
            try await wy.client.head().finalHeight > stoppedAt
        }
        let wySamples = try await MetricsTests.scrape(wyMetrics)
        #expect(MetricsTests.value(wySamples, "sdt_checkpoint_relay_stopped", [:]) == 1)
        #expect(MetricsTests.value(wySamples, "sdt_checkpoint_relay_height", [:]) == Double(wyHeight))
        let wyAlarms = try await kdollar.get("/v1/alarms")
        #expect((wyAlarms.json["alarms"] as? [[String: Any]])?.count == 2)
        #expect(try await kdollar.height("us-wy") == wyHeight + 1)
        let alarms = try await kdollar.get("/v1/alarms")
        #expect(alarms.json["halted_regions"] as? [String] == ["us-wy"])
        #expect((alarms.json["alarms"] as? [[String: Any]])?.first?["height"] as? NSNumber == 1)
        // Nothing new to settle: what cycle 1 covers is in no later cycle, and us-wy is stopped anyway.
        let again = try AuditCommandTests.sdt(["global", "settle", "--data", kdollar.dataPath])
        #expect(again.status != 0 && again.output.contains("nothing to settle"), "\(again.output)")
        let health = try await kdollar.get("/health")
        #expect(health.json["alarms"] as? NSNumber == 2 && health.json["cycles"] as? NSNumber == 1, "\(health.json)")

        // The K$ node's metrics, parsed by Prometheus' own parser: every refusal above counted under its
        // code (since the restart), the gauges as the API gives them.
        let samples = try await MetricsTests.scrape(kdollar.metrics)
        for code in [
            "checkpoint_signature_invalid", "region_unknown", "checkpoint_from_future", "checkpoint_out_of_order",
            "checkpoint_malformed",
        ] {
            #expect(
                MetricsTests.value(samples, "sdt_kdollar_checkpoints_total", ["status": "refused", "code": code]) == 1)
        }
        #expect(
            MetricsTests.value(
                samples, "sdt_kdollar_checkpoints_total", ["status": "equivocation", "code": "checkpoint_equivocation"])
                == 2)
        #expect(
            MetricsTests.value(
                samples, "sdt_kdollar_checkpoints_total",
                ["status": "equivocation_known", "code": "checkpoint_equivocation"]) == 1)
        #expect(MetricsTests.total(samples, "sdt_kdollar_checkpoints_total", where: ["status": "recorded"]) >= 1)
        for node in [tx, wy] {
            let region = node.config.region
            #expect(
                MetricsTests.value(samples, "sdt_kdollar_checkpoint_height", ["region": region])
                    == Double(try await kdollar.height(region)))
        }
        #expect(MetricsTests.value(samples, "sdt_kdollar_alarms") == 2)
        #expect(MetricsTests.value(samples, "sdt_kdollar_cycles") == 1)
        #expect(MetricsTests.value(samples, "sdt_kdollar_cycle_gross_minor_units", ["token": "USD"]) == 3_500)
        #expect(MetricsTests.value(samples, "sdt_kdollar_cycle_net_minor_units", ["token": "USD"]) == 1_500)
        #expect(
            MetricsTests.total(
                samples, "hb_requests_total", where: ["http_route": "/v1/checkpoints", "http_request_method": "POST"])
                >= 4)

        // The public page in a real browser at 375 px: the API's figures, the alarm, the cycles.
        try FileManager.default.createDirectory(
            atPath: TransparencyPageTests.screenshots, withIntermediateDirectories: true)
        let shot = (TransparencyPageTests.screenshots as NSString).appendingPathComponent("kdollar-375.png")
        try? FileManager.default.removeItem(atPath: shot)
        let run = try runToCompletion("/usr/bin/python3", ["-c", Self.browserScript, kdollar.baseURL + "/", shot])
        #expect(run.status == 0, "\(run.output)")
        let json = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(run.output)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(page["h1"] as? [String] == ["K$ Authority"])
        #expect(
            page["h2"] as? [String]
                == ["The regions' newest signed checkpoints", "Equivocation alarms", "Settlement cycles"])
        let cells = try #require(page["cells"] as? [String: String])
        for node in [tx, wy] {
            let region = node.config.region
            #expect(cells["height-\(region)"] == String(try await kdollar.height(region)), "\(cells)")
        }
        #expect(cells["efficiency-1-USD"] == "2.33:1" && cells["efficiency-1-GOLD"] == "no obligations", "\(cells)")
        #expect((page["halted"] as? String)?.contains("us-wy") == true)
        #expect(page["instructions"] as? [String] == ["us-tx pays us-wy 15.00 USD"], "\(page)")
        #expect(
            (page["tables"] as? Int) == 3 && page["tables_marked_up"] as? Bool == true && page["scripts"] as? Int == 0)
        let width = try #require(page["inner_width"] as? Int)
        #expect(width <= 375 && (page["scroll_width"] as? Int ?? .max) <= width, "\(page["scroll_width"] ?? "")")
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && png.count > 10_000)
    }
}
