import Foundation
import SDTCore
import SDTCrypto
import SDTQueue

/// Runs one custodian's side of the DKG over ZeroMQ: it listens on its own endpoint (PULL) and sends
/// to each peer's (PUSH). Three rounds — commitments and proof, sealed values, transcript signatures —
/// each broadcast to the peers; messages arriving early wait for their round.
public struct DKGRunner {
    public let session: DistributedKeyGeneration
    public let listen: String
    public let peers: [Int: String]
    public let timeout: Duration

    public init(session: DistributedKeyGeneration, listen: String, peers: [Int: String], timeout: Duration = .seconds(120)) {
        self.session = session
        self.listen = listen
        self.peers = peers
        self.timeout = timeout
    }

    /// Returns the transcript signed by all three and this custodian's share file. `progress` hears how
    /// many of the peers' messages (three rounds from each) have arrived, of how many.
    public func run(
        passphrase: String, progress: ((_ received: Int, _ expected: Int) -> Void)? = nil
    ) throws -> (CeremonyTranscript, CustodianShareFile) {
        let channel = try CeremonyChannel(listen: listen, peers: Array(peers.values), timeout: timeout)
        let expected = 3 * peers.count
        if let progress { channel.onReceive = { progress($0, expected) } }
        let mine = try session.roundOne()
        try channel.broadcast(1, mine)
        let roundOne = [mine] + (try channel.collect(1, DistributedKeyGeneration.RoundOne.self, count: peers.count))
        let second = try session.roundTwo(roundOne)
        try channel.broadcast(2, second)
        let roundTwo = [second] + (try channel.collect(2, DistributedKeyGeneration.RoundTwo.self, count: peers.count))
        var (transcript, share) = try session.finish(roundOne, roundTwo)
        let (file, signature) = try session.store(share: share, transcript: transcript, passphrase: passphrase)
        share.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        transcript = try channel.signTogether(transcript, me: session.me, signature: signature, round: 3, peers: peers.count)
        return (transcript, file)
    }
}
