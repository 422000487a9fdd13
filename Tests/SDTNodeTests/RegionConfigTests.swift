import Foundation
import Logging
import Testing

@testable import SDTNode

@Suite struct RegionConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")

    @Test(arguments: ["us-tx", "us-wy"])
    func shippedRegionsLoadAndRoundTrip(region: String) throws {
        let config = try RegionConfig.load(path: Self.repository.appendingPathComponent("regions/\(region).toml").path)
        #expect(config.region == region)
        #expect(config.tokens == [.usd, .gold])
        #expect(try RegionConfig.parse(config.tomlText) == config)
    }

    @Test(arguments: [
        ("colour = \"blue\"", "unknown key 'colour'"),
        ("[limits]\nbatch_transfers_max = 0", "limits.batch_transfers_max"),
        ("[limits]\nsurprise = 1", "unknown key 'surprise' in limits"),
    ])
    func badFieldsAreNamed(extra: String, expected: String) throws {
        let base = try String(contentsOf: Self.repository.appendingPathComponent("regions/us-tx.toml"), encoding: .utf8)
        let text =
            base.replacingOccurrences(of: "[limits]", with: "[ignored]").components(separatedBy: "[ignored]")[0] + extra
            + "\n"
        #expect {
            try RegionConfig.parse(text)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func invalidValuesAreRefusedWithTheField() throws {
        let base = try String(contentsOf: Self.repository.appendingPathComponent("regions/us-tx.toml"), encoding: .utf8)
        for (find, replace, expected) in [
            ("tokens = [\"USD\", \"GOLD\"]", "tokens = [\"USD\", \"BTC\"]", "tokens"),
            ("region = \"us-tx\"", "region = \"US TX\"", "region"),
            ("jurisdiction = \"US-TX\"", "jurisdiction = \"Texas\"", "jurisdiction"),
            ("http = \"127.0.0.1:8401\"", "http = \"localhost\"", "HOST:PORT"),
            ("keys = [\"", "keys = [\"zz", "operators.keys"),
            ("region = \"us-tx\"", "region = 5", "region"),
            ("http = \"127.0.0.1:8401\"", "http = \"127.0.0.1:8401\"\nmetrics = \"9464\"", "endpoints.metrics"),
        ] {
            let text = base.replacingOccurrences(of: find, with: replace)
            #expect(text != base, "fixture did not change for \(find)")
            #expect { try RegionConfig.parse(text) } throws: { "\($0)".contains(expected) }
        }
        #expect { try RegionConfig.parse("region = ") } throws: { _ in true }
    }

    @Test func aMetricsListenerIsOptionalRoundTripsAndServesPlainHTTPOnLoopbackOnly() throws {
        let base = try String(contentsOf: Self.repository.appendingPathComponent("regions/us-tx.toml"), encoding: .utf8)
        #expect(try RegionConfig.parse(base).metricsAddress == nil)
        let text = base.replacingOccurrences(
            of: "http = \"127.0.0.1:8401\"", with: "http = \"127.0.0.1:8401\"\nmetrics = \"127.0.0.1:9464\"")
        let config = try RegionConfig.parse(text)
        #expect(config.metricsAddress == "127.0.0.1:9464")
        #expect(try RegionConfig.parse(config.tomlText) == config)
        let gauges = ScrapeGauges(reader: nil, custody: nil, waiting: nil)
        #expect {
            try MetricsListener.application(
                address: "0.0.0.0:9464", tls: nil, gauges: gauges, logger: Logger(label: "test"), announce: "")
        } throws: { "\($0)".contains("not a loopback address") }
    }
}
