import Foundation
import SDTCore
import SDTCrypto
import SDTQueue
import Synchronization

/// One custodian: holds one share, answers the coordinator's commit and sign requests over ZeroMQ,
/// and signs only blocks that pass `BlockValidator`. It remembers on disk which header it signed at
/// each height and refuses to sign a different one there, so no coordinator can make it help fork
/// the chain. Its nonces are used once and dropped.
public final class CustodianDaemon: @unchecked Sendable {
    // @unchecked: everything but `running` is used only on the daemon's own thread (`run`).
    public let identifier: Int
    /// Where the daemon listens (with the actual port when asked for `tcp://HOST:*`).
    public let endpoint: String
    private let share: SecretScalar
    private let transcript: CeremonyTranscript
    private let validator: BlockValidator
    private let socket: QueueSocket
    private let statePath: String
    private var signedHeights: [Int64: String] = [:]
    private var pendingNonces: [String: FROST.SigningNonces] = [:]
    private var pendingOrder: [String] = []
    private let running = Atomic<Bool>(true)
    /// Round-one nonces kept for a round two that may never come.
    static let pendingNoncesMax = 64

    public init(
        share: [UInt8], identifier: Int, transcript: CeremonyTranscript, context: QueueContext, endpoint: String, stateDirectory: String,
        policy: CheckPolicy = .full
    ) throws {
        self.share = SecretScalar(share)
        self.identifier = identifier
        self.transcript = transcript
        validator = BlockValidator(region: transcript.region, groupPublicKey: transcript.groupPublicKeyBytes, policy: policy)
        socket = try QueueSocket(context, .reply)
        try socket.bind(endpoint)
        self.endpoint = socket.lastEndpoint
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        statePath = (stateDirectory as NSString).appendingPathComponent("signed-heights-\(identifier).log")
        signedHeights = Self.loadSignedHeights(statePath)
    }

    /// Serves until `stop()`.
    public func run(log: (String) -> Void) {
        while running.load(ordering: .relaxed) {
            guard let message = try? socket.receive(timeoutMilliseconds: 100) else { continue }
            let reply: CustodianReply
            do {
                reply = try handle(CustodianMessage.decode(message), log: log)
            } catch {
                reply = .refused("\(error)")
            }
            if case .refused(let reason) = reply { log("refused: \(reason)") }
            try? socket.send(reply.encode())
        }
        socket.close()
    }

    public func stop() { running.store(false, ordering: .relaxed) }

    private func handle(_ message: CustodianMessage, log: (String) -> Void) throws -> CustodianReply {
        switch message {
        case .commit:
            let nonces = try share.use { try FROST.commit(identifier: identifier, secretShare: $0) }
            let key = Hex.encode(nonces.commitment.hiding)
            pendingNonces[key] = nonces
            pendingOrder.append(key)
            if pendingOrder.count > Self.pendingNoncesMax { pendingNonces[pendingOrder.removeFirst()] = nil }
            return .ok([nonces.commitment.hiding, nonces.commitment.binding])
        case .sign(let request, let commitments):
            guard let mine = commitments.first(where: { $0.identifier == identifier }),
                  let nonces = pendingNonces.removeValue(forKey: Hex.encode(mine.hiding)), nonces.commitment == mine
            else { return .refused("custodian \(identifier): no open commitment of mine in this request (nonces are used once)") }
            let header = try validator.validate(request)
            let headerHash = Hex.encode(SHA3.hash256(request.headerBytes))
            if let signed = signedHeights[header.height], signed != headerHash {
                return .refused("custodian \(identifier): already signed a different block at height \(header.height)")
            }
            try remember(height: header.height, hash: headerHash)
            let signatureShare = try share.use { secret in
                try FROST.sign(identifier: identifier, secretShare: secret, nonces: nonces, message: request.headerBytes,
                               commitments: commitments, groupPublicKey: transcript.groupPublicKeyBytes)
            }
            log("signed block \(header.height) (\(header.entryCount) entries checked)")
            return .ok([signatureShare])
        }
    }

    private func remember(height: Int64, hash: String) throws {
        guard signedHeights[height] == nil else { return }
        let line = Data("\(height) \(hash)\n".utf8)
        if !FileManager.default.fileExists(atPath: statePath) {
            FileManager.default.createFile(atPath: statePath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: statePath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        try handle.synchronize()
        signedHeights[height] = hash
    }

    private static func loadSignedHeights(_ path: String) -> [Int64: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var heights: [Int64: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let height = Int64(parts[0]) { heights[height] = String(parts[1]) }
        }
        return heights
    }
}

/// A secret scalar in memory, wiped when dropped.
final class SecretScalar: @unchecked Sendable {
    // @unchecked: written in init and deinit only.
    private var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func use<Result>(_ body: ([UInt8]) throws -> Result) rethrows -> Result { try body(bytes) }

    deinit { bytes.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
}
