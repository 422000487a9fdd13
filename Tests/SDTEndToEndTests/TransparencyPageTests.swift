import Foundation
import SDTClient
import SDTCore
import SDTTesting
import Testing

/// The public page of a running node, loaded in a real browser (Debian's headless Chromium, driven by
/// Selenium): its figures are the API's, it verifies a receipt, it is marked up for screen readers, and
/// it fits a 375 px wide screen. A screenshot is kept in `.build/screenshots/`.
@Suite(.serialized) struct TransparencyPageTests {
    static let browserScript = """
        import json, sys
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        url, shot, receipt_url, hostile_url = sys.argv[1:5]
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=375,1400"]:
            options.add_argument(argument)
        # A phone's viewport: 375 CSS pixels wide (a window alone cannot be made that narrow).
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
                "rows": {e.get_attribute("id"): e.text for e in driver.find_elements(By.CSS_SELECTOR, "tr[id]")},
                "charts": [e.get_attribute("textContent")
                           for e in driver.find_elements(By.CSS_SELECTOR, "svg > title")],
                "charts_labelled": all(e.get_attribute("role") == "img" and e.get_attribute("aria-labelledby")
                                       for e in driver.find_elements(By.TAG_NAME, "svg")),
                "tables": len(tables),
                "tables_marked_up": all(t.find_elements(By.TAG_NAME, "caption") and
                                        t.find_elements(By.CSS_SELECTOR, "th[scope]") for t in tables),
                "scroll_width": driver.execute_script("return document.documentElement.scrollWidth"),
                "inner_width": driver.execute_script("return window.innerWidth"),
                "text": driver.find_element(By.TAG_NAME, "body").text,
            }
            driver.save_screenshot(shot)
            driver.get(receipt_url)
            page["receipt"] = driver.find_element(By.ID, "receipt-result").text
            driver.get(hostile_url)
            page["hostile_result"] = driver.find_element(By.ID, "receipt-result").text
            page["hostile_value"] = driver.find_element(By.ID, "receipt-id").get_attribute("value")
            page["hostile_scripts"] = len(driver.find_elements(By.TAG_NAME, "script"))
            print(json.dumps(page))
        finally:
            driver.quit()
        """

    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../.build/screenshots").standardized.path

    @Test func thePageShowsTheLedgersFiguresInABrowserAndVerifiesAReceipt() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 123_456)
        _ = try await node.holder("bob")
        let bar = "TXBD-\(UInt16.random(in: 1000...9999))"
        _ = try await node.operate(
            .mintGold, "bob",
            [
                .vault: "Texas Bullion Depository", .barSerial: bar, .refiner: "Valcambi", .grossWeight: "1000000",
                .fineness: "9999", .amount: "999900",
            ])
        let transfer = try await node.signedTransfer(alice, "alice", "bob", 2_500)
        _ = try await node.client.submit(transfer)
        let settled = try await node.client.waitUntilSettled(transfer.transactionId, timeout: .seconds(20))
        let reserves = try await node.client.reserves()
        let served = try await node.raw("GET", "/")
        #expect(served.status == 200 && served.contentType.hasPrefix("text/html"))
        #expect(served.headers["content-security-policy"]?.contains("default-src 'none'") == true, "\(served.headers)")
        #expect(served.headers["x-content-type-options"] == "nosniff")
        let rules = try await node.client.rules()

        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        let shot = (Self.screenshots as NSString).appendingPathComponent("transparency-375.png")
        try? FileManager.default.removeItem(atPath: shot)
        let base = node.client.baseURL
        // A lookup of markup: it must come back as text, never as part of the page.
        let hostile = "<script>alert(1)</script>\"'"
        let query = hostile.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let run = try runToCompletion(
            "/usr/bin/python3",
            [
                "-c", Self.browserScript, base + "/", shot, base + "/?receipt=\(transfer.transactionId)",
                base + "/?receipt=\(query)",
            ])
        #expect(run.status == 0, "\(run.output)")
        let json = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(run.output)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])

        #expect(page["h1"] as? [String] == [node.config.name])
        #expect((page["title"] as? String)?.contains(node.config.name) == true)
        #expect(
            page["h2"] as? [String]
                == [
                    "Tokens in circulation and what backs them", "Gold bars backing GOLD", "Newest blocks",
                    "The rules in force", "Check a receipt",
                ])
        let cells = try #require(page["cells"] as? [String: String])
        for figures in reserves.tokens {
            let token = try #require(Token(rawValue: figures.token.rawValue))
            #expect(cells["supply-\(token.rawValue)"] == Amount.display(figures.supply, token), "\(cells)")
            #expect(cells["reserves-\(token.rawValue)"] == Amount.display(figures.reserves, token))
            #expect(cells["backed-\(token.rawValue)"]?.hasPrefix("yes") == true)
        }
        let text = try #require(page["text"] as? String)
        #expect(text.contains(bar) && text.contains("999.900 g GOLD"), "the bar and its fine weight")
        let block = try #require(settled.blockHeight)
        let rows = try #require(page["rows"] as? [String: String])
        #expect(
            rows["block-\(block)"]?.hasPrefix("\(block) ") == true && rows["block-\(block)"]?.contains("yes") == true,
            "\(rows)")
        #expect(text.contains("Version \(rules.version)"))
        #expect((page["charts"] as? [String])?.count == 2 && page["charts_labelled"] as? Bool == true)
        #expect((page["tables"] as? Int ?? 0) >= 3 && page["tables_marked_up"] as? Bool == true)
        // At 375 px the page does not scroll sideways (wide tables scroll inside their own box).
        let width = try #require(page["inner_width"] as? Int)
        #expect(width <= 375 && (page["scroll_width"] as? Int ?? .max) <= width, "\(page["scroll_width"] ?? "")")
        #expect((page["receipt"] as? String)?.hasPrefix("Verified: ") == true, "\(page["receipt"] ?? "")")
        #expect(page["hostile_scripts"] as? Int == 0 && page["hostile_value"] as? String == hostile)
        #expect((page["hostile_result"] as? String)?.contains("<script>alert(1)</script>") == true, "\(page)")
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && png.count > 10_000)
        print("screenshot of the page at 375 px: \(shot)")
    }
}
