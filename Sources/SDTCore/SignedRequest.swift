/// A read request signed by a device key (a holder reading its own account) or an operator key (an
/// operator reading per its roles): no password, no session. The client signs
///
/// ```
/// SDT-REQUEST-V1
/// method:<GET>
/// path:<the path as sent, percent-encoded, e.g. /v1/accounts/alice>
/// query:<the query as sent, without '?', or empty>
/// time:<milliseconds since 1970 when signed>
/// public_key:<64 hex of the signing key>
/// ```
///
/// and sends `Authorization: SDT-Signature key=<public_key>, time=<time>, signature=<128 hex>`. The
/// node accepts it within `SignedRequest.skewMilliseconds` of its own clock. A signed read may be
/// repeated within that window (reads change nothing); it cannot be moved to another path or query.
public struct SignedRequest: Sendable, Hashable {
    public static let header = "SDT-REQUEST-V1"
    public static let scheme = "SDT-Signature"
    /// How far a request's time may be from the node's: two minutes either way.
    public static let skewMilliseconds: Int64 = 120_000

    public let method: String
    public let path: String
    public let query: String
    public let timeMilliseconds: Int64
    public let publicKeyHex: String

    public init(method: String, path: String, query: String, timeMilliseconds: Int64, publicKeyHex: String) {
        self.method = method
        self.path = path
        self.query = query
        self.timeMilliseconds = timeMilliseconds
        self.publicKeyHex = publicKeyHex
    }

    /// The exact bytes signed.
    public var signingBytes: [UInt8] {
        CanonicalRecord(
            header: Self.header,
            fields: [
                ("method", method), ("path", path), ("query", query), ("time", String(timeMilliseconds)),
                ("public_key", publicKeyHex),
            ]
        ).bytes
    }

    /// The `Authorization` header value for `signature` (hex).
    public func authorization(signatureHex: String) -> String {
        "\(Self.scheme) key=\(publicKeyHex), time=\(timeMilliseconds), signature=\(signatureHex)"
    }

    /// The key, time and signature of an `Authorization` header, or why it is not one.
    public static func parseAuthorization(
        _ value: String
    ) -> Result<(keyHex: String, time: Int64, signatureHex: String), RecordError> {
        guard value.hasPrefix(scheme + " ") else {
            return .failure(
                RecordError("Authorization: the scheme is not \(scheme); see the contract's security schemes"))
        }
        var fields: [String: String] = [:]
        for part in value.dropFirst(scheme.count + 1).split(separator: ",") {
            let pair = part.trimmingCharacters(in: " ").split(separator: "=", maxSplits: 1)
            guard pair.count == 2, fields.updateValue(String(pair[1]), forKey: String(pair[0])) == nil else {
                return .failure(RecordError("Authorization: expected key=<hex>, time=<ms>, signature=<hex>, each once"))
            }
        }
        guard fields.count == 3, let key = fields["key"], Identifier.isValidHex(key[...], byteCount: 32) else {
            return .failure(RecordError("Authorization: key must be the 64 lowercase hex of the signing key"))
        }
        guard let time = fields["time"].flatMap({ Identifier.canonicalInteger($0[...], in: 0...Int64.max) }) else {
            return .failure(RecordError("Authorization: time must be milliseconds since 1970, as a plain integer"))
        }
        guard let signature = fields["signature"], Identifier.isValidHex(signature[...], byteCount: 64) else {
            return .failure(RecordError("Authorization: signature must be 128 lowercase hex"))
        }
        return .success((key, time, signature))
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var text = self
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return text
    }
}
