import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SDTClient
import SDTCore
import SDTCrypto
import SDTCustody
import SDTLedger
import SDTNode
import SDTQueue
import SDTTesting
import Testing

/// A node whose blocks are signed by three `sdt custodian serve` processes after a dealer ceremony.
final class CustodiedNode: @unchecked Sendable {
    let node: TestNode
    let transcriptPath: String
    var custodians: [Int: NodeProcess] = [:]
    /// Where each custodian listens: each binds a port of the kernel's choosing at its first start
    /// (so that no other test can take it in between) and keeps it when restarted.
    var endpoints = (1...3).map { _ in "tcp://127.0.0.1:*" }
    static let passphrase = "custodian passphrase"
    /// Where a custodian serves its metrics (`--metrics`), by identifier; none by default.
    var metrics: [Int: String] = [:]
    /// More arguments for each custodian's `sdt custodian serve`, by identifier.
    var custodianArguments: [Int: [String]] = [:]
    var groupPublicKey: [UInt8] = []

    convenience init() throws { try self.init(node: TestNode()) }

    /// Custodians for `node`'s region: a dealer ceremony whose transcript and shares go in its directory.
    init(node: TestNode) throws {
        self.node = node
        transcriptPath = node.directory.file("transcript.json")
        let identities = (0..<3).map { _ in SigningKey() }
        let (dealt, sealed) = try DealerCeremony.deal(
            region: node.config.region,
            custodians: zip(["ana", "ben", "cai"], identities).map { .init(name: $0, identityKey: $1.publicKey) }
        )
        var transcript = dealt
        for (index, identity) in identities.enumerated() {
            let (file, signature) = try CustodianShareFile.accept(
                transcript: dealt, sealedShare: sealed[index + 1]!, identity: identity,
                passphrase: Self.passphrase)
            try file.write(to: node.directory.file("share-\(index + 1).json"))
            transcript.signatures[String(index + 1)] = Hex.encode(signature)
        }
        try transcript.write(to: transcriptPath)
        groupPublicKey = transcript.groupPublicKeyBytes
    }

    func startCustodian(_ identifier: Int) async throws {
        let process = try NodeProcess(
            arguments: [
                "custodian", "serve", "--share", node.directory.file("share-\(identifier).json"), "--transcript",
                transcriptPath,
                "--listen", endpoints[identifier - 1], "--state", node.directory.file("custodian-state"),
            ]
                + (metrics[identifier].map { ["--metrics", $0] } ?? []) + (custodianArguments[identifier] ?? []),
            logPath: node.directory.file("custodian-\(identifier).log"),
            environment: ["SDT_PASSPHRASE": Self.passphrase]
        )
        let line = try await process.start(marker: "serving at")
        if let range = line.range(of: "serving at ") {
            endpoints[identifier - 1] = String(line[range.upperBound...]).trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        custodians[identifier] = process
    }

    func start() async throws {
        try await startCustodians()
        try await node.start()
    }

    /// Starts the three custodians and names them in the node's config (which then names the quorum's
    /// key as the region's block key).
    func startCustodians() async throws {
        for identifier in 1...3 { try await startCustodian(identifier) }
        node.config.custody = .init(transcriptPath: transcriptPath, endpoints: endpoints, timeoutMilliseconds: 300)
        try node.saveConfig()
    }

    func stopAll() {
        node.stopAll()
        for process in custodians.values { process.stop() }
    }

    deinit { stopAll() }
}

@Suite(.serialized) struct CustodyTests {
    /// `--log-format json`: a custodian's lines are JSON objects naming it and its region.
    @Test func aCustodianLogsItsRefusalsAsJSON() async throws {
        let custodied = try CustodiedNode()
        custodied.custodianArguments[2] = ["--log-format", "json"]
        try await custodied.startCustodian(2)
        let context = QueueContext()
        let socket = try QueueSocket(context, .request)
        try socket.connect(custodied.endpoints[1])
        try socket.send(Array("not a custodian request".utf8))
        let reply = try #require(try socket.receive(timeoutMilliseconds: 5_000))
        #expect(!reply.isEmpty)
        socket.close()
        custodied.stopAll()
        let log = try String(contentsOfFile: custodied.node.directory.file("custodian-2.log"), encoding: .utf8)
        let objects = log.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let refusal = try #require(
            objects.first { ($0["message"] as? String)?.contains("unreadable request") == true }, "\(log)")
        #expect(refusal["custodian"] as? String == "2" && refusal["region"] as? String == custodied.node.config.region)
        #expect(refusal["level"] as? String == "info" && refusal["time"] is String)
    }

