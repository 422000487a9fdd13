import Foundation
import SDTBank
import SDTCore
import SDTCrypto
import SDTGlobal
import SDTTesting
import Testing

@testable import SDTNode

/// A cycle's USD instructions become one pacs.009 that the official schema accepts, paying between the
/// reserve accounts the signed registry lists; the same cycle always gives the same bytes; a cycle that
/// cannot be paid says why.
@Suite struct SettlementMessagesTests {
    static let accounts: [String: RegionRegistry.SettlementAccount] = [
        "us-ca": .init(bic: "BOFAUS3NXXX", account: "CA-RESERVE-7"),
        "us-tx": .init(bic: "FRSTUS44XXX", account: "TX-RESERVE-0001"),
        "us-wy": .init(bic: "FIBKUS55", account: "WY-RESERVE-0001"),
    ]

    static func registry(listing listed: Set<String>) throws -> RegionRegistry {
        let text =
            "version = 4\n\n"
            + ["us-ca", "us-tx", "us-wy"].map { code in
                RegionRegistry.entryText(
                    code: code, name: "Depository \(code)", blockPublicKey: SigningKey().publicKey,
                    sealingPublicKey: SealingKey().publicKey, endpoint: "https://\(code).example:8443",
                    settlement: listed.contains(code) ? accounts[code] : nil)
            }.joined(separator: "\n")
        return try RegionRegistry.parse(text)
    }

    /// The record of a cycle that covers `covered` (given sorted by payer, payee and token), as the K$
    /// node writes it.
    static func cycle(_ number: Int64, _ sorted: [Obligation]) throws -> SettlementCycle.Recorded {
        let result = try MultilateralNetting.net(sorted)
        func list(_ items: [Obligation]) -> String { items.isEmpty ? "-" : items.map(\.text).joined(separator: ",") }
        func sums(_ values: [Token: Int128]) -> String {
            Token.allCases.sorted().map { "\($0.rawValue)=\(values[$0] ?? 0)" }.joined(separator: ",")
        }
        let record = CanonicalRecord(
            header: SettlementCycle.header,
            fields: [
                ("cycle", String(number)), ("basis", "us-ca@3:\(String(repeating: "ab", count: 32))"),
                ("covered", list(sorted)), ("instructions", list(result.instructions)), ("gross", sums(result.gross)),
                ("net", sums(result.net)),
            ])
        return try SettlementCycle.Recorded(recordBytes: record.bytes)
    }

    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/SDTBank/Resources/pacs.009.001.09.xsd").standardized.path

    /// 2026-12-01T09:30:00Z.
    static let plannedAt: Int64 = 1_796_117_400_000

    @Test func aCyclesUSDInstructionsBecomeOneSchemaValidPacs009() throws {
        // us-tx owes us-wy 25.00 and us-wy owes us-ca 10.00: netted, us-tx pays 10.00 to us-ca and 15.00
        // to us-wy. us-wy's gold to us-tx moves too, but not by bank.
        let covered = [
            Obligation(payer: "us-tx", payee: "us-wy", token: .usd, amount: 2_500),
            Obligation(payer: "us-wy", payee: "us-ca", token: .usd, amount: 1_000),
            Obligation(payer: "us-wy", payee: "us-tx", token: .gold, amount: 40),
        ]
        let record = try Self.cycle(7, covered)
        let registry = try Self.registry(listing: ["us-ca", "us-tx", "us-wy"])
        let written = try SettlementMessages.pacs009(record, plannedAtMilliseconds: Self.plannedAt, registry: registry)
            .get()
        let checked = try xmllint(written.document, schemaPath: Self.schema)
        #expect(checked.status == 0, "\(checked.output)")

        let (message, body) = try ISO20022Message.read(written.document, accepting: [.pacs009])
        #expect(message == .pacs009)
        let header = try #require(body.child("GrpHdr"))
        #expect(header.child("MsgId")?.text == written.messageID && written.messageID.hasPrefix("KD-CYCLE-7-"))
        #expect(written.messageID.count == "KD-CYCLE-7-".count + 6)
        #expect(header.child("CreDtTm")?.text == "2026-12-01T09:30:00Z")
        #expect(header.child("NbOfTxs")?.text == "2")
        #expect(header.child("TtlIntrBkSttlmAmt")?.text == "25.00")
        #expect(header.child("TtlIntrBkSttlmAmt")?.attributes["Ccy"] == "USD")
        let transactions = body.children.filter { $0.name == "CdtTrfTxInf" }
        struct Payment: Equatable {
            let id, amount, instructed, debtor, debtorAccount, debtorBank, creditorBank, creditor,
                creditorAccount: String?
        }
        let payments = transactions.map { item in
            Payment(
                id: item.child("PmtId")?.child("EndToEndId")?.text, amount: item.child("IntrBkSttlmAmt")?.text,
                instructed: item.child("InstdAgt")?.child("FinInstnId")?.child("BICFI")?.text,
                debtor: item.child("Dbtr")?.child("FinInstnId")?.child("Othr")?.child("Id")?.text,
                debtorAccount: item.child("DbtrAcct")?.child("Id")?.child("Othr")?.child("Id")?.text,
                debtorBank: item.child("DbtrAgt")?.child("FinInstnId")?.child("BICFI")?.text,
                creditorBank: item.child("CdtrAgt")?.child("FinInstnId")?.child("BICFI")?.text,
                creditor: item.child("Cdtr")?.child("FinInstnId")?.child("Othr")?.child("Id")?.text,
                creditorAccount: item.child("CdtrAcct")?.child("Id")?.child("Othr")?.child("Id")?.text)
        }
        #expect(
            payments == [
                Payment(
                    id: "KD-C7-1", amount: "10.00", instructed: "FRSTUS44XXX", debtor: "us-tx",
                    debtorAccount: "TX-RESERVE-0001", debtorBank: "FRSTUS44XXX", creditorBank: "BOFAUS3NXXX",
                    creditor: "us-ca", creditorAccount: "CA-RESERVE-7"),
                Payment(
                    id: "KD-C7-2", amount: "15.00", instructed: "FRSTUS44XXX", debtor: "us-tx",
                    debtorAccount: "TX-RESERVE-0001", debtorBank: "FRSTUS44XXX", creditorBank: "FIBKUS55",
                    creditor: "us-wy", creditorAccount: "WY-RESERVE-0001"),
            ])
        #expect(transactions.first?.child("Dbtr")?.child("FinInstnId")?.child("Nm")?.text == "Depository us-tx")
        // The parts sum to the cycle's USD net, and the gold is named as not carried.
        #expect(Int128(written.transfers.map(\.cents).reduce(0, +)) == record.net[.usd])
        #expect(written.notCarried == [Obligation(payer: "us-wy", payee: "us-tx", token: .gold, amount: 40)])
        let uetrs = transactions.compactMap { $0.child("PmtId")?.child("UETR")?.text }
        #expect(Set(uetrs).count == 2)

