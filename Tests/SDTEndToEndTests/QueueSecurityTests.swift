import Foundation
import SDTClient
import SDTCore
import SDTCrypto
import SDTQueue
import Testing

@testable import SDTNode

/// The tcp queue between separate fronts and applier is CURVE-encrypted and admits only the fronts
/// the config lists: a client with another key, or none, gets no outcome out and no work in.
@Suite(.serialized) struct QueueSecurityTests {
    @Test func onlyListedFrontsGetWorkInAndOutcomesOut() async throws {
        let node = try TestNode()
        let applierKeys = try CurveKeyPair.generate()
        let frontKeys = try CurveKeyPair.generate()
        try FileManager.default.createDirectory(
            atPath: node.dataPath, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        for (name, keys) in [("applier", applierKeys), ("front", frontKeys)] {
            FileManager.default.createFile(
                atPath: node.dataPath + "/queue-\(name).key", contents: Data(keys.secretKey),
                attributes: [.posixPermissions: 0o600])
        }
        node.config.queuePublicKey = Hex.encode(applierKeys.publicKey)
        node.config.frontPublicKeys = [Hex.encode(frontKeys.publicKey)]
        try node.saveConfig()
        try await node.start(role: "applier")
        try await node.start(role: "front")
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")

        let context = QueueContext()
        func heartbeat(_ keys: CurveKeyPair?) throws -> Bool {
            let listener = try QueueSocket(context, .subscribe)
            if let keys { try listener.makeCurveClient(keys, serverPublicKey: applierKeys.publicKey) }
            try listener.connect(node.config.outcomesEndpoint)
            let deadline = ContinuousClock.now + .milliseconds(2_000)
            while ContinuousClock.now < deadline {
                if let message = try listener.receive(timeoutMilliseconds: 100), message.first == Heartbeat.version {
                    return true
                }
            }
            return false
        }
        #expect(try heartbeat(frontKeys), "a listed key hears no heartbeat: the test cannot tell anything")
        #expect(try heartbeat(try CurveKeyPair.generate()) == false, "an unlisted CURVE key heard the outcome channel")
        #expect(try heartbeat(nil) == false, "a client without CURVE heard the outcome channel")

        // Work pushed by an unlisted key is never applied; the same body through the front is.
        let signed = try await node.signedTransfer(alice, "alice", "bob", 125)
        let transfer = try Transfer(
            region: signed.region, transactionID: signed.transactionId, from: signed.from, to: signed.to,
            token: signed.token.rawValue, amountMinorUnits: signed.amount, publicKeyHex: signed.publicKey)
        let rogue = try QueueSocket(context, .push)
        try rogue.makeCurveClient(try CurveKeyPair.generate(), serverPublicKey: applierKeys.publicKey)
        try rogue.setSendTimeout(milliseconds: 500)
        try rogue.connect(node.config.queueEndpoint)
        try? rogue.send(SubmissionCodec.encode([.transfer(transfer, signature: Hex.decode(signed.signature)!)]))
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await node.raw("GET", "/v1/transactions/\(signed.transactionId)").status == 404)
        guard case .accepted = try await node.client.submit(signed) else {
            throw TestFailure("the listed front could not submit")
        }
        #expect(try await node.client.waitUntilSettled(signed.transactionId).state == .final)
        #expect(node.log.contains("refused a queue connection with CURVE key"), "the applier did not log the refusal")

        // A front whose own key is not listed does not start, and says which key to list.
        let stranger = node.directory.file("stranger.key")
        FileManager.default.createFile(atPath: stranger, contents: Data(try CurveKeyPair.generate().secretKey))
        let refused = try AuditCommandTests.sdt([
            "node", "--region", node.configPath, "--data", node.dataPath, "--role", "front",
            "--queue-key", stranger, "--http", "127.0.0.1:0",
        ])
        #expect(refused.status != 0)
        #expect(refused.output.contains("not in endpoints.front_public_keys"), "\(refused.output)")
        node.stopAll()
    }

    @Test func aPlainQueueOffLoopbackIsRefusedAtStart() throws {
        var text = try String(contentsOfFile: "regions/us-tx.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "tcp://127.0.0.1:8402", with: "tcp://10.1.2.3:8402")
        #expect(throws: ConfigError.self) { try RegionConfig.parse(text) }
        do {
            _ = try RegionConfig.parse(text)
        } catch {
            #expect("\(error)".contains("queue_public_key"), "\(error)")
        }
    }
}
