import CSodium
import SDTCore

/// Issues and checks transaction ids without storing them. An id is
/// `tx` + hex(expiry ms, 8 bytes big-endian ‖ nonce, 8 bytes ‖ tag, 16 bytes), where the tag is
/// HMAC-SHA-512-256 (libsodium `crypto_auth`) under the node's secret over the region, the account
/// and the first 16 bytes, truncated to 16 bytes. Issuing therefore writes nothing; the applier
/// checks the tag, the expiry and, in the ledger, that the id is unused.
public final class TransactionIDIssuer: @unchecked Sendable {
    // @unchecked: the key buffer is written in init and wiped in deinit only.
    public static let secretByteCount = Int(crypto_auth_KEYBYTES)
    public static let prefix = "tx"
    private static let bodyByteCount = 32
    private let key: UnsafeMutablePointer<UInt8>
    private let region: String
    private let random: any RandomSource

    /// `random` draws each id's nonce (seeded in a simulation, the system's generator otherwise).
    public init(secret: [UInt8], region: String, random: any RandomSource = SystemRandom()) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard secret.count == Self.secretByteCount else {
            throw CryptoError("the transaction id secret is \(Self.secretByteCount) bytes, got \(secret.count)")
        }
        key = .allocate(capacity: Self.secretByteCount)
        key.initialize(from: secret, count: secret.count)
        self.region = region
        self.random = random
    }

    deinit {
        sodium_memzero(key, Self.secretByteCount)
        key.deallocate()
    }

    public func issue(account: String, expiresAtMilliseconds: Int64) -> String {
        var body = withUnsafeBytes(of: UInt64(expiresAtMilliseconds).bigEndian) { Array($0) }
        body += random.bytes(8)
        body += tag(account: account, head: body)
        return Self.prefix + Hex.encode(body)
    }

    public enum Check: Equatable, Sendable {
        case valid
        case invalid
        case expired
    }

    /// Whether `id` was issued by this node for `account` and has not expired at `nowMilliseconds`.
    public func check(_ id: String, account: String, nowMilliseconds: Int64) -> Check {
        guard id.hasPrefix(Self.prefix), let body = Hex.decode(id.dropFirst(Self.prefix.count)),
              body.count == Self.bodyByteCount
        else { return .invalid }
        let expected = tag(account: account, head: Array(body[0..<16]))
        let matches = expected.withUnsafeBytes { expectedBytes in
            body[16...].withUnsafeBytes { sodium_memcmp(expectedBytes.baseAddress, $0.baseAddress, 16) == 0 }
        }
        guard matches else { return .invalid }
        let expiry = body[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(bitPattern: expiry) <= nowMilliseconds ? .expired : .valid
    }

    /// The expiry an id states (ms), read without checking its tag; nil when it is not an id's shape.
    public static func expiry(of id: String) -> Int64? {
        let hex = id.utf8.dropFirst(prefix.utf8.count)
        guard id.utf8.starts(with: prefix.utf8), hex.count == bodyByteCount * 2 else { return nil }
        return parseHex(hex.prefix(16)).map { Int64(bitPattern: $0) }
    }

    /// Eight bytes of an id's tag: unpredictable to anyone without the node's secret, so a good key
    /// for remembering which ids were used. Nil when it is not an id's shape.
    public static func fingerprint(of id: String) -> UInt64? {
        guard id.utf8.starts(with: prefix.utf8), id.utf8.count == prefix.utf8.count + bodyByteCount * 2 else { return nil }
        return parseHex(id.utf8.suffix(16))
    }

    private static func parseHex(_ digits: some Collection<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            switch digit {
            case 0x30...0x39: value = value << 4 | UInt64(digit - 0x30)
            case 0x61...0x66: value = value << 4 | UInt64(digit - 0x61 + 10)
            default: return nil
            }
        }
        return value
    }

    private func tag(account: String, head: [UInt8]) -> [UInt8] {
        let message = Array("\(region)\n\(account)\n".utf8) + head
        var mac = [UInt8](repeating: 0, count: Int(crypto_auth_BYTES))
        let result = crypto_auth(&mac, message, UInt64(message.count), key)
        precondition(result == 0, "crypto_auth failed with \(result)")
        return Array(mac[0..<16])
    }
}
