import Foundation
import HTTPTypes
import OpenAPIRuntime
import SDTCore
import SDTCrypto

/// Signs every request with a reader key, as `SignedRequest` describes: a holder's device key reads its
/// own account, an operator key reads per its roles. The signature covers the method, the path and
/// query exactly as sent, and the time.
struct SignedReads: ClientMiddleware {
    let key: SigningKey
    let clock: any WallClock

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        let target = (baseURL.path == "/" ? "" : baseURL.path) + (request.path ?? "")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let signed = SignedRequest(
            method: request.method.rawValue, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            timeMilliseconds: clock.nowMilliseconds(), publicKeyHex: key.publicKeyHex
        )
        request.headerFields[.authorization] = signed.authorization(
            signatureHex: Hex.encode(key.sign(signed.signingBytes)))
        return try await next(request, body, baseURL)
    }
}
