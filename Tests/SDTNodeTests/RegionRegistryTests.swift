import Foundation
import SDTCore
import SDTCrypto
import Testing

@testable import SDTNode

/// The registry is used only as its authority signed it: unsigned, changed, signed by another key, or
/// malformed, it is refused with a message that says which.
@Suite struct RegionRegistryTests {
    static func text(_ entries: [(String, [UInt8], [UInt8])]) -> String {
        "version = 3\n\n"
            + entries.map { code, block, sealing in
                RegionRegistry.entryText(
                    code: code, name: "Depository \(code)", blockPublicKey: block, sealingPublicKey: sealing,
                    endpoint: "https://\(code).example:8443")
            }.joined(separator: "\n")
    }

    static func write(_ text: String, signedBy key: SigningKey?) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "registry-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("registry.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if let key {
            try RegistrySignature.sign(Array(text.utf8), with: key).text
                .write(toFile: RegionRegistry.signaturePath(of: path), atomically: true, encoding: .utf8)
        }
        return path
    }

    @Test func aSignedRegistryLoadsAndEveryOtherOneIsRefused() throws {
        let authority = SigningKey()
        let tx = (SigningKey().publicKey, SealingKey().publicKey)
        let wy = (SigningKey().publicKey, SealingKey().publicKey)
        let text = Self.text([("us-tx", tx.0, tx.1), ("us-wy", wy.0, wy.1)])
        let path = try Self.write(text, signedBy: authority)
        let registry = try RegionRegistry.load(path: path, authorityKey: authority.publicKey)
        #expect(registry.version == 3 && registry.entries.map(\.code) == ["us-tx", "us-wy"])
        #expect(registry.entry("us-wy")?.blockPublicKey == wy.0 && registry.entry("us-wy")?.sealingPublicKey == wy.1)

        func refusal(_ path: String, _ key: [UInt8] = authority.publicKey) -> String {
            do {
                _ = try RegionRegistry.load(path: path, authorityKey: key)
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(try Self.write(text, signedBy: nil)).contains("is not signed"))
        #expect(refusal(path, SigningKey().publicKey).contains("not by the registry authority this config trusts"))
        try (text + " ").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(refusal(path).contains("does not match its signature"))
        #expect(refusal(try Self.write(text, signedBy: SigningKey())).contains("signed by"))
    }

    @Test func malformedRegistriesSayWhatToFix() {
        let block = SigningKey().publicKey
        let sealing = SealingKey().publicKey
        let cases: [(String, String)] = [
            (Self.text([("us-tx", block, sealing), ("us-tx", block, sealing)]), "listed twice"),
            (Self.text([("us-tx", [UInt8](repeating: 0, count: 32), sealing)]), "prime-order"),
            (Self.text([("US_TX", block, sealing)]), "not a code like us-tx"),
            ("version = 1\n", "at least one region"),
            (
                Self.text([("us-tx", block, sealing)]).replacingOccurrences(of: "version = 3", with: "version = 0"),
                "version"
            ),
            (Self.text([("us-tx", block, sealing)]) + "extra = 1\n", "unknown key"),
            (
                Self.text([("us-tx", block, sealing)]).replacingOccurrences(of: Hex.encode(sealing), with: "ABCD"),
                "64 lowercase hex"
            ),
        ]
        for (text, expected) in cases {
            do {
                _ = try RegionRegistry.parse(text)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
