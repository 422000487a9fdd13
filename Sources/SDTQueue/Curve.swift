import CZMQ
import Foundation

/// A CURVE key pair (Curve25519, as ZeroMQ's CURVE mechanism uses): what authenticates and encrypts
/// the tcp queue and outcome channel between a front and its applier. Written as hex, like every
/// other key of the platform.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: [UInt8]
    public let secretKey: [UInt8]

    /// A fresh pair from libzmq (which draws it from libsodium).
    public static func generate() throws(QueueError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else {
            throw QueueError("zmq_curve_keypair (is libzmq built with CURVE?)")
        }
        defer { for index in secretText.indices { secretText[index] = 0 } }
        return CurveKeyPair(publicKey: try z85Decode(publicText), secretKey: try z85Decode(secretText))
    }

    /// The pair whose secret is `secretKey`.
    public init(secretKey: [UInt8]) throws(QueueError) {
        guard secretKey.count == 32 else { throw QueueError("a CURVE secret key is 32 bytes") }
        var secretText = [CChar](repeating: 0, count: 41)
        var publicText = [CChar](repeating: 0, count: 41)
        _ = secretKey.withUnsafeBufferPointer { zmq_z85_encode(&secretText, $0.baseAddress, 32) }
        guard zmq_curve_public(&publicText, secretText) == 0 else { throw QueueError("zmq_curve_public") }
        self.init(publicKey: try Self.z85Decode(publicText), secretKey: secretKey)
    }

    private init(publicKey: [UInt8], secretKey: [UInt8]) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    private static func z85Decode(_ text: [CChar]) throws(QueueError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&bytes, text) != nil else { throw QueueError("zmq_z85_decode") }
        return bytes
    }
}

extension QueueSocket {
    /// Makes this (binding) socket a CURVE server: every peer must complete a CURVE handshake, and
    /// the `CurveAuthenticator` of the context decides which client keys are let in.
    public func makeCurveServer(_ keys: CurveKeyPair) throws(QueueError) {
        try set(ZMQ_CURVE_SERVER, 1)
        try setBytes(ZMQ_CURVE_SECRETKEY, keys.secretKey)
        try setBytes(ZMQ_ZAP_DOMAIN, Array(CurveAuthenticator.domain.utf8))
    }

    /// Makes this (connecting) socket a CURVE client of the server with `serverPublicKey`.
    public func makeCurveClient(_ keys: CurveKeyPair, serverPublicKey: [UInt8]) throws(QueueError) {
        try setBytes(ZMQ_CURVE_SERVERKEY, serverPublicKey)
        try setBytes(ZMQ_CURVE_PUBLICKEY, keys.publicKey)
        try setBytes(ZMQ_CURVE_SECRETKEY, keys.secretKey)
    }
}

/// ZeroMQ's authentication handler (ZAP, RFC 27) for one context: a thread answering the library's
/// questions "may this CURVE client key connect?" from a fixed list. Without it a CURVE server admits
/// any client that knows the server's public key, which is not a secret.
public final class CurveAuthenticator: @unchecked Sendable {
    // @unchecked: the socket is used only on the authenticator's thread; `running` is atomic-like (one writer).
    static let domain = "sdt"
    private let socket: QueueSocket
    private let allowed: Set<[UInt8]>
    private let refused: @Sendable ([UInt8]) -> Void
    private let lock = NSLock()
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    /// Starts answering for `context`; `refused` hears each client key turned away.
    public init(
        context: QueueContext, allowedClientKeys: Set<[UInt8]>, refused: @escaping @Sendable ([UInt8]) -> Void
    ) throws {
        socket = try QueueSocket(context, .reply)
        try socket.bind("inproc://zeromq.zap.01")
        allowed = allowedClientKeys
        self.refused = refused
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "sdt-zap"
        thread.start()
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func serve() {
        while isRunning {
            let received: [[UInt8]]?
            do {
                received = try socket.receiveParts(timeoutMilliseconds: 100)
            } catch  where error.code == .closed {
                return
            } catch {
                continue
            }
            guard let request = received else { continue }
            // version, request id, domain, address, routing id, mechanism, credentials...
            guard request.count >= 6, request[0] == Array("1.0".utf8) else { continue }
            let mechanism = String(decoding: request[5], as: UTF8.self)
            let key = request.count > 6 ? request[6] : []
            let admitted = mechanism == "CURVE" && allowed.contains(key)
            if !admitted { refused(key) }
            try? socket.sendParts([
                Array("1.0".utf8), request[1], Array((admitted ? "200" : "400").utf8),
                Array((admitted ? "OK" : "client key not allowed").utf8), [], [],
            ])
        }
    }

    /// Stops the thread; call before the context shuts down.
    public func stop() {
        lock.withLock { running = false }
        finished.wait()
        socket.close()
    }
}
