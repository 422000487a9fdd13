import Foundation
import SDTCore
import Testing
@testable import SDTCrypto

@Suite struct KeystoreTests {
    @Test func sealsAndOpensWithThePassphraseOnly() throws {
        let key = SigningKey()
        let store = try Keystore.seal(key, purpose: "device", passphrase: "correct horse battery")
        #expect(try store.open(passphrase: "correct horse battery").publicKey == key.publicKey)
        #expect(throws: CryptoError.self) { try store.open(passphrase: "wrong horse battery") }
        var swapped = store
        swapped.purpose = "operator"
        #expect(throws: CryptoError.self) { try swapped.open(passphrase: "correct horse battery") }
        #expect(throws: CryptoError.self) { try Keystore.seal(key, purpose: "device", passphrase: "short") }
    }

    @Test func fileNeverHoldsTheSecret() throws {
        let key = SigningKey()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ks-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Keystore.seal(key, purpose: "device", passphrase: "passphrase-1").write(to: path)
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!contents.contains(Hex.encode(key.seed)))
        #expect(contents.contains(key.publicKeyHex))
        #expect(try Keystore.read(from: path).open(passphrase: "passphrase-1").publicKeyHex == key.publicKeyHex)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func transactionIDsAreBoundToAccountRegionAndTime() throws {
        let secret = SecureRandom.bytes(TransactionIDIssuer.secretByteCount)
        let issuer = try TransactionIDIssuer(secret: secret, region: "us-tx")
        let id = issuer.issue(account: "alice", expiresAtMilliseconds: 10_000)
        #expect(issuer.check(id, account: "alice", nowMilliseconds: 9_999) == .valid)
        #expect(issuer.check(id, account: "alice", nowMilliseconds: 10_000) == .expired)
        #expect(issuer.check(id, account: "bob", nowMilliseconds: 1) == .invalid)
        let otherRegion = try TransactionIDIssuer(secret: secret, region: "us-wy")
        #expect(otherRegion.check(id, account: "alice", nowMilliseconds: 1) == .invalid)
        var tampered = Array(id)
        tampered[5] = tampered[5] == "0" ? "1" : "0"
        #expect(issuer.check(String(tampered), account: "alice", nowMilliseconds: 1) == .invalid)
        #expect(issuer.check("tx1234", account: "alice", nowMilliseconds: 1) == .invalid)
        #expect(issuer.issue(account: "alice", expiresAtMilliseconds: 10_000) != id)
    }
}

@Suite struct SealedBoxTests {
    @Test func onlyTheAddresseeOpensASealedBox() throws {
        let custodian = SigningKey()
        let other = SigningKey()
        let sealed = try SealedBox.seal(Array("share 2".utf8), to: custodian.publicKey)
        #expect(try custodian.open(sealed: sealed) == Array("share 2".utf8))
        #expect(throws: CryptoError.self) { try other.open(sealed: sealed) }
        var changed = sealed
        changed[changed.count - 1] ^= 1
        #expect(throws: CryptoError.self) { try custodian.open(sealed: changed) }
    }

    @Test func rawSecretsSealInKeystores() throws {
        let share = Ed25519Group.randomScalar()
        let store = try Keystore.seal(secret: share, publicKeyHex: Hex.encode(try Ed25519Group.baseMultiply(share)),
                                      purpose: "custodian-share", passphrase: "share passphrase")
        #expect(try store.openSecret(passphrase: "share passphrase") == share)
        #expect(throws: CryptoError.self) { try store.openSecret(passphrase: "wrong passphrase") }
    }
}
