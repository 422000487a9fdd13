import SDTAPI
import SDTCore
import SDTCrypto
import Testing
@testable import SDTClient

@Suite struct SigningTests {
    @Test func signedTransferCarriesASignatureOverTheCanonicalBytes() throws {
        let key = SigningKey()
        let signed = try Signing.transfer(key: key, region: "us-tx", transactionID: "tx9", from: "a", to: "b", token: .gold,
                                          amountMinorUnits: 31_103)
        let transfer = try Transfer(region: signed.region, transactionID: signed.transactionId, from: signed.from, to: signed.to,
                                    token: signed.token.rawValue, amountMinorUnits: signed.amount, publicKeyHex: signed.publicKey)
        #expect(Ed25519.verify(signature: Hex.decode(signed.signature)!, message: transfer.signingBytes, publicKey: key.publicKey))
        #expect(throws: RecordError.self) {
            try Signing.transfer(key: key, region: "us-tx", transactionID: "tx9", from: "a", to: "b", token: .usd, amountMinorUnits: 0)
        }
    }

    @Test func signedOperatorActionVerifies() throws {
        let key = SigningKey()
        let fields: [OperatorAction.Field: String] = [.account: "a", .amount: "5", .bank: "Frost Bank", .reference: "WD-1", .valueDate: "2026-11-20"]
        let signed = try Signing.operatorAction(key: key, region: "us-tx", requestID: "r", kind: .redeemUSD, fields: fields)
        let action = try OperatorAction(region: "us-tx", requestID: "r", kind: .redeemUSD, fields: fields, operatorKeyHex: key.publicKeyHex)
        #expect(signed.action == .redeemUsd)
        #expect(signed.bank == "Frost Bank" && signed.amount == 5 && signed.valueDate == "2026-11-20")
        #expect(Ed25519.verify(signature: Hex.decode(signed.signature)!, message: action.signingBytes, publicKey: key.publicKey))
    }

    @Test func aReceiptOfAnUnsignedBlockOrWithBadHexIsRefused() throws {
        let receipt = Components.Schemas.Receipt(
            transactionId: "tx", entry: .init(kind: .transfer, signingBytes: "zz", publicKey: "00", signature: "00"), leafIndex: 0,
            entryCount: 1, merklePath: [], block: .init(height: 1, header: "00", blockHash: "00", signature: nil, state: .sealed)
        )
        #expect(throws: CryptoError.self) { try Signing.verify(receipt: receipt, blockPublicKey: SigningKey().publicKey) }
        var signedBlock = receipt
        signedBlock.block.signature = "00"
        #expect(throws: CryptoError.self) { try Signing.verify(receipt: signedBlock, blockPublicKey: SigningKey().publicKey) }
    }

    @Test func clientRefusesNonHTTPAddresses() {
        #expect(throws: NodeClientError.self) { try NodeClient(baseURL: "ftp://127.0.0.1") }
        #expect(throws: NodeClientError.self) { try NodeClient(baseURL: "127.0.0.1:8401") }
    }
}
