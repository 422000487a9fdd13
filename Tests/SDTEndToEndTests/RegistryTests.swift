import Foundation
import SDTCore
import SDTCrypto
import SDTNode
import SDTTesting
import Testing

/// A node with `[registry]` starts only on a registry its authority signed that lists this region
/// with the node's own block and sealing keys; `sdt registry` makes the entry, signs and verifies.
@Suite(.serialized) struct RegistryTests {
    @Test func aNodeStartsOnlyOnASignedRegistryThatListsItsOwnKeys() async throws {
        let node = try TestNode()
        /// `sdt node` expected to refuse to start: bounded, so that a node that starts anyway fails the test, not hangs it.
        func start() throws -> (status: Int32, output: String) {
            try runToCompletion(
                "/usr/bin/timeout",
                [
                    "20", NodeProcess.sdtExecutable(), "node", "--region", node.configPath,
                    "--data", node.dataPath,
                ])
        }
        let passphrase = node.directory.file("passphrase")
        try "registry passphrase".write(toFile: passphrase, atomically: true, encoding: .utf8)
        let authorityFile = node.directory.file("authority.json")
        let made = try AuditCommandTests.sdt([
            "registry", "keygen", "--out", authorityFile, "--passphrase-file", passphrase,
        ])
        #expect(made.status == 0, "\(made.output)")
        let authorityKey = try #require(
            made.output.split(whereSeparator: \.isWhitespace).first { $0.count == 64 }.map(String.init))

        let entry = try AuditCommandTests.sdt([
            "registry", "entry", "--region", node.configPath, "--data", node.dataPath,
            "--endpoint", "https://us-tx.example:8443",
        ])
        #expect(entry.status == 0, "\(entry.output)")
        let other = RegionRegistry.entryText(
            code: "us-wy", name: "Wyoming", blockPublicKey: SigningKey().publicKey,
            sealingPublicKey: SealingKey().publicKey, endpoint: "https://us-wy.example:8443")
        let registryPath = node.directory.file("registry.toml")
        try ("version = 1\n\n" + entry.output + "\n" + other).write(
            toFile: registryPath, atomically: true, encoding: .utf8)
        node.config.registry = .init(path: registryPath, authorityKey: authorityKey)
        try node.saveConfig()

        let unsigned = try start()
        #expect(unsigned.status != 0 && unsigned.output.contains("is not signed"), "\(unsigned.output)")

        let signed = try AuditCommandTests.sdt([
            "registry", "sign", "--registry", registryPath, "--key", authorityFile,
            "--passphrase-file", passphrase,
        ])
        #expect(signed.status == 0 && signed.output.contains("us-tx, us-wy"), "\(signed.output)")
        let verified = try AuditCommandTests.sdt([
            "registry", "verify", "--registry", registryPath, "--authority-key", authorityKey,
        ])
        #expect(verified.status == 0 && verified.output.contains("signature verifies"), "\(verified.output)")
        let wrongAuthority = try AuditCommandTests.sdt([
            "registry", "verify", "--registry", registryPath,
            "--authority-key", SigningKey().publicKeyHex,
        ])
        #expect(wrongAuthority.status != 0)

        let process = try await node.start()
        #expect(try await node.client.health().status == .ok)
        process.stop()

        // Listed with another block key: the node refuses to start and says what to fix.
        let text = try String(contentsOfFile: registryPath, encoding: .utf8)
        let ownBlockKey = try NodeData(directory: node.dataPath).blockKey().publicKeyHex
        try text.replacingOccurrences(of: ownBlockKey, with: SigningKey().publicKeyHex)
            .write(toFile: registryPath, atomically: true, encoding: .utf8)
        let changed = try start()
        #expect(changed.status != 0 && changed.output.contains("does not match its signature"), "\(changed.output)")
        _ = try AuditCommandTests.sdt([
            "registry", "sign", "--registry", registryPath, "--key", authorityFile, "--passphrase-file", passphrase,
        ])
        let wrongKey = try start()
        #expect(
            wrongKey.status != 0 && wrongKey.output.contains("but this node's blocks are signed with"),
            "\(wrongKey.output)")
    }
}
