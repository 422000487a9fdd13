import Foundation
import SDTCore
import SDTCrypto
import SDTQueue

/// How the coordinator reaches the custodians: one request to each of several at once, then their
/// replies (nil: none in time). ZeroMQ in a node; direct calls with faults in the simulator.
public protocol CustodianTransport: AnyObject {
    func exchange(_ identifiers: [Int], _ message: CustodianMessage) -> [(Int, CustodianReply?)]
}

/// The node's signing coordinator: asks two available custodians to commit and sign, checks each
/// signature share against the custodian's public share (naming a custodian whose share is bad),
/// aggregates, and checks the result with `crypto_sign_verify_detached` before returning it. A
/// custodian that is slow, down or refuses is passed over for the third. With fewer than two
/// answering, it throws and the block stays sealed but unsigned until they are back.
public final class SigningCoordinator: @unchecked Sendable {
    // @unchecked: used by one caller at a time (`QuorumBlockSigner`'s queue, or the simulator).
    private let transcript: CeremonyTranscript
    private let transport: any CustodianTransport
    private let clock: any WallClock
    /// Each custodian's public share, from the transcript: what its signature shares verify against.
    public let publicShares: [Int: [UInt8]]
    private var lastFailure: [Int: Int64] = [:]
    public let publicKey: [UInt8]
    /// What went wrong with each custodian in the last signing, for logs and health: a custodian that
    /// did not answer is not the same as one whose share did not verify (which may be an attack).
    public private(set) var lastProblems: [CustodianProblem] = []
    /// The newest problem of each custodian in any signing, for health.
    private var lastProblem: [Int: CustodianProblem] = [:]

    public init(transcript: CeremonyTranscript, transport: any CustodianTransport, clock: any WallClock = SystemClock()) throws {
        try transcript.verify(requireAllSignatures: true)
        self.transcript = transcript
        self.transport = transport
        self.clock = clock
        publicKey = transcript.groupPublicKeyBytes
        var shares: [Int: [UInt8]] = [:]
        for custodian in transcript.custodians {
            guard let share = Hex.decode(custodian.publicShare) else {
                throw CryptoError("custodian \(custodian.identifier)'s public share is not hex")
            }
            shares[custodian.identifier] = share
        }
        publicShares = shares
    }

    /// Custodians that never failed first, by identifier; then those that failed, longest ago first.
    private var order: [Int] {
        publicShares.keys.sorted { left, right in
            switch (lastFailure[left], lastFailure[right]) {
            case (nil, nil): left < right
            case (nil, _): true
            case (_, nil): false
            case let (leftFailure?, rightFailure?): leftFailure == rightFailure ? left < right : leftFailure < rightFailure
            }
        }
    }

