import Foundation
import SDTCrypto
import SDTNode
import Testing

/// The K$ node's config: the committed file parses once it names a registry, and every bad value is
/// refused with the field named.
struct GlobalConfigTests {
    static let committed = try! String(
        contentsOf: RegionConfigTests.repository.appendingPathComponent("regions/kdollar.toml"), encoding: .utf8)
    static let authority = SigningKey().publicKeyHex
    static let registry = "\n[registry]\nfile = \"registry.toml\"\nauthority_key = \"\(authority)\"\n"

    @Test func theCommittedConfigParsesOnceItNamesARegistry() throws {
        #expect(throws: ConfigError.self) { try GlobalConfig.parse(Self.committed) }
        let config = try GlobalConfig.parse(Self.committed + Self.registry)
        #expect(config.name == "K$ Authority" && config.httpAddress == "127.0.0.1:8700")
        #expect(config.registryAuthorityKey == Self.authority && config.settlementPeriodSeconds == 3_600)
        #expect(config.allowedSkewMilliseconds == 60_000)
        #expect(try GlobalConfig.parse(config.tomlText) == config)
    }

    @Test func withTLSTheNodeMayListenBeyondLoopbackAndTheFilesAreBesideTheConfig() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kdollar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text =
            Self.committed.replacingOccurrences(of: "http = \"127.0.0.1:8700\"", with: "http = \"0.0.0.0:8700\"")
            + Self.registry + "\n[tls]\ncertificate = \"node.pem\"\nprivate_key = \"/etc/sdt/node.key\"\n"
            + "client_ca = \"regions-ca.pem\"\n"
        let path = folder.appendingPathComponent("kdollar.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try GlobalConfig.load(path: path)
        #expect(config.httpAddress == "0.0.0.0:8700")
        #expect(config.tls?.certificatePath == folder.appendingPathComponent("node.pem").path)
        #expect(config.tls?.privateKeyPath == "/etc/sdt/node.key")
        #expect(config.tls?.clientCAPath == folder.appendingPathComponent("regions-ca.pem").path)
        #expect(try GlobalConfig.parse(config.tomlText) == config)
    }

    @Test func badValuesAreRefusedNamingTheField() {
        let base = Self.committed + Self.registry
        func replacing(_ old: String, _ new: String) -> String { base.replacingOccurrences(of: old, with: new) }
        for (bad, field) in [
            (replacing("period_seconds = 3600", "period_seconds = -1"), "settlement.period_seconds"),
            (
                replacing("allowed_skew_milliseconds = 60000", "allowed_skew_milliseconds = \"1\""),
                "checkpoints.allowed_skew_milliseconds"
            ),
            (replacing("http = \"127.0.0.1:8700\"", "http = \"nowhere\""), "endpoints.http"),
            (replacing(Self.authority, String(repeating: "0", count: 64)), "registry.authority_key"),
            (base + "\nsurprise = 1\n", "surprise"),
            (replacing("http = \"127.0.0.1:8700\"", "http = \"0.0.0.0:8700\""), "[tls]"),
            (replacing("http = \"127.0.0.1:8700\"", "http = \"127.0.0.1:8700\"\nmetrics = \"0.0.0.0:9470\""), "[tls]"),
            (base + "\n[tls]\ncertificate = \"node.pem\"\n", "tls.private_key"),
            (base + "\n[tls]\ncertificate = \"a\"\nprivate_key = \"b\"\nchain = \"c\"\n", "chain"),
        ] {
            do {
                _ = try GlobalConfig.parse(bad)
                Issue.record("accepted a config with a bad \(field)")
            } catch {
                #expect("\(error)".contains(field), "\(error)")
            }
        }
    }
}
