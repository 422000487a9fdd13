import ArgumentParser
import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import SDTRules

/// The ledger core alone: transfers built and "verified" before the clock starts (their signatures are
/// not checked), applied through the ledger engine and the SQLite store in batches, each batch one
/// durable transaction (fsync). No HTTP, no queue, no signature check: the figure to hold against
/// TigerBeetle's own benchmark (one replica, batches of 8,189).
struct LedgerCoreBench {
    let accounts: Int
    let transfers: Int
    let batch: Int
    let rules: RuleSet?
    let seal: Bool

    struct Run {
        var seconds = 0.0
        var decideSeconds = 0.0
        var commitSeconds = 0.0
        var sealSeconds = 0.0
        var batchMilliseconds: [Double] = []
        /// Transfers per second over each tenth of the run, to show whether the rate holds as the ledger grows.
        var tenths: [Double] = []
        var fileBytes: Int64 = 0
    }

    func run(directory: String) throws -> Run {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("ledger.sqlite")
        let operatorKey = SigningKey()
        let issuer = try TransactionIDIssuer(secret: SecureRandom.bytes(32), region: "us-tx")
        let policy = LedgerPolicy(region: "us-tx", tokensOffered: [.usd], operatorKeys: [operatorKey.publicKeyHex], transactionIDs: issuer)
        let writer = try LedgerWriter(path: path, policy: policy)
        var now: Int64 = 1_800_000_000_000
        if let rules { _ = try writer.installRules(fromFile: rules, nowMilliseconds: now) }
        let signature = [UInt8](repeating: 0, count: 64)
        let keys = (0..<accounts).map { _ in SigningKey().publicKeyHex }
        var setUp: [Submission] = []
        for (index, key) in keys.enumerated() {
            for (kind, fields) in [
                (OperatorAction.Kind.openAccount, [.account: "a\(index)", .jurisdiction: "US-TX", .kycTier: "2", .deviceKey: key]),
                (.mintUSD, [.account: "a\(index)", .amount: "1000000000", .bank: "Bench Bank", .reference: "CORE-\(index)",
                            .valueDate: "2026-12-01"]),
            ] as [(OperatorAction.Kind, [OperatorAction.Field: String])] {
                let action = try OperatorAction(region: "us-tx", requestID: "core-\(kind.rawValue)-\(index)", kind: kind, fields: fields,
                                                operatorKeyHex: operatorKey.publicKeyHex)
                setUp.append(.operatorAction(action, signature: operatorKey.sign(action.signingBytes)))
            }
        }
        for chunk in stride(from: 0, to: setUp.count, by: 4_096) {
            _ = try writer.apply(Array(setUp[chunk..<min(chunk + 4_096, setUp.count)]), nowMilliseconds: now)
        }
        var random = SystemRandomNumberGenerator()
        let prepared: [Submission] = try (0..<transfers).map { index in
            let from = Int.random(in: 0..<accounts, using: &random)
            let to = (from + 1 + Int.random(in: 0..<(accounts - 1), using: &random)) % accounts
            let transfer = try Transfer(
                region: "us-tx", transactionID: issuer.issue(account: "a\(from)", expiresAtMilliseconds: now + 3_600_000 + Int64(index)),
                from: "a\(from)", to: "a\(to)", token: "USD", amountMinorUnits: 1 + Int64(index % 100), publicKeyHex: keys[from]
            )
            return .transfer(transfer, signature: signature)
        }
        var run = Run()
        let start = ContinuousClock.now
        var tenthStart = start
        var tenthCount = 0
        for chunk in stride(from: 0, to: prepared.count, by: batch) {
            now += 1
            let slice = Array(prepared[chunk..<min(chunk + batch, prepared.count)])
            let before = ContinuousClock.now
            let outcomes = try writer.apply(slice, nowMilliseconds: now)
            guard outcomes.allSatisfy({ $0.code == .accepted }) else {
                throw ValidationError("the ledger core refused a transfer: \(outcomes.first { $0.code != .accepted }!.code.name)")
            }
            run.decideSeconds += writer.lastTimings.decide.seconds
            run.commitSeconds += writer.lastTimings.commit.seconds
            if seal {
                let sealing = ContinuousClock.now
                while try writer.sealNextBlock(entriesMax: 4_096, nowMilliseconds: now) != nil {}
                run.sealSeconds += (ContinuousClock.now - sealing).seconds
            }
            run.batchMilliseconds.append((ContinuousClock.now - before).seconds * 1000)
            tenthCount += slice.count
            if tenthCount >= transfers / 10 {
                let end = ContinuousClock.now
                run.tenths.append(Double(tenthCount) / (end - tenthStart).seconds)
                (tenthStart, tenthCount) = (end, 0)
            }
        }
        run.seconds = (ContinuousClock.now - start).seconds
        run.fileBytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
        return run
    }
}
