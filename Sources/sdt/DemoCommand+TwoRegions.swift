import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import SDTRules
import SDTTesting

/// The demo's second region: its own custodian quorum, operator key, node and rules.
struct OtherRegion {
    var config: RegionConfig
    let configPath: String
    let dataPath: String
    let operatorKey: SigningKey
    let quorum: LocalQuorum
    var node: NodeProcess?
    var client: NodeClient?
    var starts = 0
}

/// A rule only the receiving region has: it refuses dollars from senders of the paying region below
/// KYC tier 3, so a payment the paying region's rules accept is refused on arrival.
private func inboundRule(from region: String, at receiver: String) -> String {
    """

    [[rule]]
    id = "\(receiver.uppercased().replacingOccurrences(of: "US-", with: ""))-INBOUND-USD-KYC3"
    decision = "reject"
    reason = "Dollars from \(region.uppercased()) senders below KYC tier 3 are not accepted here."
    token = "USD"
    sender_jurisdiction_in = ["\(region.uppercased())"]
    sender_kyc_tier_below = 3

    """
}

extension DemoStory {
    /// A ceremony for the second region, its config, and the registry of both regions, signed by a
    /// registry authority made for the demo; both configs name it.
    mutating func prepareOtherRegion(_ configPath: String, first: inout RegionConfig, passphrase: String) async throws {
        var config = try RegionConfig.load(path: configPath)
        guard config.region != first.region else {
            throw DemoError("--counterpart must be another region than \(first.region)")
        }
        let operatorKey = SigningKey()
        config.operatorKeys = [operatorKey.publicKeyHex]
        config.httpAddress = "127.0.0.1:\(FreePort.next())"
        let quorum = try await LocalQuorum.start(
            directory: path("custody-\(config.region)"), region: config.region, passphrase: passphrase)
        config.custody = quorum.custody()
        say(
            "Key ceremony for a second region, \(config.region) (\(config.name))",
            "three more custodians (ana, ben, cai of \(config.region)) hold 2-of-3 shares of its own "
                + "region key \(quorum.transcript.groupPublicKey)",
            "their daemons: " + quorum.endpoints.joined(separator: ", "))

        let authority = SigningKey()
        var registry = "version = 1\n\n"
        for (region, name, address, blockKey, data, bank) in [
            (
                first.region, first.name, first.httpAddress,
                Hex.decode(self.quorum?.transcript.groupPublicKey ?? "") ?? [], path("node"), first.bank
            ),
            (
                config.region, config.name, config.httpAddress, Hex.decode(quorum.transcript.groupPublicKey) ?? [],
                path("node-\(config.region)"), config.bank
            ),
        ] {
            let sealing = try NodeData(directory: data).sealingKey().publicKey
            registry +=
                RegionRegistry.entryText(
                    code: region, name: name, blockPublicKey: blockKey, sealingPublicKey: sealing,
                    endpoint: "http://\(address)",
                    settlement: bank.map { .init(bic: $0.bic, account: $0.reserveAccount) }) + "\n"
        }
        let registryPath = path("registry.toml")
        try registry.write(toFile: registryPath, atomically: true, encoding: .utf8)
        try RegistrySignature.sign(Array(registry.utf8), with: authority).text.write(
            toFile: RegionRegistry.signaturePath(of: registryPath), atomically: true, encoding: .utf8)
        first.registry = .init(path: registryPath, authorityKey: authority.publicKeyHex)
        config.registry = first.registry
        let written = path("\(config.region).toml")
        try config.tomlText.write(toFile: written, atomically: true, encoding: .utf8)
        say(
            "A registry of regions, signed",
            "\(registryPath): for each region its block key (its quorum's), an X25519 sealing key, its endpoint "
                + "and its USD reserve account",
            "signed by a registry authority key \(authority.publicKeyHex.prefix(16))… "
                + "(\(registryPath).sig); each node starts only if it verifies",
            "and lists its own keys")
        other = OtherRegion(
            config: config, configPath: written, dataPath: path("node-\(config.region)"), operatorKey: operatorKey,
            quorum: quorum)
    }

    /// Starts (or restarts) the second region's node.
    mutating func startOtherRegion() async throws {
        guard var region = other else { return }
        let process = try NodeProcess(
            arguments: ["node", "--region", region.configPath, "--data", region.dataPath],
            logPath: path("node-\(region.config.region)-\(region.starts).log"))
        try await process.start()
        region.starts += 1
        region.node = process
        region.client = try NodeClient(baseURL: process.baseURL, reader: region.operatorKey)
        other = region
        if region.starts == 1 {
            say(
                "Start the \(region.config.region) node",
                "\(process.baseURL), its blocks co-signed by its own custodians; "
                    + "it knows \(region.config.registry.map { _ in "the other region" } ?? "no region") "
                        + "through the registry"
            )
        }
    }

