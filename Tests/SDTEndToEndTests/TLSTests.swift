import Foundation
import SDTCrypto
import SDTNode
import SDTTesting
import Testing

/// The HTTP front over TLS 1.3 with the certificate and key the config names, checked with real
/// `openssl`-made certificates and a real `curl`: TLS 1.2 and plain HTTP get nothing, and with a
/// client CA only clients presenting a certificate it signed are served.
@Suite(.serialized) struct TLSTests {
    /// Runs `tool` with `arguments`; returns its exit status and what it printed.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runToCompletion("/usr/bin/env", [tool] + arguments)
    }

    /// A CA and a certificate it signs for `name` (with 127.0.0.1 as an address), as PEM files in `directory`.
    static func makeCertificates(_ directory: TemporaryDirectory, ca: String, leaf: String) throws {
        let file = directory.file
        for step in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                "/CN=\(ca)",
                "-keyout", file("\(ca).key"), "-out", file("\(ca).pem"),
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=\(leaf)",
                "-keyout", file("\(leaf).key"), "-out", file("\(leaf).csr"),
            ],
            [
                "x509", "-req", "-in", file("\(leaf).csr"), "-CA", file("\(ca).pem"), "-CAkey", file("\(ca).key"),
                "-CAcreateserial",
                "-days", "2", "-extfile", file("\(leaf).ext"), "-out", file("\(leaf).pem"),
            ],
        ] {
            if step[0] == "x509" {
                try "subjectAltName = IP:127.0.0.1, DNS:localhost\n".write(
                    toFile: file("\(leaf).ext"), atomically: true, encoding: .utf8)
            }
            let result = try run("openssl", step)
            guard result.status == 0 else { throw TestFailure("openssl \(step[0]) failed: \(result.output)") }
        }
    }

    @Test func theFrontServesTLS13OnlyAndMutualTLSWhenConfigured() async throws {
        let node = try TestNode()
        try Self.makeCertificates(node.directory, ca: "ca", leaf: "server")
        try Self.makeCertificates(node.directory, ca: "clients", leaf: "bank")
        try Self.makeCertificates(node.directory, ca: "strangers", leaf: "mallory")
        let file = node.directory.file
        node.config.tls = .init(certificatePath: file("server.pem"), privateKeyPath: file("server.key"))
        try node.saveConfig()
        let process = try await node.start()
        #expect(node.client.baseURL.hasPrefix("https://127.0.0.1:"))
        let url = node.client.baseURL + "/health"

        let served = try Self.run("curl", ["-sS", "--cacert", file("ca.pem"), "--tlsv1.3", url])
        #expect(served.status == 0 && served.output.contains("\"status\""), "\(served.output)")
        let old = try Self.run("curl", ["-sS", "--cacert", file("ca.pem"), "--tlsv1.2", "--tls-max", "1.2", url])
        #expect(old.status != 0, "TLS 1.2 was served: \(old.output)")
        let plain = try Self.run(
            "curl", ["-sS", "--max-time", "5", url.replacingOccurrences(of: "https://", with: "http://")])
        #expect(plain.status != 0 || !plain.output.contains("\"status\""), "plain HTTP was served on the TLS port")
        process.stop()

        node.config.tls?.clientCAPath = file("clients.pem")
        try node.saveConfig()
        try await node.start()
        let mutualURL = node.client.baseURL + "/health"
        let anonymous = try Self.run("curl", ["-sS", "--cacert", file("ca.pem"), mutualURL])
        #expect(anonymous.status != 0, "a client without a certificate was served: \(anonymous.output)")
        let bank = try Self.run(
            "curl",
            ["-sS", "--cacert", file("ca.pem"), "--cert", file("bank.pem"), "--key", file("bank.key"), mutualURL])
        #expect(bank.status == 0 && bank.output.contains("\"status\""), "\(bank.output)")
        let mallory = try Self.run(
            "curl",
            [
                "-sS", "--cacert", file("ca.pem"), "--cert", file("mallory.pem"), "--key", file("mallory.key"),
                mutualURL,
            ])
        #expect(mallory.status != 0, "a client certificate from another CA was served: \(mallory.output)")
        node.stopAll()
    }

    @Test func plainHTTPOffLoopbackAndUnreadableCertificatesAreRefused() throws {
        var text = try String(contentsOfFile: "regions/us-tx.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "http = \"127.0.0.1:8401\"", with: "http = \"0.0.0.0:8401\"")
        do {
            _ = try RegionConfig.parse(text)
            Issue.record("plain HTTP on 0.0.0.0 was accepted")
        } catch {
            #expect("\(error)".contains("[tls]"), "\(error)")
        }
        let node = try TestNode()
        node.config.tls = .init(
            certificatePath: node.directory.file("missing.pem"), privateKeyPath: node.directory.file("missing.key"))
        try node.saveConfig()
        let failed = try AuditCommandTests.sdt(["node", "--region", node.configPath, "--data", node.dataPath])
        #expect(failed.status != 0)
        #expect(failed.output.contains("tls.certificate: cannot read"), "\(failed.output)")
    }

    /// The K$ node with `[tls]`: TLS 1.3 only, nothing in plain HTTP or TLS 1.2, and a certificate it
    /// cannot read refused at start with the field named.
    @Test func theKDollarNodeServesTLS13OnlyWhenConfigured() async throws {
        let directory = TemporaryDirectory("kdollar-tls")
        try Self.makeCertificates(directory, ca: "ca", leaf: "server")
        let authority = SigningKey()
        let registry =
            "version = 1\n\n"
            + RegionRegistry.entryText(
                code: "us-tx", name: "Texas State Depository", blockPublicKey: SigningKey().publicKey,
                sealingPublicKey: SealingKey().publicKey, endpoint: "https://us-tx.example:8443")
        let registryPath = directory.file("registry.toml")
        try registry.write(toFile: registryPath, atomically: true, encoding: .utf8)
        try RegistrySignature.sign(Array(registry.utf8), with: authority).text.write(
            toFile: RegionRegistry.signaturePath(of: registryPath), atomically: true, encoding: .utf8)
        var config = GlobalConfig(
            name: "K$ Authority", httpAddress: "127.0.0.1:\(FreePort.next())", registryPath: registryPath,
            registryAuthorityKey: authority.publicKeyHex)
        config.tls = .init(certificatePath: directory.file("server.pem"), privateKeyPath: directory.file("server.key"))
        let configPath = directory.file("kdollar.toml")
        try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = try NodeProcess(
            arguments: ["global", "serve", "--config", configPath, "--data", directory.file("data")],
            logPath: directory.file("kdollar.log"))
        let line = try await process.start(marker: "listening on")
        defer { process.stop() }
        #expect(line.contains("https://127.0.0.1:"), "\(line)")
        let url = "https://\(config.httpAddress)/health"
        let served = try Self.run("curl", ["-sS", "--cacert", directory.file("ca.pem"), "--tlsv1.3", url])
        #expect(served.status == 0 && served.output.contains("\"status\""), "\(served.output)")
        let old = try Self.run(
            "curl", ["-sS", "--cacert", directory.file("ca.pem"), "--tlsv1.2", "--tls-max", "1.2", url])
        #expect(old.status != 0, "TLS 1.2 was served: \(old.output)")
        let plain = try Self.run("curl", ["-sS", "--max-time", "5", "http://\(config.httpAddress)/health"])
        #expect(plain.status != 0 || !plain.output.contains("\"status\""), "plain HTTP was served on the TLS port")
        process.stop()

        config.tls = .init(certificatePath: directory.file("missing.pem"), privateKeyPath: directory.file("server.key"))
        try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
        let failed = try AuditCommandTests.sdt([
            "global", "serve", "--config", configPath, "--data", directory.file("data"),
        ])
        #expect(failed.status != 0 && failed.output.contains("tls.certificate: cannot read"), "\(failed.output)")
    }
}
