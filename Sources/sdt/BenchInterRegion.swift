import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTNode
import SDTTesting

/// `sdt bench --inter-region`: two nodes on this machine (us-tx and us-wy) that know each other through
/// a registry signed for the run. Measures the intra-region batch path on us-tx as the baseline, then
/// payments both ways at full speed and at half of that peak: transfers/s until every one is decided by
/// the payee's region, and each one's time from its request to the moment the payee's region shows it
/// decided (credited).
extension BenchCommand {
    func runInterRegion(verifyRate: Double, directory: String) async throws -> [String: Any] {
        let authority = SigningKey()
        let regions = [("us-tx", "regions/us-tx.toml"), ("us-wy", "regions/us-wy.toml")]
        var ports: [String: Int] = [:]
        var registry = "version = 1\n\n"
        for (code, path) in regions {
            let config = try RegionConfig.load(path: path)
            let port = FreePort.next()
            ports[code] = port
            let data = try NodeData(directory: (directory as NSString).appendingPathComponent("\(code)/node"))
            registry +=
                RegionRegistry.entryText(
                    code: code, name: config.name, blockPublicKey: try data.blockKey().publicKey,
                    sealingPublicKey: try data.sealingKey().publicKey, endpoint: "http://127.0.0.1:\(port)") + "\n"
        }
        let registryPath = (directory as NSString).appendingPathComponent("registry.toml")
        try registry.write(toFile: registryPath, atomically: true, encoding: .utf8)
        try RegistrySignature.sign(Array(registry.utf8), with: authority).text.write(
            toFile: RegionRegistry.signaturePath(of: registryPath), atomically: true, encoding: .utf8)
        var nodes: [BenchNode] = []
        for (code, path) in regions {
            nodes.append(
                try await BenchNode(
                    directory: (directory as NSString).appendingPathComponent(code), regionPath: path,
                    accounts: accounts
                ) { config in
                    config.httpAddress = "127.0.0.1:\(ports[code]!)"
                    config.registry = .init(path: registryPath, authorityKey: authority.publicKeyHex)
                })
        }
        defer { for node in nodes { node.process.stop() } }
        print("nodes us-tx \(nodes[0].client.baseURL) and us-wy \(nodes[1].client.baseURL), \(accounts) accounts each")

        let intra = try await nodes[0].drive(
            try await nodes[0].presign(count: transfers), batchSize: batch, concurrency: concurrency)
        print(intra.summary(label: "us-tx alone, batch of \(batch)", verifyRate: verifyRate))
        var figures: [String: Any] = [
            "intra_transfers_per_second": intra.transfersPerSecond.rounded(), "transfers": transfers, "batch": batch,
            "verify_only_per_second": verifyRate.rounded(),
        ]
        let peak = try await crossRun(&nodes, pace: nil)
        print(peak.summary(label: "both ways at full speed", intra: intra.transfersPerSecond))
        let half = try await crossRun(&nodes, pace: peak.transfersPerSecond / 2)
        print(half.summary(label: "both ways at half that peak", intra: intra.transfersPerSecond))
        for (label, run) in [("peak", peak), ("half_peak", half)] {
            figures["inter_\(label)_transfers_per_second"] = run.transfersPerSecond.rounded()
            figures["inter_\(label)_over_intra"] =
                (run.transfersPerSecond / intra.transfersPerSecond * 1000).rounded() / 1000
            figures["inter_\(label)_p50_ms"] = run.percentile(0.5)
            figures["inter_\(label)_p99_ms"] = run.percentile(0.99)
        }
        return figures
    }

    /// Half of `transfers` each way, submitted on both nodes at once (at `pace` transfers/s in all, if
    /// given); returns when the payee's region has decided every one.
    private func crossRun(_ nodes: inout [BenchNode], pace: Double?) async throws -> BenchRun {
        let each = max(1, transfers / 2)
        let payments = [
            try await nodes[0].presign(count: each, payeeRegion: "us-wy"),
            try await nodes[1].presign(count: each, payeeRegion: "us-tx"),
        ]
        // Where each link's numbering stands before the run: the payee's decided count.
        let before = [try await decided(nodes[1], from: "us-tx"), try await decided(nodes[0], from: "us-wy")]
        let bodies = try payments.map { try BenchNode.bodies($0, batchSize: batch) }
        let start = ContinuousClock.now
        let (tx, wy) = (nodes[0], nodes[1])
        let half = pace.map { $0 / 2 }
        async let sentTX = tx.submit(bodies[0], batchSize: batch, concurrency: concurrency, pace: half)
        async let sentWY = wy.submit(bodies[1], batchSize: batch, concurrency: concurrency, pace: half)
        async let creditedWY = watch(wy, from: "us-tx", until: before[0] + Int64(each))
        async let creditedTX = watch(tx, from: "us-wy", until: before[1] + Int64(each))
        let sent = [try await sentTX, try await sentWY]
        let credited = [try await creditedWY, try await creditedTX]
        var latencies: [Double] = []
        for side in 0..<2 {
            // A link numbers its messages in the order the payer's ledger accepted them.
            for (offset, payment) in sent[side].sorted(by: { $0.sequence < $1.sequence }).enumerated() {
                let number = before[side] + Int64(offset) + 1
                guard let seen = credited[side].first(where: { $0.decided >= number }) else {
                    throw BenchError("message \(number) was not decided")
                }
                latencies.append(max(0, (seen.at - payment.at).seconds * 1000))
            }
        }
        let end = max(credited[0].last!.at, credited[1].last!.at)
        return BenchRun(
            count: latencies.count, seconds: (end - start).seconds, latenciesMilliseconds: latencies.sorted())
    }

    private func decided(_ node: BenchNode, from counterpart: String) async throws -> Int64 {
        try await node.client.positions().positions.first { $0.counterpart == counterpart }?.inboundDecided ?? 0
    }

    /// Samples how many messages from `counterpart` the node has decided, until `target` (at most 300 s).
    private func watch(
        _ node: BenchNode, from counterpart: String, until target: Int64
    ) async throws
        -> [(decided: Int64, at: ContinuousClock.Instant)]
    {
        var samples: [(decided: Int64, at: ContinuousClock.Instant)] = []
        let deadline = ContinuousClock.now + .seconds(300)
        while samples.last.map({ $0.decided < target }) ?? true {
            guard ContinuousClock.now < deadline else {
                throw BenchError(
                    "\(node.region) decided \(samples.last?.decided ?? 0) of \(target) messages from "
                        + "\(counterpart) in 300 s"
                )
            }
            samples.append((try await decided(node, from: counterpart), ContinuousClock.now))
            try await Task.sleep(for: .milliseconds(5))
        }
        return samples
    }
}

extension BenchRun {
    func summary(label: String, intra: Double) -> String {
        "\(label): \(count) payments decided by the payee's region in \(String(format: "%.2f", seconds)) s = "
            + "\(Int(transfersPerSecond))/s (\(String(format: "%.3f", transfersPerSecond / intra)) of "
                + "the intra-region batch), "
            + "submit→credited p50 \(percentile(0.5)) ms, p99 \(percentile(0.99)) ms"
    }
}
