import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import SDTCore

/// The id of one HTTP request, which follows what it submitted through the queue to the applier and
/// into the block that seals it, so that its log lines can be found at every stage. A client may name
/// it (`X-Request-Id`, 1 to 64 of `A-Z a-z 0-9 . _ -`); otherwise the front makes one. Every answer
/// carries it back in `X-Request-Id`.
public enum RequestID {
    /// The request being served, for the code it calls (the queue front puts it in the work message).
    @TaskLocal public static var current: String?

    static let header = HTTPField.Name("X-Request-Id")!
    static let lengthMax = 64

    /// The client's id when it is a safe token, else nil.
    static func accepted(_ text: String?) -> String? {
        guard let text, (1...lengthMax).contains(text.utf8.count),
            text.utf8.allSatisfy({ byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D
            })
        else { return nil }
        return text
    }

    /// A fresh id: 16 random hex digits.
    static func fresh(_ random: any RandomSource) -> String { Hex.encode(random.bytes(8)) }
}

/// Gives each request its id (the client's, if acceptable), serves it with the id in `RequestID.current`,
/// answers with the id, and logs the request at debug level with it.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    let random: any RandomSource
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let id = RequestID.accepted(request.headers[RequestID.header]) ?? RequestID.fresh(random)
        var response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        response.headers[RequestID.header] = id
        logger.debug(
            "served \(request.method.rawValue) \(request.uri.path)",
            metadata: ["request_id": "\(id)", "status": "\(response.status.code)"])
        return response
    }
}
