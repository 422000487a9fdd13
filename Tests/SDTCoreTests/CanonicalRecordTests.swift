import Foundation
import Testing
@testable import SDTCore

@Suite struct CanonicalRecordTests {
    let key = String(repeating: "ab", count: 32)

    func transfer(amount: Int64 = 1250) throws -> Transfer {
        try Transfer(
            region: "us-tx", transactionID: "tx01", from: "alice", to: "bob", token: "USD",
            amountMinorUnits: amount, publicKeyHex: key
        )
    }

    @Test func transferBytesAreTheDocumentedLines() throws {
        let text = String(decoding: try transfer().signingBytes, as: UTF8.self)
        #expect(text == "SDT-TRANSFER-V1\nregion:us-tx\ntransaction_id:tx01\nfrom:alice\nto:bob\ntoken:USD\namount:1250\npublic_key:\(key)\n")
    }

    @Test func transferRoundTripsThroughItsBytes() throws {
        let original = try transfer()
        #expect(try Transfer(signingBytes: original.signingBytes) == original)
    }

    @Test func nonCanonicalBytesAreRefused() throws {
        let text = String(decoding: try transfer().signingBytes, as: UTF8.self)
        for variant in [
            text.replacingOccurrences(of: "amount:1250", with: "amount:01250"),
            text.replacingOccurrences(of: "from:alice", with: "from: alice"),
            text.replacingOccurrences(of: "\nto:bob", with: "\nto:bob\nto:bob"),
            String(text.dropLast()),
            text.replacingOccurrences(of: "SDT-TRANSFER-V1", with: "SDT-TRANSFER-V2"),
            text.replacingOccurrences(of: "token:USD", with: "token:usd"),
        ] {
            #expect(throws: RecordError.self) { try Transfer(signingBytes: Array(variant.utf8)) }
        }
    }

    @Test func transferFieldsAreValidated() {
        #expect(throws: RecordError.self) { try self.transfer(amount: 0) }
        #expect(throws: RecordError.self) { try self.transfer(amount: -5) }
        #expect(throws: RecordError.self) { try self.transfer(amount: Amount.minorUnitsMax + 1) }
        #expect(throws: RecordError.self) {
            try Transfer(region: "us-tx", transactionID: "tx", from: "Alice", to: "bob", token: "USD",
                         amountMinorUnits: 1, publicKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try Transfer(region: "us-tx", transactionID: "tx", from: "alice", to: "bob", token: "USD+GOLD",
                         amountMinorUnits: 1, publicKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try Transfer(region: "us-tx", transactionID: "t x", from: "alice", to: "bob", token: "USD",
                         amountMinorUnits: 1, publicKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try Transfer(region: "us-tx", transactionID: "tx", from: "alice", to: "bob\nto:eve", token: "USD",
                         amountMinorUnits: 1, publicKeyHex: self.key)
        }
    }

    @Test func operatorActionsRoundTripAndCheckTheirFields() throws {
        let mint = try OperatorAction(
            region: "us-tx", requestID: "r-1", kind: .mintGold,
            fields: [.account: "alice", .amount: "31103", .vault: "Texas Bullion Depository", .barSerial: "AB123", .refiner: "Valcambi",
                     .grossWeight: "31107", .fineness: "9999"],
            operatorKeyHex: key
        )
        #expect(try OperatorAction(signingBytes: mint.signingBytes) == mint)
        let open = try OperatorAction(
            region: "us-tx", requestID: "r-2", kind: .openAccount,
            fields: [.account: "bob", .jurisdiction: "US-TX", .kycTier: "2", .deviceKey: key], operatorKeyHex: key
        )
        #expect(try OperatorAction(signingBytes: open.signingBytes) == open)
        #expect(throws: RecordError.self) {
            try OperatorAction(region: "us-tx", requestID: "r", kind: .mintUSD,
                               fields: [.account: "a", .amount: "5", .bank: "B", .reference: "R"], operatorKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try OperatorAction(region: "us-tx", requestID: "r", kind: .addKey,
                               fields: [.account: "a", .deviceKey: self.key, .token: "USD"], operatorKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try OperatorAction(region: "us-tx", requestID: "r", kind: .openAccount,
                               fields: [.account: "a", .jurisdiction: "Texas", .kycTier: "1", .deviceKey: self.key],
                               operatorKeyHex: self.key)
        }
        #expect(throws: RecordError.self) {
            try OperatorAction(region: "us-tx", requestID: "r", kind: .openAccount,
                               fields: [.account: "a", .jurisdiction: "US-TX", .kycTier: "4", .deviceKey: self.key],
                               operatorKeyHex: self.key)
        }
    }

    @Test func blockHeaderRoundTrips() throws {
        let header = BlockHeader(
            region: "us-tx", height: 3, previousHashHex: BlockHeader.genesisPreviousHashHex,
            merkleRootHex: String(repeating: "1f", count: 32), entryCount: 2, firstSequence: 5, lastSequence: 6,
            supply: [.usd: 100, .gold: 7], reserves: [.usd: 100, .gold: 7], reserveRootHex: String(repeating: "2e", count: 32),
            rules: "3:" + String(repeating: "4d", count: 32), sealedAtMilliseconds: 1_700_000_000_000
        )
        let text = String(decoding: header.signingBytes, as: UTF8.self)
        #expect(text.hasPrefix("SDT-BLOCK-V2\n"))
        #expect(text.contains("supply:GOLD=7,USD=100\nreserves:GOLD=7,USD=100\nreserve_root:2e2e"))
        #expect(text.contains("\nrules:3:4d4d"))
        #expect(try BlockHeader(signingBytes: header.signingBytes) == header)
    }

    @Test func outcomeCodesAreStable() {
        #expect(OutcomeCode.insufficientFunds.rawValue == 11)
        #expect(OutcomeCode.keyRevoked.name == "key_revoked")
        #expect(Set(OutcomeCode.allCases.map(\.name)).count == OutcomeCode.allCases.count)
    }
}
