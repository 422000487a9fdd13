import Foundation
import SDTAPI
import SDTBank
import SDTClient
import SDTCore
import SDTCrypto
import SDTTesting
import Testing

/// The bank desk on a running node, as the treasury uses it: the bank's camt.054 proposes mints that an
/// operator approves, redemptions go out as pacs.008 (valid for xmllint against the official schema) to
/// the outbox, the bank's debit and pacs.002 reconcile them, and bad messages are refused whole.
@Suite struct BankDeskEndToEndTests {
    static func schema(_ message: ISO20022Message) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/SDTBank/Resources/\(message.rawValue).xsd").standardized.path
    }

    static let reserveAccount = "TX-RESERVE-0001"

    static func credit(_ messageID: String, _ entries: [BankSideWriter.Entry]) -> [UInt8] {
        BankSideWriter.notification(
            messageID: messageID, createdAt: "2026-12-01T09:00:00Z", account: reserveAccount, entries: entries)
    }

    /// The code of a refused call.
    static func code(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as NodeClientError {
            return error.problem?.code ?? "\(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func creditsRedemptionsAndStatusesReconcileThroughTheNode() async throws {
        let node = try TestNode()
        let outbox = node.directory.file("outbox")
        node.config.bank?.outbox = outbox
        try node.saveConfig()
        try await node.start()
        let bank = try #require(node.config.bank)
        #expect(try await node.client.region().bank == bank.name)
        _ = try await node.operate(
            .openAccount, "alice", [.jurisdiction: "US-TX", .kycTier: "2", .deviceKey: SigningKey().publicKeyHex],
            holder: .init(name: "Alice Holder", payoutAccount: "000123456789", payoutAgent: "BOFAUS3NXXX"))
        _ = try await node.holder("bob")

        let deposits = Self.credit(
            "N-1",
            [
                .init(reference: "CR-1", cents: 100_000, valueDate: "2026-12-01", remittance: "for sdt:alice"),
                .init(reference: "CR-2", cents: 20_000, valueDate: "2026-12-01", remittance: "no account named"),
            ])
        #expect(try xmllint(deposits, schemaPath: Self.schema(.camt054)).status == 0)
        let imported = try await node.client.importBankMessage(deposits)
        #expect(imported.entries.map(\.result) == [.proposed, .proposed] && !imported.duplicate)
        #expect(try await node.client.importBankMessage(deposits).duplicate)

        func mint(_ account: String, _ cents: Int64, _ reference: String) async throws {
            _ = try await node.operate(
                .mintUSD, account,
                [
                    .amount: String(cents), .bank: bank.name, .reference: reference, .valueDate: "2026-12-01",
                ])
        }
        #expect(await Self.code { try await mint("alice", 100_001, "CR-1") } == "bank_credit_mismatch")
        #expect(await Self.code { try await mint("bob", 100_000, "CR-1") } == "bank_credit_mismatch")
        #expect(await Self.code { try await mint("alice", 100_000, "CR-9") } == "bank_credit_mismatch")
        try await mint("alice", 100_000, "CR-1")
        try await mint("bob", 20_000, "CR-2")
        #expect(await Self.code { try await mint("alice", 100_000, "CR-1") } == "bank_credit_mismatch", "minted once")
        let credits = try await node.client.bankCredits().credits
        #expect(credits.map(\.state) == [.minted, .minted] && credits.allSatisfy { $0.mintSequence != nil })
        #expect(try await node.client.account("alice").balances.first { $0.token == .usd }?.amount == 100_000)

        for (account, cents, reference) in [("alice", Int64(30_000), "RED-1"), ("bob", 5_000, "RED-2")] {
            _ = try await node.operate(
                .redeemUSD, account,
                [
                    .amount: String(cents), .bank: bank.name, .reference: reference, .valueDate: "2026-12-01",
                ])
        }
        let export = try await node.client.exportBankPayments()
        let payment = try #require(export.open.first)
        #expect(export.open.count == 1 && payment.reference == "RED-1" && payment.amount == 30_000)
        #expect(export.waiting.map(\.reference) == ["RED-2"] && export.waiting[0].reason.contains("personal data"))
        let document = Array(try #require(payment.document).utf8)
        let checked = try xmllint(document, schemaPath: Self.schema(.pacs008))
        #expect(checked.status == 0, Comment(rawValue: checked.output))
        let text = String(decoding: document, as: UTF8.self)
        for expected in [
            "<EndToEndId>RED-1</EndToEndId>", "<UETR>\(payment.uetr)</UETR>", "<Nm>Alice Holder</Nm>",
            "<BICFI>BOFAUS3NXXX</BICFI>", "<BICFI>\(bank.bic)</BICFI>", "<Id>000123456789</Id>",
            "<IntrBkSttlmAmt Ccy=\"USD\">300.00</IntrBkSttlmAmt>",
        ] {
            #expect(text.contains(expected), "pacs.008 lacks \(expected)")
        }
        #expect(
            payment.uetr.wholeMatch(of: #/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/#) != nil)
        let written = try Data(contentsOf: URL(fileURLWithPath: outbox + "/\(payment.messageId).xml"))
        #expect(Array(written) == document, "the outbox holds the same document")
        #expect(
            try await node.client.exportBankPayments().open.map(\.uetr) == [payment.uetr], "one payment per redemption")

        // RED-1: the bank rejects it before any debit: a refund is proposed and approved.
        let rejection = BankSideWriter.statusReport(
            messageID: "S-1", createdAt: "2026-12-01T15:00:00Z", originalMessageID: payment.messageId,
            endToEndID: payment.endToEndId, uetr: payment.uetr, status: "RJCT", reasons: ["AC04"])
        #expect(try xmllint(rejection, schemaPath: Self.schema(.pacs002)).status == 0)
        let rejected = try await node.client.importBankMessage(rejection)
        #expect(rejected.entries.map(\.result) == [.rejected] && rejected.entries[0].detail.contains("AC04"))
        let payments = try await node.client.bankPayments().payments
        #expect(payments.count == 1 && payments[0].status == .rejected && payments[0].reasons == ["AC04"])
        #expect(payments[0].debitedBy == nil && payments[0].refundReference == "RJCT-RED-1")
        let refund = try #require(try await node.client.bankCredits().credits.first { $0.reference == "RJCT-RED-1" })
        #expect(
            refund.state == .proposed && refund.account == "alice" && refund.amount == 30_000
                && refund.origin.rawValue == "pacs.002")
        _ = try await node.operate(
            .mintUSD, "alice",
            [
                .amount: "30000", .bank: bank.name, .reference: "RJCT-RED-1", .valueDate: refund.valueDate,
            ])
        #expect(try await node.client.account("alice").balances.first { $0.token == .usd }?.amount == 100_000)
        #expect(try await node.client.exportBankPayments().open.isEmpty, "a rejected payment no longer waits")
        #expect(try await node.client.bankAlarms().alarms.isEmpty)

        // RED-3: debited once (matched), then the bank's statuses: a second debit, a rejection after the
        // debit (no refund proposed) and a debit of a rejected payment are alarms; ACSC settles it.
        _ = try await node.operate(
            .redeemUSD, "alice",
            [
                .amount: "10000", .bank: bank.name, .reference: "RED-3", .valueDate: "2026-12-01",
            ])
        let second = try #require(try await node.client.exportBankPayments().open.first { $0.reference == "RED-3" })
        func debit(_ messageID: String, _ reference: String, _ endToEnd: String, _ cents: Int64) -> [UInt8] {
            Self.credit(
                messageID,
                [.init(reference: reference, cents: cents, credit: false, valueDate: "2026-12-01", related: endToEnd)])
        }
        #expect(
            try await node.client.importBankMessage(debit("N-2", "DB-1", "RED-3", 10_000)).entries.map(\.result) == [
                .matched
            ])
        #expect(
            try await node.client.importBankMessage(debit("N-3", "DB-2", "RED-3", 10_000)).entries.map(\.result) == [
                .alarm
            ])
        #expect(
            try await node.client.importBankMessage(debit("N-4", "DB-3", "RED-1", 30_000)).entries.map(\.result) == [
                .alarm
            ])
        let lateRejection = BankSideWriter.statusReport(
            messageID: "S-2", createdAt: "2026-12-01T16:00:00Z", originalMessageID: second.messageId,
            endToEndID: second.endToEndId, uetr: second.uetr, status: "RJCT", reasons: ["AM05"])
        #expect(try await node.client.importBankMessage(lateRejection).entries.map(\.result) == [.alarm])
        #expect(!(try await node.client.bankCredits().credits.contains { $0.reference == "RJCT-RED-3" }))
        let settled = BankSideWriter.statusReport(
            messageID: "S-3", createdAt: "2026-12-01T17:00:00Z", originalMessageID: second.messageId,
            endToEndID: second.endToEndId, uetr: second.uetr, status: "ACSC")
        #expect(try await node.client.importBankMessage(settled).entries.map(\.result) == [.settled])
        #expect(
            try await node.client.bankAlarms().alarms.map(\.kind)
                == ["double_debit", "debit_after_reject", "rejected_after_debit"])

        let reversal = Self.credit(
            "N-5",
            [
                .init(
                    reference: "RV-1", cents: 20_000, credit: false, reversal: true, valueDate: "2026-12-01",
                    related: "CR-2")
            ])
        #expect(try await node.client.importBankMessage(reversal).entries.map(\.result) == [.alarm])
        let alarms = try await node.client.bankAlarms().alarms
        #expect(alarms.last?.kind == "reversed_after_mint" && alarms.last?.detail.contains("bob") == true)
        #expect(alarms.count == 4, "the reversal's alarm is not repeated by the ledger comparison")
        let reserves = try await node.client.reserves()
        let usdReserves: Int64? = reserves.tokens.first { $0.token == .usd }?.reserves
        let expectedReserves: Int64 = 100_000 + 20_000 - 30_000 - 5_000 + 30_000 - 10_000
        #expect(usdReserves == expectedReserves)
    }

    @Test func badRequestsAreRefusedWithTheirReasonAndApplyNothing() async throws {
        let node = try TestNode()
        try await node.start()
        let holder = try await node.holder("alice")
        let good = Self.credit(
            "N-1", [.init(reference: "CR-1", cents: 100, valueDate: "2026-12-01", remittance: "sdt:alice")])
        func path(_ body: [UInt8]) -> String { "/v1/admin/bank/messages?sha3=\(Hex.encode(SHA3.hash256(body)))" }

        let unsigned = try await node.raw("POST", path(good), body: Data(good), contentType: "application/xml")
        #expect(unsigned.status == 401 && unsigned.json["code"] as? String == "authentication_required")
        let byHolder = try await node.raw(
            "POST", path(good), body: Data(good), contentType: "application/xml", reader: holder)
        #expect(byHolder.status == 403)
        let asJSON = try await node.raw("POST", path(good), body: Data(good), reader: node.operatorKey)
        #expect(asJSON.status == 415 && asJSON.json["code"] as? String == "unsupported_media_type")
        let swapped = try await node.raw(
            "POST", path(Array("other".utf8)), body: Data(good), contentType: "application/xml",
            reader: node.operatorKey)
        #expect(swapped.status == 400 && swapped.json["code"] as? String == "sha3_mismatch")

        let hostile: [(String, String)] = [
            (
                "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                    + "<Document>&x;</Document>",
                "DOCTYPE"
            ),
            ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\"/>", "namespace"),
            (
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">"
                    + "<BkToCstmrDbtCdtNtfctn/></Document>",
                "official schema"
            ),
            ("<Document", "not well-formed"),
        ]
        for (text, reason) in hostile {
            let body = Array(text.utf8)
            let answer = try await node.raw(
                "POST", path(body), body: Data(body), contentType: "application/xml", reader: node.operatorKey)
            #expect(answer.status == 400 && answer.json["code"] as? String == "bank_message_invalid")
            #expect((answer.json["detail"] as? String)?.contains(reason) == true, "\(answer.json)")
        }
        let elsewhere = BankSideWriter.notification(
            messageID: "N-2", createdAt: "2026-12-01T09:00:00Z", account: "SOMEONE-ELSE",
            entries: [.init(reference: "CR-2", cents: 100, valueDate: "2026-12-01")])
        let mismatch = try await node.raw(
            "POST", path(elsewhere), body: Data(elsewhere), contentType: "application/xml", reader: node.operatorKey)
        #expect(mismatch.status == 400 && mismatch.json["code"] as? String == "bank_account_mismatch")
        #expect(try await node.client.bankCredits().credits.isEmpty, "nothing applied")
        let reads = try await node.raw("GET", "/v1/admin/bank/credits", reader: holder)
        #expect(reads.status == 403)
        #expect(try await node.raw("GET", "/v1/admin/bank/alarms").status == 401)
    }

    @Test func operatorsUseTheBankDeskFromTheCommandLine() async throws {
        let node = try TestNode()
        try await node.start()
        _ = try await node.holder("carol")
        let keystore = node.directory.file("operator.json")
        try Keystore.seal(node.operatorKey, purpose: "operator", passphrase: "test passphrase").write(to: keystore)
        let passphrase = node.directory.file("passphrase")
        try "test passphrase\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        let file = node.directory.file("camt054.xml")
        try Data(Self.credit("N-7", [.init(reference: "CR-7", cents: 4_200, valueDate: "2026-12-01")]))
            .write(to: URL(fileURLWithPath: file))
        let connection = ["--node", node.client.baseURL, "--key", keystore, "--passphrase-file", passphrase]

        let imported = try AuditCommandTests.sdt(["bank", "import", file] + connection)
        #expect(imported.status == 0 && imported.output.contains("CR-7: proposed"), "\(imported.output)")
        let unnamed = try AuditCommandTests.sdt(["bank", "approve", "CR-7"] + connection)
        #expect(unnamed.status != 0 && unnamed.output.contains("--account"), "\(unnamed.output)")
        let approved = try AuditCommandTests.sdt(["bank", "approve", "CR-7", "--account", "carol"] + connection)
        #expect(approved.status == 0 && approved.output.contains("mint_usd carol: accepted"), "\(approved.output)")
        let listed = try AuditCommandTests.sdt(["bank", "credits", "--json"] + connection)
        let credits = try #require(try CommandLineTests.json(listed.output)["credits"] as? [[String: Any]])
        #expect(
            credits.count == 1 && credits[0]["state"] as? String == "minted"
                && credits[0]["minted_to"] as? String == "carol")
        #expect(credits[0]["account"] == nil, "the depositor named no account")
        let alarms = try AuditCommandTests.sdt(["bank", "alarms"] + connection)
        #expect(alarms.status == 0 && alarms.output.contains("no alarms"), "\(alarms.output)")
    }
}
