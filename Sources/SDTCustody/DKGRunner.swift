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

    struct Signature: Codable {
        var from: Int
        var signature: String
    }

    /// Returns the transcript signed by all three and this custodian's share file.
    public func run(passphrase: String) throws -> (CeremonyTranscript, CustodianShareFile) {
        let context = QueueContext()
        let inbox = try QueueSocket(context, .pull)
        try inbox.bind(listen)
        var outboxes: [QueueSocket] = []
        for endpoint in peers.values {
            let socket = try QueueSocket(context, .push)
            try socket.setSendTimeout(milliseconds: Int32(timeout.components.seconds * 1000))
            try socket.connect(endpoint)
            outboxes.append(socket)
        }
        defer {
            inbox.close()
            for socket in outboxes { socket.close() }
        }
        let deadline = ContinuousClock.now + timeout
        var pending: [UInt8: [Data]] = [:]

        func broadcast(_ round: UInt8, _ payload: some Encodable) throws {
            var writer = WireWriter()
            writer.write(round)
            writer.write(bytes: Array(try JSONEncoder().encode(payload)))
            for socket in outboxes { try socket.send(writer.bytes) }
        }
        func collect<Message: Decodable>(_ round: UInt8, _ type: Message.Type) throws -> [Message] {
            while (pending[round]?.count ?? 0) < peers.count {
                guard ContinuousClock.now < deadline else { throw CryptoError("DKG round \(round): peers did not answer in time") }
                guard let bytes = try inbox.receive(timeoutMilliseconds: 200) else { continue }
                var reader = WireReader(bytes)
                let messageRound = try reader.read(UInt8.self)
                pending[messageRound, default: []].append(Data(try reader.readBytes()))
            }
            return try (pending[round] ?? []).map { try JSONDecoder().decode(Message.self, from: $0) }
        }

        let mine = try session.roundOne()
        try broadcast(1, mine)
        let roundOne = [mine] + (try collect(1, DistributedKeyGeneration.RoundOne.self))
        let second = try session.roundTwo(roundOne)
        try broadcast(2, second)
        let roundTwo = [second] + (try collect(2, DistributedKeyGeneration.RoundTwo.self))
        var (transcript, share) = try session.finish(roundOne, roundTwo)
        let (file, signature) = try session.store(share: share, transcript: transcript, passphrase: passphrase)
        share.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        try broadcast(3, Signature(from: session.me, signature: Hex.encode(signature)))
        transcript.signatures[String(session.me)] = Hex.encode(signature)
        for other in try collect(3, Signature.self) { transcript.signatures[String(other.from)] = other.signature }
        try transcript.verify(requireAllSignatures: true)
        return (transcript, file)
    }
}
