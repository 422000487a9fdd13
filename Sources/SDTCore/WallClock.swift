import Foundation

/// Where a part reads the time of day, in milliseconds since 1970. Injected wherever time decides
/// something (ids expiring, entries' times, custodians passed over, ceremony deadlines) so that a test
/// or a simulation replays exactly.
public protocol WallClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// The machine's clock.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
