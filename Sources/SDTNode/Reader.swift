import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SDTCore
import SDTCrypto
import SDTLedger

/// Who is reading, as the request's signature proves: anyone (no signature), the holder of one
/// account (a device key registered to it), or an operator (a key the region config names, with its
/// roles). Set per request by `RequestAuthentication`, read by the handlers.
enum Reader: Sendable, Equatable {
    case `public`
    case holder(account: String)
    case `operator`(key: String, roles: Set<OperatorRole>)

    @TaskLocal static var current: Reader = .public

    var level: ReadLevel {
        switch self {
        case .public: .public
        case .holder: .holder
        case .operator(_, let roles): ReadLevel(roles: roles)
        }
    }

    /// What this reader may see of `account`: nil when nothing (the request is refused), else the
    /// highest level of its data shown.
    func access(to account: String) -> ReadLevel? {
        switch self {
        case .public: nil
        case .holder(let own): own == account ? .holder : nil
        case .operator: level
        }
    }
}

/// Checks a request's `Authorization: SDT-Signature ...` (see `SignedRequest`) and runs the rest of
/// the request as its reader. A request without one runs as `.public`; a malformed one, a stale one,
/// one that does not verify, or one by a key neither registered nor an operator's is answered 401 with
/// what is wrong, before any handler runs.
struct RequestAuthentication<Context: RequestContext>: RouterMiddleware {
    let config: RegionConfig
    let ledger: LedgerReader
    let clock: any WallClock

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        switch reader(for: request, authorization: header) {
        case .success(let reader):
            return try await Reader.$current.withValue(reader) { try await next(request, context) }
        case .failure(let problem):
            var response = Problem.response(
                status: .unauthorized, code: "authentication_invalid", detail: problem.description)
            response.headers[.wwwAuthenticate] = SignedRequest.scheme
            return response
        }
    }

    private func reader(for request: Request, authorization: String) -> Result<Reader, RecordError> {
        let parsed: (keyHex: String, time: Int64, signatureHex: String)
        switch SignedRequest.parseAuthorization(authorization) {
        case .success(let fields): parsed = fields
        case .failure(let problem): return .failure(problem)
        }
        let skew = parsed.time - clock.nowMilliseconds()
        guard abs(skew) <= SignedRequest.skewMilliseconds else {
            return .failure(
                RecordError(
                    "Authorization: time is \(skew / 1000) s from the node's clock; sign with the current time "
                        + "(within \(SignedRequest.skewMilliseconds / 1000) s)"))
        }
        let signed = SignedRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
            timeMilliseconds: parsed.time, publicKeyHex: parsed.keyHex)
        guard let signature = Hex.decode(parsed.signatureHex), let key = Hex.decode(parsed.keyHex),
            Ed25519.verify(signature: signature, message: signed.signingBytes, publicKey: key)
        else {
            return .failure(
                RecordError(
                    "Authorization: the signature does not verify over this request's SDT-REQUEST-V1 record "
                        + "(method, path and query as sent, time, key)"))
        }
        if let roles = config.roles(of: parsed.keyHex) { return .success(.operator(key: parsed.keyHex, roles: roles)) }
        guard let registered = try? ledger.deviceKey(parsed.keyHex) else {
            return .failure(RecordError("Authorization: the key is neither an operator's nor registered to an account"))
        }
        guard !registered.revoked else { return .failure(RecordError("Authorization: the device key was revoked")) }
        return .success(.holder(account: registered.account))
    }
}