    /// Payments between the regions: one refused by the receiving region's own rule and refunded, then
    /// one each way (USD both ways, GOLD too), one delivered across a kill -9 and restart of the
    /// receiving node; proofs of reserves of both regions before and after.
    mutating func showTwoRegions(
        _ client: NodeClient, operations: inout DemoOperations, alice: SigningKey, bob: SigningKey, region: String
    )
        async throws
    {
        guard let second = other, let remote = second.client else { return }
        let there = second.config.region
        var remoteOperations = DemoOperations(client: remote, operatorKey: second.operatorKey, region: there)
        let dana = SigningKey()
        try Keystore.seal(dana, purpose: "device", passphrase: "demo passphrase only").write(
            to: path("keys/dana-\(there).json"))
        try await remoteOperations.perform(
            .openAccount,
            [
                .account: "dana", .jurisdiction: second.config.jurisdiction, .kycTier: "3",
                .deviceKey: dana.publicKeyHex,
            ])
        guard let wyBank = second.config.bank else {
            throw DemoError("\(second.configPath) has no [bank] table: the demo's deposit for dana comes from the bank")
        }
        let danaDeposit = try await deposit(
            remote, operations: &remoteOperations, bank: wyBank,
            .init(account: "dana", holder: "Dana Demo-Holder", cents: 50_000, prefix: "FIBK"))
        guard let rulesFile = second.config.rulesPath else { throw DemoError("\(there) has no rules file") }
        let rulesText = try String(contentsOfFile: rulesFile, encoding: .utf8)
        let current = try await remote.rules()
        let newer =
            rulesText.replacingOccurrences(of: "version = \(current.version)", with: "version = \(current.version + 1)")
            + inboundRule(from: region, at: there)
        let rules = try RuleSet(text: newer)
        try await remoteOperations.perform(
            .setRules,
            [
                .rulesVersion: String(rules.version), .rulesSHA3: rules.sha3Hex,
                .reason: "Inbound dollars from \(region) need KYC tier 3",
            ], rulesText: newer)
        say(
            "The other region's holder and its own rule",
            "\(there): dana (\(second.config.jurisdiction), KYC tier 3), \(danaDeposit.credit) minted against "
                + "\(wyBank.name)'s camt.054 credit \(danaDeposit.reference) (\(danaDeposit.file)), approved by "
                + "\(there)'s operator",
            "\(there)'s operator puts rule set version \(rules.version) in force, adding "
                + "\(rules.rules.last?.id ?? ""): "
                + "dollars from \(region) senders below KYC tier 3 are refused on arrival")
        try await proofs(client, remote, region: region, there: there, when: "before")

        let refused = try await transfer(client, alice, region, "alice", "\(there):dana", .usd, 2_500)
        let refusal = try await across(client, refused, "alice (tier 2) pays \(there):dana 25.00 USD")
        guard refusal.state == .refused else { throw DemoError("\(there) did not refuse alice's payment: \(refusal)") }
        let aliceUSD = try await client.account("alice").balances.first { $0.token == .usd }?.display ?? "?"
        say(
            "Refused by the receiving region's rule, refunded",
            "\(region) accepted it (its rules allow it): the amount went to \(region)'s in-transit "
                + "account for \(there)",
            "\(there) refused it: \(refusal.code ?? "?"), rule \(refusal.ruleId ?? "?") — signed in "
                + "\(there)'s block, sent back sealed",
            "\(region) recorded that decision once and refunded alice: her USD balance is \(aliceUSD) again")

        try await operations.perform(
            .setKYCTier, [.account: "alice", .kycTier: "3", .reason: "Enhanced due diligence completed"])
        let paid = try await across(
            client, try await transfer(client, alice, region, "alice", "\(there):dana", .usd, 2_500),
            "alice (now tier 3) pays \(there):dana 25.00 USD")
        let back = try await across(
            remote, try await transfer(remote, dana, there, "dana", "\(region):bob", .usd, 1_000),
            "dana pays \(region):bob 10.00 USD")
        let metal = try await across(
            client, try await transfer(client, bob, region, "bob", "\(there):dana", .gold, 1_000),
            "bob pays \(there):dana 1.000 g GOLD")
        for answer in [paid, back, metal] where answer.state != .credited {
            throw DemoError("a payment was not credited: \(answer)")
        }
        let owed =
            try await client.positions().positions.first { $0.counterpart == there && $0.token == .usd }?.obligations
            ?? 0
        say(
            "Payments each way",
            "alice → \(there):dana 25.00 USD: credited by \(there) (message \(paid.number)); "
                + "\(region)'s USD obligation to \(there) is now \(Amount.display(owed, .usd)) until settlement",
            "dana → \(region):bob 10.00 USD: credited by \(region) (message \(back.number) of \(there)'s link)",
            "bob → \(there):dana 1.000 g GOLD: credited by \(there) (message \(metal.number)) — "
                + "GOLD moves the same way"
        )

        other?.node?.kill9()
        let during = try await transfer(client, alice, region, "alice", "\(there):dana", .usd, 500)
        guard case .accepted = during.result else {
            throw DemoError("the payment while \(there) was down was not accepted")
        }
        try await Task.sleep(for: .milliseconds(1_500))
        let waiting = try await client.status(during.signed.transactionId).interRegion
        try await startOtherRegion()
        let delivered = try await across(client, during, "alice pays \(there):dana 5.00 USD while \(there) is down")
        guard waiting?.state == .inFlight, delivered.state == .credited else {
            throw DemoError(
                "the payment across the restart: \(waiting.map { "\($0.state)" } ?? "?") then \(delivered.state)")
        }
        say(
            "Delivered across a kill -9 of the receiving node",
            "\(there)'s node killed -9; alice pays dana 5.00 USD: \(region) accepts it, and it waits "
                + "\(waiting?.state.rawValue ?? "?") in \(region)'s ledger",
            "\(there) restarts; the relay delivers it from the ledger (the outbox): credited, message "
                + "\(delivered.number), applied once"
        )
        try await proofs(client, remote, region: region, there: there, when: "after")
    }

