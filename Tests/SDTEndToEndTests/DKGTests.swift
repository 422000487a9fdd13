import Foundation
import SDTClient
import SDTCore
import SDTCrypto
import SDTCustody
import SDTNode
import SDTTesting
import Testing

@Suite(.serialized) struct DKGTests {
    @Test func threeProcessesGenerateAKeyThatThenSignsTheNodesBlocks() async throws {
        let node = try TestNode()
        let passphrase = "custodian passphrase"
        let names = ["ana", "ben", "cai"]
        let identities = names.map { _ in SigningKey() }
        for (name, identity) in zip(names, identities) {
            try Keystore.seal(identity, purpose: "custodian-identity", passphrase: passphrase).write(to: node.directory.file("\(name)-id.json"))
        }
        let ceremonyEndpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }
        let custodianArguments = zip(zip(names, identities), ceremonyEndpoints).flatMap { pair, endpoint in
            ["--custodian", "\(pair.0)=\(pair.1.publicKeyHex)@\(endpoint)"]
        }
        // ana's runs on a terminal: it draws how many of the others' messages have come while it waits.
        let drawn = try await Self.runTogether(names.indices.map { index in
            ["ceremony", "dkg", "--region", "us-tx", "--me", String(index + 1), "--identity", node.directory.file("\(names[index])-id.json"),
             "--out", node.directory.file("dkg-\(names[index])")] + custodianArguments
        }, passphrase: passphrase, onTerminal: 0)
        #expect(
            drawn.contains("dkg: messages from the other custodians [") && drawn.contains("6/6 messages"), "\(drawn)")
        let transcripts = try names.map { try CeremonyTranscript.read(from: node.directory.file("dkg-\($0)/transcript.json")) }
        #expect(transcripts[1] == transcripts[0] && transcripts[2] == transcripts[0])
        try transcripts[0].verify(requireAllSignatures: true)
        #expect(transcripts[0].kind == "dkg")

        let endpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }
        var custodians: [NodeProcess] = []
        defer { for process in custodians { process.stop() } }
        custodians = try await Self.startCustodians(node, names: names, folder: "dkg", endpoints: endpoints, passphrase: passphrase)
        node.config.custody = .init(transcriptPath: node.directory.file("dkg-ana/transcript.json"), endpoints: endpoints, timeoutMilliseconds: 500)
        try node.config.tomlText.write(toFile: node.configPath, atomically: true, encoding: .utf8)
        try await node.start()
        let alice = try await node.holder("alice", usd: 1_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 10)
        _ = try await node.client.submit(signed)
        #expect(try await node.client.waitUntilSettled(signed.transactionId).state == .final)
        let receipt = try await node.client.receipt(signed.transactionId)
        _ = try Signing.verify(receipt: receipt, blockPublicKey: transcripts[0].groupPublicKeyBytes)

        // Refresh, run by the three custodians as processes (ana's on a terminal, drawing the others'
        // contributions and signatures as they come); the custodians restart on the new shares.
        node.stopAll()
        for process in custodians { process.stop() }
        custodians = []
        let refreshEndpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }.joined(separator: ",")
        let refreshDrawn = try await Self.runTogether(names.indices.map { index in
            ["ceremony", "refresh", "--transcript", node.directory.file("dkg-\(names[index])/transcript.json"), "--me", String(index + 1),
             "--share", node.directory.file("dkg-\(names[index])/share-\(index + 1)-\(names[index]).json"),
             "--identity", node.directory.file("\(names[index])-id.json"), "--endpoints", refreshEndpoints,
             "--out", node.directory.file("refresh-\(names[index])")]
        }, passphrase: passphrase, onTerminal: 0)
        #expect(
            refreshDrawn.contains("refresh: messages from the other custodians [")
                && refreshDrawn.contains("4/4 messages"), "\(refreshDrawn)")
        let refreshed = try CeremonyTranscript.read(from: node.directory.file("refresh-ana/transcript.json"))
        try refreshed.verify(requireAllSignatures: true)
        #expect(refreshed.groupPublicKey == transcripts[0].groupPublicKey)
        let oldShare = try CustodianShareFile.read(from: node.directory.file("dkg-ana/share-1-ana.json")).open(passphrase: passphrase, transcript: transcripts[0])
        let newShare = try CustodianShareFile.read(from: node.directory.file("refresh-ben/share-2-ben.json")).open(passphrase: passphrase, transcript: refreshed)
        let sharing = try ShamirSharing(field: .ed25519Order, threshold: 2)
        let mixed = try KeyAssembly.combine([.init(identifier: 1, value: BigInteger(littleEndian: oldShare)), .init(identifier: 2, value: BigInteger(littleEndian: newShare))], sharing: sharing)
        #expect(Hex.encode(try Ed25519Group.baseMultiply(mixed.littleEndianBytes(count: 32))) != refreshed.groupPublicKey)
        custodians = try await Self.startCustodians(node, names: names, folder: "refresh", endpoints: endpoints, passphrase: passphrase)
        node.config.custody?.transcriptPath = node.directory.file("refresh-ana/transcript.json")
        try node.config.tomlText.write(toFile: node.configPath, atomically: true, encoding: .utf8)
        try await node.start()
        let after = try await node.signedTransfer(alice, "alice", "bob", 20)
        _ = try await node.client.submit(after)
        #expect(try await node.client.waitUntilSettled(after.transactionId).state == .final)
        _ = try Signing.verify(receipt: try await node.client.receipt(after.transactionId), blockPublicKey: refreshed.groupPublicKeyBytes)
    }

    /// The K$ Authority's shape: five processes generate a 3-of-5 key, any three of them sign the
    /// node's blocks (two are stopped), and a replacement of custodian 5 run by the four others and the
    /// newcomer (custodian 4 is no helper: it only signs) keeps the key and lets the newcomer sign.
    @Test func fiveProcessesGenerateAThreeOfFiveKeyAndAnyThreeSign() async throws {
        let node = try TestNode()
        let passphrase = "custodian passphrase"
        let names = ["ana", "ben", "cai", "dee", "eli"]
        let identities = names.map { _ in SigningKey() }
        let newcomer = SigningKey()
        for (name, identity) in zip(names + ["eve"], identities + [newcomer]) {
            try Keystore.seal(identity, purpose: "custodian-identity", passphrase: passphrase)
                .write(to: node.directory.file("\(name)-id.json"))
        }
        let ceremonyEndpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }
        let custodianArguments = zip(zip(names, identities), ceremonyEndpoints).flatMap { pair, endpoint in
            ["--custodian", "\(pair.0)=\(pair.1.publicKeyHex)@\(endpoint)"]
        }
        try await Self.runTogether(
            names.indices.map { index in
                [
                    "ceremony", "dkg", "--region", "us-tx", "--me", String(index + 1), "--threshold", "3",
                    "--identity", node.directory.file("\(names[index])-id.json"),
                    "--out", node.directory.file("dkg-\(names[index])"),
                ] + custodianArguments
            }, passphrase: passphrase)
        let transcript = try CeremonyTranscript.read(from: node.directory.file("dkg-ana/transcript.json"))
        try transcript.verify(requireAllSignatures: true)
        #expect(transcript.threshold == 3 && transcript.custodians.count == 5)

        let endpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }
        var custodians = try await Self.startCustodians(
            node, names: names, folder: "dkg", endpoints: endpoints, passphrase: passphrase)
        defer { for process in custodians { process.stop() } }
        node.config.custody = .init(
            transcriptPath: node.directory.file("dkg-ana/transcript.json"), endpoints: endpoints,
            timeoutMilliseconds: 500)
        try node.config.tomlText.write(toFile: node.configPath, atomically: true, encoding: .utf8)
        try await node.start()
        let alice = try await node.holder("alice", usd: 1_000)
        _ = try await node.holder("bob")
        custodians[0].stop()
        custodians[1].stop()
        let withThree = try await node.signedTransfer(alice, "alice", "bob", 10)
        _ = try await node.client.submit(withThree)
        #expect(try await node.client.waitUntilSettled(withThree.transactionId).state == .final)
        let receipt = try await node.client.receipt(withThree.transactionId)
        _ = try Signing.verify(receipt: receipt, blockPublicKey: transcript.groupPublicKeyBytes)

        // Replace custodian 5 (eli) by eve: helpers 1, 2, 3 send parts, 4 only signs.
        node.stopAll()
        for process in custodians { process.stop() }
        custodians = []
        let replaceEndpoints = names.map { _ in "tcp://127.0.0.1:\(FreePort.next())" }.joined(separator: ",")
        let after = names.prefix(4) + ["eve"]
        // eve's runs on a terminal: three helpers' openings and parts, and four signatures, come to her.
        let replaceDrawn = try await Self.runTogether(
            after.indices.map { index in
                var arguments = [
                    "ceremony", "replace", "--transcript", node.directory.file("dkg-ana/transcript.json"),
                    "--me", String(index + 1), "--replace", "5", "--new-name", "eve",
                    "--new-identity-key", newcomer.publicKeyHex,
                    "--identity", node.directory.file("\(after[index])-id.json"),
                    "--endpoints", replaceEndpoints, "--out", node.directory.file("replace-\(after[index])"),
                ]
                if index < 4 {
                    let share = "dkg-\(names[index])/share-\(index + 1)-\(names[index]).json"
                    arguments += ["--share", node.directory.file(share)]
                }
                return arguments
            }, passphrase: passphrase, onTerminal: 4)
        #expect(
            replaceDrawn.contains("replace: messages from the others [") && replaceDrawn.contains("10/10 messages"),
            "\(replaceDrawn)")
        let replaced = try CeremonyTranscript.read(from: node.directory.file("replace-eve/transcript.json"))
        try replaced.verify(requireAllSignatures: true)
        #expect(replaced.groupPublicKey == transcript.groupPublicKey && replaced.custodians[4].name == "eve")
        #expect(try CeremonyTranscript.read(from: node.directory.file("replace-dee/transcript.json")) == replaced)
        custodians = try await Self.startCustodians(
            node, names: Array(after), folder: "replace", endpoints: endpoints, passphrase: passphrase)
        custodians[0].stop()
        custodians[1].stop()
        node.config.custody?.transcriptPath = node.directory.file("replace-eve/transcript.json")
        try node.config.tomlText.write(toFile: node.configPath, atomically: true, encoding: .utf8)
        try await node.start()
        // Three of cai, dee and eve: the newcomer's share signs.
        let withNewcomer = try await node.signedTransfer(alice, "alice", "bob", 20)
        _ = try await node.client.submit(withNewcomer)
        #expect(try await node.client.waitUntilSettled(withNewcomer.transactionId).state == .final)
        _ = try Signing.verify(
            receipt: try await node.client.receipt(withNewcomer.transactionId),
            blockPublicKey: replaced.groupPublicKeyBytes)
    }

    /// Starts `sdt custodian serve` for each custodian on its share and transcript in `folder-NAME/`.
    static func startCustodians(_ node: TestNode, names: [String], folder: String, endpoints: [String], passphrase: String) async throws
        -> [NodeProcess] {
        var started: [NodeProcess] = []
        for (index, name) in names.enumerated() {
            let process = try NodeProcess(
                arguments: ["custodian", "serve", "--share", node.directory.file("\(folder)-\(name)/share-\(index + 1)-\(name).json"),
                            "--transcript", node.directory.file("\(folder)-\(name)/transcript.json"), "--listen", endpoints[index],
                            "--state", node.directory.file("state")],
                logPath: node.directory.file("custodian-\(folder)-\(index + 1).log"), environment: ["SDT_PASSPHRASE": passphrase]
            )
            try await process.start(marker: "serving at")
            started.append(process)
        }
        return started
    }

    /// Runs one `sdt` process per argument list at the same time and expects each to exit 0 within a minute.
    /// Runs every command at once; the one at `onTerminal` runs under `script(1)`, on a terminal of its
    /// own, and what it drew there is returned.
    @discardableResult
    static func runTogether(_ argumentLists: [[String]], passphrase: String, onTerminal: Int? = nil) async throws
        -> String {
        var processes: [Process] = []
        let folder = TemporaryDirectory("typescript")
        let typescript = folder.file("typescript")
        for (index, arguments) in argumentLists.enumerated() {
            let process = Process()
            if index == onTerminal {
                let command = ([NodeProcess.sdtExecutable()] + arguments).map { "'\($0)'" }.joined(separator: " ")
                process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
                process.arguments = ["-qec", command, typescript]
            } else {
                process.executableURL = URL(fileURLWithPath: NodeProcess.sdtExecutable())
                process.arguments = arguments
            }
            process.environment = ProcessInfo.processInfo.environment.merging(["SDT_PASSPHRASE": passphrase]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        for process in processes where process.isRunning { process.terminate() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 }, "\(argumentLists.first?.prefix(2).joined(separator: " ") ?? "") failed")
        return try withExtendedLifetime(folder) {
            onTerminal == nil ? "" : try String(contentsOfFile: typescript, encoding: .utf8)
        }
    }
}
