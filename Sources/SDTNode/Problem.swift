import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import SDTAPI
import SDTCore

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

    /// The most of a client's input a problem's detail repeats back.
    static let echoMax = 64

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
/// bodies that are not strict JSON or do not decode (400), wrong media types (415), unknown routes
/// (404), methods a path does not have (405 with `Allow`), and anything unexpected (500, logged). Bad
/// input never becomes a 5xx.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let bodyBytesMax: Int
    let routes: ContractRoutes
    let parameters: ContractParameters
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        if let problem = Self.targetProblem(path: request.uri.path, query: request.uri.query) {
            return Problem.response(status: .badRequest, code: "invalid_field", detail: problem)
        }
        if let methods = routes.methods(for: request.uri.path), !methods.contains(request.method.rawValue) {
            var response = Problem.response(
                status: .methodNotAllowed, code: "method_not_allowed",
                detail: "\(request.uri.path.prefix(Problem.echoMax)) takes \(methods.joined(separator: ", ")), not \(request.method.rawValue.prefix(16))."
            )
            response.headers[.allow] = methods.joined(separator: ", ")
            return response
        }
        if let problem = parameters.problem(method: request.method.rawValue, path: request.uri.path, query: request.uri.query) {
            return Problem.response(status: .badRequest, code: "invalid_field", detail: problem)
        }
        if request.method == .post || request.method == .put {
            let xml = BodyKinds.xmlBodyPaths.contains(request.uri.path)
            if request.headers[.contentType] == nil, BodyKinds.bodilessPaths.contains(request.uri.path) {
                return try await next(request, context)
            }
            if let problem = xml ? Self.xmlMediaTypeProblem(request.headers[.contentType])
                : Self.mediaTypeProblem(request.headers[.contentType]) {
                return Problem.response(status: .unsupportedMediaType, code: "unsupported_media_type", detail: problem)
            }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyBytesMax {
                return Problem.response(status: .contentTooLarge, code: "body_too_large", detail: "The body is \(length) bytes; the limit is \(bodyBytesMax).")
            }
            let bytes: [UInt8]
            do {
                let buffer = try await request.body.collect(upTo: bodyBytesMax)
                bytes = Array(buffer.readableBytesView)
                request.body = .init(buffer: buffer)
            } catch {
                return Problem.response(status: .contentTooLarge, code: "body_too_large", detail: "The body exceeds \(bodyBytesMax) bytes.")
            }
            if !xml, let problem = StrictJSON.problem(bytes) {
                return Problem.response(status: .badRequest, code: "malformed_request", detail: "body: \(problem).")
            }
        }
        do {
            var response = try await next(request, context)
            // The generated server encodes header values as URI components, `/` included: undo that
            // layer, so that `Location` is the path the handler gave (its id already encoded as a segment).
            if let location = response.headers[.location], let decoded = Self.percentDecoded(location),
               let text = String(validating: decoded, as: UTF8.self) {
                response.headers[.location] = text
            }
            return response
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

    /// Path and query, percent-decoded, must be UTF-8 without control characters: no id, serial or
    /// period has one, and a NUL must never cut a value short on its way to storage.
    static func targetProblem(path: String, query: String?) -> String? {
        for (part, text) in [("path", path), ("query", query ?? "")] {
            guard let decoded = percentDecoded(text) else { return "\(part): a percent escape is malformed" }
            guard String(validating: decoded, as: UTF8.self) != nil else { return "\(part): the decoded \(part) is not UTF-8" }
            if let control = decoded.firstIndex(where: { $0 < 0x20 || $0 == 0x7F }) {
                return "\(part): a control character (0x\(String(decoded[control], radix: 16))) is not allowed in the \(part)"
            }
        }
        return nil
    }

    static func percentDecoded(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard bytes.count >= 2, let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            out.append(value)
            bytes = bytes.dropFirst(2)
        }
        return out
    }

    /// An XML body is `application/xml` (UTF-8 or no charset).
    static func xmlMediaTypeProblem(_ header: String?) -> String? {
        let parts = (header ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/xml" else {
            return "Content-Type is \(header.map { String($0.prefix(Problem.echoMax)) } ?? "missing"); send the bank's "
                + "message as application/xml."
        }
        for parameter in parts.dropFirst() where parameter != "charset=utf-8" {
            return "Content-Type parameter \(parameter.prefix(Problem.echoMax)) is not accepted; send UTF-8 XML."
        }
        return nil
    }

    /// Bodies are `application/json`, in UTF-8: no other type, no other charset, no other parameter.
    static func mediaTypeProblem(_ header: String?) -> String? {
        guard let header else { return "Content-Type is missing; send the body as application/json." }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/json" else {
            return "Content-Type is \(header.prefix(Problem.echoMax)); send the body as application/json."
        }
        for parameter in parts.dropFirst() where parameter != "charset=utf-8" {
            return "Content-Type parameter \(parameter.prefix(Problem.echoMax)) is not accepted; the body is UTF-8 JSON (charset=utf-8 or none)."
        }
        return nil
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

    /// A decoder's own words, which may quote the input, cut to a bounded length.
    static func capped(_ text: String) -> String { text.count > 200 ? text.prefix(200) + "…" : text }

    /// A decoding error in words a client can act on: which field, and what was wrong with it.
    static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "body" : names.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "\(path(context)): missing required field \(Echo.quoted(key.stringValue))."
        case .typeMismatch(let type, let context)?: return "\(path(context)): expected \(type); \(capped(context.debugDescription))"
        case .valueNotFound(_, let context)?: return "\(path(context)): value is missing or null."
        case .dataCorrupted(let context)?: return "\(path(context)): \(capped(context.debugDescription))"
        default: return "The request does not match the contract for this operation: \(capped("\(error)"))"
        }
    }
}

/// Request bodies that are not JSON.
enum BodyKinds {
    /// The paths whose body is an XML document (a bank's ISO 20022 message), read by the handler's own
    /// hardened parser rather than as JSON.
    static let xmlBodyPaths: Set<String> = ["/v1/admin/bank/messages"]
    /// POST paths that take no body at all.
    static let bodilessPaths: Set<String> = ["/v1/admin/bank/payments"]
}
