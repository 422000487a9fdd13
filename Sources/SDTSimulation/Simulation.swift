import Foundation
import SDTCore
import SDTCrypto
import SDTCustody
import SDTEngine
import SDTLedger
import SDTRules
import SDTTesting

/// What to simulate: one seed, how many steps of faults, and (for the tests that prove the simulator
/// finds bugs) a broken decider or a broken custodian build.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var steps: Int
    /// Steps allowed, once faults stop, for every request to be answered and every block signed.
    public var healingStepsMax = 20_000
    /// Replaces the ledger engine (a deliberately broken one, in tests).
    public var decider: (@Sendable (LedgerPolicy) -> any BatchDecider)?
    /// Custodians lose their signed heights on every restart (a broken build, in tests).
    public var custodiansForgetSignedHeights = false
    /// Where the ledger file goes; a fresh temporary directory by default, removed unless the seed fails.
    public var directory: String?

    public init(seed: UInt64, steps: Int) {
        self.seed = seed
        self.steps = steps
    }
}

/// What a run found. A failing seed names its first broken invariant and replays exactly.
public struct SimulationReport: Sendable {
    public let seed: UInt64
    public var steps = 0
    public var healingSteps = 0
    public var requests = 0
    public var entries: Int64 = 0
    public var blocks: Int64 = 0
    public var faults = 0
    /// How often the clients were told each code.
    public var told: [String: Int] = [:]
    /// In a two-region run: how the payments between the regions ended, and the forgeries refused.
    public var crossings: [String: Int] = [:]
    /// SHA3-256 over every event of the run: the same seed and build give the same hash.
    public var traceHex = ""
    public var failure: String?
    public var directory = ""

    public var passed: Bool { failure == nil }
}

/// A region node in one process on simulated time and one seeded random source: the real ledger
/// engine and SQLite store behind the applier, the real sealer, the real signing coordinator and three
/// real custodians, with a simulated work queue and outcome channel between a front and the applier,
/// and random clients. Faults come at random moments: applier crashes (uncommitted work lost),
/// messages dropped, duplicated, delayed and reordered, custodians down, slow, restarting, refusing
/// or byzantine, the signer stopping between sealing and signing, and a forged request to sign a
/// second block at a signed height. After every step the invariants are checked; at the end the
/// faults stop and every request must be answered and every block signed.
public final class Simulation {
    static let syncWaitMilliseconds: Int64 = 2_000
    static let resubmitMilliseconds: Int64 = 3_000
    static let blockEntriesMax = 64
    static let batchMax = 256

    let options: SimulationOptions
    /// This region's code, and the region it pays and is paid by (none in a one-region run).
    let region: String
    let counterpart: String?
    let clock: ManualClock
    let random: SeededRandom
    private let faultRandom: SeededRandom
    let directory: String
    let ledgerPath: String
    let policy: LedgerPolicy
    let workload: Workload
    let custody: SimulatedCustody
    let coordinator: SigningCoordinator
    let work: SimulatedLink<[Submission]>
    let outcomes: SimulatedLink<[Outcome]>
    var writer: LedgerWriter?
    let signatures: BlockSignatureStore
    let reader: LedgerReader
    var applierDownUntil: Int64 = 0
    var signerDownUntil: Int64 = 0
    /// The signer's back-off while signing fails, as the node's signing service does it: 200 ms
    /// doubling to 5 s, reset by a success.
    var signerRetryAt: Int64 = 0
    var signerWaitMilliseconds: Int64 = Simulation.signerWaitFirst
    static let signerWaitFirst: Int64 = 200
    static let signerWaitMax: Int64 = 5_000
    var inbox: [[Submission]] = []
    /// Requests waiting for answers, by record: request number and the submission's place in it.
    var waiting: [Key: [(request: Int, index: Int)]] = [:]
    var faultsOn = true
    var report: SimulationReport
    var trace = TraceHasher()
    var signedHeight: Int64 = 0
    /// Answers the clients were given that say a record was not applied, to check again at the end.
    var toldNotApplied: [(request: Int, submission: Submission, code: String)] = []
    /// How often the operator reviewed each held transfer while healing.
    var reviewed: [String: Int] = [:]

    struct Key: Hashable {
        let kind: EntryKind
        let entryID: String
        let recordSHA3: [UInt8]
    }

    /// The region's rules; with a counterpart, the hold rule refuses large incoming dollars too.
    static func rules(region: String) -> String {
        """
        region = "\(region)"
        version = 1
        summary = "Simulated rules: sanctioned jurisdictions refused, large dollar transfers held for review."

        [[rule]]
        id = "SIM-SANCTIONS"
        decision = "reject"
        reason = "Transfers to sanctioned jurisdictions are refused."
        receiver_jurisdiction_in = ["KP"]

        [[rule]]
        id = "SIM-REVIEW-700"
        decision = "hold"
        reason = "Dollar transfers of 700.00 or more wait for review."
        token = "USD"
        amount_at_least = "700.00"
        """
    }

    /// One region on its own (the `us-sim` region of a one-region run).
    public convenience init(options: SimulationOptions) throws {
        try self.init(
            options: options, region: "us-sim", counterpart: nil, random: SeededRandom(seed: options.seed),
            clock: ManualClock(startMilliseconds: Self.startMilliseconds))
    }

    static let startMilliseconds: Int64 = 1_800_000_000_000

