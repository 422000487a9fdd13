import Foundation
import SDTBank
import SDTCore
import SDTCrypto
import SDTLedger
import SDTTesting
import Testing

/// The official schemas and the fixtures, beside this file and in the SDTBank sources.
enum Files {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static func fixture(_ name: String) -> String { here.appendingPathComponent("Fixtures/\(name)").path }
    static func schema(_ message: ISO20022Message) -> String {
        here.appendingPathComponent("../../Sources/SDTBank/Resources/\(message.rawValue).xsd").standardized.path
    }
    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
    }
}

/// `xmllint` against the official schema of `message`.
func xmllint(_ document: [UInt8], _ message: ISO20022Message) throws -> (status: Int32, output: String) {
    try xmllint(document, schemaPath: Files.schema(message))
}

struct FixedClock: WallClock {
    let milliseconds: Int64
    func nowMilliseconds() -> Int64 { milliseconds }
}

/// A desk on an empty ledger, for what needs no minted money.
func makeDesk(_ folder: TemporaryDirectory) throws -> BankDesk {
    let ledger = try LedgerReader(path: folder.file("ledger.sqlite"))
    return try BankDesk(
        path: folder.file("bank.sqlite"),
        settings: .init(
            bankName: "Frost Bank", bankBIC: "FRSTUS44XXX", reserveAccount: "TX-RESERVE-0001",
            accountHolder: "Texas State Depository", outbox: nil),
        region: "us-tx", ledger: ledger, clock: FixedClock(milliseconds: 1_796_115_600_000),
        random: SeededRandom(seed: 7))
}

@Suite struct ISO20022DocumentTests {
    @Test func fixturesAreValidForXmllintAndForTheDesk() throws {
        for (name, message) in [("camt054-deposits.xml", ISO20022Message.camt054), ("camt054-reversal.xml", .camt054)] {
            let bytes = try Files.bytes(name)
            let checked = try xmllint(bytes, message)
            #expect(checked.status == 0, Comment(rawValue: name + ": " + checked.output))
            #expect(message.schemaProblems(bytes).isEmpty)
        }
        let report = try String(contentsOfFile: Files.fixture("pacs002-rejected.xml"), encoding: .utf8)
            .replacingOccurrences(of: "UETR_VALUE", with: "0f8fad5b-d9cb-469f-a165-70867728950e")
        #expect(try xmllint(Array(report.utf8), .pacs002).status == 0)
        #expect(ISO20022Message.pacs002.schemaProblems(Array(report.utf8)).isEmpty)
    }

    @Test func writtenDocumentsAreValidForXmllint() throws {
        let payment = CreditTransferWriter.document(
            messageID: "us-tx-P12", createdAt: "2026-12-01T10:00:00Z", endToEndID: "W-0001",
            uetr: "0f8fad5b-d9cb-469f-a165-70867728950e", cents: 12_345, settlementDate: "2026-12-01",
            parties: PaymentParties(
                debtorName: "Texas State Depository", debtorAccount: "TX-RESERVE-0001", debtorAgentBIC: "FRSTUS44XXX",
                creditorName: "Alice Q. Holder & Sons <LLC>", creditorAccount: "000123456789",
                creditorAgentBIC: "BOFAUS3N"),
            remittance: "SDT us-tx redemption W-0001")
        let checked = try xmllint(payment, .pacs008)
        #expect(checked.status == 0, Comment(rawValue: checked.output))
        let text = String(decoding: payment, as: UTF8.self)
        #expect(text.contains("Alice Q. Holder &amp; Sons &lt;LLC&gt;"), "text is escaped by the serialiser")
        #expect(text.contains("<IntrBkSttlmAmt Ccy=\"USD\">123.45</IntrBkSttlmAmt>"))
        let notification = BankSideWriter.notification(
            messageID: "N-1", createdAt: "2026-12-01T10:00:00Z", account: "TX-RESERVE-0001",
            entries: [
                .init(reference: "R-1", cents: 1, valueDate: "2026-12-01", remittance: "sdt:alice"),
                .init(
                    reference: "R-2", cents: 99, credit: false, reversal: true, valueDate: "2026-12-01",
                    related: "R-0"),
            ])
        #expect(try xmllint(notification, .camt054).status == 0)
        let status = BankSideWriter.statusReport(
            messageID: "S-1", createdAt: "2026-12-01T10:00:00Z", originalMessageID: "us-tx-P12", endToEndID: "W-0001",
            uetr: "0f8fad5b-d9cb-469f-a165-70867728950e", status: "RJCT", reasons: ["AC04", "AM04"])
        #expect(try xmllint(status, .pacs002).status == 0)
    }

