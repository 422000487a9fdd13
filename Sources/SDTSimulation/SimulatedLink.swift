import SDTTesting

/// A one-way message channel on simulated time: what the work queue and the outcome channel are in
/// the simulator. While faults are on, each message may be dropped, duplicated, delayed or overtaken;
/// healed, it delivers everything in order after a short, fixed delay.
final class SimulatedLink<Message> {
    struct Faults {
        var dropPerMille = 0
        var duplicatePerMille = 0
        /// Longest extra delay; with a spread of delays, later messages overtake earlier ones.
        var delayMillisecondsMax: Int64 = 0
    }

    private struct InFlight {
        let deliverAt: Int64
        let order: Int
        let message: Message
    }

    private var inFlight: [InFlight] = []
    private var sent = 0
    private let random: SeededRandom
    var faults = Faults()
    /// The base latency of every message.
    static var latencyMilliseconds: Int64 { 1 }
    private(set) var dropped = 0
    private(set) var duplicated = 0

    init(random: SeededRandom) { self.random = random }

    var isEmpty: Bool { inFlight.isEmpty }

    func send(_ message: Message, now: Int64) {
        guard !random.chance(perMille: faults.dropPerMille) else {
            dropped += 1
            return
        }
        let copies = random.chance(perMille: faults.duplicatePerMille) ? 2 : 1
        if copies == 2 { duplicated += 1 }
        for _ in 0..<copies {
            let delay =
                faults.delayMillisecondsMax > 0 ? Int64(random.uniform(Int(faults.delayMillisecondsMax) + 1)) : 0
            sent += 1
            inFlight.append(InFlight(deliverAt: now + Self.latencyMilliseconds + delay, order: sent, message: message))
        }
    }

    /// The messages due at `now`, in the order they arrive.
    func receive(now: Int64) -> [Message] {
        let due = inFlight.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        guard !due.isEmpty else { return [] }
        inFlight.removeAll { $0.deliverAt <= now }
        return due.map(\.message)
    }
}
