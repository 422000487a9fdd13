import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
import SDTNode
import SDTTesting

/// Two regions paying each other, on one simulated clock and one seed. Each region is a whole
/// simulated node (`Simulation`: the real engine, SQLite store, sealer, signer and three custodians,
/// with every fault of a one-region run: applier crashes, lost and reordered work, byzantine and
/// restarting custodians), and its clients also pay holders of the other region. Between the regions
/// run the real inter-region protocol's parts: each region's relay seals its final outbound messages
/// to the other (`InterRegionEnvelope`), the receiver opens them against a signed registry and queues
/// them as deliveries, and signed decisions come back to be recorded as acknowledgements. The four
/// links between the regions lose, duplicate, delay and reorder while faults are on, and now and then
/// a forged message is put to the receiver's opening of messages, which must refuse it with its reason.
/// After every step both regions' invariants and the ones across them are checked; at the end every
/// payment must be credited once or refunded once.
public final class TwoRegionSimulation {
    public static let regions = ["us-sim", "us-peer"]
    /// How often a relay sends what is unacknowledged: between these, at random.
    static let relayPeriodMilliseconds: (least: Int64, spread: Int) = (100, 200)
    static let requestMessagesMax = 256

    let options: SimulationOptions
    let clock = ManualClock(startMilliseconds: Simulation.startMilliseconds)
    let random: SeededRandom
    let sides: [Simulation]
    let registry: RegionRegistry
    let sealingKeys: [String: SealingKey]
    /// What each region sends the other: its outbound messages, and its signed decisions on the other's.
    var messages: [String: SimulatedLink<[InterRegionEnvelope]>] = [:]
    var decisions: [String: SimulatedLink<[InterRegionEnvelope]>] = [:]
    var relayAt: [String: Int64] = [:]
    /// A genuine message each region sent, to forge others from.
    var lastSent: [String: InterRegionEnvelope] = [:]
    var faultsOn = true
    var report: SimulationReport
    var trace = TraceHasher()
    var steps = 0
    var healingSteps = 0

    public init(options: SimulationOptions) throws {
        self.options = options
        random = SeededRandom(seed: options.seed)
        report = SimulationReport(seed: options.seed)
        let directory =
            options.directory
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent(
                "sdt-simulation-\(options.seed)-two-\(ProcessInfo.processInfo.processIdentifier)-"
                    + "\(UInt32.random(in: 0...UInt32.max))")
        report.directory = directory
        var regionOptions = options
        regionOptions.directory = directory
        var sides: [Simulation] = []
        for (index, region) in Self.regions.enumerated() {
            sides.append(
                try Simulation(
                    options: regionOptions, region: region, counterpart: Self.regions[1 - index],
                    random: random.fork(), clock: clock))
        }
        self.sides = sides
        var keys: [String: SealingKey] = [:]
        var text = "version = 1\n\n"
        for side in sides {
            let key = try SealingKey(secret: random.bytes(32))
            keys[side.region] = key
            text += RegionRegistry.entryText(
                code: side.region, name: "Simulated \(side.region)", blockPublicKey: side.coordinator.publicKey,
                sealingPublicKey: key.publicKey, endpoint: "https://\(side.region).invalid")
        }
        sealingKeys = keys
        registry = try RegionRegistry.parse(text)
        for region in Self.regions {
            messages[region] = SimulatedLink(random: random.fork())
            decisions[region] = SimulatedLink(random: random.fork())
            relayAt[region] = 0
        }
    }

    /// Runs the seed: both set-ups, the steps with faults, then healing until every request is
    /// answered, every block signed and every payment between the regions decided and acknowledged.
    public func run() -> SimulationReport {
        do {
            for side in sides { try side.setUp() }
            while steps < options.steps {
                steps += 1
                for side in sides { side.report.steps += 1 }
                try step()
            }
            try heal()
            try finalChecks()
        } catch let failure as SimulationFailure {
            report.failure = "step \(steps + healingSteps): \(failure.description)"
        } catch {
            report.failure = "step \(steps + healingSteps): \(error)"
        }
        report.steps = steps
        report.healingSteps = healingSteps
        var traces = trace.hex
        for side in sides {
            let head = try? side.reader.head()
            report.requests += side.workload.requests.count
            report.entries += head?.appliedSequence ?? 0
            report.blocks += head?.sealedHeight ?? 0
            report.faults += side.report.faults
            for (code, count) in side.report.told { report.told[code, default: 0] += count }
            traces += side.trace.hex
        }
        report.traceHex = Hex.encode(SHA3.hash256(Array(traces.utf8)))
        if report.passed, options.directory == nil { try? FileManager.default.removeItem(atPath: report.directory) }
        return report
    }

