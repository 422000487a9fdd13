import ArgumentParser
import Foundation
import SDTSimulation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the seeded simulator: a region node (or two paying each other), queue, sealer, signer and three "
            + "custodians on simulated time, with faults.",
        discussion: """
            Each seed runs STEPS steps with faults (crashes, lost, duplicated and reordered messages, byzantine \
            custodians), then heals until every request is answered and every block signed, checking the ledger's \
            invariants after every step. A failing seed prints itself; the same seed and build replay it exactly (same \
            trace hash). Exit 1 on a failure. With --two-regions, each seed runs two such regions whose clients also \
            pay each other, over links between the regions that lose, duplicate and reorder, and forged messages are \
            put to the receiver's checks; at the end every payment between them must be credited once or refunded \
            once on both sides.
            """
    )

    @Option(help: "Run this one seed.") var seed: UInt64?
    @Option(help: "Run this many seeds, from --first.") var seeds: Int?
    @Option(help: "The first seed of --seeds.") var first: UInt64 = 1
    @Option(help: "Steps with faults per seed.") var steps = 2_000
    @Flag(help: "Simulate two regions paying each other (us-sim and us-peer), with faults between them too.")
    var twoRegions = false
    @Flag(help: "Print a line per seed.") var verbose = false

    func validate() throws {
        guard (seed == nil) != (seeds == nil) else {
            throw ValidationError("give --seed N for one seed or --seeds COUNT for many")
        }
        if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let list = seed.map { [$0] } ?? (0..<UInt64(seeds ?? 1)).map { first + $0 }
        let start = ContinuousClock.now
        var totalSteps = 0
        // A progress line (on a terminal only) for many seeds; a line per seed speaks for itself.
        let progress = ProgressLine("simulate", total: list.count, unit: "seeds", enabled: list.count > 1 && !verbose
            && isatty(STDERR_FILENO) == 1)
        for (index, seed) in list.enumerated() {
            let options = SimulationOptions(seed: seed, steps: steps)
            let report =
                try twoRegions ? TwoRegionSimulation(options: options).run() : Simulation(options: options).run()
            totalSteps += report.steps + report.healingSteps
            progress.advance()
            if !report.passed { progress.finish() }
            if verbose || list.count == 1 || !report.passed {
                print(
                    "seed \(seed): \(report.passed ? "passed" : "FAILED") — \(report.steps) steps with "
                        + "\(report.faults) faults, \(report.healingSteps) to heal, \(report.requests) requests, "
                        + "\(report.entries) entries in \(report.blocks) blocks; trace \(report.traceHex)")
            }
            if verbose || list.count == 1 {
                print(
                    "  told: "
                        + report.told.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", "))
                if twoRegions {
                    print(
                        "  between the regions: "
                            + report.crossings.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                                separator: ", "))
                }
            }
            if let failure = report.failure {
                print("  \(failure)")
                print(
                    "  replay: sdt simulate --seed \(seed) --steps \(steps)\(twoRegions ? " --two-regions" : "")   "
                        + "(ledger kept in \(report.directory))")
                throw ExitCode(1)
            }
            if !verbose, list.count > 1, (index + 1) % 10 == 0, isatty(STDERR_FILENO) != 1 {
                print("\(index + 1) of \(list.count) seeds passed")
            }
        }
        progress.finish()
        let seconds = (ContinuousClock.now - start).seconds
        print(
            "\(list.count) seed(s) passed, \(totalSteps) steps in \(String(format: "%.1f", seconds)) s "
                + "(\(Int(Double(totalSteps) / max(seconds, 0.001))) simulated steps/s)")
    }
}
