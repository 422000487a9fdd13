import ArgumentParser
import Foundation
import SDTAPI
import SDTClient
import SDTTesting
import SDTCore
import SDTCrypto
import SDTCustody
import SDTLedger
import SDTNode

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole story on fresh nodes: onboard, mint, transfer, reject, resubmit, verify a receipt, "
            + "pay another region, audit."
    )

    @Option(help: "A new or empty directory; the node's data, keys and log stay here.") var data: String
    @Option(help: "The region config to start from.") var region: String = "regions/us-tx.toml"
    @Option(help: "The config of the second region, which the first pays and is paid by.")
    var counterpart: String = "regions/us-wy.toml"

    func validate() throws {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []
        guard contents.isEmpty else { throw ValidationError("--data \(data) is not empty; give a new directory (the demo leaves its data there)") }
        for (option, path) in [("--region", region), ("--counterpart", counterpart)]
        where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) not found; run from the repository root or pass \(option)")
        }
    }

    func run() async throws {
        var story = DemoStory(directory: data)
        do {
            try await story.run(regionPath: region, counterpartPath: counterpart)
        } catch {
            story.stopNode()
            throw fail("the demo stopped: \(error)")
        }
    }
}

/// The demo's steps, each printed as it happens.
struct DemoStory {
    let directory: String
    var node: NodeProcess?
    var step = 0

    init(directory: String) { self.directory = directory }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    mutating func say(_ title: String, _ lines: String...) {
        step += 1
        print("\n\(step). \(title)")
        for line in lines { print("   \(line)") }
    }

    var quorum: LocalQuorum?
    /// The second region: its node, its custodians, its config.
    var other: OtherRegion?
    /// The K$ node the regions send their checkpoints to.
    var kdollar: KDollarDemo?

    func stopNode() {
        kdollar?.process?.stop()
        node?.stop()
        quorum?.stop()
        other?.node?.stop()
        other?.quorum.stop()
    }

    /// Dealer ceremony for three custodians, each accepting its share and signing the transcript;
    /// then their daemons start on free loopback ports and the config points the node at them.
    mutating func runCeremony(config: inout RegionConfig, passphrase: String) async throws {
        let started = try await LocalQuorum.start(directory: path("custody"), region: config.region, passphrase: passphrase)
        quorum = started
        say("Key ceremony (dealer)", "the region key was made, split 2-of-3 with Shamir over GMP, and forgotten",
            "each custodian (ana, ben, cai) opened its sealed share, checked it against the Feldman commitments, stored it encrypted, signed the transcript",
            "region block key \(started.transcript.groupPublicKey) — transcript \(started.transcriptPath)")
        config.custody = started.custody()
        say("Start three custodian daemons",
            "ana \(started.endpoints[0]), ben \(started.endpoints[1]), cai \(started.endpoints[2]) — each checks every block before it signs")
    }

