import SDTAPI
import SDTCore
import SDTCrypto

/// Builds signed requests as a client or operator would, and checks receipts offline.
public enum Signing {
    /// Signs a transfer; `pendingTimeoutSeconds` makes it pending, `link` a leg of a linked group.
    public static func transfer(
        key: SigningKey, region: String, transactionID: String, from: String, to: String, token: Token, amountMinorUnits: Int64,
        pendingTimeoutSeconds: Int64? = nil, link: Transfer.Link? = nil
    ) throws -> Components.Schemas.SignedTransfer {
        let transfer = try Transfer(
            region: region, transactionID: transactionID, from: from, to: to, token: token.rawValue,
            amountMinorUnits: amountMinorUnits, publicKeyHex: key.publicKeyHex, pendingTimeoutSeconds: pendingTimeoutSeconds, link: link
        )
        return .init(
            region: region, transactionId: transactionID, from: from, to: to, token: .init(rawValue: token.rawValue)!,
            amount: amountMinorUnits, publicKey: key.publicKeyHex, signature: Hex.encode(key.sign(transfer.signingBytes)),
            timeoutSeconds: pendingTimeoutSeconds, linkId: link?.id, leg: link?.index, legs: link?.count
        )
    }

    /// Signs the post (`postAmountMinorUnits` set; by the payer) or the void (nil; by the payee) of a pending transfer.
    public static func resolution(
        key: SigningKey, region: String, transactionID: String, pendingID: String, account: String, postAmountMinorUnits: Int64?
    ) throws -> Components.Schemas.SignedResolution {
        let resolution = try PendingResolution(
            region: region, transactionID: transactionID, pendingID: pendingID, account: account,
            postAmountMinorUnits: postAmountMinorUnits, publicKeyHex: key.publicKeyHex
        )
        return .init(
            region: region, transactionId: transactionID, pendingId: pendingID, account: account,
            action: postAmountMinorUnits == nil ? .void : .post, amount: postAmountMinorUnits, publicKey: key.publicKeyHex,
            signature: Hex.encode(key.sign(resolution.signingBytes))
        )
    }

    /// Signs an operator action. `rulesText` goes with `set_rules`, `holder` with `open_account`.
    public static func operatorAction(
        key: SigningKey, region: String, requestID: String, kind: OperatorAction.Kind, fields: [OperatorAction.Field: String],
        rulesText: String? = nil, holder: Components.Schemas.OperatorAction.HolderPayload? = nil
    ) throws -> Components.Schemas.OperatorAction {
        let action = try OperatorAction(region: region, requestID: requestID, kind: kind, fields: fields, operatorKeyHex: key.publicKeyHex)
        func integer(_ field: OperatorAction.Field) -> Int64? { fields[field].flatMap { Int64($0) } }
        return .init(
            region: region, requestId: requestID, action: .init(rawValue: kind.rawValue)!, account: fields[.account],
            jurisdiction: fields[.jurisdiction], kycTier: integer(.kycTier).map { Int($0) }, deviceKey: fields[.deviceKey],
            token: fields[.token].flatMap { .init(rawValue: $0) }, amount: integer(.amount), bank: fields[.bank],
            reference: fields[.reference], valueDate: fields[.valueDate], vault: fields[.vault], barSerial: fields[.barSerial],
            refiner: fields[.refiner], grossWeight: integer(.grossWeight), fineness: integer(.fineness).map { Int($0) },
            treasury: fields[.treasury], legalDirective: fields[.legalDirective], reason: fields[.reason],
            rulesVersion: integer(.rulesVersion), rulesSha3: fields[.rulesSHA3], transactionId: fields[.transactionID],
            decision: fields[.decision].flatMap { .init(rawValue: $0) }, operatorKey: key.publicKeyHex,
            signature: Hex.encode(key.sign(action.signingBytes)), rulesText: rulesText, holder: holder
        )
    }

    /// Verifies a receipt with the region's block public key only; returns the signed block header.
    public static func verify(receipt: Components.Schemas.Receipt, blockPublicKey: [UInt8]) throws -> BlockHeader {
        func bytes(_ hex: String, _ field: String) throws(CryptoError) -> [UInt8] {
            guard let value = Hex.decode(hex) else { throw CryptoError("receipt field \(field) is not hex") }
            return value
        }
        guard let signature = receipt.block.signature else { throw CryptoError("the receipt's block is not signed") }
        let input = ReceiptVerifier.Input(
            signingBytes: try bytes(receipt.entry.signingBytes, "entry.signing_bytes"),
            entryPublicKey: try bytes(receipt.entry.publicKey, "entry.public_key"),
            entrySignature: try bytes(receipt.entry.signature, "entry.signature"), leafIndex: receipt.leafIndex,
            entryCount: receipt.entryCount, path: try receipt.merklePath.map { try bytes($0, "merkle_path") },
            headerBytes: try bytes(receipt.block.header, "block.header"), blockSignature: try bytes(signature, "block.signature")
        )
        let header = try ReceiptVerifier.verify(input, blockPublicKey: blockPublicKey)
        let record = try TransferEntryRecord(signingBytes: input.signingBytes)
        guard record.transactionID == receipt.transactionId else {
            throw CryptoError("the receipt is for \(record.transactionID), not \(receipt.transactionId)")
        }
        return header
    }
}
