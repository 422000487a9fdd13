import SDTCore
import SDTLedger

/// The invariants across the two regions, after every step and at the end.
extension TwoRegionSimulation {
    /// Each region's own invariants (supply = balances = reserves + claims − obligations, no fork, every
    /// final block verifying), and for each direction and token: what the payer owes is covered by what
    /// the payee credited, and the payee credited no more than the payer owes plus what is still in
    /// transit at the payer (so no payment is credited twice or without being paid). Decisions never
    /// run ahead of messages, and acknowledgements never run ahead of decisions.
    func check() throws {
        for side in sides { try side.check() }
        for payer in sides {
            let payee = other(payer)
            let sent = try payer.reader.positions().filter { $0.counterpart == payee.region }
            let received = try payee.reader.positions().filter { $0.counterpart == payer.region }
            for token in Token.allCases {
                let out = sent.first { $0.token == token }
                let obligations = out?.obligations ?? 0
                let inFlight = out?.inFlight ?? 0
                let claims = received.first { $0.token == token }?.claims ?? 0
                guard obligations <= claims, claims <= obligations + inFlight else {
                    throw SimulationFailure(
                        "\(token.rawValue) from \(payer.region) to \(payee.region): \(payee.region) claims \(claims), "
                            + "\(payer.region) owes \(obligations) with \(inFlight) in transit")
                }
            }
            let link = try payer.reader.interRegionLink(payee.region)
            let decided = try payee.reader.interRegionLink(payer.region).lastInbound
            let acknowledged = link.lastOutbound - (sent.first?.outboundOpen ?? 0)
            guard decided <= link.lastOutbound, acknowledged <= decided else {
                throw SimulationFailure(
                    "\(payer.region) sent \(link.lastOutbound) messages to \(payee.region), which decided \(decided); "
                        + "\(acknowledged) are acknowledged")
            }
        }
    }

    /// Faults stop everywhere; both regions heal, and every payment between them is decided and
    /// acknowledged.
    func heal() throws {
        faultsOn = false
        for region in Self.regions {
            messages[region]?.faults = .init()
            decisions[region]?.faults = .init()
        }
        for side in sides { side.stopFaults() }
        while healingSteps < options.healingStepsMax {
            if try isQuiet() { return }
            healingSteps += 1
            for side in sides {
                side.report.healingSteps += 1
                try side.reviewHeld()
            }
            try step()
        }
        for side in sides where !(try side.isQuiet()) { throw SimulationFailure(try side.unhealed()) }
        let open = try sides.map { "\($0.region) \(try $0.reader.openOutbound(limit: 10).map(\.number))" }
        throw SimulationFailure(
            "liveness: \(options.healingStepsMax) steps after the faults stopped, outbound messages are "
                + "unacknowledged: " + open.joined(separator: ", "))
    }

    private func isQuiet() throws -> Bool {
        for side in sides {
            guard try side.isQuiet(), try side.reader.openOutbound(limit: 1).isEmpty else { return false }
        }
        return Self.regions.allSatisfy { messages[$0]?.isEmpty != false && decisions[$0]?.isEmpty != false }
    }

    /// At the end: each region's final checks (the audit among them), and every payment between them
    /// settled on both sides: each message decided once and acknowledged once, nothing in transit, and
    /// what each payee claims exactly what its payer owes.
    func finalChecks() throws {
        for side in sides { try side.finalChecks() }
        try check()
        for payer in sides {
            let payee = other(payer)
            let link = try payer.reader.interRegionLink(payee.region)
            let decided = try payee.reader.interRegionLink(payer.region).lastInbound
            guard decided == link.lastOutbound else {
                throw SimulationFailure(
                    "\(payee.region) decided \(decided) of the \(link.lastOutbound) messages \(payer.region) sent")
            }
            let sent = try payer.reader.positions().filter { $0.counterpart == payee.region }
            let received = try payee.reader.positions().filter { $0.counterpart == payer.region }
            for token in Token.allCases {
                let out = sent.first { $0.token == token }
                let claims = received.first { $0.token == token }?.claims ?? 0
                guard out?.inFlight ?? 0 == 0, out?.obligations ?? 0 == claims else {
                    throw SimulationFailure(
                        "after healing, \(token.rawValue) from \(payer.region) to \(payee.region): "
                            + "\(out?.inFlight ?? 0) in transit, \(out?.obligations ?? 0) owed, \(claims) claimed")
                }
            }
            for number in Int64(1)...max(1, decided) where decided > 0 {
                guard
                    case .incoming(let decision)? = try payee.reader.interRegionEntry(
                        "incoming:\(payer.region):\(number)")?.entry
                else {
                    throw SimulationFailure("\(payee.region) holds no decision on message \(number) of \(payer.region)")
                }
                switch decision.verdict {
                case .credited: note("credited")
                case .refused(let code, _, _): note("refused: \(code.name)")
                }
            }
        }
    }
}
