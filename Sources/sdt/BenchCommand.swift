import ArgumentParser
import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import SDTRules

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a real node through HTTP on loopback against the machine's Ed25519 verify-only rate.",
        discussion: "The last line printed is one JSON object with the figures. Build with -c release for meaningful numbers."
    )

    @Option(help: "Accounts that send to each other.") var accounts = 64
    @Option(help: "Transfers on the batch path (bounded: at most 200000).") var transfers = 20_000
    @Option(help: "Transfers per batch request.") var batch = 500
    @Option(help: "Batch requests in flight at once.") var concurrency = 4
    @Option(help: "Transfers on the one-per-request path.") var single = 2_000
    @Option(help: "Single requests in flight at once.") var singleConcurrency = 16
    @Option(help: "Signatures verified for the verify-only baseline.") var verifications = 100_000
    @Option(help: "Data directory for the benchmark node (default: a new temporary one).") var data: String?
    @Option(help: "Region config to start from.") var region = "regions/us-tx.toml"
    @Flag(help: "Also run the batch path with a custodian quorum checking every signature and with the sampled policy, and measure block signing latency.")
    var custody = false
    @Option(help: "Custodian policy for the sampled run.") var samplePolicy = "sampled:100000:50"
    @Flag(help: "Also run the batch path on a node without the region's rule set, and report the rules' cost as a ratio.")
    var compareRules = false
    @Flag(help: "Submit ids in the order they were issued instead of shuffled (the default shuffle is the worst case for the id index).")
    var idsInOrder = false
    @Flag(help: "Benchmark payments between two regions (us-tx and us-wy nodes on this machine) against us-tx's batch path.")
    var interRegion = false
    @Flag(help: "Benchmark the ledger core alone: engine and durable SQLite store, no HTTP, no signature checks.")
    var ledgerCore = false
    @Option(help: "With --ledger-core: transfers applied.") var coreTransfers = 200_000
    @Option(help: "With --ledger-core: transfers per batch (one durable transaction each).") var coreBatch = 8_189
    @Option(help: "With --ledger-core: accounts.") var coreAccounts = 10_000
    @Flag(help: "Benchmark multilateral netting alone (no node): a cycle of many regions' obligations, and at 10×.")
    var netting = false
    @Option(help: "With --netting: regions.") var nettingRegions = 50
    @Option(help: "With --netting: obligations per region per cycle.") var nettingObligations = 10_000

    func validate() throws {
        guard (2...10_000).contains(accounts) else { throw ValidationError("--accounts must be 2...10000") }
        guard (1...200_000).contains(transfers), (0...200_000).contains(single) else { throw ValidationError("--transfers 1...200000, --single 0...200000") }
        guard (1...1_000).contains(batch), (1...64).contains(concurrency), (1...256).contains(singleConcurrency) else {
            throw ValidationError("--batch 1...1000, --concurrency 1...64, --single-concurrency 1...256")
        }
        guard (1_000...10_000_000).contains(verifications) else { throw ValidationError("--verifications 1000...10000000") }
        guard (2...1_000).contains(nettingRegions), (1...100_000).contains(nettingObligations) else {
            throw ValidationError("--netting-regions 2...1000, --netting-obligations 1...100000")
        }
        guard (1...2_000_000).contains(coreTransfers), (1...65_536).contains(coreBatch), (2...1_000_000).contains(coreAccounts) else {
            throw ValidationError("--core-transfers 1...2000000, --core-batch 1...65536, --core-accounts 2...1000000")
        }
    }

    func run() async throws {
        if ledgerCore { return try runLedgerCore() }
        if netting {
            var figures = try NettingBench(regions: nettingRegions, perRegion: nettingObligations, rounds: 3).run()
            figures["cores"] = ProcessInfo.processInfo.activeProcessorCount
            let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
            return
        }
        let verifyRate = await VerifyBaseline.measure(count: verifications)
        print("verify-only: \(Int(verifyRate)) signatures/s on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let directory = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("sdt-bench-\(UUID().uuidString.prefix(8))").path
        if interRegion {
            var figures = try await runInterRegion(verifyRate: verifyRate, directory: directory)
            figures["cores"] = ProcessInfo.processInfo.activeProcessorCount
            print(String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        var bench = try await BenchNode(directory: directory, regionPath: region, accounts: accounts)
        defer { bench.process.stop() }
        print("node \(bench.client.baseURL), \(accounts) accounts, data in \(directory)")

        let batchTransfers = try await bench.presign(count: transfers, shuffled: !idsInOrder)
        let batchRun = try await bench.drive(batchTransfers, batchSize: batch, concurrency: concurrency)
        print(batchRun.summary(label: "batch of \(batch), \(concurrency) in flight", verifyRate: verifyRate))
        var figures: [String: Any] = [
            "transfers_per_second": batchRun.transfersPerSecond.rounded(), "verify_only_per_second": verifyRate.rounded(),
            "ratio": (batchRun.transfersPerSecond / verifyRate * 1000).rounded() / 1000,
            "p50_ms": batchRun.percentile(0.50), "p99_ms": batchRun.percentile(0.99),
            "transfers": batchRun.count, "batch": batch, "concurrency": concurrency, "cores": ProcessInfo.processInfo.activeProcessorCount,
            "second_tenth_ratio": (batchRun.firstTenthPerSecond / verifyRate * 1000).rounded() / 1000,
            "last_tenth_ratio": (batchRun.lastTenthPerSecond / verifyRate * 1000).rounded() / 1000,
        ]
        if single > 0 {
            let singleTransfers = try await bench.presign(count: single)
            let singleRun = try await bench.drive(singleTransfers, batchSize: 1, concurrency: singleConcurrency)
            print(singleRun.summary(label: "one per request, \(singleConcurrency) in flight", verifyRate: verifyRate))
            figures["single_transfers_per_second"] = singleRun.transfersPerSecond.rounded()
            figures["single_ratio"] = (singleRun.transfersPerSecond / verifyRate * 1000).rounded() / 1000
            figures["single_p50_ms"] = singleRun.percentile(0.50)
            figures["single_p99_ms"] = singleRun.percentile(0.99)
        }
        bench.process.stop()
        if compareRules {
            var plain = try await BenchNode(directory: directory + "-no-rules", regionPath: region, accounts: accounts, rules: false)
            defer { plain.process.stop() }
            let plainRun = try await plain.drive(try await plain.presign(count: transfers), batchSize: batch, concurrency: concurrency)
            print(plainRun.summary(label: "batch, node without rules", verifyRate: verifyRate))
            let ratio = (batchRun.transfersPerSecond / plainRun.transfersPerSecond * 1000).rounded() / 1000
            print("with the region's rules / without: \(ratio)")
            figures["rules_over_no_rules"] = ratio
        }
        if custody {
            try await compareCustody(directory: directory, verifyRate: verifyRate, single: batchRun, figures: &figures)
        }
        let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}

extension BenchCommand {
    /// The ledger core without and with sealing, and with the region's rules, in one invocation.
    func runLedgerCore() throws {
        let directory = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("sdt-core-\(UUID().uuidString.prefix(8))").path
        let rules = try NodeRunner.loadRules(try RegionConfig.load(path: region))
        var figures: [String: Any] = ["transfers": coreTransfers, "batch": coreBatch, "accounts": coreAccounts]
        for (label, rulesInForce, seal) in [("core", nil as RuleSet?, false), ("core_sealed", nil, true), ("core_rules", rules, false)] {
            let bench = LedgerCoreBench(accounts: coreAccounts, transfers: coreTransfers, batch: coreBatch, rules: rulesInForce, seal: seal)
            let run = try bench.run(directory: (directory as NSString).appendingPathComponent(label))
            let rate = Double(coreTransfers) / run.seconds
            let sorted = run.batchMilliseconds.sorted()
            let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            print(String(format: "%@: %.0f transfers/s durable (decide %.0f%%, write+fsync %.0f%%, seal %.0f%%), batch p50 %.1f ms p99 %.1f ms, "
                         + "first tenth %.0f/s, last tenth %.0f/s, file %.0f MB", label, rate, run.decideSeconds / run.seconds * 100,
                         run.commitSeconds / run.seconds * 100, run.sealSeconds / run.seconds * 100, sorted[sorted.count / 2], p99,
                         run.tenths.first ?? 0, run.tenths.last ?? 0, Double(run.fileBytes) / 1e6))
            figures["\(label)_per_second"] = rate.rounded()
            figures["\(label)_last_over_first_tenth"] = ((run.tenths.last ?? 0) / max(run.tenths.first ?? 1, 1) * 1000).rounded() / 1000
        }
        if data == nil { try? FileManager.default.removeItem(atPath: directory) }
        if SQLiteProfile.isEnabled { print(SQLiteProfile.report()) }
        let json = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// (b) and (c): the same batch path with three custodian processes co-signing every block, first
    /// checking every client signature, then with the sampled policy; and block signing latency.
    func compareCustody(directory: String, verifyRate: Double, single: BenchRun, figures: inout [String: Any]) async throws {
        for (label, policy) in [("quorum_full", "full"), ("quorum_sampled", samplePolicy)] {
            let base = (directory as NSString).appendingPathComponent(label)
            let quorum = try await LocalQuorum.start(directory: (base as NSString).appendingPathComponent("custody"), region: "us-tx",
                                                     passphrase: "bench passphrase", policy: policy)
            defer { quorum.stop() }
            var node = try await BenchNode(directory: base, regionPath: region, accounts: accounts, custody: quorum.custody(timeoutMilliseconds: 5_000))
            defer { node.process.stop() }
            let run = try await node.drive(try await node.presign(count: transfers), batchSize: batch, concurrency: concurrency)
            print(run.summary(label: "\(label) (\(policy)), batch of \(batch)", verifyRate: verifyRate)
                  + String(format: " — %.2f of the single-key run", run.transfersPerSecond / single.transfersPerSecond))
            figures["\(label)_transfers_per_second"] = run.transfersPerSecond.rounded()
            figures["\(label)_vs_single_key"] = (run.transfersPerSecond / single.transfersPerSecond * 1000).rounded() / 1000
            figures["\(label)_p50_ms"] = run.percentile(0.50)
            figures["\(label)_p99_ms"] = run.percentile(0.99)
            if policy == "full" {
                // A quorum of its own: custodians never sign two different blocks at one height.
                let fresh = try await LocalQuorum.start(directory: (base as NSString).appendingPathComponent("latency-custody"), region: "us-tx",
                                                        passphrase: "bench passphrase", policy: policy)
                defer { fresh.stop() }
                let latencies = try await SigningLatency.measure(quorum: fresh, blocks: 200, entriesPerBlock: 100)
                print("block signing (3 custodian processes on loopback, full checks, 100 entries per block, 200 blocks): "
                      + "p50 \(latencies.percentile(0.5)) ms, p99 \(latencies.percentile(0.99)) ms")
                figures["signing_p50_ms"] = latencies.percentile(0.5)
                figures["signing_p99_ms"] = latencies.percentile(0.99)
            }
        }
        figures["sample_policy"] = samplePolicy
    }
}

/// libsodium's Ed25519 verification rate with every core busy: the ceiling for a signed-transfer node.
enum VerifyBaseline {
    static func measure(count: Int) async -> Double {
        let key = SigningKey()
        let messages = (0..<1_024).map { index in
            Array("SDT-TRANSFER-V1\nregion:us-tx\ntransaction_id:tx\(index)\nfrom:a\nto:b\ntoken:USD\namount:1\npublic_key:\(key.publicKeyHex)\n".utf8)
        }
        let signatures = messages.map { key.sign($0) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let start = ContinuousClock.now
        let verified = await withTaskGroup(of: Int.self) { group in
            for core in 0..<cores {
                group.addTask {
                    var valid = 0
                    for index in stride(from: core, to: count, by: cores) {
                        let slot = index % messages.count
                        if Ed25519.verify(signature: signatures[slot], message: messages[slot], publicKey: key.publicKey) { valid += 1 }
                    }
                    return valid
                }
            }
            return await group.reduce(0, +)
        }
        precondition(verified == count, "baseline verified \(verified) of \(count)")
        return Double(count) / (ContinuousClock.now - start).seconds
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
