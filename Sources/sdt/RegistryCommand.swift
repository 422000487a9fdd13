import ArgumentParser
import Foundation
import Logging
import SDTCore
import SDTCrypto
import SDTNode

/// The signed registry of regions: the authority makes its key and signs the file; each region's
/// operator prints the entry to send the authority; anyone verifies a registry.
struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "The signed registry of regions: make the authority's key, print a region's entry, sign, verify.",
        subcommands: [Keygen.self, Entry.self, Sign.self, Verify.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the registry authority's signing key (encrypted keystore).")
        @OptionGroup var keystore: NewKeystoreOptions

        func run() throws {
            let key = try keystore.create(purpose: "registry-authority")
            print("authority public key \(key.publicKeyHex)\nkeystore             \(keystore.out)")
        }
    }

    struct Entry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print this region's [[regions]] entry (block key, sealing key, USD reserve account) for the "
                + "registry authority."
        )
        @Option(help: "The region config.") var region: String
        @Option(help: "The node's data directory (its sealing key is created there if missing).") var data: String
        @Option(help: "The endpoint other regions reach this one at.") var endpoint: String

        func run() throws {
            do {
                let config = try RegionConfig.load(path: region)
                let options = NodeOptions(
                    config: config, data: try NodeData(directory: data), role: .all,
                    logger: Logger(label: "sdt.registry"))
                print(
                    RegionRegistry.entryText(
                        code: config.region, name: config.name, blockPublicKey: try NodeRunner.blockPublicKey(options),
                        sealingPublicKey: try options.data.sealingKey().publicKey, endpoint: endpoint,
                        settlement: config.bank.map { .init(bic: $0.bic, account: $0.reserveAccount) }
                    ), terminator: "")
            } catch {
                throw fail("\(error)")
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a registry file with the authority's key; writes <file>.sig.")
        @Option var registry: String
        @Option(help: "The authority's keystore.") var key: String
        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            guard let file = FileManager.default.contents(atPath: registry) else {
                throw fail("cannot read \(registry)")
            }
            do {
                let parsed = try RegionRegistry.parse(String(decoding: file, as: UTF8.self))
                let signature = RegistrySignature.sign(Array(file), with: try passphrase.openKey(key))
                try signature.text.write(
                    toFile: RegionRegistry.signaturePath(of: registry), atomically: true, encoding: .utf8)
                print(
                    "signed registry version \(parsed.version) (\(parsed.entries.map(\.code).joined(separator: ", "))) with "
                        + "\(Hex.encode(signature.authorityKey)): \(RegionRegistry.signaturePath(of: registry))")
            } catch {
                throw fail("\(registry): \(error)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a registry's signature with the authority's public key and list it.")
        @Option var registry: String
        @Option(help: "The authority's public key (64 hex).") var authorityKey: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let key = Hex.decode(authorityKey), key.count == 32 else {
                throw ValidationError("--authority-key: 64 lowercase hex")
            }
            do {
                let verified = try RegionRegistry.load(path: registry, authorityKey: key)
                if output.json {
                    let regions: [[String: Any]] = verified.entries.map { entry in
                        [
                            "code": entry.code, "name": entry.name, "endpoint": entry.endpoint,
                            "block_public_key": Hex.encode(entry.blockPublicKey),
                            "sealing_public_key": Hex.encode(entry.sealingPublicKey),
                        ]
                    }
                    return try output.printJSON([
                        "version": verified.version, "signature_verifies": true, "regions": regions,
                    ])
                }
                print("registry version \(verified.version): signature verifies")
                for entry in verified.entries {
                    print(
                        "  \(entry.code)  \(entry.name)  block \(Hex.encode(entry.blockPublicKey).prefix(16))…  \(entry.endpoint)"
                    )
                }
            } catch {
                throw fail("\(error)")
            }
        }
    }
}
