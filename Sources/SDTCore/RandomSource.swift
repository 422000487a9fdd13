/// Where a part draws randomness: nonces, samples, ids. Production parts use the operating system's
/// generator through libsodium (`SystemRandom` in SDTCrypto); a simulation injects a seeded one so
/// that a failing seed replays exactly. Keys are never drawn from a seeded source outside tests.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
    /// A uniform integer in `0..<upperBound`, without modulo bias.
    func uniform(_ upperBound: Int) -> Int
}

extension RandomSource {
    /// Draws 32-bit words until one falls below the largest multiple of `upperBound`, so every value
    /// is equally likely.
    public func uniform(_ upperBound: Int) -> Int {
        precondition(upperBound > 0 && upperBound <= Int(UInt32.max), "uniform needs 1...UInt32.max, got \(upperBound)")
        let bound = UInt64(upperBound)
        let limit = (UInt64(1) << 32) - ((UInt64(1) << 32) % bound)
        while true {
            let word = bytes(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if word < limit { return Int(word % bound) }
        }
    }
}