    @Test func hostileAndBrokenDocumentsAreRefusedWithTheirReason() throws {
        let good = String(decoding: try Files.bytes("camt054-deposits.xml"), as: UTF8.self)
        let cases: [(String, String, String)] = [
            (
                "external entity",
                "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                    + "<Document>&x;</Document>",
                "DOCTYPE"
            ),
            (
                "billion laughs",
                "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>",
                "DOCTYPE"
            ),
            ("not well-formed", "<Document><BkToCstmrDbtCdtNtfctn></Document>", "not well-formed"),
            ("wrong namespace", good.replacingOccurrences(of: "camt.054.001.08", with: "camt.054.001.02"), "namespace"),
            ("no namespace", "<Document><x/></Document>", "namespace"),
            ("wrong root", "<Notification xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"/>", "root element"),
            (
                "schema-invalid",
                good.replacingOccurrences(
                    of: "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
                    with: "<CdtDbtInd>CREDIT</CdtDbtInd>\n        <Sts>"),
                "official schema"
            ),
            ("empty", "", "empty"),
        ]
        for (name, text, reason) in cases {
            do {
                _ = try ISO20022Message.read(Array(text.utf8), accepting: [.camt054, .pacs002])
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.description.contains(reason), "\(name): \(error.description)")
            }
        }
    }

    @Test func anEmptyDocumentIsAProblemForTheSchemaCheckToo() {
        #expect(ISO20022Message.pacs008.schemaProblems([]).first?.contains("empty") == true)
    }

    @Test func amountsAreExactCents() {
        #expect(ISOAmount.cents("1250.00") == 125_000)
        #expect(ISOAmount.cents("500") == 50_000)
        #expect(ISOAmount.cents("0.1") == 10)
        #expect(ISOAmount.cents("75.10000") == 7_510)
        #expect(ISOAmount.cents("75.101") == nil, "a fraction of a cent")
        #expect(ISOAmount.cents("0.00") == nil)
        #expect(ISOAmount.cents("-5") == nil)
        #expect(ISOAmount.cents("1e3") == nil)
        #expect(ISOAmount.cents(".5") == nil)
        #expect(ISOAmount.cents("5.") == nil)
        #expect(ISOAmount.cents("99999999999999999") == nil, "beyond the ledger's range")
        #expect(ISOAmount.text(125_000) == "1250.00")
        #expect(ISOAmount.text(7) == "0.07")
    }
}

@Suite struct BankDeskImportTests {
    let operatorKey = String(repeating: "ab", count: 32)

