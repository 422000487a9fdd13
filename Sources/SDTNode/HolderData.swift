import Foundation
import SDTAPI
import SDTCrypto

/// Personal data of an account holder, sealed with the node's data key before it reaches the
/// queue, so it is stored only encrypted and never enters a signed record, a block or a log.
/// The account id and region are bound as associated data: a sealed record cannot be moved to
/// another account.
public enum HolderData {
    static func associatedData(region: String, account: String) -> [UInt8] {
        Array("sdt-holder-v1\n\(region)\n\(account)".utf8)
    }

    static func seal(_ holder: Components.Schemas.OperatorAction.HolderPayload, region: String, account: String, key: [UInt8]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let plaintext = Array(try encoder.encode(holder))
        return try AEAD.seal(plaintext, key: key, associatedData: associatedData(region: region, account: account))
    }

    /// The holder's data as JSON, for an operator on the node's machine; nil if the key or record is wrong.
    public static func open(_ sealed: [UInt8], region: String, account: String, key: [UInt8]) -> String? {
        AEAD.open(sealed, key: key, associatedData: associatedData(region: region, account: account))
            .map { String(decoding: $0, as: UTF8.self) }
    }
}
