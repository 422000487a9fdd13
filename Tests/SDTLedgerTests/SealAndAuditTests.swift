import SDTTesting
import Foundation
import SDTCore
import SDTCrypto
import Testing
@testable import SDTLedger

@Suite struct SealAndAuditTests {
    func populatedLedger() throws -> LedgerFixture {
        let ledger = try LedgerFixture()
        let (alice, bob) = try ledger.openTwoHolders()
        for amount in 1...5 { try ledger.apply(ledger.transfer("alice", "bob", Int64(amount) * 100, key: alice)) }
        try ledger.apply(ledger.transfer("bob", "alice", 50, key: bob))
        try ledger.apply(ledger.operatorAction(.mintGold, "bob", ReserveFields.bar(1_000, "V-1")))
        try ledger.sealAndSign()
        return ledger
    }

    @Test func blocksChainAndReceiptsVerifyOffline() throws {
        let ledger = try populatedLedger()
        let reader = try LedgerReader(path: ledger.path)
        let head = try reader.head()
        #expect(head.appliedSequence == 10)
        #expect(head.finalSequence == 10)
        #expect(head.finalHeight == 4)
        let block2 = try #require(try reader.block(height: 2))
        let block1 = try #require(try reader.block(height: 1))
        #expect(block2.header.previousHashHex == Hex.encode(block1.hash))
        #expect(block2.header.supply[.usd] == 100_000)
        let history = try reader.history("bob", after: 0, limit: 100)
        #expect(history.filter { $0.kind == .transferIn }.count == 5, "the receipt checks below need bob's five incoming transfers")
        for posting in history where posting.kind == .transferIn {
            guard case .found(let receipt) = try reader.receipt(kind: .transfer, entryID: posting.entryID) else {
                Issue.record("no receipt for \(posting.entryID)")
                continue
            }
            let input = ReceiptVerifier.Input(
                signingBytes: receipt.signingBytes, entryPublicKey: Hex.decode(receipt.publicKeyHex)!,
                entrySignature: receipt.signature, leafIndex: receipt.leafIndex, entryCount: receipt.entryCount,
                path: receipt.path, headerBytes: receipt.block.headerBytes, blockSignature: receipt.block.signature!
            )
            #expect(try ReceiptVerifier.verify(input, blockPublicKey: ledger.blockKey.publicKey).height == receipt.block.height)
            #expect(throws: CryptoError.self) { try ReceiptVerifier.verify(input, blockPublicKey: SigningKey().publicKey) }
            var forged = input
            forged.signingBytes = Array(String(decoding: input.signingBytes, as: UTF8.self)
                .replacingOccurrences(of: "amount:", with: "amount:9").utf8)
            #expect(throws: CryptoError.self) { try ReceiptVerifier.verify(forged, blockPublicKey: ledger.blockKey.publicKey) }
        }
    }

    @Test func intactLedgerPassesTheAudit() throws {
        let ledger = try populatedLedger()
        let report = try ledger.audit()
        #expect(report.isIntact, "\(report.firstProblem ?? "")")
        #expect(report.entriesChecked == 10)
        #expect(report.blocksChecked == 4)
        #expect(report.supply == [.usd: 100_000, .gold: 1_000])
    }

    @Test(arguments: [
        ("UPDATE movements SET amount = amount + 1 WHERE sequence = 5", "entry sequence 5"),
        ("UPDATE movements SET to_account = 'alice', from_account = 'bob' WHERE sequence = 5", "entry sequence 5"),
        ("UPDATE balances SET amount = amount + 100 WHERE account_id = 'bob' AND token = 'USD'", "balances table"),
        ("UPDATE supply SET amount = amount + 1 WHERE token = 'USD'", "supply table"),
        ("UPDATE entries SET signature = zeroblob(64) WHERE sequence = 6", "entry sequence 6"),
        ("UPDATE entries SET signing_bytes = CAST(replace(CAST(signing_bytes AS TEXT), 'amount:300', 'amount:900') AS BLOB) WHERE sequence = 6", "entry sequence 6"),
        ("UPDATE blocks SET header = CAST(replace(CAST(header AS TEXT), 'sealed_at_ms:', 'sealed_at_ms:1') AS BLOB) WHERE height = 2", "block 2"),
        ("UPDATE blocks SET signature = zeroblob(64) WHERE height = 3", "block 3"),
        ("DELETE FROM movements WHERE sequence = 7", "entry sequence 7"),
        ("UPDATE accounts SET kyc_tier = 3 WHERE id = 'bob'", "accounts table"),
        ("UPDATE device_keys SET revoked_sequence = 1 WHERE account_id = 'bob'", "device_keys table"),
        ("UPDATE blocks SET last_sequence = last_sequence - 1 WHERE height = 1", "block 1: stored range"),
    ])
    func tamperingIsDetected(sql: String, expectedProblem: String) throws {
        let ledger = try populatedLedger()
        try ledger.tamper(sql)
        let report = try ledger.audit()
        #expect(!report.isIntact, "audit missed: \(sql)")
        #expect(report.firstProblem?.contains(expectedProblem) == true, "\(report.firstProblem ?? "") for \(sql)")
    }
}
