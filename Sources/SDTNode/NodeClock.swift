import Foundation

/// Where the node reads the time. Injected so that tests and simulations replay exactly.
public protocol NodeClock: Sendable {
    func nowMilliseconds() -> Int64
}

public struct SystemClock: NodeClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
