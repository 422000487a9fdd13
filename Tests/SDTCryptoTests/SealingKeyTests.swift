import SDTCore
import SDTCrypto
import Testing

/// X25519 against RFC 7748 §6.1, and the sealed messages built on it.
@Suite struct SealingKeyTests {
    @Test func x25519MatchesRFC7748AndSealedMessagesOpenOnlyForTheirKey() throws {
        let alice = try SealingKey(
            secret: Hex.decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!)
        let bob = try SealingKey(
            secret: Hex.decode("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")!)
        #expect(Hex.encode(alice.publicKey) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(Hex.encode(bob.publicKey) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        #expect(Hex.encode(try alice.sharedSecret(with: bob.publicKey)) == shared)
        #expect(Hex.encode(try bob.sharedSecret(with: alice.publicKey)) == shared)

        let message = Array("an inter-region transfer".utf8)
        var sealed = try SealingKey.seal(message, to: bob.publicKey)
        #expect(try bob.open(sealed) == message)
        #expect(throws: CryptoError.self) { try alice.open(sealed) }
        sealed[sealed.count - 1] ^= 1
        #expect(throws: CryptoError.self) { try bob.open(sealed) }
    }
}