    public func sign(_ request: BlockSigningRequest) throws -> QuorumSignature {
        var excluded: Set<Int> = []
        lastProblems = []
        for _ in 0..<publicShares.count {
            // Round one: ask the preferred custodians at once; replace any that fail by the next one.
            var committed: [FROST.Commitment] = []
            var candidates = order.filter { !excluded.contains($0) }
            while committed.count < transcript.threshold, !candidates.isEmpty {
                let asked = Array(candidates.prefix(transcript.threshold - committed.count))
                candidates.removeFirst(asked.count)
                for (identifier, answer) in transport.exchange(asked, .commit(header: request.headerBytes)) {
                    guard case .ok(let parts)? = answer, parts.count == 2 else {
                        fail(identifier, answer.map(CustodianProblem.Kind.init) ?? .noAnswer, round: "commit", &excluded)
                        continue
                    }
                    committed.append(.init(identifier: identifier, hiding: parts[0], binding: parts[1]))
                }
            }
            guard committed.count == transcript.threshold else { break }
            // Round two: both custodians check the block and sign at the same time.
            let list = committed.sorted { $0.identifier < $1.identifier }
            var shares: [Int: [UInt8]] = [:]
            for (identifier, answer) in transport.exchange(list.map(\.identifier), .sign(request, commitments: list)) {
                guard case .ok(let parts)? = answer, parts.count == 1 else {
                    fail(identifier, answer.map(CustodianProblem.Kind.init) ?? .noAnswer, round: "sign", &excluded)
                    continue
                }
                guard let publicShare = publicShares[identifier],
                      FROST.verifyShare(identifier: identifier, publicShare: publicShare, signatureShare: parts[0],
                                        commitments: list, groupPublicKey: publicKey, message: request.headerBytes)
                else {
                    fail(identifier, .badShare, round: "sign", &excluded)
                    continue
                }
                shares[identifier] = parts[0]
            }
            guard shares.count == list.count else { continue }
            let signature = try FROST.aggregate(commitments: list, shares: shares, groupPublicKey: publicKey, message: request.headerBytes)
            guard Ed25519.verify(signature: signature, message: request.headerBytes, publicKey: publicKey) else {
                throw CryptoError("the aggregate signature does not verify; not stored")
            }
            return QuorumSignature(
                signature: signature, signers: list.map(\.identifier),
                proof: QuorumSignature.proof(list, shares: shares))
        }
        let reasons = lastProblems.map(\.description).joined(separator: "; ")
        throw CryptoError("fewer than \(transcript.threshold) custodians signed: \(reasons)")
    }

    /// Pings every custodian at once: who answers now, with the last problem each had in signing.
    public func probe() -> [CustodianStatus] {
        let answers = Dictionary(transport.exchange(publicShares.keys.sorted(), .ping).map { ($0, $1) }) { first, _ in first }
        return transcript.custodians.sorted { $0.identifier < $1.identifier }.map { custodian in
            let reachable = if case .ok? = answers[custodian.identifier] ?? nil { true } else { false }
            return CustodianStatus(identifier: custodian.identifier, name: custodian.name, reachable: reachable,
                                   lastProblem: lastProblem[custodian.identifier])
        }
    }

    /// The number of custodians that must sign.
    public var threshold: Int { transcript.threshold }

    private func fail(_ identifier: Int, _ kind: CustodianProblem.Kind, round: String, _ excluded: inout Set<Int>) {
        excluded.insert(identifier)
        lastFailure[identifier] = clock.nowMilliseconds()
        let problem = CustodianProblem(identifier: identifier, round: round, kind: kind)
        lastProblems.append(problem)
        lastProblem[identifier] = problem
    }
}

/// One custodian as the node sees it: whether it answers a ping now, and the last thing that went
/// wrong with it in a signing (a bad share stays visible after the quorum signed without it).
public struct CustodianStatus: Sendable, Hashable {
    public let identifier: Int
    public let name: String
    public let reachable: Bool
    public let lastProblem: CustodianProblem?

    public init(identifier: Int, name: String, reachable: Bool, lastProblem: CustodianProblem?) {
        self.identifier = identifier
        self.name = name
        self.reachable = reachable
        self.lastProblem = lastProblem
    }
}

/// Why a custodian did not contribute to a signature.
public struct CustodianProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Down, slow or unreachable: no reply in time.
        case noAnswer
        /// It answered and refused, saying why (a block it will not sign, say).
        case refused(String)
        /// Its signature share does not verify against its public share: a fault or an attack.
        case badShare
        /// It answered something that is not a result of the round.
        case malformed

        init(_ reply: CustodianReply) {
            switch reply {
            case .refused(let reason): self = .refused(reason)
            case .ok: self = .malformed
            }
        }
    }

    public let identifier: Int
    public let round: String
    public let kind: Kind

    public init(identifier: Int, round: String, kind: Kind) {
        self.identifier = identifier
        self.round = round
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .noAnswer: "custodian \(identifier) did not answer (\(round))"
        case .refused(let reason): "custodian \(identifier) refused (\(round)): \(reason)"
        case .badShare: "custodian \(identifier) sent a signature share that does not verify (\(round)): a fault or an attack"
        case .malformed: "custodian \(identifier) sent an answer that is not a result of the \(round) round"
        }
    }
}

