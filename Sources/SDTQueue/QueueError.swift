import CZMQ

/// A ZeroMQ failure, with the call that failed and libzmq's own explanation.
public struct QueueError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        case timedOut
        case closed
        case failed
    }

    public let code: Code
    public let description: String

    init(_ call: String) {
        let number = zmq_errno()
        code = number == EAGAIN ? .timedOut : (number == ETERM || number == ENOTSOCK ? .closed : .failed)
        description = "\(call): \(String(cString: zmq_strerror(number)))"
    }
}