    @Test func creditsBecomeProposalsOnceAndReversalsCancelThem() throws {
        let folder = TemporaryDirectory("bank")
        let desk = try makeDesk(folder)
        let report = try desk.importMessage(try Files.bytes("camt054-deposits.xml"), operatorKey: operatorKey)
        #expect(!report.duplicate)
        #expect(report.lines.map(\.result) == [.proposed, .proposed, .ignored])
        #expect(report.lines[2].detail.contains("PDNG"))
        let credits = try desk.credits()
        #expect(credits.map(\.reference) == ["BNK-0001", "BNK-0002"])
        #expect(credits.map(\.state) == [.proposed, .unassigned])
        #expect(credits[0].account == "alice" && credits[0].cents == 125_000 && credits[0].valueDate == "2026-12-01")
        #expect(credits[1].account == nil && credits[1].cents == 50_000)

        let again = try desk.importMessage(try Files.bytes("camt054-deposits.xml"), operatorKey: operatorKey)
        #expect(again.duplicate)
        #expect(try desk.credits().count == 2)

        var altered = String(decoding: try Files.bytes("camt054-deposits.xml"), as: UTF8.self)
        altered = altered.replacingOccurrences(of: "1250.00</Amt>", with: "1350.00</Amt>")
        #expect(throws: BankDeskError.self) { try desk.importMessage(Array(altered.utf8), operatorKey: operatorKey) }
        do {
            _ = try desk.importMessage(Array(altered.utf8), operatorKey: operatorKey)
        } catch {
            #expect(error.code == "message_id_reused")
        }
        // The same entries under a new message id are duplicates entry by entry; an entry whose reference
        // was seen with another amount is an alarm, and applies nothing.
        let renamed = altered.replacingOccurrences(of: "FRST-N-20261201-001", with: "FRST-N-20261201-009")
        let entries = try desk.importMessage(Array(renamed.utf8), operatorKey: operatorKey)
        #expect(entries.lines.map(\.result) == [.alarm, .duplicate, .ignored])
        #expect(try desk.alarms().map(\.kind) == ["reference_reused"])
        #expect(try desk.credits().map(\.cents) == [125_000, 50_000], "nothing applied twice")

        let reversal = try desk.importMessage(try Files.bytes("camt054-reversal.xml"), operatorKey: operatorKey)
        #expect(reversal.lines.map(\.result) == [.reversed])
        #expect(try desk.credits().map(\.state) == [.proposed, .reversed])
        let twice = try desk.importMessage(
            BankSideWriter.notification(
                messageID: "N-9", createdAt: "2026-12-01T12:00:00Z", account: "TX-RESERVE-0001",
                entries: [
                    .init(
                        reference: "BNK-0005", cents: 50_000, credit: false, reversal: true,
                        valueDate: "2026-12-01", related: "BNK-0002")
                ]),
            operatorKey: operatorKey)
        #expect(twice.lines.map(\.result) == [.alarm])
        #expect(try desk.alarms().map(\.kind) == ["reference_reused", "double_reversal"])
    }

