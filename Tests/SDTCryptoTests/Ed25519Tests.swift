import Foundation
import SDTCore
import Testing
@testable import SDTCrypto

@Suite struct Ed25519Tests {
    struct Vector {
        var name: String
        var secret: [UInt8]
        var publicKey: [UInt8]
        var message: [UInt8]
        var signature: [UInt8]
    }

    static func rfc8032Vectors() throws -> [Vector] {
        let url = try #require(Bundle.module.url(forResource: "rfc8032-ed25519", withExtension: "txt", subdirectory: "Vectors"))
        let text = try String(contentsOf: url, encoding: .utf8)
        var vectors: [Vector] = []
        var values: [String: String] = [:]
        var name = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-----") { name = String(line.dropFirst(5)); values = [:] }
            guard line.hasPrefix("hex.") else { continue }
            let parts = line.dropFirst(4).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            if let secret = values["secret_key"], let publicKey = values["public_key"], let message = values["message"],
               let signature = values["signature"] {
                vectors.append(Vector(name: name, secret: Hex.decode(secret)!, publicKey: Hex.decode(publicKey)!,
                                      message: Hex.decode(message)!, signature: Hex.decode(signature)!))
                values = [:]
            }
        }
        return vectors
    }

    @Test func rfc8032VectorsSignAndVerify() throws {
        let vectors = try Self.rfc8032Vectors()
        #expect(vectors.count == 5)
        for vector in vectors {
            let key = try SigningKey(seed: vector.secret)
            #expect(key.publicKey == vector.publicKey, "\(vector.name) public key")
            #expect(key.sign(vector.message) == vector.signature, "\(vector.name) signature")
            #expect(Ed25519.verify(signature: vector.signature, message: vector.message, publicKey: vector.publicKey))
            var tampered = vector.signature
            tampered[0] ^= 1
            #expect(!Ed25519.verify(signature: tampered, message: vector.message, publicKey: vector.publicKey))
        }
    }

    @Test func wrongLengthsAreInvalid() {
        let key = SigningKey()
        let signature = key.sign([1, 2, 3])
        #expect(!Ed25519.verify(signature: Array(signature.dropLast()), message: [1, 2, 3], publicKey: key.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: [1, 2, 3], publicKey: Array(key.publicKey.dropLast())))
        #expect(!Ed25519.verify(signature: signature, message: [1, 2, 4], publicKey: key.publicKey))
    }

    /// The worked example in the contract was computed with a second Ed25519 implementation; our
    /// canonical bytes and signature must match it exactly.
    @Test func contractWorkedExampleMatches() throws {
        let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../openapi/openapi.yaml")
        let text = try String(contentsOf: contract, encoding: .utf8)
        func quoted(_ field: String) throws -> String {
            let marker = "\"\(field)\": \""
            let start = try #require(text.range(of: marker)).upperBound
            return String(text[start...].prefix { $0 != "\"" })
        }
        let key = try SigningKey(seed: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
        let transfer = try Transfer(
            region: try quoted("region"), transactionID: try quoted("transaction_id"), from: try quoted("from"),
            to: try quoted("to"), token: try quoted("token"), amountMinorUnits: 1250, publicKeyHex: key.publicKeyHex
        )
        #expect(try quoted("public_key") == key.publicKeyHex)
        let hexBlock = try #require(text.range(of: "The bytes signed, in hex:\n    ```\n"))
        let hexText = text[hexBlock.upperBound...].prefix { $0 != "`" }.filter(\.isHexDigit)
        #expect(Hex.encode(transfer.signingBytes) == String(hexText))
        #expect(Hex.encode(key.sign(transfer.signingBytes)) == (try quoted("signature")))
    }

    /// The contract's worked example of a signed read: our record and signature are its bytes.
    @Test func contractSignedReadExampleMatches() throws {
        let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi/openapi.yaml")
        let text = try String(contentsOf: contract, encoding: .utf8)
        let key = try SigningKey(seed: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
        let request = SignedRequest(method: "GET", path: "/v1/accounts/alice/history", query: "limit=50", timeMilliseconds: 1_795_000_000_000,
                                    publicKeyHex: key.publicKeyHex)
        let block = try #require(text.range(of: "at `time:1795000000000` signs these bytes (hex):\n    ```\n"))
        let hexText = text[block.upperBound...].prefix { $0 != "`" }.filter(\.isHexDigit)
        #expect(Hex.encode(request.signingBytes) == String(hexText))
        let header = request.authorization(signatureHex: Hex.encode(key.sign(request.signingBytes)))
        let sent = try #require(text.range(of: "and sends `Authorization: ", range: block.upperBound..<text.endIndex)).upperBound
        let documented = text[sent...].prefix { $0 != "`" }.replacingOccurrences(of: "\n    ", with: " ")
        #expect(documented == header)
    }
}
