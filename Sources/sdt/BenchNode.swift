import Foundation
import SDTAPI
import SDTClient
import SDTTesting
import SDTCore
import SDTCrypto
import SDTNode
import Synchronization

/// A node started for the benchmark, with funded accounts and their keys.
struct BenchNode {
    let process: NodeProcess
    let client: NodeClient
    let region: String
    let keys: [SigningKey]
    var next = 0

    /// `rules: false` runs the node without the region's rule set, as a baseline for the rules' cost;
    /// `adjust` changes the config further before the node starts (a registry, a fixed address).
    init(directory: String, regionPath: String, accounts: Int, custody: RegionConfig.Custody? = nil, rules: Bool = true,
         adjust: (inout RegionConfig) -> Void = { _ in }) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let operatorKey = SigningKey()
        var config = try RegionConfig.load(path: regionPath)
        config.operatorKeys = [operatorKey.publicKeyHex]
        config.httpAddress = "127.0.0.1:0"
        config.limits.syncWaitMilliseconds = 10_000
        config.custody = custody
        if !rules { config.rulesPath = nil }
        adjust(&config)
        let configPath = (directory as NSString).appendingPathComponent("bench.toml")
        try config.tomlText.write(toFile: configPath, atomically: true, encoding: .utf8)
        process = try NodeProcess(
            arguments: ["node", "--region", configPath, "--data", (directory as NSString).appendingPathComponent("node"), "--log-level", "warning"],
            logPath: (directory as NSString).appendingPathComponent("node.log")
        )
        try await process.start()
        client = try NodeClient(baseURL: process.baseURL)
        region = config.region
        keys = (0..<accounts).map { _ in SigningKey() }
        for (index, key) in keys.enumerated() {
            let account = "a\(index)"
            for (kind, fields) in [
                (OperatorAction.Kind.openAccount, [.account: account, .jurisdiction: config.jurisdiction, .kycTier: "2",
                                                    .deviceKey: key.publicKeyHex]),
                (.mintUSD, [.account: account, .amount: "1000000000", .bank: "Bench Bank", .reference: "BENCH-DEP-\(index)", .valueDate: "2026-11-21"]),
            ] as [(OperatorAction.Kind, [OperatorAction.Field: String])] {
                _ = try await client.operatorAction(Signing.operatorAction(
                    key: operatorKey, region: region, requestID: "bench-\(kind.rawValue)-\(index)", kind: kind, fields: fields
                ))
            }
        }
    }

    /// Signs `count` one-cent transfers among the accounts, before any timing starts. `shuffled`: in a
    /// random order of all their ids (the worst case for the id index); else each account's in the
    /// order they were issued, as clients that ask for ids shortly before they sign use them.
    /// `payeeRegion`: pay the same-named accounts of that region instead of this one's.
    mutating func presign(count: Int, shuffled: Bool = true, payeeRegion: String? = nil) async throws
        -> [Components.Schemas.SignedTransfer] {
        var transfers: [Components.Schemas.SignedTransfer] = []
        transfers.reserveCapacity(count)
        var remaining = count
        while remaining > 0 {
            let index = next % keys.count
            next += 1
            let take = min(remaining, 1_000, max(1, count / keys.count + 1))
            let ids = try await client.transactionIDs(account: "a\(index)", count: take).transactionIds
            for (offset, id) in ids.enumerated() {
                let to = (index + 1 + offset % (keys.count - 1)) % keys.count
                let payee = payeeRegion.map { "\($0):a\(to)" } ?? "a\(to)"
                transfers.append(try Signing.transfer(key: keys[index], region: region, transactionID: id, from: "a\(index)", to: payee,
                                                      token: .usd, amountMinorUnits: 1))
            }
            remaining -= take
        }
        return shuffled ? transfers.shuffled() : transfers
    }

    /// Submits in requests of `batchSize` with `concurrency` in flight, while a poller watches the
    /// final sequence; each transfer's latency runs from its request's start to the first poll that
    /// shows its sequence final.
    func drive(_ transfers: [Components.Schemas.SignedTransfer], batchSize: Int, concurrency: Int) async throws -> BenchRun {
        let bodies = try Self.bodies(transfers, batchSize: batchSize)
        let target = SharedCounter()
        target.value.withLock { $0 = Int.max }
        // On a terminal: transfers final so far, counted from the final sequence before the first request.
        let progress = ProgressLine("bench", total: transfers.count, unit: "transfers final")
        let base = try await client.head().finalSequence ?? 0
        // Bodies are encoded before the clock starts, like the signatures: the client's JSON work is not the node's.
        let start = ContinuousClock.now
        // Watches the final sequence from the first request on, until it reaches the last accepted one.
        let poller = Task { [client] in
            var samples: [(sequence: Int64, at: ContinuousClock.Instant)] = []
            let deadline = ContinuousClock.now + .seconds(120)
            while samples.last.map({ $0.sequence < Int64(target.value.withLock { $0 }) }) ?? true {
                guard ContinuousClock.now < deadline else { throw BenchError("transfers did not become final within 120 s") }
                samples.append((try await client.head().finalSequence ?? 0, ContinuousClock.now))
                progress.set(done: Int(samples.last!.sequence - base))
                try await Task.sleep(for: .milliseconds(2))
            }
            return samples
        }
        let submitted = try await submit(bodies, batchSize: batchSize, concurrency: concurrency)
        guard submitted.count == transfers.count else { throw BenchError("\(transfers.count - submitted.count) transfers were not accepted") }
        let lastSequence = submitted.map(\.sequence).max() ?? 0
        target.value.withLock { $0 = Int(lastSequence) }
        let finals = try await poller.value
        progress.finish()
        let elapsed = (finals.last!.at - start).seconds
        let latencies = submitted.map { transfer -> Double in
            let seen = finals.first { $0.sequence >= transfer.sequence }!.at
            return max(0, (seen - transfer.at).seconds * 1000)
        }.sorted()
        // When the final sequence passed each tenth of the run: the rate over an early tenth (the second:
        // the first also holds the pipeline filling up) and over the last.
        let firstSequence = (submitted.map(\.sequence).min() ?? 1) - 1
        func finalAt(_ tenths: Int) -> ContinuousClock.Instant {
            let sequence = firstSequence + Int64(transfers.count * tenths / 10)
            return finals.first { $0.sequence >= sequence }?.at ?? finals.last!.at
        }
        let tenth = Double(transfers.count) / 10
        return BenchRun(count: transfers.count, seconds: elapsed, latenciesMilliseconds: latencies,
                        firstTenthPerSecond: tenth / max((finalAt(2) - finalAt(1)).seconds, 1e-6),
                        lastTenthPerSecond: tenth / max((finalAt(10) - finalAt(9)).seconds, 1e-6))
    }
}