    mutating func run(regionPath: String, counterpartPath: String) async throws {
        try FileManager.default.createDirectory(atPath: path("keys"), withIntermediateDirectories: true)
        let operatorKey = SigningKey()
        var config = try RegionConfig.load(path: regionPath)
        config.operatorKeys = [operatorKey.publicKeyHex]
        // A fixed loopback port: the registry of regions names each node's endpoint before it starts.
        config.httpAddress = "127.0.0.1:\(FreePort.next())"
        try config.tomlText.write(toFile: path("\(config.region).toml"), atomically: true, encoding: .utf8)
        let passphrase = "demo passphrase only"
        try Keystore.seal(operatorKey, purpose: "operator", passphrase: passphrase).write(to: path("keys/operator.json"))
        say("Configure", "region \(config.region) (\(config.name)) from \(regionPath)",
            "demo operator key \(operatorKey.publicKeyHex.prefix(16))… replaces the configured operator keys: \(path("\(config.region).toml"))")

        try await runCeremony(config: &config, passphrase: passphrase)
        try await prepareOtherRegion(counterpartPath, first: &config, passphrase: passphrase)
        try prepareKDollar(first: &config)
        try await startKDollar()
        try config.tomlText.write(toFile: path("\(config.region).toml"), atomically: true, encoding: .utf8)
        let process = try NodeProcess(
            arguments: ["node", "--region", path("\(config.region).toml"), "--data", path("node")], logPath: path("node.log")
        )
        node = process
        try await process.start()
        // The treasury reads accounts with its operator key (every role): reads of accounts are signed.
        let client = try NodeClient(baseURL: process.baseURL, reader: operatorKey)
        let regionInfo = try await client.region()
        say("Start the node", "\(process.baseURL) — front, ZeroMQ work queue and applier in one process, SQLite ledger in \(path("node"))",
            "blocks are signed by 2 of the 3 custodians; block public key \(regionInfo.blockPublicKey) (the ceremony's)")
        try await startOtherRegion()

        let alice = SigningKey()
        let bob = SigningKey()
        try Keystore.seal(alice, purpose: "device", passphrase: passphrase).write(to: path("keys/alice-phone.json"))
        try Keystore.seal(bob, purpose: "device", passphrase: passphrase).write(to: path("keys/bob-laptop.json"))
        var operations = DemoOperations(client: client, operatorKey: operatorKey, region: config.region)
        let treasury = config.treasuryAccount ?? "treasury"
        try await operations.perform(.openAccount, [.account: "alice", .jurisdiction: "US-TX", .kycTier: "2", .deviceKey: alice.publicKeyHex],
                                     holder: .init(
                                        name: "Alice Demo-Holder", address: "100 Congress Ave, Austin TX",
                                        kycDocuments: ["TX-DL-00000000"], payoutAccount: "000123456789",
                                        payoutAgent: "BOFAUS3NXXX"))
        try await operations.perform(.openAccount, [.account: "bob", .jurisdiction: "US-WY", .kycTier: "1", .deviceKey: bob.publicKeyHex])
        try await operations.perform(.openAccount, [.account: "carlos", .jurisdiction: "MX", .kycTier: "2", .deviceKey: SigningKey().publicKeyHex])
        try await operations.perform(.openAccount, [.account: treasury, .jurisdiction: config.jurisdiction, .kycTier: "3", .deviceKey: SigningKey().publicKeyHex])
        say("Onboard holders (operator actions signed by the operator key)",
            "alice: US-TX, KYC tier 2, device key \(alice.publicKeyHex.prefix(16))… (keystore keys/alice-phone.json, Argon2id + AEAD);",
            "       her name, address and ID document are stored only encrypted with the node's data key, never in a block",
            "bob: US-WY, KYC tier 1; carlos: MX, KYC tier 2; \(treasury): the region's treasury account")

        let rules = try await client.rules()
        say("Rules in force", "rule set version \(rules.version) from \(config.rulesPath ?? "(none)"), SHA3-256 \(rules.sha3.prefix(16))… — named in every block header",
            "e.g. USD only between US accounts; USD ≥ $10,000 needs KYC tier 2 and is flagged for a currency transaction report;",
            "USD ≥ $50,000 waits for review; at most $100,000 USD out per account per 24 h; GOLD ≥ 100 g needs KYC tier 2")

        guard let bank = config.bank else {
            throw DemoError("\(regionPath) has no [bank] table: the demo's deposit comes from the bank")
        }
        try await depositThroughTheBank(client, operations: &operations, bank: bank)
        try await operations.perform(.mintGold, [.account: "bob", .amount: "999900", .vault: "Texas Bullion Depository", .barSerial: "TXBD-AU-77812",
                                                 .refiner: "Valcambi", .grossWeight: "1000000", .fineness: "9999"])
        say("Mint GOLD against a bar",
            "999.900 g GOLD to bob against bar TXBD-AU-77812 (Valcambi, 1 kg gross, fineness 999.9) in the Texas Bullion Depository")

        let first = try await transfer(client, alice, config.region, "alice", "bob", .usd, 25_000)
        try await settle(client, first, "alice pays bob 250.00 USD")
        let gold = try await transfer(client, bob, config.region, "bob", "alice", .gold, 10_000)
        try await settle(client, gold, "bob sends alice 10.000 g GOLD")

        let abroad = try await transfer(client, alice, config.region, "alice", "carlos", .usd, 5_000)
        guard case .rejected(let refusal) = abroad.result, let ruleID = refusal.ruleId else { throw DemoError("the USD transfer abroad was not refused by a rule") }
        say("Transfer refused by a named rule", "alice tries to send 50.00 USD to carlos (MX): \(refusal.code), rule \(ruleID), rule set version \(refusal.ruleSetVersion ?? 0)",
            refusal.detail)

        let dryGold = try await client.dryRun(from: "bob", to: "alice", token: .gold, amountMinorUnits: 150_000)
        let dryLarge = try await client.dryRun(from: "alice", to: "bob", token: .usd, amountMinorUnits: 1_200_000)
        say("Dry runs (change nothing)", "bob → alice 150.000 g GOLD: \(dryGold.decision.rawValue) by \(dryGold.ruleId ?? "-") — \(dryGold.detail)",
            "alice → bob 12000.00 USD: \(dryLarge.decision.rawValue), flags \(dryLarge.flags ?? []) — \(dryLarge.detail)")

        let large = try await transfer(client, alice, config.region, "alice", "bob", .usd, 6_000_000)
        guard case .queued(let held) = large.result, held.state == .held else { throw DemoError("the 60,000 USD transfer was not held: \(large.result)") }
        try await operations.perform(.review, [.transactionID: large.signed.transactionId, .decision: "approve", .reason: "Invoice 2026-118 verified by treasury officer"])
        let approved = try await client.waitUntilSettled(large.signed.transactionId)
        say("Held for review, then approved", "alice sends bob 60000.00 USD: \(held.state.rawValue) by rule \(held.ruleId ?? "")",
            "the operator approves it (a signed review action): \(approved.state.rawValue) at sequence \(approved.sequence ?? 0), flags \(approved.flags ?? [])")

        let tooMuch = try await transfer(client, bob, config.region, "bob", "alice", .usd, 50_000_000)
        guard case .rejected(let problem) = tooMuch.result else { throw DemoError("the overdraft was not rejected") }
        say("Transfer rejected", "bob tries to send 500000.00 USD: rejected with code \(problem.code) — \(problem.detail)")

        let before = try await client.account("bob").balances
        let again = try await client.submit(first.signed)
        let after = try await client.account("bob").balances
        guard case .accepted(let repeated) = again, repeated.sequence == first.sequence, before == after else {
            throw DemoError("the resubmission was applied twice or answered differently")
        }
        say("Resubmit the same signed transfer", "answer: \(repeated.state.rawValue) at sequence \(repeated.sequence ?? 0), the same as the first time",
            "bob's balances before and after: \(describe(after)) — applied once")

        let directive = "TX Dist. Ct. Travis Cty. No. D-1-GN-26-001142"
        try await operations.perform(.freeze, [.account: "bob", .legalDirective: directive, .reason: "Asset preservation order"])
        let frozen = try await transfer(client, alice, config.region, "alice", "bob", .usd, 100)
        guard case .rejected(let frozenProblem) = frozen.result else { throw DemoError("a transfer to a frozen account was accepted") }
        try await operations.perform(.clawback, [.account: "bob", .token: "USD", .amount: "100000", .treasury: treasury, .legalDirective: directive,
                                                 .reason: "Restitution ordered by the court"])
        try await operations.perform(.unfreeze, [.account: "bob", .legalDirective: directive, .reason: "Order satisfied"])
        let events = try await client.history("bob").events ?? []
        say("Freeze and clawback under a legal directive", "bob frozen: alice's 1.00 USD to bob is \(frozenProblem.code)",
            "1000.00 USD clawed back from bob to \(treasury), then bob unfrozen",
            "bob's history shows: " + events.map { event in event.legalDirective.map { "\(event.action) (\($0))" } ?? event.action }.joined(separator: "; "))

        try await showPendingAndLinked(client, alice: alice, bob: bob, region: config.region)

        let receipt = try await client.receipt(first.signed.transactionId)
        let receiptPath = path("receipt-\(first.signed.transactionId.prefix(12)).json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(receipt).write(to: URL(fileURLWithPath: receiptPath))
        let header = try Signing.verify(receipt: receipt, blockPublicKey: Hex.decode(regionInfo.blockPublicKey) ?? [])
        say("Verify a receipt offline", "saved \(receiptPath)",
            "leaf \(receipt.leafIndex) of \(receipt.entryCount) in block \(header.height); Merkle path of \(receipt.merklePath.count) hashes",
            "block header signature, Merkle path and alice's signature all verify with the region key alone",
            "same check from the shell: sdt wallet verify-receipt \(receiptPath) --region-key \(regionInfo.blockPublicKey)")

        quorum?.processes[1]?.kill9()
        let resilient = try await transfer(client, alice, config.region, "alice", "bob", .usd, 100)
        try await settle(client, resilient, "with custodian 1 (ana) killed by kill -9, alice pays bob 1.00 USD")

        try await showTwoRegions(client, operations: &operations, alice: alice, bob: bob, region: config.region)
        if let second = other?.client, let code = other?.config.region {
            let region = config.region
            try await showKDollar([(region, client), (code, second)]) { story in
                let sent = try await story.transfer(client, alice, region, "alice", "bob", .usd, 100)
                _ = try await client.waitUntilSettled(sent.signed.transactionId)
                return "alice paid bob 1.00 USD in \(region)"
            }
        }

        try await redeemThroughTheBank(client, operations: &operations, bank: bank)

        let reserves = try await client.reserves()
        let bars = try await client.bars()
        say("Proof of reserves", reserves.tokens.map {
                "\($0.token.rawValue): supply \($0.supply) = reserves \($0.reserves) (\($0.display)) "
                    + "+ claims \($0.claims) − obligations \($0.obligations)"
            }.joined(separator: "; "),
            "bars backing GOLD: " + bars.bars.map { "\($0.serial) in \($0.vault), \(Amount.display($0.fineWeight, .gold))" }.joined(separator: ", "),
            "newest block \(reserves.proof?.height ?? 0) signs supply, reserves, claims and obligations, "
                + "the reserve records' Merkle root "
                + "and the rule set in force")

        let head = try await client.head()
        say("Balances and supply",
            "alice: \(describe(try await client.account("alice").balances))",
            "bob:   \(describe(try await client.account("bob").balances))",
            "supply: \(describe(head.supply)) = sum of balances; \(head.appliedSequence) entries in \(head.finalHeight) signed blocks")

        process.stop()
        node = nil
        quorum?.stop()
        let summary = quorum?.summary() ?? []
        say("What each custodian did", summary.joined(separator: "\n   "))
        let report = try LedgerAudit.run(
            path: NodeData(directory: path("node")).ledgerPath, blockPublicKey: Hex.decode(regionInfo.blockPublicKey) ?? [],
            operatorKeys: [operatorKey.publicKeyHex]
        )
        guard report.isIntact else { throw DemoError("audit failed: \(report.firstProblem ?? "")") }
        say("Stop the node and audit the ledger offline",
            "\(report.entriesChecked) entries and \(report.blocksChecked) blocks: every signature, hash link, Merkle root, balance and supply total checks out",
            "again from the shell: sdt audit --data \(path("node"))")
        try auditOtherRegion()
        print("\nDemo complete. Data, keys (passphrase: \"\(passphrase)\"), receipt and node log are in \(directory).")
    }

    /// A two-phase escrow (reserve, then post part of it) and a linked USD-for-GOLD swap, whole or not at all.
    mutating func showPendingAndLinked(_ client: NodeClient, alice: SigningKey, bob: SigningKey, region: String) async throws {
        let escrowID = try await client.transactionIDs(account: "alice").transactionIds[0]
        let escrow = try Signing.transfer(key: alice, region: region, transactionID: escrowID, from: "alice", to: "bob", token: .usd,
                                          amountMinorUnits: 200_000, pendingTimeoutSeconds: 3600)
        guard case .accepted = try await client.submit(escrow) else { throw DemoError("the pending transfer was not accepted") }
        let reserved = try await client.account("alice").balances.first { $0.token == .usd }?.reserved ?? 0
        let postID = try await client.transactionIDs(account: "alice").transactionIds[0]
        let post = try Signing.resolution(key: alice, region: region, transactionID: postID, pendingID: escrowID, account: "alice",
                                          postAmountMinorUnits: 150_000)
        guard case .accepted = try await client.submit(post) else { throw DemoError("the post was not accepted") }
        let posted = try await client.status(escrowID).pending
        say("Two-phase transfer (escrow)", "alice reserves 2000.00 USD for bob for one hour: nothing moves, \(Amount.display(reserved, .usd)) of her balance is reserved",
            "goods partly delivered: alice posts 1500.00 USD — the pending transfer is \(posted?.state.rawValue ?? "?"), the other 500.00 USD are hers again",
            "had nobody posted it, it would have expired after the hour; bob (the payee) could also have voided it")

        func leg(_ key: SigningKey, _ from: String, _ to: String, _ token: Token, _ amount: Int64, _ link: String, _ index: Int) async throws
            -> Components.Schemas.SignedTransfer {
            let id = try await client.transactionIDs(account: from).transactionIds[0]
            return try Signing.transfer(key: key, region: region, transactionID: id, from: from, to: to, token: token, amountMinorUnits: amount,
                                        link: .init(id: link, index: index, count: 2))
        }
        let greedy = [try await leg(alice, "alice", "bob", .usd, 30_000, "swap-demo-1", 1), try await leg(bob, "bob", "alice", .gold, 2_000_000, "swap-demo-1", 2)]
        guard case .rejected(let refused) = try await client.submitLinked(greedy) else { throw DemoError("a swap with a failing leg applied") }
        let swap = [try await leg(alice, "alice", "bob", .usd, 30_000, "swap-demo-2", 1), try await leg(bob, "bob", "alice", .gold, 5_000, "swap-demo-2", 2)]
        guard case .accepted(let swapped) = try await client.submitLinked(swap) else { throw DemoError("the linked swap was not applied") }
        say("Linked transfers: a USD-for-GOLD swap, all or nothing",
            "bob's leg asks for 2000.000 g he does not hold: \(refused.code), failed leg \(refused.failedLeg?.prefix(16) ?? "?")…; alice's 300.00 USD did not move either",
            "signed again as 300.00 USD ⇄ 5.000 g GOLD under a new link id: both legs applied together, at sequences "
                + swapped.results.compactMap { $0.sequence.map(String.init) }.joined(separator: " and "))
    }

    struct Sent {
        let signed: Components.Schemas.SignedTransfer
        let result: NodeClient.SubmitResult
        var sequence: Int64? {
            if case .accepted(let status) = result { return status.sequence }
            return nil
        }
    }

    func transfer(_ client: NodeClient, _ key: SigningKey, _ region: String, _ from: String, _ to: String, _ token: Token,
                  _ amount: Int64) async throws -> Sent {
        let id = try await client.transactionIDs(account: from).transactionIds[0]
        let signed = try Signing.transfer(key: key, region: region, transactionID: id, from: from, to: to, token: token, amountMinorUnits: amount)
        return Sent(signed: signed, result: try await client.submit(signed))
    }

    mutating func settle(_ client: NodeClient, _ sent: Sent, _ title: String) async throws {
        guard case .accepted(let status) = sent.result else { throw DemoError("\(title) was not accepted: \(sent.result)") }
        let final = try await client.waitUntilSettled(sent.signed.transactionId)
        say("Transfer: \(title)", "transaction id \(sent.signed.transactionId.prefix(24))… signed by the sender's device key",
            "\(status.state.rawValue) at sequence \(status.sequence ?? 0); \(final.state.rawValue) in block \(final.blockHeight ?? 0) once two custodians co-signed its block")
    }

    func describe(_ balances: [Components.Schemas.TokenBalance]) -> String {
        balances.map(\.display).joined(separator: ", ")
    }
}

/// Performs operator actions for the demo, with fresh request ids.
struct DemoOperations {
    let client: NodeClient
    let operatorKey: SigningKey
    let region: String
    var counter = 0

    mutating func perform(
        _ kind: OperatorAction.Kind, _ fields: [OperatorAction.Field: String],
        holder: Components.Schemas.OperatorAction.HolderPayload? = nil,
        rulesText: String? = nil
    ) async throws {
        counter += 1
        let result = try await client.operatorAction(Signing.operatorAction(
            key: operatorKey, region: region, requestID: "demo-\(counter)", kind: kind, fields: fields,
            rulesText: rulesText, holder: holder
        ))
        guard result.state == .accepted else { throw DemoError("\(kind.rawValue) \(fields[.account] ?? "") was \(result.state.rawValue)") }
    }
}

struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