    func step() throws {
        clock.advance(milliseconds: Int64(1 + random.uniform(20)))
        let now = clock.nowMilliseconds()
        trace.note("step \(steps + healingSteps) at \(now)")
        if faultsOn { try injectFaults(now: now) }
        for side in sides { try side.tick() }
        for side in sides { try exchange(side, now: now) }
        try check()
    }

    func side(_ region: String) -> Simulation { sides.first { $0.region == region }! }

    func other(_ side: Simulation) -> Simulation { side.region == sides[0].region ? sides[1] : sides[0] }

    func note(_ event: String, count: Int = 1) {
        report.crossings[event, default: 0] += count
        trace.note(event)
    }

    // MARK: Faults between the regions

    private func injectFaults(now: Int64) throws {
        switch random.uniform(1_000) {
        case 0..<8:
            let region = Self.regions[random.uniform(2)]
            let decisions = random.chance(perMille: 500)
            let faults = SimulatedLink<[InterRegionEnvelope]>.Faults(
                dropPerMille: random.uniform(300), duplicatePerMille: random.uniform(300),
                delayMillisecondsMax: Int64(random.uniform(600)))
            if decisions { self.decisions[region]?.faults = faults } else { messages[region]?.faults = faults }
            report.faults += 1
            trace.note(
                "fault \(region)'s \(decisions ? "decisions" : "messages"): drop \(faults.dropPerMille)‰, duplicate "
                    + "\(faults.duplicatePerMille)‰, delay up to \(faults.delayMillisecondsMax) ms")
        case 8..<11:
            try sendForgery()
        default:
            break
        }
    }

    /// A message made from a genuine one but changed as an attacker would: the receiver must refuse it
    /// with the reason that fits, before anything is applied.
    private func sendForgery() throws {
        let region = Self.regions[random.uniform(2)]
        guard let genuine = lastSent[region] else { return }
        let receiver = other(side(region)).region
        var header = genuine.headerBytes
        var sealed = genuine.sealed
        var (from, to) = (region, receiver)
        let expected: InterRegionRefusal.Code
        switch random.uniform(5) {
        case 0:
            to = "us-xx"
            expected = .misaddressed
        case 1:
            from = "us-zz"
            expected = .senderUnknown
        case 2:
            header[random.uniform(header.count)] ^= 0x01
            expected = .signatureInvalid
        case 3:
            sealed[random.uniform(sealed.count)] ^= 0x01
            expected = .sealInvalid
        default:
            // Sealed properly to the receiver, but not a record its sender's block holds.
            sealed = try SealingKey.seal(random.bytes(48), to: registry.entry(receiver)!.sealingPublicKey)
            expected = .malformed
        }
        let forged = InterRegionEnvelope(
            fromRegion: from, toRegion: to, headerBytes: header, blockSignature: genuine.blockSignature, sealed: sealed)
        report.faults += 1
        do {
            _ = try forged.open(as: receiver, registry: registry, sealingKey: sealingKeys[receiver]!)
            throw SimulationFailure("\(receiver) opened a forged message (expected \(expected.rawValue))")
        } catch let refusal as InterRegionRefusal {
            guard refusal.code == expected else {
                throw SimulationFailure(
                    "\(receiver) refused a forged message with \(refusal), expected \(expected.rawValue)")
            }
            note("forged message refused: \(expected.rawValue)")
        }
    }

    // MARK: Relays and endpoints