    @Test func aCustodianKilledDuringSigningDoesNotStopTheOtherTwo() async throws {
        let custodied = try CustodiedNode()
        try await custodied.start()
        let node = custodied.node
        let keys = try await CrashRecoveryTests.prepare(node)
        let victim = custodied.custodians[1]!
        let acknowledged = try await CrashRecoveryTests.submitUntilKilled(
            node, keys: keys, client: node.client, stopAfter: .seconds(3)
        ) {
            victim.kill9()
        }
        #expect(acknowledged.count > 10)
        for id in acknowledged.keys {
            #expect(try await node.client.waitUntilSettled(id, timeout: .seconds(20)).state == .final)
        }
        // One more transfer after the kill, so that a block is certainly signed after it (on a fast run
        // every submission can be in before the kill).
        let after = try await node.signedTransfer(keys[0], "h0", "h1", 1)
        _ = try await node.client.submit(after)
        #expect(try await node.client.waitUntilSettled(after.transactionId, timeout: .seconds(20)).state == .final)
        let region = try await node.client.region()
        #expect(region.blockPublicKey == Hex.encode(custodied.groupPublicKey))
        // The newest block was signed without the killed custodian: the node records who signed, with
        // the shares that prove it against the transcript, and the public page names them.
        let newest = try await node.client.block(try await node.client.head().finalHeight)
        #expect(newest.signers == [2, 3])
        let transcript = try CeremonyTranscript.read(from: custodied.transcriptPath)
        let publicShares = Dictionary(
            uniqueKeysWithValues: transcript.custodians.map { ($0.identifier, Hex.decode($0.publicShare)!) })
        #expect(
            QuorumSignature.verifiedSigners(
                proof: Hex.decode(try #require(newest.signingProof)) ?? [],
                signature: Hex.decode(try #require(newest.signature)) ?? [], threshold: 2, publicShares: publicShares,
                groupPublicKey: custodied.groupPublicKey, message: Hex.decode(newest.header) ?? []) == [2, 3])
        let (page, _) = try await URLSession.shared.data(from: URL(string: node.client.baseURL + "/")!)
        let names = transcript.custodians.sorted { $0.identifier < $1.identifier }.map(\.name)
        let named = "yes, by custodians 2 (\(names[1])) and 3 (\(names[2]))"
        #expect(String(decoding: page, as: UTF8.self).contains(named))
        custodied.stopAll()
        let ledgerPath = try NodeData(directory: node.dataPath).ledgerPath
        let policy = AuditPolicy(
            operatorKeys: [node.operatorKey.publicKeyHex],
            signerProof: { header, signature, signers, proof in
                QuorumSignature.verifiedSigners(
                    proof: proof, signature: signature, threshold: 2, publicShares: publicShares,
                    groupPublicKey: custodied.groupPublicKey, message: header) == signers
            })
        let report = try LedgerAudit.run(path: ledgerPath, blockPublicKey: custodied.groupPublicKey, policy: policy)
        #expect(report.isIntact, "\(report.firstProblem ?? "")")
        #expect(report.blocksUnsigned == 0)
        #expect(report.blocksWithProvenSigners == report.blocksChecked && report.blocksChecked > 0)
        // Someone rewrites who signed the newest block: the audit names it.
        let connection = try SQLiteConnection(path: ledgerPath)
        try connection.execute("UPDATE blocks SET signers = '1,3' WHERE height = \(newest.height)")
        let tampered = try LedgerAudit.run(path: ledgerPath, blockPublicKey: custodied.groupPublicKey, policy: policy)
        #expect(tampered.firstProblem?.contains("block \(newest.height): the recorded signers [1, 3]") == true,
                "\(tampered.firstProblem ?? "intact")")
    }

    @Test func withTwoCustodiansDownTheNodeAcceptsFinalizesNothingAndCatchesUp() async throws {
        let custodied = try CustodiedNode()
        try await custodied.start()
        let node = custodied.node
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        func custodians(_ json: [String: Any]) -> [Int: Bool] {
            let list = (json["custody"] as? [String: Any])?["custodians"] as? [[String: Any]] ?? []
            return Dictionary(
                uniqueKeysWithValues: list.map { ($0["identifier"] as? Int ?? 0, $0["reachable"] as? Bool ?? false) })
        }
        let healthy = try await node.health { _, json in custodians(json).count == 3 }
        #expect(healthy.status == 200 && healthy.json["status"] as? String == "ok", "\(healthy.json)")
        #expect(custodians(healthy.json) == [1: true, 2: true, 3: true])
        #expect((healthy.json["custody"] as? [String: Any])?["threshold"] as? Int == 2)

        custodied.custodians[3]!.stop()
        // One custodian down: blocks are still signed, and health says which custodian to look at.
        let oneDown = try await node.health { _, json in custodians(json)[3] == false }
        #expect(oneDown.status == 200 && oneDown.json["status"] as? String == "degraded", "\(oneDown.json)")
        #expect(
            (oneDown.json["problems"] as? [String])?.contains { $0.contains("custodian 3 (cai) does not answer") }
                == true)
        try await custodied.startCustodian(3)
        _ = try await node.health { _, json in json["status"] as? String == "ok" }

        custodied.custodians[1]!.kill9()
        custodied.custodians[2]!.stop()
        var pending: [String] = []
        for _ in 0..<5 {
            let signed = try await node.signedTransfer(alice, "alice", "bob", 100)
            switch try await node.client.submit(signed) {
            case .accepted: break
            case .queued:
                // A loaded machine: the applier did not answer within the front's wait. The ledger does.
                let deadline = ContinuousClock.now + .seconds(20)
                while (try? await node.client.status(signed.transactionId))?.state != .accepted {
                    guard ContinuousClock.now < deadline else {
                        throw TestFailure("\(signed.transactionId) stays queued")
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            case .rejected(let problem):
                throw TestFailure("refused with custodians down: \(problem.title)")
            }
            pending.append(signed.transactionId)
        }
        try await Task.sleep(for: .seconds(1))
        for id in pending {
            #expect(try await node.client.status(id).state == .accepted, "\(id) became final with one custodian")
        }
        let head = try await node.client.head()
        #expect((head.finalSequence ?? 0) < head.appliedSequence)
        let twoDown = try await node.health { _, json in custodians(json)[1] == false && custodians(json)[2] == false }
        #expect(twoDown.status == 200 && twoDown.json["status"] as? String == "degraded", "\(twoDown.json)")
        #expect((twoDown.json["problems"] as? [String])?.contains { $0.contains("no block can be signed") } == true)
        #expect((twoDown.json["blocks_waiting"] as? Int ?? 0) > 0, "\(twoDown.json)")
        try await custodied.startCustodian(2)
        for id in pending { #expect(try await node.client.waitUntilSettled(id, timeout: .seconds(20)).state == .final) }
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 500)
    }
}
