import SDTCore

/// One account's outgoing transfers of one token in time order, with running totals, so a velocity
/// rule's question (how much and how many since T) costs a binary search, not a scan.
public struct OutgoingWindow: Sendable {
    public init() {}

    private var times: [Int64] = []
    /// `totals[i]`: the sum of amounts of entries `0...i`.
    private var totals: [Int64] = []
    private var start = 0

    public mutating func append(milliseconds: Int64, amount: Int64) {
        times.append(milliseconds)
        totals.append((totals.last ?? 0) + amount)
    }

    public func since(_ milliseconds: Int64) -> VelocityTotals {
        var low = start
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < milliseconds { low = middle + 1 } else { high = middle }
        }
        guard low < times.count else { return .zero }
        let before = low > 0 ? totals[low - 1] : 0
        return VelocityTotals(amount: (totals.last ?? 0) - before, count: Int64(times.count - low))
    }

    /// Forgets entries older than `milliseconds`, compacting once half the storage is stale.
    public mutating func drop(before milliseconds: Int64) {
        while start < times.count, times[start] < milliseconds { start += 1 }
        guard start > 64, start * 2 > times.count else { return }
        let base = totals[start - 1]
        times.removeFirst(start)
        totals = totals[start...].map { $0 - base }
        start = 0
    }

    /// The transfers still held, oldest first: what a cache below takes in after a commit.
    public var entries: [(atMilliseconds: Int64, amount: Int64)] {
        (start..<times.count).map { index in (times[index], totals[index] - (index > 0 ? totals[index - 1] : 0)) }
    }
}