    /// What passes between `side` and the other region this step: messages and decisions that arrive
    /// are handled, and `side`'s relay sends again, when it is due, whatever is not acknowledged.
    private func exchange(_ side: Simulation, now: Int64) throws {
        let counterpart = other(side)
        for batch in messages[counterpart.region]?.receive(now: now) ?? [] { try receive(batch, at: side, now: now) }
        for batch in decisions[counterpart.region]?.receive(now: now) ?? [] {
            try acknowledge(batch, at: side, now: now)
        }
        guard now >= relayAt[side.region] ?? 0 else { return }
        relayAt[side.region] =
            now + Self.relayPeriodMilliseconds.least + Int64(random.uniform(Self.relayPeriodMilliseconds.spread))
        try relay(side, now: now)
    }

    /// The relay: every outbound message not acknowledged whose block is signed, in number order (one
    /// whose block is not signed stops the rest), sealed to the counterpart, in requests of 256.
    private func relay(_ side: Simulation, now: Int64) throws {
        let counterpart = other(side).region
        let final = try side.reader.openOutbound(limit: 4_096).prefix { $0.isFinal }
        guard !final.isEmpty, let entry = registry.entry(counterpart) else { return }
        for start in stride(from: 0, to: final.count, by: Self.requestMessagesMax) {
            let chunk = final.dropFirst(start).prefix(Self.requestMessagesMax)
            let ids = chunk.map { "outbound:\(counterpart):\($0.number)" }
            let receipts = try side.reader.interRegionReceipts(ids)
            let envelopes = try ids.map { id in
                guard let receipt = receipts[id] else {
                    throw SimulationFailure("\(side.region)'s \(id) is in a signed block but has no receipt")
                }
                return try InterRegionEnvelope.make(receipt: receipt, from: side.region, to: entry)
            }
            lastSent[side.region] = envelopes.last
            messages[side.region]?.send(envelopes, now: now)
            trace.note("\(side.region) relays \(ids.first!)...\(chunk.last!.number)")
        }
    }

    /// The endpoint of `side`: every message must open (they are genuine); they are queued as
    /// deliveries, and the decisions already signed go back.
    private func receive(_ batch: [InterRegionEnvelope], at side: Simulation, now: Int64) throws {
        var deliveries: [Delivery] = []
        for envelope in batch {
            do {
                let opened = try envelope.open(
                    as: side.region, registry: registry, sealingKey: sealingKeys[side.region]!)
                deliveries.append(try opened.delivery(to: side.region))
            } catch {
                throw SimulationFailure(
                    "\(side.region) refused a genuine message from \(envelope.fromRegion): \(error)")
            }
        }
        side.work.send(deliveries.map { .interRegion(.delivery($0)) }, now: now)
        let ids = deliveries.map { InterRegionEntry.delivery($0).entryID }
        let receipts = try side.reader.interRegionReceipts(ids)
        let sender = deliveries.first.map(\.message.region) ?? other(side).region
        let answers = try ids.compactMap { id in
            try receipts[id].map {
                try InterRegionEnvelope.make(receipt: $0, from: side.region, to: registry.entry(sender)!)
            }
        }
        trace.note("\(side.region) receives \(deliveries.count), answers \(answers.count)")
        if !answers.isEmpty { decisions[side.region]?.send(answers, now: now) }
    }

    /// The payer's side of a decision: checked against the message it sent and recorded as an
    /// acknowledgement (queued like any entry, so it can be lost and sent again).
    private func acknowledge(_ batch: [InterRegionEnvelope], at side: Simulation, now: Int64) throws {
        var acknowledgements: [Submission] = []
        for envelope in batch {
            do {
                let opened = try envelope.open(
                    as: side.region, registry: registry, sealingKey: sealingKeys[side.region]!)
                let decision = try IncomingDecision(signingBytes: opened.recordBytes)
                let id = "outbound:\(envelope.fromRegion):\(decision.message.number)"
                guard case .outbound(let sent)? = try side.reader.interRegionEntry(id)?.entry else {
                    throw SimulationFailure("\(side.region) got a decision on \(id), which it never sent")
                }
                acknowledgements.append(.interRegion(.acknowledgement(try opened.acknowledgement(of: sent))))
            } catch let failure as SimulationFailure {
                throw failure
            } catch {
                throw SimulationFailure("\(side.region) refused a genuine decision of \(envelope.fromRegion): \(error)")
            }
        }
        trace.note("\(side.region) acknowledges \(acknowledgements.count)")
        side.work.send(acknowledgements, now: now)
    }
}
