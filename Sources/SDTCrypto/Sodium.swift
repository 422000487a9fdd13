import CSodium
import SDTCore

/// libsodium must be initialised once before use; `sodium_init` is idempotent and thread-safe.
enum Sodium {
    static let initialised: Bool = {
        let result = sodium_init()
        precondition(result >= 0, "sodium_init failed with \(result)")
        return true
    }()

    static func ensureInitialised() { precondition(initialised) }
}

/// Cryptographically secure random bytes from libsodium.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialised()
        var buffer = [UInt8](repeating: 0, count: count)
        if count > 0 { buffer.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) } }
        return buffer
    }

    /// A uniform random integer in 0..<upperBound, unpredictable to anyone else.
    public static func uniform(_ upperBound: Int) -> Int {
        Sodium.ensureInitialised()
        return Int(randombytes_uniform(UInt32(upperBound)))
    }
}

/// A library error from the crypto module, with the context needed to act on it.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The operating system's generator, through libsodium: what every production part draws from.
public struct SystemRandom: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] { SecureRandom.bytes(count) }
    public func uniform(_ upperBound: Int) -> Int { SecureRandom.uniform(upperBound) }
}
