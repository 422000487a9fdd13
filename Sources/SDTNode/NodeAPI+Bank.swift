import Foundation
import OpenAPIRuntime
import SDTAPI
import SDTBank
import SDTCore
import SDTCrypto
import SDTLedger

/// The bank desk through the admin API: importing the custodian bank's messages, the credits proposed
/// for minting, the payments of redemptions and the alarms. Every call is a signed request by an
/// operator key: the minting role changes, the minting or auditor role reads.
extension NodeAPI {
    enum BankRefusal: Error {
        case unauthenticated(Components.Schemas.Problem)
        case forbidden(Components.Schemas.Problem)
        case notConfigured(Components.Schemas.Problem)

        /// The refusal as an operation's answer: every bank operation shares these three responses, so each
        /// passes its own cases (`.unauthorized`, `.forbidden`, `.notFound`).
        func answer<Output>(
            _ unauthorized: (Components.Responses.Unauthorized) -> Output,
            _ forbidden: (Components.Responses.BankForbidden) -> Output,
            _ notFound: (Components.Responses.BankNotConfigured) -> Output
        ) -> Output {
            switch self {
            case .unauthenticated(let problem):
                unauthorized(.init(
                    headers: .init(wwwAuthenticate: SignedRequest.scheme), body: .applicationProblemJson(problem)))
            case .forbidden(let problem): forbidden(.init(body: .applicationProblemJson(problem)))
            case .notConfigured(let problem): notFound(.init(body: .applicationProblemJson(problem)))
            }
        }
    }

    /// The desk, if the current reader may use it for a change (`change`) or a read.
    func bankDesk(change: Bool) -> Result<BankDesk, BankRefusal> {
        let roles: Set<OperatorRole>
        switch Reader.current {
        case .public:
            return .failure(
                .unauthenticated(
                    Problem.make(
                        status: 401, code: "authentication_required",
                        detail:
                            "The bank desk needs a request signed by an operator key (Authorization: SDT-Signature).")))
        case .holder:
            return .failure(
                .forbidden(
                    Problem.make(
                        status: 403, code: "forbidden",
                        detail: "The bank desk is for operators; a device key cannot use it.")))
        case .operator(_, let granted): roles = granted
        }
        let allowed: Set<OperatorRole> = change ? [.minting] : [.minting, .auditor]
        guard !roles.isDisjoint(with: allowed) else {
            return .failure(
                .forbidden(
                    Problem.make(
                        status: 403, code: "operator_role_missing",
                        detail:
                            "the bank desk needs an operator key with the "
                                + "\(change ? "minting" : "minting or auditor") role; this "
                            + "key has "
                            + (roles.isEmpty ? "none" : roles.sorted().map(\.rawValue).joined(separator: ", ")))))
        }
        guard let bank else {
            return .failure(
                .notConfigured(
                    Problem.make(
                        status: 404, code: "bank_not_configured",
                        detail:
                            "This region has no custodian bank desk: add a [bank] table (name, bic, reserve_account) "
                                + "to its config."
                    )))
        }
        return .success(bank)
    }

    public func importBankMessage(
        _ input: Operations.ImportBankMessage.Input
    ) async throws
        -> Operations.ImportBankMessage.Output
    {
        let desk: BankDesk
        switch bankDesk(change: true) {
        case .success(let granted): desk = granted
        case .failure(let refusal):
            typealias Output = Operations.ImportBankMessage.Output
            return refusal.answer(Output.unauthorized, Output.forbidden, Output.notFound)
        }
        guard case .xml(let body) = input.body else { preconditionFailure("the contract has one body type") }
        let bytes = try await [UInt8](collecting: body, upTo: config.limits.requestBodyBytesMax)
        let sha3 = Hex.encode(SHA3.hash256(bytes))
        guard sha3 == input.query.sha3 else {
            return .badRequest(
                .init(
                    body: .applicationProblemJson(
                        Problem.make(
                            status: 400, code: "sha3_mismatch",
                            detail:
                                "the body hashes to \(sha3), not the signed sha3 \(input.query.sha3); "
                                + "sign the hash of the exact bytes sent"
                        ))))
        }
        guard case .operator(let key, _) = Reader.current else { preconditionFailure("checked by bankDesk") }
        let report: BankImportReport
        do throws(BankDeskError) {
            report = try desk.importMessage(bytes, operatorKey: key)
        } catch {
            let problem = Problem.make(
                status: error.code == "message_id_reused" ? 409 : 400, code: error.code,
                detail: error.description)
            if error.code == "storage" { throw error }
            return error.code == "message_id_reused"
                ? .conflict(.init(body: .applicationProblemJson(problem)))
                : .badRequest(.init(body: .applicationProblemJson(problem)))
        }
        let outcome = report.duplicate ? "a duplicate, nothing applied" : "\(report.lines.count) entries"
        logger.info("bank message \(report.message.rawValue) \(report.messageID) imported: \(outcome)")
        return .ok(
            .init(
                body: .json(
                    .init(
                        message: .init(rawValue: report.message.rawValue)!, messageId: report.messageID,
                        duplicate: report.duplicate,
                        entries: report.lines.map {
                            .init(
                                reference: $0.reference, result: .init(rawValue: $0.result.rawValue)!, detail: $0.detail
                            )
                        }
                    ))))
    }

