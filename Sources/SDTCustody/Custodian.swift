import Foundation
import SDTCore
import SDTCrypto

/// Where a custodian remembers which block header it signed at each height, so that it never helps
/// sign a second one there, across restarts. A file in production; memory in a simulation (kept
/// across the simulated custodian's restarts, as a disk would be).
public protocol SignedHeightLog: AnyObject {
    /// Every height signed so far, with the hex hash of the header signed there.
    func load() -> [Int64: String]
    /// Records one height durably before the signature share leaves the custodian.
    func append(height: Int64, headerHashHex: String) throws
}

/// One custodian's logic: holds one share, answers the coordinator's commit and sign requests, and
/// signs only blocks that pass `BlockValidator`, never two different headers at one height. Its nonces
/// are used once and dropped. `CustodianDaemon` serves it over ZeroMQ; the simulator calls it directly.
public final class Custodian: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the daemon's loop, or the simulator's).
    public let identifier: Int
    private let share: SecretScalar
    private let transcript: CeremonyTranscript
    private let validator: BlockValidator
    private let log: any SignedHeightLog
    private let random: any RandomSource
    private var signedHeights: [Int64: String]
    private var pendingNonces: [String: FROST.SigningNonces] = [:]
    private var pendingOrder: [String] = []
    /// Round-one nonces kept for a round two that may never come.
    static let pendingNoncesMax = 64

    public init(
        share: [UInt8], identifier: Int, transcript: CeremonyTranscript, log: any SignedHeightLog, policy: CheckPolicy = .full,
        random: any RandomSource = SystemRandom()
    ) {
        self.share = SecretScalar(share)
        self.identifier = identifier
        self.transcript = transcript
        validator = BlockValidator(region: transcript.region, groupPublicKey: transcript.groupPublicKeyBytes, policy: policy, random: random)
        self.log = log
        self.random = random
        signedHeights = log.load()
    }

    /// The answer to one request; a refusal says why. `note` hears what was signed.
    public func handle(_ message: CustodianMessage, note: (String) -> Void = { _ in }) -> CustodianReply {
        do {
            return try answer(message, note: note)
        } catch {
            return .refused("custodian \(identifier): \(error)")
        }
    }

    private func answer(_ message: CustodianMessage, note: (String) -> Void) throws -> CustodianReply {
        switch message {
        case .ping:
            return .ok([])
        case .commit:
            let nonces = try share.use { try FROST.commit(identifier: identifier, secretShare: $0, random: random) }
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
            if signedHeights[header.height] == nil {
                try log.append(height: header.height, headerHashHex: headerHash)
                signedHeights[header.height] = headerHash
            }
            let signatureShare = try share.use { secret in
                try FROST.sign(identifier: identifier, secretShare: secret, nonces: nonces, message: request.headerBytes,
                               commitments: commitments, groupPublicKey: transcript.groupPublicKeyBytes)
            }
            note("signed block \(header.height) (\(header.entryCount) entries checked)")
            return .ok([signatureShare])
        }
    }
}

/// The signed heights in an append-only file, one `height hash` line each, synced before each answer.
public final class SignedHeightFile: SignedHeightLog {
    private let path: String

    public init(path: String) { self.path = path }

    public func load() -> [Int64: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var heights: [Int64: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let height = Int64(parts[0]) { heights[height] = String(parts[1]) }
        }
        return heights
    }

    public func append(height: Int64, headerHashHex: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(height) \(headerHashHex)\n".utf8))
        try handle.synchronize()
    }
}

/// The signed heights in memory: a simulated custodian's disk.
public final class SignedHeightMemory: SignedHeightLog, @unchecked Sendable {
    // @unchecked: used by one simulation thread.
    public private(set) var heights: [Int64: String] = [:]

    public init() {}
    public func load() -> [Int64: String] { heights }
    public func append(height: Int64, headerHashHex: String) throws { heights[height] = headerHashHex }
}

/// A secret scalar in memory, wiped when dropped.
final class SecretScalar: @unchecked Sendable {
    // @unchecked: written in init and deinit only.
    private var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func use<Result>(_ body: ([UInt8]) throws -> Result) rethrows -> Result { try body(bytes) }

    deinit { bytes.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
}
