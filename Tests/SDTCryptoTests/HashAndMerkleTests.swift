import SDTCore
import Testing
@testable import SDTCrypto

@Suite struct HashAndMerkleTests {
    @Test func sha3KnownAnswers() {
        #expect(Hex.encode(SHA3.hash256([])) == "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
        #expect(Hex.encode(SHA3.hash256(Array("abc".utf8))) == "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532")
    }

    @Test func everyLeafOfEveryTreeSizeProves() {
        for count in 1...33 {
            let leaves = (0..<count).map { Merkle.leafHash([UInt8(truncatingIfNeeded: $0), 7]) }
            let root = Merkle.root(leafHashes: leaves)
            for index in 0..<count {
                let path = Merkle.path(index: index, leafHashes: leaves)
                #expect(Merkle.verify(leafHash: leaves[index], index: index, count: count, path: path, root: root))
                if count > 1 {
                    let other = (index + 1) % count
                    #expect(!Merkle.verify(leafHash: leaves[other], index: index, count: count, path: path, root: root))
                }
            }
        }
    }

    @Test func manyPathsAtOnceAreTheSinglePaths() {
        for count in [1, 2, 3, 5, 8, 13, 33, 100] {
            let leaves = (0..<count).map { Merkle.leafHash([UInt8(truncatingIfNeeded: $0), 9]) }
            let indices = Array((0..<count).reversed()) + [0, count - 1]
            #expect(Merkle.paths(indices: indices, leafHashes: leaves) == indices.map { Merkle.path(index: $0, leafHashes: leaves) })
        }
    }

    @Test func rootFollowsRFC9162Shape() {
        let leaves = (0..<3).map { Merkle.leafHash([UInt8($0)]) }
        let left = Merkle.nodeHash(leaves[0], leaves[1])
        #expect(Merkle.root(leafHashes: leaves) == Merkle.nodeHash(left, leaves[2]))
        #expect(Merkle.leafHash([1]) == SHA3.hash256([0, 1]))
    }

    @Test func changingAnyPathElementBreaksTheProof() {
        let leaves = (0..<10).map { Merkle.leafHash([UInt8($0)]) }
        let root = Merkle.root(leafHashes: leaves)
        var path = Merkle.path(index: 6, leafHashes: leaves)
        path[1][0] ^= 0x80
        #expect(!Merkle.verify(leafHash: leaves[6], index: 6, count: 10, path: path, root: root))
    }
}