    public func listBankCredits(
        _ input: Operations.ListBankCredits.Input
    ) async throws -> Operations.ListBankCredits.Output {
        let desk: BankDesk
        switch bankDesk(change: false) {
        case .success(let granted): desk = granted
        case .failure(let refusal):
            typealias Output = Operations.ListBankCredits.Output
            return refusal.answer(Output.unauthorized, Output.forbidden, Output.notFound)
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        credits: try desk.credits().map { credit in
                            .init(
                                reference: credit.reference, origin: .init(rawValue: credit.origin)!,
                                messageId: credit.messageID,
                                account: credit.account, amount: credit.cents,
                                display: Amount.display(credit.cents, .usd),
                                valueDate: credit.valueDate, state: .init(rawValue: credit.state.rawValue)!,
                                mintSequence: credit.mintSequence, mintedTo: credit.mintedTo,
                                reversedBy: credit.reversedBy)
                        }))))
    }

    public func listBankPayments(
        _ input: Operations.ListBankPayments.Input
    ) async throws -> Operations.ListBankPayments.Output {
        let desk: BankDesk
        switch bankDesk(change: false) {
        case .success(let granted): desk = granted
        case .failure(let refusal):
            typealias Output = Operations.ListBankPayments.Output
            return refusal.answer(Output.unauthorized, Output.forbidden, Output.notFound)
        }
        return .ok(
            .init(body: .json(.init(payments: try desk.payments().map { Self.payment($0, withDocument: false) }))))
    }

    public func exportBankPayments(
        _ input: Operations.ExportBankPayments.Input
    ) async throws
        -> Operations.ExportBankPayments.Output
    {
        let desk: BankDesk
        switch bankDesk(change: true) {
        case .success(let granted): desk = granted
        case .failure(let refusal):
            typealias Output = Operations.ExportBankPayments.Output
            return refusal.answer(Output.unauthorized, Output.forbidden, Output.notFound)
        }
        let (open, waiting) = try desk.preparePayments(payee: payee(of:))
        return .ok(
            .init(
                body: .json(
                    .init(
                        open: open.map { Self.payment($0, withDocument: true) },
                        waiting: waiting.map { .init(reference: $0.reference, account: $0.account, reason: $0.reason) })
                )))
    }

    public func listBankAlarms(
        _ input: Operations.ListBankAlarms.Input
    ) async throws -> Operations.ListBankAlarms.Output {
        let desk: BankDesk
        switch bankDesk(change: false) {
        case .success(let granted): desk = granted
        case .failure(let refusal):
            typealias Output = Operations.ListBankAlarms.Output
            return refusal.answer(Output.unauthorized, Output.forbidden, Output.notFound)
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        alarms: try desk.alarms().map {
                            .init(
                                kind: $0.kind, reference: $0.reference, detail: $0.detail, messageId: $0.messageID,
                                raisedAtMs: $0.raisedAtMilliseconds)
                        }))))
    }

    static func payment(_ payment: BankPayment, withDocument: Bool) -> Components.Schemas.BankPayment {
        .init(
            endToEndId: payment.endToEndID, uetr: payment.uetr, messageId: payment.messageID,
            withdrawalSequence: payment.withdrawalSequence, reference: payment.reference, account: payment.account,
            amount: payment.cents, display: Amount.display(payment.cents, .usd),
            status: .init(rawValue: payment.status) ?? .sent, reasons: payment.reasons, debitedBy: payment.debitedBy,
            refundReference: payment.refundReference,
            document: withDocument ? String(decoding: payment.document, as: UTF8.self) : nil)
    }

    /// The holder's bank details for a redemption's payment, from the personal data sealed at onboarding.
    func payee(of account: String) -> Result<Payee, BankDeskError> {
        let sealed: [UInt8]?
        do {
            sealed = try reader.sealedHolderData(account)
        } catch {
            return .failure(BankDeskError("storage", "the holder data of \(account) could not be read: \(error)"))
        }
        guard let sealed, let json = HolderData.open(sealed, region: config.region, account: account, key: dataKey),
            let holder = try? JSONDecoder().decode(
                Components.Schemas.OperatorAction.HolderPayload.self, from: Data(json.utf8))
        else {
            return .failure(
                BankDeskError(
                    "payout_unknown",
                    "\(account) has no personal data on file (holder in open_account), so no bank account to pay"))
        }
        guard let payoutAccount = holder.payoutAccount, let agent = holder.payoutAgent else {
            return .failure(
                BankDeskError(
                    "payout_unknown",
                    "\(account)'s personal data names no bank account to pay "
                    + "(holder.payout_account and holder.payout_agent)"
                ))
        }
        return .success(Payee(name: holder.name, account: payoutAccount, agentBIC: agent))
    }

    /// With a bank desk, a USD mint at its bank must match a credit the bank reported; nil when it does.
    func bankMintProblem(_ command: OperatorCommand) throws -> String? {
        guard let bank, case .mintUSD(let deposit) = command, deposit.bank == bank.settings.bankName else { return nil }
        return try bank.mintProblem(
            account: deposit.account, cents: deposit.amount.minorUnits, reference: deposit.reference)
    }
}