        // The same cycle gives the same bytes; another cycle with the same payments, other UETRs.
        let again = try SettlementMessages.pacs009(record, plannedAtMilliseconds: Self.plannedAt, registry: registry)
            .get()
        #expect(again.document == written.document)
        let later = try SettlementMessages.pacs009(
            try Self.cycle(8, covered), plannedAtMilliseconds: Self.plannedAt, registry: registry
        ).get()
        #expect(Set(later.transfers.map(\.uetr)).isDisjoint(with: uetrs))

        // us-wy's account moves: the same cycle pays the new one, under another MsgId and other UETRs.
        let moved = try RegionRegistry.parse(
            "version = 5\n\n"
                + ["us-ca", "us-tx", "us-wy"].map { code in
                    RegionRegistry.entryText(
                        code: code, name: "Depository \(code)", blockPublicKey: SigningKey().publicKey,
                        sealingPublicKey: SealingKey().publicKey, endpoint: "https://\(code).example:8443",
                        settlement: code == "us-wy"
                            ? .init(bic: "FIBKUS55", account: "WY-RESERVE-0002") : Self.accounts[code])
                }.joined(separator: "\n"))
        let repaid = try SettlementMessages.pacs009(record, plannedAtMilliseconds: Self.plannedAt, registry: moved)
            .get()
        #expect(repaid.messageID.hasPrefix("KD-CYCLE-7-") && repaid.messageID != written.messageID)
        #expect(repaid.transfers[1].creditor.account == "WY-RESERVE-0002")
        #expect(Set(repaid.transfers.map(\.uetr)).isDisjoint(with: uetrs))
    }

    @Test func aCycleThatCannotBePaidSaysWhy() throws {
        let registry = try Self.registry(listing: ["us-tx"])
        let unlisted = SettlementMessages.pacs009(
            try Self.cycle(3, [Obligation(payer: "us-tx", payee: "us-wy", token: .usd, amount: 500)]),
            plannedAtMilliseconds: Self.plannedAt, registry: registry)
        guard case .failure(let missing) = unlisted else {
            Issue.record("a payee without a reserve account in the registry was paid")
            return
        }
        #expect(missing.code == "settlement_account_unknown")
        #expect(missing.description.contains("us-wy") && missing.description.contains("settlement_bic"))

        let goldOnly = SettlementMessages.pacs009(
            try Self.cycle(4, [Obligation(payer: "us-tx", payee: "us-wy", token: .gold, amount: 9)]),
            plannedAtMilliseconds: Self.plannedAt, registry: registry)
        guard case .failure(let nothing) = goldOnly else {
            Issue.record("a cycle without USD instructions gave a pacs.009")
            return
        }
        #expect(nothing.code == "nothing_to_pay" && nothing.description.contains("us-tx>us-wy/GOLD=9"))
    }

    @Test func theRegistryTakesAReserveAccountWholeAndWellFormed() throws {
        let block = RegionRegistry.entryText(
            code: "us-tx", name: "Texas", blockPublicKey: SigningKey().publicKey,
            sealingPublicKey: SealingKey().publicKey, endpoint: "https://tx.example")
        func refusal(_ extra: String) -> String {
            do {
                _ = try RegionRegistry.parse("version = 1\n\n" + block + extra)
                return "parsed"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("settlement_bic = \"FRSTUS44XXX\"\n").contains("go together"))
        // A name the pacs.009 carries as Nm (Max140Text) and people read: 1-140 printable characters.
        for name in ["", String(repeating: "x", count: 141)] {
            let text =
                "version = 1\n\n" + block.replacingOccurrences(of: "name = \"Texas\"", with: "name = \"\(name)\"")
            #expect(throws: ConfigError.self) { try RegionRegistry.parse(text) }
        }
        #expect(refusal("settlement_account = \"TX-1\"\n").contains("go together"))
        #expect(
            refusal("settlement_bic = \"frost\"\nsettlement_account = \"TX-1\"\n").contains("is not a BIC"))
        #expect(
            refusal("settlement_bic = \"FRSTUS44XXX\"\nsettlement_account = \"TX 1\"\n")
                .contains("settlement_account: 1-34 letters"))
        let parsed = try RegionRegistry.parse(
            "version = 1\n\n" + block + "settlement_bic = \"FRSTUS44XXX\"\nsettlement_account = \"TX-1\"\n")
        #expect(parsed.entry("us-tx")?.settlement == .init(bic: "FRSTUS44XXX", account: "TX-1"))
    }
}
