/// A Merkle tree over SHA3-256 with the shape and domain separation of RFC 9162 §2.1: leaf hash
/// `H(0x00 ‖ data)`, interior node `H(0x01 ‖ left ‖ right)`, the left subtree holding the largest
/// power of two leaves smaller than the total. An inclusion proof is the RFC's audit path.
public enum Merkle {
    public static func leafHash(_ data: [UInt8]) -> [UInt8] {
        SHA3.hash256([0x00] + data)
    }

    static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        SHA3.hash256([0x01] + left + right)
    }

    /// The root over leaf hashes; requires at least one leaf.
    public static func root(leafHashes: [[UInt8]]) -> [UInt8] {
        precondition(!leafHashes.isEmpty, "a Merkle root needs at least one leaf")
        return root(leafHashes[...])
    }

    /// As `root`, with the empty tree allowed: its root is the hash of the empty string (RFC 9162 §2.1.1).
    public static func root(leafHashesOrNone leafHashes: [[UInt8]]) -> [UInt8] {
        leafHashes.isEmpty ? SHA3.hash256([]) : root(leafHashes[...])
    }

    private static func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let split = leaves.startIndex + largestPowerOfTwo(below: leaves.count)
        return nodeHash(root(leaves[..<split]), root(leaves[split...]))
    }

    /// The audit path of leaf `index`, nearest sibling first.
    public static func path(index: Int, leafHashes: [[UInt8]]) -> [[UInt8]] {
        precondition(leafHashes.indices.contains(index), "leaf \(index) is outside 0..<\(leafHashes.count)")
        return path(index, leafHashes[...])
    }

    private static func path(_ index: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        if leaves.count == 1 { return [] }
        let half = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + half
        if index < half {
            return path(index, leaves[..<split]) + [root(leaves[split...])]
        }
        return path(index - half, leaves[split...]) + [root(leaves[..<split])]
    }

    /// True when `path` proves that `leafHash` is leaf `index` of a tree of `count` leaves with `root`
    /// (RFC 9162 §2.1.3.2).
    public static func verify(leafHash: [UInt8], index: Int, count: Int, path: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < count else { return false }
        var node = index
        var last = count - 1
        var hash = leafHash
        for sibling in path {
            guard last != 0 else { return false }
            if node & 1 == 1 || node == last {
                hash = nodeHash(sibling, hash)
                while node & 1 == 0 && node != 0 {
                    node >>= 1
                    last >>= 1
                }
            } else {
                hash = nodeHash(hash, sibling)
            }
            node >>= 1
            last >>= 1
        }
        return last == 0 && hash == root
    }

    /// The audit paths of several leaves of one tree, each as `path(index:leafHashes:)` gives it, with
    /// every subtree's root computed once: many receipts of one block cost one pass over its leaves.
    public static func paths(indices: [Int], leafHashes: [[UInt8]]) -> [[[UInt8]]] {
        var roots: [Range<Int>: [UInt8]] = [:]
        func root(_ range: Range<Int>) -> [UInt8] {
            if range.count == 1 { return leafHashes[range.lowerBound] }
            if let known = roots[range] { return known }
            let split = range.lowerBound + largestPowerOfTwo(below: range.count)
            let hash = nodeHash(root(range.lowerBound..<split), root(split..<range.upperBound))
            roots[range] = hash
            return hash
        }
        func path(_ index: Int, _ range: Range<Int>) -> [[UInt8]] {
            if range.count == 1 { return [] }
            let split = range.lowerBound + largestPowerOfTwo(below: range.count)
            if index < split { return path(index, range.lowerBound..<split) + [root(split..<range.upperBound)] }
            return path(index, split..<range.upperBound) + [root(range.lowerBound..<split)]
        }
        return indices.map { index in
            precondition(leafHashes.indices.contains(index), "leaf \(index) is outside 0..<\(leafHashes.count)")
            return path(index, 0..<leafHashes.count)
        }
    }

    private static func largestPowerOfTwo(below count: Int) -> Int {
        var power = 1
        while power << 1 < count { power <<= 1 }
        return power
    }
}
