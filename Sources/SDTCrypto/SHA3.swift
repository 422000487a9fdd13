import COpenSSL

/// SHA3-256 through OpenSSL's libcrypto.
public enum SHA3 {
    public static let digestByteCount = 32

    /// The algorithm, fetched from OpenSSL's default provider once: `EVP_sha3_256()` would fetch it
    /// again on every call, which costs more than hashing a transfer record.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let fetched = EVP_MD_fetch(nil, "SHA3-256", nil) else { preconditionFailure("OpenSSL has no SHA3-256") }
        return fetched
    }()

    public static func hash256(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestByteCount)
        var length: UInt32 = 0
        let result = data.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, algorithm, nil)
        }
        precondition(result == 1 && length == 32, "EVP_Digest(SHA3-256) failed: result \(result), length \(length)")
        return digest
    }
}
