import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import SDTAPI

/// RFC 9457 problem details with the node's stable machine-readable codes.
enum Problem {
    static func make(
        status: Int, code: String, detail: String, transactionID: String? = nil, requestID: String? = nil,
        ruleID: String? = nil, ruleSetVersion: Int64? = nil
    ) -> Components.Schemas.Problem {
        Components.Schemas.Problem(
            _type: "urn:sdt:problem:\(code)", title: title(code), status: status, code: code, detail: detail,
            transactionId: transactionID, requestId: requestID, ruleId: ruleID, ruleSetVersion: ruleSetVersion
        )
    }

    static func title(_ code: String) -> String {
        code.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    static func response(status: HTTPResponse.Status, code: String, detail: String) -> Response {
        let problem = make(status: Int(status.code), code: code, detail: detail)
        let body = (try? JSONEncoder().encode(problem)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}

/// Turns every failure outside the handler's own answers into problem+json: oversize bodies (413),
/// bodies that do not decode (400), wrong media types (415), unknown routes (404), and anything
/// unexpected (500, logged). Bad input never becomes a 5xx.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let bodyBytesMax: Int
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if request.method == .post || request.method == .put {
            if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyBytesMax {
                return Problem.response(status: .contentTooLarge, code: "body_too_large", detail: "The body is \(length) bytes; the limit is \(bodyBytesMax).")
            }
            do {
                let buffer = try await request.body.collect(upTo: bodyBytesMax)
                request.body = .init(buffer: buffer)
            } catch {
                return Problem.response(status: .contentTooLarge, code: "body_too_large", detail: "The body exceeds \(bodyBytesMax) bytes.")
            }
        }
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            return map(error)
        } catch let error as HTTPResponseError {
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            return Problem.response(status: error.status, code: code, detail: "\(request.method) \(request.uri.path): \(error.status.reasonPhrase)")
        } catch {
            logger.error("unexpected error on \(request.method) \(request.uri.path): \(error)")
            return Problem.response(status: .internalServerError, code: "internal", detail: "The node failed unexpectedly; the request may be retried.")
        }
    }

    private func map(_ error: ServerError) -> Response {
        let cause = String(describing: error.underlyingError)
        if cause.localizedCaseInsensitiveContains("content type") || cause.localizedCaseInsensitiveContains("content-type") {
            return Problem.response(status: .unsupportedMediaType, code: "unsupported_media_type", detail: "Send the body as application/json.")
        }
        // Everything else the generated server throws before the handler runs is a body or parameter
        // that does not match the contract.
        return Problem.response(status: .badRequest, code: "malformed_request", detail: Self.describe(error.underlyingError))
    }

    /// A decoding error in words a client can act on: which field, and what was wrong with it.
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "body" : names.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "\(path(context)): missing required field '\(key.stringValue)'."
        case .typeMismatch(let type, let context)?: return "\(path(context)): expected \(type); \(context.debugDescription)"
        case .valueNotFound(_, let context)?: return "\(path(context)): value is missing or null."
        case .dataCorrupted(let context)?: return "\(path(context)): \(context.debugDescription)"
        default: return "The body is not valid JSON for this operation: \(error)"
        }
    }
}
