import ArgumentParser
import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto

/// The custodian bank's ISO 20022 messages, through the node's admin API, signed by an operator key.
struct BankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bank",
        abstract: "The custodian bank's messages: import camt.054/pacs.002, approve credits, export pacs.008 payments.",
        subcommands: [Import.self, Credits.self, Approve.self, Export.self, Payments.self, Alarms.self]
    )

    /// The node and the operator key every bank command signs with.
    struct Connection: ParsableArguments {
        @Option(help: "Node URL, e.g. http://127.0.0.1:8401.") var node: String
        @Option(help: "The operator keystore (minting role; the auditor role may read).") var key: String
        @OptionGroup var passphrase: PassphraseOptions

        func client() throws -> NodeClient {
            try NodeClient(baseURL: node, reader: try passphrase.openKey(key))
        }

        /// Runs `body`, turning the node's refusal into a message that says what to fix.
        func call<T>(_ what: String, _ body: (NodeClient) async throws -> T) async throws -> T {
            let client = try client()
            do {
                return try await body(client)
            } catch let error as NodeClientError {
                throw fail("\(what) refused: \(error)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a camt.054 notification or pacs.002 status report from the bank to the node.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: OutputOptions
        @Argument(help: "The bank's XML file.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw fail("cannot read \(file)") }
            let report = try await connection.call("import \(file)") { try await $0.importBankMessage(Array(data)) }
            if output.json { return try output.printJSON(["import": try OutputOptions.value(report)]) }
            print(
                "\(report.message.rawValue) \(report.messageId): "
                    + (report.duplicate ? "imported before; nothing applied again" : "\(report.entries.count) entries"))
            for entry in report.entries where !report.duplicate {
                print("  \(entry.reference): \(entry.result.rawValue) — \(entry.detail)")
            }
        }
    }

    struct Credits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The credits the bank reported and what became of each.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let credits = try await connection.call("credits") { try await $0.bankCredits() }.credits
            if output.json { return try output.printJSON(["credits": try OutputOptions.value(credits)]) }
            if credits.isEmpty { print("no credits reported") }
            for credit in credits {
                print(
                    "\(credit.reference)  \(credit.display)  \(credit.account ?? "(no account named)")  "
                        + "\(credit.state.rawValue)\(credit.mintSequence.map { " at sequence \($0)" } ?? "")"
                        + "\(credit.mintedTo.map { " to \($0)" } ?? "")  "
                        + "value \(credit.valueDate)  from \(credit.origin.rawValue) \(credit.messageId)")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Approve a proposed credit: sign the mint_usd it proposes (account, amount, bank reference, "
                + "value date)."
        )
        @OptionGroup var options: OperatorOptions
        @Argument(help: "The credit's bank reference, as `sdt bank credits` lists it.") var reference: String
        @Option(help: "The account to mint to, when the depositor named none (or to check the one named).")
        var account: String?

        func run() async throws {
            let reader = try NodeClient(baseURL: options.node, reader: try options.passphrase.openKey(options.key))
            let credits: [Components.Schemas.BankCredits.CreditsPayloadPayload]
            do {
                credits = try await reader.bankCredits().credits
            } catch let error as NodeClientError {
                throw fail("reading the credits refused: \(error)")
            }
            guard let credit = credits.first(where: { $0.reference == reference }) else {
                throw fail("no credit \(reference); `sdt bank credits` lists them")
            }
            guard credit.state == .proposed || credit.state == .unassigned else {
                throw fail("credit \(reference) is \(credit.state.rawValue); only a proposed credit can be approved")
            }
            if let named = credit.account, let account, named != account {
                throw fail("the depositor named \(named) for credit \(reference), not \(account)")
            }
            guard let target = account ?? credit.account else {
                throw fail("the remittance of credit \(reference) names no account: give --account")
            }
            let region = try await reader.region()
            guard let bank = region.bank else { throw fail("the node has no bank desk ([bank] in its config)") }
            try await options.submit(
                .mintUSD,
                [
                    .account: target, .amount: String(credit.amount), .bank: bank, .reference: reference,
                    .valueDate: credit.valueDate,
                ])
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Have the node write a pacs.008 for every unpaid USD redemption; save those awaiting a status.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: OutputOptions
        @Option(help: "A folder to save each open payment's pacs.008 in, as <MsgId>.xml.") var out: String?

        func run() async throws {
            let export = try await connection.call("export") { try await $0.exportBankPayments() }
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                for payment in export.open {
                    guard let document = payment.document else { continue }
                    let url = URL(fileURLWithPath: out).appendingPathComponent("\(payment.messageId).xml")
                    try Data(document.utf8).write(to: url, options: .atomic)
                }
            }
            if output.json {
                return try output.printJSON([
                    "open": try OutputOptions.value(export.open),
                    "waiting": try OutputOptions.value(export.waiting),
                ])
            }
            for payment in export.open {
                print(
                    "\(payment.messageId)  \(payment.display) to \(payment.account)  EndToEndId \(payment.endToEndId)  "
                        + "UETR \(payment.uetr)\(out.map { "  saved in \($0)" } ?? "")")
            }
            for waiting in export.waiting {
                print("waiting: \(waiting.reference) (\(waiting.account)): \(waiting.reason)")
            }
            if export.open.isEmpty && export.waiting.isEmpty { print("no payment awaits a status") }
        }
    }

    struct Payments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every redemption's payment and its status from the bank.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let payments = try await connection.call("payments") { try await $0.bankPayments() }.payments
            if output.json { return try output.printJSON(["payments": try OutputOptions.value(payments)]) }
            if payments.isEmpty { print("no payments") }
            for payment in payments {
                let reasons = payment.reasons.isEmpty ? "" : " (\(payment.reasons.joined(separator: ", ")))"
                print(
                    "\(payment.endToEndId)  \(payment.display) to \(payment.account)  "
                        + "\(payment.status.rawValue)\(reasons)"
                        + (payment.debitedBy.map { "  debited by \($0)" } ?? "")
                        + (payment.refundReference.map { "  refund proposed as \($0)" } ?? ""))
            }
        }
    }

    struct Alarms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What did not reconcile between the bank and the ledger.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let alarms = try await connection.call("alarms") { try await $0.bankAlarms() }.alarms
            if output.json { return try output.printJSON(["alarms": try OutputOptions.value(alarms)]) }
            if alarms.isEmpty { print("no alarms: the bank's messages and the ledger agree") }
            for alarm in alarms { print("\(alarm.kind)  \(alarm.reference): \(alarm.detail)") }
        }
    }
}
