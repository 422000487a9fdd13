import Foundation
import SDTBank
import SDTClient
import SDTCore
import SDTCrypto
import SDTNode

/// The demo's custodian bank: the demo plays the bank's side (it writes the camt.054 and pacs.002 a bank
/// would send, checked against the official schemas like any other), and the node's bank desk does the rest.
extension DemoStory {
    /// The bank reports alice's deposit; the desk proposes the mint; the operator approves it with a signed mint_usd.
    mutating func depositThroughTheBank(
        _ client: NodeClient, operations: inout DemoOperations, bank: RegionConfig.Bank
    )
        async throws
    {
        let deposit = try await deposit(
            client, operations: &operations, bank: bank,
            .init(account: "alice", holder: "Alice Demo-Holder", cents: 10_000_000, prefix: "FRST"))
        say(
            "The custodian bank reports a deposit (ISO 20022 camt.054)",
            "\(bank.name) notifies a credit of \(deposit.credit) to reserve account \(bank.reserveAccount): "
                + deposit.file,
            "the node checked it against the official camt.054.001.08 schema and proposed: \(deposit.proposal)",
            "sent again: \(deposit.duplicate ? "a duplicate, nothing applied twice" : "applied again (wrong!)")",
            "the operator approved it with a signed mint_usd (reference \(deposit.reference)): credit is now "
                + "\(deposit.state) — no bank message alone creates money"
        )
    }

    /// A wire into the reserve account for one holder, as the demo's bank reports it.
    struct BankDeposit {
        var account: String
        var holder: String
        var cents: Int64
        /// Starts the bank's references, e.g. `FRST`.
        var prefix: String
    }

    /// Plays the bank: writes its camt.054 of `deposit` and sends it twice (the second is a duplicate);
    /// the operator then approves the proposed credit with a signed mint_usd. Returns what happened.
    mutating func deposit(
        _ client: NodeClient, operations: inout DemoOperations, bank: RegionConfig.Bank, _ deposit: BankDeposit
    ) async throws -> (
        file: String, reference: String, credit: String, proposal: String, duplicate: Bool, state: String
    ) {
        let reference = "\(deposit.prefix)-20261120-0001"
        let messageID = "\(deposit.prefix)-N-20261120-01"
        let notification = BankSideWriter.notification(
            messageID: messageID, createdAt: "2026-11-20T15:00:00Z", account: bank.reserveAccount,
            entries: [
                .init(
                    reference: reference, cents: deposit.cents, valueDate: "2026-11-20",
                    remittance: "wire from \(deposit.holder) for sdt:\(deposit.account)")
            ])
        let file = path("bank/camt054-\(messageID).xml")
        try FileManager.default.createDirectory(atPath: path("bank"), withIntermediateDirectories: true)
        try Data(notification).write(to: URL(fileURLWithPath: file))
        let imported = try await client.importBankMessage(notification)
        guard let line = imported.entries.first, line.result == .proposed else {
            throw DemoError("the bank's notification was not proposed: \(imported.entries)")
        }
        let again = try await client.importBankMessage(notification)
        let credit = try await client.bankCredits().credits.first { $0.reference == reference }
        guard let credit, let account = credit.account else { throw DemoError("credit \(reference) has no account") }
        try await operations.perform(
            .mintUSD,
            [
                .account: account, .amount: String(credit.amount), .bank: bank.name, .reference: reference,
                .valueDate: credit.valueDate,
            ])
        let minted = try await client.bankCredits().credits.first { $0.reference == reference }
        return (
            file, reference, credit.display, line.detail, again.duplicate,
            "\(minted?.state.rawValue ?? "?") at sequence \(minted?.mintSequence ?? 0)"
        )
    }

    /// alice redeems USD: the ledger burns it, the desk writes the pacs.008 paying her bank account, and the
    /// bank's pacs.002 settles it.
    mutating func redeemThroughTheBank(
        _ client: NodeClient, operations: inout DemoOperations, bank: RegionConfig.Bank
    )
        async throws
    {
        try await operations.perform(
            .redeemUSD,
            [
                .account: "alice", .amount: "50000", .bank: bank.name, .reference: "RED-20261201-0001",
                .valueDate: "2026-12-01",
            ])
        let export = try await client.exportBankPayments()
        guard let payment = export.open.first(where: { $0.reference == "RED-20261201-0001" }),
            let document = payment.document
        else { throw DemoError("the redemption has no payment: \(export.waiting.map(\.reason))") }
        let file = path("bank/\(payment.messageId).xml")
        try Data(document.utf8).write(to: URL(fileURLWithPath: file))
        let problems = ISO20022Message.pacs008.schemaProblems(Array(document.utf8))
        let status = BankSideWriter.statusReport(
            messageID: "FRST-S-20261201-01", createdAt: "2026-12-01T16:00:00Z", originalMessageID: payment.messageId,
            endToEndID: payment.endToEndId, uetr: payment.uetr, status: "ACSC")
        let answered = try await client.importBankMessage(status)
        let settled = try await client.bankPayments().payments.first { $0.endToEndId == payment.endToEndId }
        let alarms = try await client.bankAlarms().alarms
        say(
            "A redemption paid out by the bank (pacs.008 out, pacs.002 in)",
            "alice redeems \(payment.display): the ledger burns it; the desk wrote \(file)",
            "pacs.008.001.09 ("
                + (problems.isEmpty ? "valid against the official schema" : "INVALID: \(problems)") + "): "
                + "EndToEndId \(payment.endToEndId), UETR \(payment.uetr), to her account on file",
            "the bank's status report: \(answered.entries.first?.detail ?? "?") — payment is "
                + (settled?.status.rawValue ?? "?"),
            "reconciliation: "
                + (alarms.isEmpty ? "no alarms, the bank's messages and the ledger agree" : "\(alarms.count) alarms")
        )
    }
}
