import Foundation
import SDTCore
import SDTCrypto
import SDTQueue

/// How the participants of an online ceremony (DKG, refresh, replacement) talk: each listens on its
/// own endpoint (PULL) and sends to every peer's (PUSH). Messages carry their round; ones that arrive
/// before their round is awaited are kept until it is.
public final class CeremonyChannel {
    private let context = QueueContext()
    private let inbox: QueueSocket
    private var outboxes: [QueueSocket] = []
    private var pending: [UInt8: [Data]] = [:]
    private let clock: any WallClock
    private let deadlineMilliseconds: Int64
    /// Told the number of peer messages received so far, at each arrival: for a progress line while the
    /// ceremony waits on the other custodians.
    public var onReceive: ((_ received: Int) -> Void)?
    private var received = 0

    public init(listen: String, peers: [String], timeout: Duration = .seconds(120), clock: any WallClock = SystemClock()) throws {
        inbox = try QueueSocket(context, .pull)
        try inbox.bind(listen)
        for endpoint in peers {
            let socket = try QueueSocket(context, .push)
            try socket.setSendTimeout(milliseconds: Int32(timeout.components.seconds * 1000))
            try socket.connect(endpoint)
            outboxes.append(socket)
        }
        self.clock = clock
        deadlineMilliseconds = clock.nowMilliseconds() + timeout.components.seconds * 1000
    }

    deinit {
        inbox.close()
        for socket in outboxes { socket.close() }
    }

    public func broadcast(_ round: UInt8, _ payload: some Encodable) throws {
        var writer = WireWriter()
        writer.write(round)
        writer.write(bytes: Array(try JSONEncoder().encode(payload)))
        for socket in outboxes { try socket.send(writer.bytes) }
    }

    /// Waits for `count` messages of `round` from the peers.
    public func collect<Message: Decodable>(_ round: UInt8, _ type: Message.Type, count: Int) throws -> [Message] {
        while (pending[round]?.count ?? 0) < count {
            guard clock.nowMilliseconds() < deadlineMilliseconds else { throw CryptoError("ceremony round \(round): peers did not answer in time") }
            guard let bytes = try inbox.receive(timeoutMilliseconds: 200) else { continue }
            var reader = WireReader(bytes)
            let messageRound = try reader.read(UInt8.self)
            pending[messageRound, default: []].append(Data(try reader.readBytes()))
            received += 1
            onReceive?(received)
        }
        return try (pending[round] ?? []).map { try JSONDecoder().decode(Message.self, from: $0) }
    }
}

/// A transcript signature sent in a ceremony's last round.
public struct TranscriptSignature: Codable, Sendable {
    public var from: Int
    public var signature: String
}

extension CeremonyChannel {
    /// The last round of every online ceremony: exchange signatures of `transcript`, then check that
    /// all custodians signed it.
    func signTogether(_ transcript: CeremonyTranscript, me: Int, signature: [UInt8], round: UInt8, peers: Int) throws -> CeremonyTranscript {
        var signed = transcript
        try broadcast(round, TranscriptSignature(from: me, signature: Hex.encode(signature)))
        signed.signatures[String(me)] = Hex.encode(signature)
        for other in try collect(round, TranscriptSignature.self, count: peers) { signed.signatures[String(other.from)] = other.signature }
        try signed.verify(requireAllSignatures: true)
        return signed
    }
}
