import ArgumentParser
import Foundation
import SDTCore
import SDTCrypto
import SDTCustody

struct CeremonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceremony", abstract: "Key ceremonies for the region's block key (see keyceremony/RUNBOOK.md).",
        subcommands: [Deal.self, DKG.self, Refresh.self, Replace.self, Verify.self]
    )

    struct Deal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dealer ceremony, on an offline machine: make the region key, split it t-of-n "
                + "(2-of-3 unless told), seal each share to its custodian, forget the key."
        )
        @Option(help: "Region code, e.g. us-tx.") var region: String
        @Option(
            name: .customLong("custodian"),
            help: "NAME=IDENTITY_PUBLIC_KEY_HEX, once per custodian, in identifier order.")
        var custodians: [String]
        @Option(help: "How many custodians sign together (2 ≤ threshold ≤ custodians).") var threshold = 2
        @Option(help: "Folder for transcript.json and the sealed shares (created; must not hold a transcript).") var out: String

        func validate() throws {
            guard Identifier.isValidRegionCode(region[...]) else { throw ValidationError("--region must be a code like us-tx") }
            try checkShape(threshold: threshold, custodians: custodians.count)
            for custodian in custodians {
                let parts = custodian.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, Identifier.isValidHex(parts[1], byteCount: 32) else {
                    throw ValidationError("--custodian \(custodian): expected NAME=64-hex identity public key")
                }
            }
            guard !FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("transcript.json")) else {
                throw ValidationError("\(out) already holds a transcript; use a new folder")
            }
        }

        func run() throws {
            let identities = custodians.map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1)
                return DealerCeremony.Identity(name: String(parts[0]), identityKey: Hex.decode(parts[1]) ?? [])
            }
            let (transcript, sealed) = try DealerCeremony.deal(
                region: region, custodians: identities, threshold: threshold)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try transcript.write(to: (out as NSString).appendingPathComponent("transcript.json"))
            for custodian in transcript.custodians {
                let path = (out as NSString).appendingPathComponent("share-\(custodian.identifier)-\(custodian.name).sealed")
                try Data(sealed[custodian.identifier]!).write(to: URL(fileURLWithPath: path))
                print("custodian \(custodian.identifier) \(custodian.name): sealed share \(path)")
            }
            print("region \(region) block public key \(transcript.groupPublicKey), \(threshold)-of-\(custodians.count)")
            print("transcript \((out as NSString).appendingPathComponent("transcript.json")) — each custodian must now run `sdt custodian accept`")
        }
    }

    struct DKG: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dkg",
            abstract:
                "Distributed key generation: run by all custodians at once; the region key is never on any machine."
        )
        @Option(help: "Region code, e.g. us-tx.") var region: String
        @Option(help: "My identifier (1 to the number of custodians).") var me: Int
        @Option(help: "My identity keystore.") var identity: String
        @Option(
            name: .customLong("custodian"),
            help: "NAME=IDENTITY_PUBLIC_KEY_HEX@ENDPOINT, once per custodian, in identifier order.")
        var custodians: [String]
        @Option(help: "How many custodians sign together (2 ≤ threshold ≤ custodians); all must give the same.")
        var threshold = 2
        @Option(help: "Folder for transcript.json and my share file.") var out: String
        @OptionGroup var passphrase: PassphraseOptions

        func parsed() throws -> [(name: String, key: [UInt8], endpoint: String)] {
            try custodians.map { entry in
                let nameAndRest = entry.split(separator: "=", maxSplits: 1)
                let keyAndEndpoint = nameAndRest.count == 2 ? nameAndRest[1].split(separator: "@", maxSplits: 1) : []
                guard keyAndEndpoint.count == 2, let key = Hex.decode(keyAndEndpoint[0]), key.count == 32 else {
                    throw ValidationError("--custodian \(entry): expected NAME=64-hex-identity-key@tcp://HOST:PORT")
                }
                return (String(nameAndRest[0]), key, String(keyAndEndpoint[1]))
            }
        }

        func validate() throws {
            try checkShape(threshold: threshold, custodians: custodians.count)
            guard (1...custodians.count).contains(me) else {
                throw ValidationError("--me must be 1 to \(custodians.count), the number of --custodian options")
            }
            _ = try parsed()
        }

        func run() throws {
            let entries = try parsed()
            let key = try passphrase.openKey(identity)
            let participants = entries.enumerated().map {
                DistributedKeyGeneration.Participant(identifier: $0.offset + 1, name: $0.element.name, identityKey: $0.element.key)
            }
            let session = try DistributedKeyGeneration(
                region: region, me: me, identity: key, participants: participants, threshold: threshold)
            var peers: [Int: String] = [:]
            for (index, entry) in entries.enumerated() where index + 1 != me { peers[index + 1] = entry.endpoint }
            do {
                let secret = try passphrase.passphrase(prompt: "Passphrase for the share: ")
                // On a terminal: how many of the other custodians' messages have come, while it waits on them.
                let line = ProgressLine(
                    "dkg: messages from the other custodians", total: 3 * peers.count, unit: "messages")
                let (transcript, share) = try DKGRunner(session: session, listen: entries[me - 1].endpoint, peers: peers)
                    .run(passphrase: secret, progress: { received, _ in line.set(done: received) })
                line.finish()
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try transcript.write(to: (out as NSString).appendingPathComponent("transcript.json"))
                let path = (out as NSString).appendingPathComponent("share-\(me)-\(entries[me - 1].name).json")
                try share.write(to: path)
                print(
                    "custodian \(me): region key \(transcript.groupPublicKey) "
                        + "(\(threshold)-of-\(entries.count)) agreed by all \(entries.count); share stored in \(path)")
            } catch {
                throw fail("DKG aborted: \(error)")
            }
        }
    }

    /// What every online resharing needs: the current transcript, who I am, everyone's endpoint.
    struct ResharingOptions: ParsableArguments {
        @Option(help: "The transcript in force (signed by all custodians).") var transcript: String
        @Option(help: "My identifier (1 to the number of custodians).") var me: Int
        @Option(help: "My identity keystore.") var identity: String
        @Option(help: "Every participant's ceremony endpoint, comma-separated, in identifier order.")
        var endpoints: String
        @Option(help: "Folder for the next transcript.json and my new share file.") var out: String

        var endpointList: [String] { endpoints.split(separator: ",").map(String.init) }

        func validate() throws {
            guard endpointList.count >= 2, (1...endpointList.count).contains(me) else {
                throw ValidationError("give one --endpoints entry per custodian and --me 1 to their number")
            }
        }

        /// The transcript in force, refused unless `--endpoints` names each of its custodians.
        func current() throws -> CeremonyTranscript {
            let current = try CeremonyTranscript.read(from: transcript)
            guard endpointList.count == current.custodians.count else {
                throw ValidationError(
                    "--endpoints lists \(endpointList.count) endpoints; "
                        + "the transcript has \(current.custodians.count) custodians")
            }
            return current
        }

        func channel() throws -> CeremonyChannel {
            let all = endpointList
            return try CeremonyChannel(listen: all[me - 1], peers: all.enumerated().filter { $0.offset + 1 != me }.map(\.element))
        }

        func write(_ transcript: CeremonyTranscript, _ share: CustodianShareFile, name: String) throws -> String {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try transcript.write(to: (out as NSString).appendingPathComponent("transcript.json"))
            let path = (out as NSString).appendingPathComponent("share-\(me)-\(name).json")
            try share.write(to: path)
            return path
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Proactive refresh, run by all custodians at once: new shares, the same region key; "
                + "old shares become useless."
        )
        @OptionGroup var options: ResharingOptions
        @Option(help: "My current share file.") var share: String
        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            let current = try options.current()
            let key = try passphrase.openKey(options.identity)
            // On a terminal: how many of the other custodians' messages have come, while it waits on them.
            let line = ProgressLine(
                "refresh: messages from the other custodians", total: 2 * (current.custodians.count - 1),
                unit: "messages")
            do {
                let shareFile = try CustodianShareFile.read(from: share)
                let secret = try passphrase.passphrase(prompt: "Passphrase for the share: ")
                let (next, file) = try OnlineResharing.refresh(
                    current: current, shareFile: shareFile, identity: key, passphrase: secret,
                    channel: options.channel(), progress: { received, _ in line.set(done: received) })
                line.finish()
                let path = try options.write(next, file, name: current.custodians[options.me - 1].name)
                print("custodian \(options.me): refreshed; region key \(next.groupPublicKey) unchanged; new share \(path); destroy the old one")
            } catch {
                line.finish()
                throw fail("refresh aborted: \(error)")
            }
        }
    }

    struct Replace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give custodian N's share to a new holder, run by every remaining custodian and the newcomer "
                + "(as --me N); the t lowest remaining identifiers send parts. Refresh right after."
        )
        @OptionGroup var options: ResharingOptions
        @Option(help: "The identifier being handed over.") var replace: Int
        @Option(help: "The newcomer's name.") var newName: String
        @Option(help: "The newcomer's identity public key (hex).") var newIdentityKey: String
        @Option(help: "My current share file (remaining custodians only).") var share: String?
        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            let current = try options.current()
            guard let newKey = Hex.decode(newIdentityKey), newKey.count == 32 else { throw ValidationError("--new-identity-key must be 64 hex") }
            let key = try passphrase.openKey(options.identity)
            var line: ProgressLine?
            do {
                let shareFile = try share.map { try CustodianShareFile.read(from: $0) }
                let secret = try passphrase.passphrase(prompt: "Passphrase for the share: ")
                let (next, file) = try OnlineResharing.replace(
                    current: current, target: replace, newName: newName, newIdentityKey: newKey, me: options.me,
                    shareFile: shareFile, identity: key,
                    passphrase: secret, channel: options.channel(),
                    progress: { received, expected in
                        // On a terminal: the other participants' messages, while it waits on them.
                        if line == nil {
                            line = ProgressLine("replace: messages from the others", total: expected, unit: "messages")
                        }
                        line?.set(done: received)
                    }
                )
                line?.finish()
                let path = try options.write(next, file, name: next.custodians[options.me - 1].name)
                print("custodian \(options.me): custodian \(replace) is now \(newName); region key unchanged; share file \(path). Run a refresh now.")
            } catch {
                line?.finish()
                throw fail("replacement aborted: \(error)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a transcript: mathematics, and that all custodians signed it.")
        @Argument var transcript: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let loaded = try CeremonyTranscript.read(from: transcript)
            do {
                try loaded.verify(requireAllSignatures: true)
            } catch {
                throw fail("\(transcript): \(error)")
            }
            if output.json {
                return try output.printJSON([
                    "valid": true, "region": loaded.region, "group_public_key": loaded.groupPublicKey,
                    "signed_by_all_custodians": true, "threshold": loaded.threshold,
                    "custodians": loaded.custodians.count,
                ])
            }
            print(
                "transcript valid: region \(loaded.region), \(loaded.threshold)-of-\(loaded.custodians.count), "
                    + "key \(loaded.groupPublicKey), signed by all custodians")
        }
    }
}

/// Refuses a threshold and custodian count no key may be shared with, in the options' words.
private func checkShape(threshold: Int, custodians: Int) throws {
    do {
        try CeremonyTranscript.checkShape(threshold: threshold, custodianCount: custodians)
    } catch {
        throw ValidationError("--threshold \(threshold) with \(custodians) --custodian options: \(error)")
    }
}
