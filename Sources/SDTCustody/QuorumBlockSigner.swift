import Foundation
import SDTCore
import SDTCrypto
import SDTQueue

/// The node's signing coordinator: asks two available custodians to commit and sign, checks each
/// signature share against the custodian's public share (naming a custodian whose share is bad),
/// aggregates, and checks the result with `crypto_sign_verify_detached` before returning it. A
/// custodian that is slow, down or refuses is passed over for the third. With fewer than two
/// answering, it throws and the block stays sealed but unsigned until they are back.
public final class QuorumBlockSigner: BlockSigner, @unchecked Sendable {
    // @unchecked: the links are used only on `queue`, one call at a time.
    private let transcript: CeremonyTranscript
    private let links: [Int: CustodianLink]
    private let publicShares: [Int: [UInt8]]
    private let queue = DispatchQueue(label: "sdt.quorum-signer")
    private var lastFailure: [Int: ContinuousClock.Instant] = [:]
    public let publicKey: [UInt8]

    /// `endpoints[i]` is custodian i+1's address; `timeoutMilliseconds` bounds each request.
    public init(transcript: CeremonyTranscript, endpoints: [String], context: QueueContext, timeoutMilliseconds: Int32) throws {
        try transcript.verify(requireAllSignatures: true)
        guard endpoints.count == transcript.custodians.count else {
            throw CryptoError("\(transcript.custodians.count) custodian endpoints are needed, \(endpoints.count) were given")
        }
        self.transcript = transcript
        publicKey = transcript.groupPublicKeyBytes
        var links: [Int: CustodianLink] = [:]
        var shares: [Int: [UInt8]] = [:]
        for (custodian, endpoint) in zip(transcript.custodians, endpoints) {
            links[custodian.identifier] = CustodianLink(context: context, endpoint: endpoint, timeoutMilliseconds: timeoutMilliseconds)
            shares[custodian.identifier] = Hex.decode(custodian.publicShare)
        }
        self.links = links
        publicShares = shares
    }

    public func sign(_ request: BlockSigningRequest) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.signNow(request) })
            }
        }
    }

    /// Custodians that never failed first, by identifier; then those that failed, longest ago first.
    private var order: [Int] {
        links.keys.sorted { left, right in
            switch (lastFailure[left], lastFailure[right]) {
            case (nil, nil): left < right
            case (nil, _): true
            case (_, nil): false
            case let (leftFailure?, rightFailure?): leftFailure == rightFailure ? left < right : leftFailure < rightFailure
            }
        }
    }

    private func signNow(_ request: BlockSigningRequest) throws -> [UInt8] {
        var excluded: Set<Int> = []
        var reasons: [String] = []
        for _ in 0..<links.count {
            // Round one: ask the preferred custodians at once; replace any that fail by the next one.
            var committed: [FROST.Commitment] = []
            var candidates = order.filter { !excluded.contains($0) }
            while committed.count < transcript.threshold, !candidates.isEmpty {
                let asked = Array(candidates.prefix(transcript.threshold - committed.count))
                candidates.removeFirst(asked.count)
                for (identifier, answer) in exchange(asked, .commit(header: request.headerBytes)) {
                    guard case .ok(let parts)? = answer, parts.count == 2 else {
                        fail(identifier, "commit: \(answer.map { "\($0)" } ?? "no answer")", &excluded, &reasons)
                        continue
                    }
                    committed.append(.init(identifier: identifier, hiding: parts[0], binding: parts[1]))
                }
            }
            guard committed.count == transcript.threshold else { break }
            // Round two: both custodians check the block and sign at the same time.
            let list = committed.sorted { $0.identifier < $1.identifier }
            var shares: [Int: [UInt8]] = [:]
            for (identifier, answer) in exchange(list.map(\.identifier), .sign(request, commitments: list)) {
                guard case .ok(let parts)? = answer, parts.count == 1,
                      FROST.verifyShare(identifier: identifier, publicShare: publicShares[identifier]!, signatureShare: parts[0],
                                        commitments: list, groupPublicKey: publicKey, message: request.headerBytes)
                else {
                    fail(identifier, "sign: \(answer.map { "\($0)" } ?? "no answer") (or its share did not verify)", &excluded, &reasons)
                    continue
                }
                shares[identifier] = parts[0]
            }
            guard shares.count == list.count else { continue }
            let signature = try FROST.aggregate(commitments: list, shares: shares, groupPublicKey: publicKey, message: request.headerBytes)
            guard Ed25519.verify(signature: signature, message: request.headerBytes, publicKey: publicKey) else {
                throw CryptoError("the aggregate signature does not verify; not stored")
            }
            return signature
        }
        throw CryptoError("fewer than \(transcript.threshold) custodians signed: \(reasons.joined(separator: "; "))")
    }

    /// Sends `message` to every custodian in `identifiers`, then collects their replies (nil: none in time).
    private func exchange(_ identifiers: [Int], _ message: CustodianMessage) -> [(Int, CustodianReply?)] {
        let bytes = message.encode()
        let sent = identifiers.map { ($0, links[$0]!.send(bytes)) }
        return sent.map { identifier, ok in (identifier, ok ? links[identifier]!.receive() : nil) }
    }

    private func fail(_ identifier: Int, _ reason: String, _ excluded: inout Set<Int>, _ reasons: inout [String]) {
        excluded.insert(identifier)
        lastFailure[identifier] = .now
        reasons.append("custodian \(identifier) \(reason)")
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
