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

    /// Puts `request_id` on every line logged while a request is served (any level, any handler).
    public static let metadataProvider = Logger.MetadataProvider {
        current.map { ["request_id": .string($0)] } ?? [:]
    }
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

/// Headers that keep a browser from reading an answer as anything but what it says: `nosniff` on every
/// answer, and on the HTML page a content security policy that allows no script, no frame, no outside
/// resource, and forms only back to this node.
struct BrowserSafetyMiddleware<Context: RequestContext>: RouterMiddleware {
    static var policy: String {
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            + "base-uri 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            response.headers[.init("Content-Security-Policy")!] = Self.policy
        }
        return response
    }
}