/// Signs blocks for the node through the custodian quorum over ZeroMQ, one block at a time.
public final class QuorumBlockSigner: BlockSigner, @unchecked Sendable {
    // @unchecked: the coordinator is used only on `queue`, one call at a time.
    private let coordinator: SigningCoordinator
    private let queue = DispatchQueue(label: "sdt.quorum-signer")
    public var publicKey: [UInt8] { coordinator.publicKey }

    /// `endpoints[i]` is custodian i+1's address; `timeoutMilliseconds` bounds each request.
    public init(transcript: CeremonyTranscript, endpoints: [String], context: QueueContext, timeoutMilliseconds: Int32) throws {
        guard endpoints.count == transcript.custodians.count else {
            throw CryptoError("\(transcript.custodians.count) custodian endpoints are needed, \(endpoints.count) were given")
        }
        let links = ZeroMQCustodians(
            endpoints: Dictionary(uniqueKeysWithValues: zip(transcript.custodians.map(\.identifier), endpoints)),
            context: context, timeoutMilliseconds: timeoutMilliseconds
        )
        coordinator = try SigningCoordinator(transcript: transcript, transport: links)
    }

    public func sign(_ request: BlockSigningRequest) async throws -> QuorumSignature {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.coordinator.sign(request) })
            }
        }
    }

    public func problemsInLastSigning() async -> [CustodianProblem] {
        await withCheckedContinuation { continuation in queue.async { continuation.resume(returning: self.coordinator.lastProblems) } }
    }

    public func probe() async -> Custody? {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Custody(threshold: self.coordinator.threshold, custodians: self.coordinator.probe()))
            }
        }
    }
}

/// The custodians over ZeroMQ: one REQ link each.
final class ZeroMQCustodians: CustodianTransport {
    private let links: [Int: CustodianLink]

    init(endpoints: [Int: String], context: QueueContext, timeoutMilliseconds: Int32) {
        links = endpoints.mapValues { CustodianLink(context: context, endpoint: $0, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Sends `message` to every custodian in `identifiers`, then collects their replies (nil: none in time).
    func exchange(_ identifiers: [Int], _ message: CustodianMessage) -> [(Int, CustodianReply?)] {
        let bytes = message.encode()
        let sent = identifiers.map { ($0, links[$0]?.send(bytes) ?? false) }
        return sent.map { identifier, ok in (identifier, ok ? links[identifier]?.receive() : nil) }
    }
}

/// A REQ connection to one custodian. After a timeout the socket is closed and made anew, because a
/// REQ socket that sent without a reply cannot send again.
final class CustodianLink {
    private let context: QueueContext
    private let endpoint: String
    private let timeoutMilliseconds: Int32
    private var socket: QueueSocket?

    init(context: QueueContext, endpoint: String, timeoutMilliseconds: Int32) {
        self.context = context
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Sends a request; false when the custodian cannot take it now.
    func send(_ bytes: [UInt8]) -> Bool {
        do {
            if socket == nil {
                let fresh = try QueueSocket(context, .request)
                try fresh.setSendTimeout(milliseconds: timeoutMilliseconds)
                try fresh.connect(endpoint)
                socket = fresh
            }
            try socket!.send(bytes)
            return true
        } catch {
            reset()
            return false
        }
    }

    /// The reply to the request just sent, or nil when none came in time.
    func receive() -> CustodianReply? {
        guard let socket, let bytes = try? socket.receive(timeoutMilliseconds: timeoutMilliseconds),
              let reply = try? CustodianReply.decode(bytes)
        else {
            reset()
            return nil
        }
        return reply
    }

    private func reset() {
        socket?.close()
        socket = nil
    }
}