    /// A region of a run: `random` and `clock` come from the run, so two regions share one seed and one time.
    init(
        options: SimulationOptions, region: String, counterpart: String?, random: SeededRandom, clock: ManualClock
    ) throws {
        self.options = options
        self.region = region
        self.counterpart = counterpart
        self.clock = clock
        self.random = random
        faultRandom = random.fork()
        report = SimulationReport(seed: options.seed)
        directory =
            options.directory.map { ($0 as NSString).appendingPathComponent(region) }
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent(
                "sdt-simulation-\(options.seed)-\(region)-\(ProcessInfo.processInfo.processIdentifier)-"
                    + "\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        ledgerPath = (directory as NSString).appendingPathComponent("ledger.sqlite")
        report.directory = directory
        let issuer = try TransactionIDIssuer(secret: random.bytes(32), region: region, random: random.fork())
        workload = try Workload(region: region, counterpart: counterpart, random: random.fork(), issuer: issuer)
        policy = LedgerPolicy(
            region: region, tokensOffered: [.usd, .gold], operatorKeys: [workload.operatorKey.publicKeyHex],
            transactionIDs: issuer, treasuryAccount: "treasury", counterparts: Set([counterpart].compactMap { $0 }))
        (custody, coordinator) = try Self.custody(
            region: region, random: random.fork(), clock: clock, forgets: options.custodiansForgetSignedHeights)
        work = SimulatedLink(random: random.fork())
        outcomes = SimulatedLink(random: random.fork())
        writer = try Self.openWriter(ledgerPath, policy, options)
        _ = try writer?.installRules(
            fromFile: RuleSet(text: Self.rules(region: region)), nowMilliseconds: clock.nowMilliseconds())
        signatures = try BlockSignatureStore(path: ledgerPath, durable: false)
        reader = try LedgerReader(path: ledgerPath)
    }

    static func openWriter(_ path: String, _ policy: LedgerPolicy, _ options: SimulationOptions) throws -> LedgerWriter
    {
        try LedgerWriter(path: path, policy: policy, decider: options.decider?(policy), durable: false)
    }

    /// A dealer split from the seeded source, a transcript every custodian signed, and the coordinator.
    /// In a simulation the shares are handed over in memory, so the transcript names each share's
    /// plain hash where a ceremony names its sealed box's.
    static func custody(
        region: String, random: SeededRandom, clock: ManualClock, forgets: Bool
    ) throws -> (SimulatedCustody, SigningCoordinator) {
        let identities = try ["ana", "ben", "cai"].map { (name: $0, key: try SigningKey(seed: random.bytes(32))) }
        let custodians = identities.map { DealerCeremony.Identity(name: $0.name, identityKey: $0.key.publicKey) }
        let split = try DealerCeremony.split(custodians: custodians, random: random)
        let shares = Dictionary(
            uniqueKeysWithValues: split.shares.map { ($0.identifier, $0.value.littleEndianBytes(count: 32)) })
        var transcript = try DealerCeremony.transcript(
            region: region, custodians: custodians, commitments: split.commitments,
            sealedShareSHA3: shares.mapValues { SHA3.hash256($0) })
        for (index, identity) in identities.enumerated() {
            transcript.signatures[String(index + 1)] = Hex.encode(identity.key.sign(transcript.signingBytes))
        }
        let custody = SimulatedCustody(
            transcript: transcript, shares: shares, random: random.fork(), forgetsSignedHeights: forgets)
        return (custody, try SigningCoordinator(transcript: transcript, transport: custody, clock: clock))
    }

    /// Runs the seed: set-up, the steps with faults, then healing until everything is answered and
    /// signed. Returns the report; a failure names the first broken invariant and the step.
    public func run() -> SimulationReport {
        do {
            try setUp()
            while report.steps < options.steps {
                report.steps += 1
                try step()
            }
            try heal()
            try finalChecks()
        } catch let failure as SimulationFailure {
            report.failure = "step \(report.steps + report.healingSteps): \(failure.description)"
        } catch {
            report.failure = "step \(report.steps + report.healingSteps): \(error)"
        }
        report.requests = workload.requests.count
        let head = try? reader.head()
        report.entries = head?.appliedSequence ?? 0
        report.blocks = head?.sealedHeight ?? 0
        report.traceHex = trace.hex
        if report.passed, options.directory == nil { try? FileManager.default.removeItem(atPath: directory) }
        return report
    }

    func setUp() throws {
        let outcomes = try writer?.apply(workload.setUp(), nowMilliseconds: clock.nowMilliseconds()) ?? []
        guard outcomes.allSatisfy({ $0.code == .accepted }) else {
            throw SimulationFailure("set-up refused: \(outcomes.filter { $0.code != .accepted }.map(\.code.name))")
        }
        try seal()
    }
}

/// An invariant the simulation found broken.
struct SimulationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// SHA3-256 over the run's events, one line each.
struct TraceHasher {
    private var lines: [UInt8] = []
    private var digest = [UInt8](repeating: 0, count: 32)

    mutating func note(_ event: String) {
        lines += Array(event.utf8) + [0x0A]
        if lines.count > 1 << 16 { flush() }
    }

    private mutating func flush() {
        digest = SHA3.hash256(digest + lines)
        lines = []
    }

    var hex: String {
        var copy = self
        copy.flush()
        return Hex.encode(copy.digest)
    }
}