    @Test func mintsMustMatchACredit() throws {
        let folder = TemporaryDirectory("bank")
        let desk = try makeDesk(folder)
        _ = try desk.importMessage(try Files.bytes("camt054-deposits.xml"), operatorKey: operatorKey)
        #expect(try desk.mintProblem(account: "alice", cents: 125_000, reference: "BNK-0001") == nil)
        #expect(
            try desk.mintProblem(account: "alice", cents: 125_001, reference: "BNK-0001")?.contains("1250.00") == true)
        #expect(
            try desk.mintProblem(account: "bob", cents: 125_000, reference: "BNK-0001")?.contains("sdt:alice") == true)
        #expect(
            try desk.mintProblem(account: "bob", cents: 50_000, reference: "BNK-0002") == nil, "unassigned: any account"
        )
        #expect(
            try desk.mintProblem(account: "alice", cents: 7_510, reference: "BNK-0003")?.contains("no credit") == true)
        _ = try desk.importMessage(try Files.bytes("camt054-reversal.xml"), operatorKey: operatorKey)
        #expect(
            try desk.mintProblem(account: "bob", cents: 50_000, reference: "BNK-0002")?.contains("reversed") == true)
    }

    @Test func messagesThatDoNotReconcileRaiseAlarmsAndOthersAreRefusedWhole() throws {
        let folder = TemporaryDirectory("bank")
        let desk = try makeDesk(folder)
        let other = String(decoding: try Files.bytes("camt054-deposits.xml"), as: UTF8.self)
            .replacingOccurrences(of: "TX-RESERVE-0001", with: "TX-OPERATING-0002")
        do {
            _ = try desk.importMessage(Array(other.utf8), operatorKey: operatorKey)
            Issue.record("another account's notification was accepted")
        } catch {
            #expect(error.code == "bank_account_mismatch")
        }
        do {
            _ = try desk.importMessage(Array("<Document/>".utf8), operatorKey: operatorKey)
            Issue.record("an empty document was accepted")
        } catch {
            #expect(error.code == "bank_message_invalid")
        }
        #expect(try desk.credits().isEmpty, "nothing applied")

        let strange = BankSideWriter.notification(
            messageID: "N-2", createdAt: "2026-12-01T10:00:00Z", account: "TX-RESERVE-0001",
            entries: [
                .init(
                    reference: "D-1", cents: 10_000, credit: false, valueDate: "2026-12-01",
                    related: "NO-SUCH-PAYMENT"),
                .init(
                    reference: "V-1", cents: 10_000, credit: false, reversal: true, valueDate: "2026-12-01",
                    related: "NEVER-CREDITED"),
                .init(reference: "C-1", cents: 10_000, credit: true, reversal: true, valueDate: "2026-12-01"),
            ])
        let report = try desk.importMessage(strange, operatorKey: operatorKey)
        #expect(report.lines.map(\.result) == [.alarm, .alarm, .alarm])
        #expect(try desk.alarms().map(\.kind) == ["unmatched_debit", "unmatched_reversal", "debit_reversed"])
        let status = BankSideWriter.statusReport(
            messageID: "S-1", createdAt: "2026-12-01T10:00:00Z", originalMessageID: "us-tx-P1", endToEndID: "W-1",
            uetr: "0f8fad5b-d9cb-469f-a165-70867728950e", status: "ACSC")
        #expect(try desk.importMessage(status, operatorKey: operatorKey).lines.map(\.result) == [.alarm])
        #expect(try desk.alarms().last?.kind == "unknown_payment")

        // A credit that batches two depositors' transactions cannot go to one account.
        var batched = String(decoding: try Files.bytes("camt054-deposits.xml"), as: UTF8.self)
            .replacingOccurrences(of: "FRST-N-20261201-001", with: "FRST-N-20261201-077")
            .replacingOccurrences(of: "BNK-0001", with: "BNK-0077")
        batched = batched.replacingOccurrences(
            of: "</TxDtls></NtryDtls>\n      </Ntry>\n      <Ntry>\n        <NtryRef>E-0002",
            with: "</TxDtls><TxDtls><RmtInf><Ustrd>sdt:bob</Ustrd></RmtInf></TxDtls></NtryDtls>\n      </Ntry>\n"
                + "      <Ntry>\n        <NtryRef>E-0002")
        #expect(ISO20022Message.camt054.schemaProblems(Array(batched.utf8)).isEmpty)
        let split = try desk.importMessage(Array(batched.utf8), operatorKey: operatorKey)
        #expect(split.lines.first?.result == .alarm && split.lines.first?.detail.contains("batched_entry") == true)

        // A whole-group status for a message never sent is an alarm; a report with no status at all is refused.
        let group = String(decoding: status, as: UTF8.self)
            .replacingOccurrences(of: "<MsgId>S-1</MsgId>", with: "<MsgId>S-2</MsgId>")
        let groupOnly = group.replacing(#/<TxInfAndSts>[\s\S]*</TxInfAndSts>/#, with: "")
            .replacingOccurrences(of: "</OrgnlMsgNmId>", with: "</OrgnlMsgNmId><GrpSts>RJCT</GrpSts>")
        #expect(ISO20022Message.pacs002.schemaProblems(Array(groupOnly.utf8)).isEmpty, "\(groupOnly)")
        #expect(try desk.importMessage(Array(groupOnly.utf8), operatorKey: operatorKey).lines.map(\.result) == [.alarm])
        let none = groupOnly.replacingOccurrences(of: "<GrpSts>RJCT</GrpSts>", with: "")
            .replacingOccurrences(of: "<MsgId>S-2</MsgId>", with: "<MsgId>S-3</MsgId>")
        do throws(BankDeskError) {
            _ = try desk.importMessage(Array(none.utf8), operatorKey: operatorKey)
            Issue.record("a report with no status was accepted")
        } catch {
            #expect(error.code == "bank_message_invalid" && error.description.contains("no status"))
        }
    }
}