extension BenchNode {
    /// The request bodies: one transfer each, or batches of `batchSize`.
    static func bodies(_ transfers: [Components.Schemas.SignedTransfer], batchSize: Int) throws -> [[UInt8]] {
        let encoder = JSONEncoder()
        return try stride(from: 0, to: transfers.count, by: batchSize).map { start in
            let chunk = Array(transfers[start..<min(start + batchSize, transfers.count)])
            return Array(batchSize == 1 ? try encoder.encode(chunk[0]) : try encoder.encode(Components.Schemas.TransferBatch(transfers: chunk)))
        }
    }

    /// Posts `bodies` with `concurrency` in flight; with `pace` (transfers/s), request `i` waits until
    /// its turn at that rate. Returns each accepted transfer's sequence and when its request started.
    func submit(_ bodies: [[UInt8]], batchSize: Int, concurrency: Int, pace: Double? = nil) async throws
        -> [(sequence: Int64, at: ContinuousClock.Instant)] {
        let url = URL(string: client.baseURL)!
        let (host, port) = (url.host ?? "127.0.0.1", url.port ?? 80)
        let path = batchSize == 1 ? "/v1/transactions" : "/v1/transactions/batch"
        let cursor = SharedCounter()
        let start = ContinuousClock.now
        return try await onThreads(concurrency) { _ in
            var connection = try LoopbackHTTPClient(host: host, port: port)
            let decoder = JSONDecoder()
            var mine: [(sequence: Int64, at: ContinuousClock.Instant)] = []
            while true {
                let index = cursor.value.withLock { value in
                    defer { value += 1 }
                    return value
                }
                guard index < bodies.count else { return mine }
                if let pace {
                    let due = start + .milliseconds(Int64(Double(index * batchSize) / pace * 1000))
                    let wait = due - ContinuousClock.now
                    if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
                    // A connection idle that long may have been closed by the node's idle timeout.
                    if wait > .seconds(5) { connection = try LoopbackHTTPClient(host: host, port: port) }
                }
                let sentAt = ContinuousClock.now
                let answer = try connection.post(path, body: bodies[index])
                guard answer.status == 200 else {
                    throw BenchError("the node answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
                }
                let statuses = batchSize == 1
                    ? [try decoder.decode(Components.Schemas.TransferStatus.self, from: Data(answer.body))]
                    : try decoder.decode(Components.Schemas.TransferBatchResult.self, from: Data(answer.body)).results
                for status in statuses {
                    guard status.state == .accepted, let sequence = status.sequence else {
                        throw BenchError("transfer \(status.transactionId) was \(status.state.rawValue): \(status.code)")
                    }
                    mine.append((sequence, sentAt))
                }
            }
        }.flatMap { $0 }
    }
}

/// An integer shared by the benchmark tasks: the next request to send, the sequence to wait for.
final class SharedCounter: Sendable {
    let value = Mutex(0)
}

struct BenchRun {
    let count: Int
    let seconds: Double
    let latenciesMilliseconds: [Double]
    /// Transfers per second over the second and the last tenth of the run: whether the rate holds as
    /// the ledger grows.
    var firstTenthPerSecond = 0.0
    var lastTenthPerSecond = 0.0

    var transfersPerSecond: Double { Double(count) / seconds }

    func percentile(_ fraction: Double) -> Double {
        let index = min(latenciesMilliseconds.count - 1, Int(Double(latenciesMilliseconds.count) * fraction))
        return (latenciesMilliseconds[index] * 10).rounded() / 10
    }

    func summary(label: String, verifyRate: Double) -> String {
        "\(label): \(count) transfers final in \(String(format: "%.2f", seconds)) s = \(Int(transfersPerSecond))/s "
            + "(ratio \(String(format: "%.3f", transfersPerSecond / verifyRate)) of verify-only), "
            + "submit→final p50 \(percentile(0.5)) ms, p99 \(percentile(0.99)) ms; "
            + "second tenth \(Int(firstTenthPerSecond))/s, last tenth \(Int(lastTenthPerSecond))/s"
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