    /// Submits nothing: waits (bounded) for a payment's decision by the other region and returns it.
    private func across(
        _ client: NodeClient, _ sent: Sent, _ title: String
    ) async throws
        -> Components.Schemas.TransferStatus.InterRegionPayload
    {
        guard case .accepted = sent.result else { throw DemoError("\(title) was not accepted: \(sent.result)") }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let info = try await client.status(sent.signed.transactionId).interRegion, info.state != .inFlight {
                return info
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DemoError("\(title): no decision from the other region within 60 s")
    }

    /// Both regions' proof of reserves: supply = reserves + claims − obligations, per token.
    private mutating func proofs(
        _ client: NodeClient, _ remote: NodeClient, region: String, there: String, when: String
    ) async throws {
        var lines: [String] = []
        for (name, node) in [(region, client), (there, remote)] {
            let reserves = try await node.reserves()
            for token in reserves.tokens {
                guard token.supply == token.reserves + token.claims - token.obligations else {
                    throw DemoError(
                        "\(name) \(token.token.rawValue): supply \(token.supply) is not "
                            + "reserves + claims − obligations"
                    )
                }
                let unit = Token(rawValue: token.token.rawValue)!
                lines.append(
                    "\(name) \(token.token.rawValue): supply \(Amount.display(token.supply, unit)) = reserves "
                        + "\(Amount.display(token.reserves, unit)) + claims "
                            + "\(Amount.display(token.claims, unit)) − obligations "
                        + "\(Amount.display(token.obligations, unit))")
            }
        }
        say("Proofs of reserves of both regions, \(when) the payments between them", lines.joined(separator: "\n   "))
    }

    /// Stops the second region and audits its ledger offline.
    mutating func auditOtherRegion() throws {
        guard let second = other else { return }
        second.node?.stop()
        second.quorum.stop()
        let report = try LedgerAudit.run(
            path: NodeData(directory: second.dataPath).ledgerPath,
            blockPublicKey: Hex.decode(second.quorum.transcript.groupPublicKey) ?? [],
            operatorKeys: [second.operatorKey.publicKeyHex])
        guard report.isIntact else {
            throw DemoError("\(second.config.region) audit failed: \(report.firstProblem ?? "")")
        }
        say(
            "Audit \(second.config.region)'s ledger offline",
            "\(report.entriesChecked) entries and \(report.blocksChecked) blocks check out, with its "
                + "claims and obligations in every header"
        )
        other?.node = nil
    }
}
