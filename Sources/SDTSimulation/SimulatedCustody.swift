import SDTCore
import SDTCrypto
import SDTCustody
import SDTTesting

/// How a simulated custodian behaves at the moment.
enum CustodianBehaviour: String, CaseIterable {
    case honest
    /// No answer at all.
    case down
    /// Answers after the coordinator's wait: the request is handled (its nonce used), the answer lost.
    case slow
    /// Answers every request with a refusal.
    case refusing
    /// Answers sign requests with a corrupted signature share.
    case wrongShare
    /// Answers sign requests with the share it gave for an earlier block.
    case staleShare
}

/// The three custodians of the simulated region: the real `Custodian` logic each, behind a transport
/// that injects their faults. It records every signature share a custodian handed out, by height and
/// header, so the checks can tell whether one ever signed two blocks at one height.
final class SimulatedCustody: CustodianTransport {
    let transcript: CeremonyTranscript
    private let shares: [Int: [UInt8]]
    private let randoms: [Int: SeededRandom]
    private(set) var custodians: [Int: Custodian] = [:]
    /// What each custodian's disk holds: kept across its restarts.
    private var logs: [Int: SignedHeightLog] = [:]
    var behaviours: [Int: CustodianBehaviour] = [1: .honest, 2: .honest, 3: .honest]
    /// Signature shares handed out, per custodian: height → headers signed there.
    private(set) var signed: [Int: [Int64: Set<[UInt8]>]] = [:]
    private var lastShare: [Int: [UInt8]] = [:]
    /// A broken custodian build that loses its signed heights on every restart (test only).
    let forgetsSignedHeights: Bool

    init(transcript: CeremonyTranscript, shares: [Int: [UInt8]], random: SeededRandom, forgetsSignedHeights: Bool) {
        self.transcript = transcript
        self.shares = shares
        self.forgetsSignedHeights = forgetsSignedHeights
        randoms = Dictionary(uniqueKeysWithValues: shares.keys.sorted().map { ($0, random.fork()) })
        for identifier in shares.keys.sorted() { restart(identifier) }
    }

    /// A restart: nonces in memory are gone, the signed heights on disk stay (unless the build forgets).
    func restart(_ identifier: Int) {
        if logs[identifier] == nil || forgetsSignedHeights { logs[identifier] = SignedHeightMemory() }
        guard let share = shares[identifier], let log = logs[identifier], let random = randoms[identifier] else {
            return
        }
        custodians[identifier] = Custodian(
            share: share, identifier: identifier, transcript: transcript, log: log, random: random)
    }

    func exchange(_ identifiers: [Int], _ message: CustodianMessage) -> [(Int, CustodianReply?)] {
        identifiers.map { identifier in (identifier, reply(identifier, message)) }
    }

    private func reply(_ identifier: Int, _ message: CustodianMessage) -> CustodianReply? {
        guard let custodian = custodians[identifier] else { return nil }
        switch behaviours[identifier] ?? .honest {
        case .down: return nil
        case .refusing: return .refused("custodian \(identifier) refuses (simulated)")
        case .slow:
            _ = handle(custodian, message)
            return nil
        case .honest: return handle(custodian, message)
        case .wrongShare, .staleShare:
            let reply = handle(custodian, message)
            guard case .sign = message, case .ok(let parts) = reply, let share = parts.first else { return reply }
            if behaviours[identifier] == .staleShare, let stale = lastShare[identifier], stale != share {
                return .ok([stale])
            }
            var corrupted = share
            corrupted[0] ^= 0x01
            return .ok([corrupted])
        }
    }

    /// The custodian's own answer, with every share it gives recorded.
    private func handle(_ custodian: Custodian, _ message: CustodianMessage) -> CustodianReply {
        let reply = custodian.handle(message)
        if case .sign(let request, _) = message, case .ok(let parts) = reply, let share = parts.first,
            let header = try? BlockHeader(signingBytes: request.headerBytes)
        {
            signed[custodian.identifier, default: [:]][header.height, default: []].insert(
                SHA3.hash256(request.headerBytes))
            lastShare[custodian.identifier] = share
        }
        return reply
    }

    /// Custodians that handed out shares for two different headers at one height.
    var forks: [String] {
        signed.keys.sorted().flatMap { identifier in
            (signed[identifier] ?? [:]).filter { $0.value.count > 1 }.keys.sorted().map {
                "custodian \(identifier) signed \(signed[identifier]?[$0]?.count ?? 0) different headers at height \($0)"
            }
        }
    }
}
