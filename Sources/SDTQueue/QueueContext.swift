import CZMQ

/// One ZeroMQ context per process; sockets are made from it.
public final class QueueContext: @unchecked Sendable {
    // @unchecked: a zmq context is thread-safe by libzmq's contract.
    let handle: UnsafeMutableRawPointer

    public init() {
        guard let context = zmq_ctx_new() else { preconditionFailure("zmq_ctx_new failed: \(zmq_errno())") }
        handle = context
    }

    /// Ends the context: blocked calls on its sockets return `closed`.
    public func shutdown() { zmq_ctx_shutdown(handle) }

    /// Runs once the last socket made from the context is gone (each socket holds its context), so
    /// `zmq_ctx_term`, which waits for every socket to close, never waits for one still in use: a
    /// context released before its sockets would block the process at exit.
    deinit { zmq_ctx_term(handle) }
}

/// A ZeroMQ socket. libzmq sockets are not thread-safe: each socket is owned by one thread, or used
/// only under its owner's lock.
public final class QueueSocket: @unchecked Sendable {
    // @unchecked: see the ownership rule above.
    public enum Kind {
        case push, pull, publish, subscribe, request, reply

        var zmqType: Int32 {
            switch self {
            case .push: ZMQ_PUSH
            case .pull: ZMQ_PULL
            case .publish: ZMQ_PUB
            case .subscribe: ZMQ_SUB
            case .request: ZMQ_REQ
            case .reply: ZMQ_REP
            }
        }
    }

    /// Messages a socket holds for a slow or absent peer before a send waits (then times out).
    public static let highWaterMarkMessages: Int32 = 10_000

    private var handle: UnsafeMutableRawPointer?
    /// Kept alive as long as the socket: see `QueueContext.deinit`.
    private let context: QueueContext

    public init(_ context: QueueContext, _ kind: Kind) throws(QueueError) {
        guard let socket = zmq_socket(context.handle, kind.zmqType) else { throw QueueError("zmq_socket") }
        handle = socket
        self.context = context
        try set(ZMQ_LINGER, 0)
        try set(ZMQ_SNDHWM, Self.highWaterMarkMessages)
        try set(ZMQ_RCVHWM, Self.highWaterMarkMessages)
        if kind == .subscribe {
            guard zmq_setsockopt(socket, ZMQ_SUBSCRIBE, nil, 0) == 0 else { throw QueueError("zmq_setsockopt(SUBSCRIBE)") }
        }
    }

    deinit { close() }

    public func close() {
        if let handle { zmq_close(handle) }
        handle = nil
    }

    func set(_ option: Int32, _ value: Int32) throws(QueueError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw QueueError("zmq_setsockopt(\(option))")
        }
    }

    func setBytes(_ option: Int32, _ value: [UInt8]) throws(QueueError) {
        let result = value.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard result == 0 else { throw QueueError("zmq_setsockopt(\(option))") }
    }

    /// Sends a message of several frames.
    public func sendParts(_ parts: [[UInt8]]) throws(QueueError) {
        for (index, part) in parts.enumerated() {
            let flags = index < parts.count - 1 ? ZMQ_SNDMORE : 0
            let sent = part.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            guard sent >= 0 else { throw QueueError("zmq_send") }
        }
    }

    /// Waits up to `timeoutMilliseconds` for a message and returns all its frames; nil on timeout.
    public func receiveParts(timeoutMilliseconds: Int32) throws(QueueError) -> [[UInt8]]? {
        guard let first = try receive(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        var parts = [first]
        while hasMore {
            guard let next = try receive(timeoutMilliseconds: 0) else { break }
            parts.append(next)
        }
        return parts
    }

    private var hasMore: Bool {
        var more: Int32 = 0
        var size = MemoryLayout<Int32>.size
        return zmq_getsockopt(handle, ZMQ_RCVMORE, &more, &size) == 0 && more != 0
    }

    /// How long `send` waits when the peer's queue is full or no peer is connected.
    public func setSendTimeout(milliseconds: Int32) throws(QueueError) { try set(ZMQ_SNDTIMEO, milliseconds) }

    /// `tcp://127.0.0.1:5601`, `ipc:///path`, `inproc://name`.
    public func bind(_ endpoint: String) throws(QueueError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw QueueError("zmq_bind(\(endpoint))") }
    }

    /// Connects to a bound peer. Messages are queued only on completed connections (`ZMQ_IMMEDIATE`),
    /// so a send while the peer is down times out instead of piling up work nobody takes.
    /// The endpoint this socket last bound, with the port chosen when it was bound to `:*`.
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(cString: buffer)
    }

    public func connect(_ endpoint: String) throws(QueueError) {
        try set(ZMQ_IMMEDIATE, 1)
        guard zmq_connect(handle, endpoint) == 0 else { throw QueueError("zmq_connect(\(endpoint))") }
    }

    public func send(_ bytes: [UInt8]) throws(QueueError) {
        let sent = bytes.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, 0) }
        guard sent >= 0 else { throw QueueError("zmq_send") }
    }

    /// Waits up to `timeoutMilliseconds` (0: do not wait, -1: forever) for one message; nil on timeout.
    public func receive(timeoutMilliseconds: Int32) throws(QueueError) -> [UInt8]? {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let ready = zmq_poll(&item, 1, Int(timeoutMilliseconds))
        guard ready >= 0 else { throw QueueError("zmq_poll") }
        guard ready > 0 else { return nil }
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        guard zmq_msg_recv(&message, handle, Int32(ZMQ_DONTWAIT)) >= 0 else {
            let error = QueueError("zmq_msg_recv")
            if error.code == .timedOut { return nil }
            throw error
        }
        let size = zmq_msg_size(&message)
        guard size > 0, let data = zmq_msg_data(&message) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: size))
    }
}
