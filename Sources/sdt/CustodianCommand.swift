import ArgumentParser
import Foundation
import Logging
import SDTCore
import SDTCrypto
import SDTCustody
import SDTNode
import SDTQueue

struct CustodianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "custodian", abstract: "A custodian's tools: identity key, accepting a share, and the signing daemon.",
        subcommands: [Keygen.self, Accept.self, Serve.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the custodian's identity key (encrypted keystore).")
        @OptionGroup var keystore: NewKeystoreOptions

        func run() throws {
            let key = try keystore.create(purpose: "custodian-identity")
            print("identity public key \(key.publicKeyHex)\nkeystore            \(keystore.out)")
        }
    }

    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open my sealed share, check it against the transcript's commitments, store it encrypted, and sign the transcript."
        )
        @Option(help: "The ceremony transcript; my signature is added to it.") var transcript: String
        @Option(help: "My sealed share from the dealer.") var sealedShare: String
        @Option(help: "My identity keystore.") var identity: String
        @Option(help: "Where to write my encrypted share.") var out: String
        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            var loaded = try CeremonyTranscript.read(from: transcript)
            guard let sealed = FileManager.default.contents(atPath: sealedShare) else { throw ValidationError("cannot read \(sealedShare)") }
            let key = try passphrase.openKey(identity)
            do {
                let (share, signature) = try CustodianShareFile.accept(
                    transcript: loaded, sealedShare: Array(sealed), identity: key,
                    passphrase: passphrase.passphrase(prompt: "Passphrase for the share: ")
                )
                try share.write(to: out)
                loaded.signatures[String(share.identifier)] = Hex.encode(signature)
                try loaded.write(to: transcript)
                print("custodian \(share.identifier): share verified against the commitments, stored in \(out); transcript signed")
            } catch let error as CryptoError {
                throw fail("share refused: \(error)")
            }
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the custodian daemon: check each block, then contribute a signature share.")
        @Option(help: "My encrypted share file.") var share: String
        @Option(help: "The ceremony transcript (signed by all custodians).") var transcript: String
        @Option(help: "ZeroMQ endpoint to listen on, e.g. tcp://127.0.0.1:8501 (tcp://127.0.0.1:* picks a free port).") var listen: String
        @Option(help: "Folder for my state (the heights I signed).") var state: String
        @Option(help: "Which client signatures I verify: full, or sampled:THRESHOLD_MINOR_UNITS:PER_MILLE (see keyceremony/README.md).")
        var checkPolicy: String = "full"
        @Option(help: "Serve GET /metrics (Prometheus text) on HOST:PORT, a loopback address, e.g. 127.0.0.1:9471.")
        var metrics: String?
        @Option(help: "Log lines as text, or json (one object a line, naming the custodian).")
        var logFormat: String = "text"
        @OptionGroup var passphrase: PassphraseOptions

        func validate() throws {
            guard ["text", "json"].contains(logFormat) else {
                throw ValidationError("--log-format must be text or json")
            }
            guard CheckPolicy(checkPolicy) != nil else {
                throw ValidationError("--check-policy must be full or sampled:THRESHOLD:PER_MILLE, e.g. sampled:100000:50")
            }
            if let metrics {
                guard let address = try? HostAndPort(metrics), address.isLoopback else {
                    throw ValidationError("--metrics must be a loopback HOST:PORT, e.g. 127.0.0.1:9471")
                }
            }
        }

        func run() throws {
            if logFormat == "json" {
                LoggingSystem.bootstrap { label in JSONLogHandler(label: label, metadataProvider: nil) }
            }
            let loaded = try CeremonyTranscript.read(from: transcript)
            try loaded.verify(requireAllSignatures: true)
            let file = try CustodianShareFile.read(from: share)
            let secret = try file.open(passphrase: passphrase.passphrase(prompt: "Passphrase for the share: "), transcript: loaded)
            let context = QueueContext()
            // Bootstrapped before the daemon counts anything, so every request is counted.
            let listener = try metrics.map { address in
                try MetricsListener.application(
                    address: address, tls: nil, gauges: ScrapeGauges(reader: nil, custody: nil, waiting: nil),
                    logger: Logger(label: "sdt.custodian"), announce: "custodian \(file.identifier) metrics at")
            }
            // Asked for metrics and cannot serve them (the port is taken, say): say so and stop, rather
            // than run unwatched.
            let serving = listener.map { listener in
                Task {
                    do {
                        try await listener.run()
                    } catch {
                        FileHandle.standardError.write(Data("custodian: the metrics listener failed: \(error)\n".utf8))
                        Foundation.exit(1)
                    }
                }
            }
            defer { serving?.cancel() }
            let daemon = try CustodianDaemon(
                share: secret, identifier: file.identifier, transcript: loaded, context: context, endpoint: listen, stateDirectory: state,
                policy: CheckPolicy(checkPolicy) ?? .full
            )
            // SIGTERM and SIGINT stop the daemon after the request in hand; it then exits 0.
            let stops = [SIGTERM, SIGINT].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { daemon.stop() }
                source.resume()
                return source
            }
            defer { stops.forEach { $0.cancel() } }
            FileHandle.standardOutput.write(Data("custodian \(file.identifier) of \(loaded.region), check policy \(checkPolicy), serving at \(daemon.endpoint)\n".utf8))
            guard logFormat == "json" else {
                daemon.run { line in
                    FileHandle.standardError.write(Data("custodian \(file.identifier): \(line)\n".utf8))
                }
                return
            }
            var logger = Logger(label: "sdt.custodian")
            logger[metadataKey: "custodian"] = "\(file.identifier)"
            logger[metadataKey: "region"] = "\(loaded.region)"
            daemon.run { line in logger.info("\(line)") }
        }
    }
}
