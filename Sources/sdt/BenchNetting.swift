import Foundation
import SDTCore
import SDTCrypto
import SDTGlobal
import SDTTesting

/// Multilateral netting at the size the K$ layer plans for: `regions` regions each with `perRegion`
/// obligations (payments to random other regions, both tokens) per cycle, then ten times the
/// obligations, then ten times the regions; and a cycle planned from signed checkpoints where every
/// region has a position with every other. Each figure is the best of `rounds` runs; the growth
/// ratios are the ones to read (a linear algorithm grows 10× at 10× the input).
struct NettingBench {
    let regions: Int
    let perRegion: Int
    let rounds: Int

    static func obligations(regions: Int, perRegion: Int, seed: UInt64) -> [Obligation] {
        let random = SeededRandom(seed: seed)
        let codes = (0..<regions).map { String(format: "r-%04d", $0) }
        var obligations: [Obligation] = []
        obligations.reserveCapacity(regions * perRegion)
        for payer in 0..<regions {
            for _ in 0..<perRegion {
                let offset = 1 + Int(random.next() % UInt64(regions - 1))
                obligations.append(
                    Obligation(
                        payer: codes[payer], payee: codes[(payer + offset) % regions],
                        token: random.next() % 4 == 0 ? .gold : .usd, amount: Int64(1 + random.next() % 10_000_000)))
            }
        }
        return obligations
    }

    /// The best time of `rounds` nettings of `obligations`, in seconds, and the last result.
    func time(_ obligations: [Obligation]) throws -> (seconds: Double, result: NettingResult) {
        var best = Double.infinity
        var last: NettingResult?
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            last = try MultilateralNetting.net(obligations)
            best = min(best, (ContinuousClock.now - start).seconds)
        }
        return (best, last!)
    }

    /// One signed checkpoint per region with a position toward every other region (both tokens), and
    /// the best time to plan a cycle from them (the claims confirm every obligation exactly).
    func timeCyclePlan() throws -> (seconds: Double, cycle: SettlementCycle) {
        let random = SeededRandom(seed: 77)
        let codes = (0..<regions).map { String(format: "r-%04d", $0) }
        var owed: [[Int64]] = Array(repeating: Array(repeating: 0, count: regions), count: regions)
        for payer in 0..<regions {
            for payee in 0..<regions where payee != payer {
                owed[payer][payee] = Int64(1 + random.next() % 1_000_000_000)
            }
        }
        let key = try SigningKey(seed: [UInt8](repeating: 5, count: 32))
        let checkpoints = try (0..<regions).map { region in
            var claims: [String: [Token: Int64]] = [:]
            var obligations: [String: [Token: Int64]] = [:]
            for other in 0..<regions where other != region {
                claims[codes[other]] = [.usd: owed[other][region], .gold: owed[other][region] / 7]
                obligations[codes[other]] = [.usd: owed[region][other], .gold: owed[region][other] / 7]
            }
            let header = BlockHeader(
                region: codes[region], height: 1, previousHashHex: BlockHeader.genesisPreviousHashHex,
                merkleRootHex: String(repeating: "a", count: 64), entryCount: 1, firstSequence: 1, lastSequence: 1,
                supply: [.usd: 0, .gold: 0], reserves: [.usd: 0, .gold: 0],
                reserveRootHex: String(repeating: "b", count: 64),
                rules: "none", sealedAtMilliseconds: 1, claims: claims, obligations: obligations)
            return try Checkpoint(headerBytes: header.signingBytes, signature: key.sign(header.signingBytes))
        }
        var best = Double.infinity
        var last: SettlementCycle?
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            last = try SettlementCycle.plan(number: 1, checkpoints: checkpoints, halted: [])
            best = min(best, (ContinuousClock.now - start).seconds)
        }
        return (best, last!)
    }

    func run() throws -> [String: Any] {
        var figures: [String: Any] = ["regions": regions, "obligations_per_region": perRegion, "rounds": rounds]
        let base = Self.obligations(regions: regions, perRegion: perRegion, seed: 1)
        let (baseSeconds, baseResult) = try time(base)
        print(
            String(
                format: "netting %d regions × %d obligations (%d): %.1f ms per cycle, %d instructions, USD %@",
                regions, perRegion, base.count, baseSeconds * 1000, baseResult.instructions.count,
                baseResult.efficiency(.usd).description))
        let more = Self.obligations(regions: regions, perRegion: perRegion * 10, seed: 2)
        let (moreSeconds, _) = try time(more)
        let wider = Self.obligations(regions: regions * 10, perRegion: perRegion, seed: 3)
        let (widerSeconds, widerResult) = try time(wider)
        let obligationsGrowth = moreSeconds / baseSeconds
        let regionsGrowth = widerSeconds / baseSeconds
        print(
            String(
                format: "  10× obligations (%d): %.1f ms, growth %.2f×", more.count, moreSeconds * 1000,
                obligationsGrowth))
        print(
            String(
                format: "  10× regions (%d regions, %d): %.1f ms, growth %.2f×, %d instructions", regions * 10,
                wider.count,
                widerSeconds * 1000, regionsGrowth, widerResult.instructions.count))
        let (planSeconds, cycle) = try timeCyclePlan()
        print(
            String(
                format: "  a cycle planned from %d signed checkpoints (%d positions): %.1f ms, USD %@ (%@ saved)",
                regions, cycle.covered.count, planSeconds * 1000, cycle.result.efficiency(.usd).description,
                cycle.result.efficiency(.usd).liquiditySaved))
        figures["cycle_ms"] = (baseSeconds * 1e5).rounded() / 100
        figures["obligations_per_second"] = (Double(base.count) / baseSeconds).rounded()
        figures["growth_at_10x_obligations"] = (obligationsGrowth * 100).rounded() / 100
        figures["growth_at_10x_regions"] = (regionsGrowth * 100).rounded() / 100
        figures["plan_from_checkpoints_ms"] = (planSeconds * 1e5).rounded() / 100
        return figures
    }
}
