import Foundation
import SDTCore

/// Recomputes every value of a FROST(Ed25519, SHA-512) test vector file in the RFC 9591 / CFRG layout
/// (`config`, `inputs`, `round_one_outputs`, `round_two_outputs`, `final_output`) and reports each check.
public enum FROSTVectorCheck {
    public struct Check: Sendable {
        public let name: String
        public let passed: Bool
        public let detail: String
    }

    public static func run(json data: Data) throws -> [Check] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let inputs = root["inputs"] as? [String: Any],
              let roundOne = (root["round_one_outputs"] as? [String: Any])?["outputs"] as? [[String: Any]],
              let roundTwo = (root["round_two_outputs"] as? [String: Any])?["outputs"] as? [[String: Any]],
              let finalOutput = root["final_output"] as? [String: Any], let config = root["config"] as? [String: Any]
        else { throw CryptoError("not a FROST vector file: config, inputs, round_one_outputs, round_two_outputs and final_output are required") }
        var reader = VectorReader()
        let threshold = Int(config["MIN_PARTICIPANTS"] as? String ?? "") ?? 0
        let secret = try reader.hex(inputs, "group_secret_key")
        let groupPublicKey = try reader.hex(inputs, "group_public_key")
        let message = try reader.hex(inputs, "message")
        let coefficients = try (inputs["share_polynomial_coefficients"] as? [String] ?? []).map { try reader.decode($0, "coefficient") }
        var checks: [Check] = []
        func expect(_ name: String, _ computed: [UInt8], _ published: [UInt8]) {
            checks.append(Check(name: name, passed: computed == published,
                                detail: computed == published ? Hex.encode(computed) : "computed \(Hex.encode(computed)), published \(Hex.encode(published))"))
        }
        expect("group public key = [secret]B", try Ed25519Group.baseMultiply(secret), groupPublicKey)

        let sharing = try ShamirSharing(field: .ed25519Order, threshold: threshold)
        let polynomial = [BigInteger(littleEndian: secret)] + coefficients.map { BigInteger(littleEndian: $0) }
        let commitments = try Feldman.commitments(polynomial)
        var shares: [Int: [UInt8]] = [:]
        for entry in inputs["participant_shares"] as? [[String: Any]] ?? [] {
            guard let identifier = entry["identifier"] as? Int else { throw CryptoError("a participant share has no identifier") }
            let published = try reader.hex(entry, "participant_share")
            shares[identifier] = published
            expect("share \(identifier) = f(\(identifier))", sharing.evaluate(polynomial, at: BigInteger(UInt(identifier))).littleEndianBytes(count: 32), published)
            let verified = Feldman.verify(share: .init(identifier: identifier, value: BigInteger(littleEndian: published)), commitments: commitments)
            checks.append(Check(name: "share \(identifier) verifies against the Feldman commitments", passed: verified, detail: ""))
        }

        var nonces: [Int: FROST.SigningNonces] = [:]
        for output in roundOne {
            guard let identifier = output["identifier"] as? Int, let share = shares[identifier] else {
                throw CryptoError("round one names a participant without a share")
            }
            let hidingRandomness = try reader.hex(output, "hiding_nonce_randomness")
            let bindingRandomness = try reader.hex(output, "binding_nonce_randomness")
            expect("participant \(identifier) hiding nonce", FROST.nonce(secret: share, randomness: hidingRandomness), try reader.hex(output, "hiding_nonce"))
            expect("participant \(identifier) binding nonce", FROST.nonce(secret: share, randomness: bindingRandomness), try reader.hex(output, "binding_nonce"))
            let signing = try FROST.commit(identifier: identifier, secretShare: share, hidingRandomness: hidingRandomness, bindingRandomness: bindingRandomness)
            expect("participant \(identifier) hiding commitment", signing.commitment.hiding, try reader.hex(output, "hiding_nonce_commitment"))
            expect("participant \(identifier) binding commitment", signing.commitment.binding, try reader.hex(output, "binding_nonce_commitment"))
            nonces[identifier] = signing
        }
        let list = nonces.values.map(\.commitment).sorted { $0.identifier < $1.identifier }
        let factors = FROST.bindingFactors(groupPublicKey: groupPublicKey, commitments: list, message: message)
        for output in roundOne {
            let identifier = output["identifier"] as? Int ?? 0
            expect("participant \(identifier) binding factor input",
                   FROST.bindingFactorInput(groupPublicKey: groupPublicKey, commitments: list, message: message, identifier: identifier),
                   try reader.hex(output, "binding_factor_input"))
            expect("participant \(identifier) binding factor", factors[identifier] ?? [], try reader.hex(output, "binding_factor"))
        }

        var signatureShares: [Int: [UInt8]] = [:]
        for output in roundTwo {
            guard let identifier = output["identifier"] as? Int, let share = shares[identifier], let signing = nonces[identifier] else {
                throw CryptoError("round two names a participant without a share or commitment")
            }
            let computed = try FROST.sign(identifier: identifier, secretShare: share, nonces: signing, message: message,
                                          commitments: list, groupPublicKey: groupPublicKey)
            expect("participant \(identifier) signature share", computed, try reader.hex(output, "sig_share"))
            let publicShare = try Ed25519Group.baseMultiply(share)
            checks.append(Check(name: "participant \(identifier) signature share verifies",
                                passed: FROST.verifyShare(identifier: identifier, publicShare: publicShare, signatureShare: computed,
                                                          commitments: list, groupPublicKey: groupPublicKey, message: message), detail: ""))
            signatureShares[identifier] = computed
        }
        let signature = try FROST.aggregate(commitments: list, shares: signatureShares, groupPublicKey: groupPublicKey, message: message)
        expect("aggregate signature", signature, try reader.hex(finalOutput, "sig"))
        checks.append(Check(name: "aggregate verifies with crypto_sign_verify_detached",
                            passed: Ed25519.verify(signature: signature, message: message, publicKey: groupPublicKey), detail: ""))
        return checks
    }

    struct VectorReader {
        func decode(_ text: String, _ field: String) throws -> [UInt8] {
            guard let bytes = Hex.decode(text) else { throw CryptoError("\(field) is not hex") }
            return bytes
        }

        func hex(_ object: [String: Any], _ field: String) throws -> [UInt8] {
            guard let text = object[field] as? String else { throw CryptoError("field \(field) is missing") }
            return try decode(text, field)
        }
    }
}
