import SDTCore
import Synchronization

/// A deterministic generator for tests and simulations: xoshiro256** seeded through SplitMix64 (the
/// seeding its authors recommend). The same seed gives the same stream on every run and machine. Not
/// for keys or anything an adversary may predict.
public final class SeededRandom: RandomSource, RandomNumberGenerator, @unchecked Sendable {
    // @unchecked: the state is behind `lock`.
    private let lock = Mutex<(UInt64, UInt64, UInt64, UInt64)>((0, 0, 0, 0))
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let state = (splitMix(), splitMix(), splitMix(), splitMix())
        lock.withLock { $0 = state }
    }

    public func next() -> UInt64 {
        lock.withLock { s in
            let result = rotateLeft(s.1 &* 5, 7) &* 9
            let t = s.1 << 17
            s.2 ^= s.0
            s.3 ^= s.1
            s.1 ^= s.2
            s.0 ^= s.3
            s.2 ^= t
            s.3 = rotateLeft(s.3, 45)
            return result
        }
    }

    public func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count { withUnsafeBytes(of: next().littleEndian) { out.append(contentsOf: $0) } }
        return Array(out.prefix(count))
    }

    public func uniform(_ upperBound: Int) -> Int {
        precondition(upperBound > 0, "uniform needs a positive bound, got \(upperBound)")
        var generator = self
        return Int.random(in: 0..<upperBound, using: &generator)
    }

    /// True with probability `perMille`/1000.
    public func chance(perMille: Int) -> Bool { uniform(1000) < perMille }

    /// A child generator whose stream depends only on this one's next draw: one per part of a
    /// simulation, so that adding draws in one part does not shift another's.
    public func fork() -> SeededRandom { SeededRandom(seed: next()) }
}

private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 { (value << count) | (value >> (64 - count)) }

/// A clock that moves only when told: simulated time, in milliseconds.
public final class ManualClock: WallClock, @unchecked Sendable {
    // @unchecked: the time is behind `lock`.
    private let lock: Mutex<Int64>

    public init(startMilliseconds: Int64) { lock = Mutex(startMilliseconds) }

    public func nowMilliseconds() -> Int64 { lock.withLock { $0 } }

    public func advance(milliseconds: Int64) {
        precondition(milliseconds >= 0, "time does not go back (asked to move by \(milliseconds) ms)")
        lock.withLock { $0 += milliseconds }
    }
}
