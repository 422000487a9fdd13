import Foundation
import SDTClient
import SDTTesting
import SDTCore
import SDTCrypto
import SDTCustody
import SDTNode

/// A dealer ceremony and three `sdt custodian serve` processes on free loopback ports, for the demo
/// and the benchmark: every custodian accepts its share and signs the transcript before serving.
struct LocalQuorum {
    static let names = ["ana", "ben", "cai"]
    let directory: String
    let transcript: CeremonyTranscript
    var processes: [Int: NodeProcess] = [:]
    var endpoints: [String] = []

    var transcriptPath: String { (directory as NSString).appendingPathComponent("transcript.json") }

    static func start(directory: String, region: String, passphrase: String, policy: String = "full") async throws -> LocalQuorum {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let identities = names.map { _ in SigningKey() }
        let (dealt, sealed) = try DealerCeremony.deal(
            region: region, custodians: zip(names, identities).map { .init(name: $0, identityKey: $1.publicKey) }
        )
        var transcript = dealt
        for (index, identity) in identities.enumerated() {
            let (file, signature) = try CustodianShareFile.accept(transcript: dealt, sealedShare: sealed[index + 1]!, identity: identity,
                                                                  passphrase: passphrase)
            try file.write(to: path("share-\(index + 1)-\(names[index]).json"))
            try Keystore.seal(identity, purpose: "custodian-identity", passphrase: passphrase).write(to: path("identity-\(names[index]).json"))
            transcript.signatures[String(index + 1)] = Hex.encode(signature)
        }
        try transcript.verify(requireAllSignatures: true)
        var quorum = LocalQuorum(directory: directory, transcript: transcript)
        try transcript.write(to: quorum.transcriptPath)
        for (index, name) in names.enumerated() {
            let process = try NodeProcess(
                arguments: ["custodian", "serve", "--share", path("share-\(index + 1)-\(name).json"), "--transcript", quorum.transcriptPath,
                            "--listen", "tcp://127.0.0.1:*", "--state", path("state"), "--check-policy", policy],
                logPath: path("custodian-\(index + 1)-\(name).log"), environment: ["SDT_PASSPHRASE": passphrase]
            )
            let line = try await process.start(marker: "serving at")
            quorum.processes[index + 1] = process
            quorum.endpoints.append(String(line.split(separator: " ").last ?? ""))
        }
        return quorum
    }

    func custody(timeoutMilliseconds: Int = 500) -> RegionConfig.Custody {
        .init(transcriptPath: transcriptPath, endpoints: endpoints, timeoutMilliseconds: timeoutMilliseconds)
    }

    func stop() { for process in processes.values { process.stop() } }

    /// One line per custodian: how many blocks it co-signed and how many it refused, from its log.
    func summary() -> [String] {
        Self.names.enumerated().map { index, name in
            let log = (try? String(contentsOfFile: (directory as NSString).appendingPathComponent("custodian-\(index + 1)-\(name).log"),
                                   encoding: .utf8)) ?? ""
            return "custodian \(index + 1) (\(name)): checked and co-signed \(log.components(separatedBy: "signed block").count - 1) blocks, "
                + "refused \(log.components(separatedBy: "refused:").count - 1)"
        }
    }
}
