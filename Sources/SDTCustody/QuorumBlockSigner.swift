import Foundation
import SDTCore
import SDTCrypto
import SDTLedger
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
            var committed: [FROST.Commitment] = []
            for identifier in order where !excluded.contains(identifier) && committed.count < transcript.threshold {
                switch links[identifier]!.call(.commit(header: request.headerBytes)) {
                case .ok(let parts) where parts.count == 2:
                    committed.append(.init(identifier: identifier, hiding: parts[0], binding: parts[1]))
                case let answer:
                    fail(identifier, "commit: \(answer.map { "\($0)" } ?? "no answer")", &excluded, &reasons)
                }
            }
            guard committed.count == transcript.threshold else { break }
            let list = committed.sorted { $0.identifier < $1.identifier }
            var shares: [Int: [UInt8]] = [:]
            for commitment in list {
                let answer = links[commitment.identifier]!.call(.sign(request, commitments: list))
                guard case .ok(let parts)? = answer, parts.count == 1,
                      FROST.verifyShare(identifier: commitment.identifier, publicShare: publicShares[commitment.identifier]!,
                                        signatureShare: parts[0], commitments: list, groupPublicKey: publicKey, message: request.headerBytes)
                else {
                    fail(commitment.identifier, "sign: \(answer.map { "\($0)" } ?? "no answer") (or its share did not verify)", &excluded, &reasons)
                    break
                }
                shares[commitment.identifier] = parts[0]
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

    /// The custodian's reply, or nil when it did not answer in time.
    func call(_ message: CustodianMessage) -> CustodianReply? {
        do {
            if socket == nil {
                let fresh = try QueueSocket(context, .request)
                try fresh.setSendTimeout(milliseconds: timeoutMilliseconds)
                try fresh.connect(endpoint)
                socket = fresh
            }
            try socket!.send(message.encode())
            guard let bytes = try socket!.receive(timeoutMilliseconds: timeoutMilliseconds) else {
                reset()
                return nil
            }
            return try CustodianReply.decode(bytes)
        } catch {
            reset()
            return nil
        }
    }

    private func reset() {
        socket?.close()
        socket = nil
    }
}
