import Foundation
import SDTCore
import SDTCrypto
import SDTLedger

/// A credit the bank reported, with what became of it.
public struct BankCredit: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Waiting for an operator's signed `mint_usd`; `account` is where the depositor asked it to go.
        case proposed
        /// As proposed, but the remittance named no account: the approving operator names it.
        case unassigned
        /// The ledger holds its mint.
        case minted
        /// The bank reversed it before it was minted: it can no longer be approved.
        case reversed
    }

    public let reference: String
    /// `camt.054` (a deposit) or `pacs.002` (a rejected payment coming back).
    public let origin: String
    public let messageID: String
    public let account: String?
    public let cents: Int64
    public let valueDate: String
    public let state: State
    /// The ledger sequence of its mint, once minted.
    public let mintSequence: Int64?
    /// The account its mint credited, once minted (the approving operator's choice when unassigned).
    public let mintedTo: String?
    public let reversedBy: String?
}

/// A redemption's payment out of the reserve account.
public struct BankPayment: Sendable, Equatable {
    public let endToEndID: String
    public let uetr: String
    public let messageID: String
    /// The ledger sequence and reference of the `redeem_usd` it pays.
    public let withdrawalSequence: Int64
    public let reference: String
    public let account: String
    public let cents: Int64
    /// `sent`, `settled` (ACSC) or `rejected` (RJCT).
    public let status: String
    /// The bank's reason codes of a rejection.
    public let reasons: [String]
    /// The camt.054 entry that debited the reserve account for it, once reported.
    public let debitedBy: String?
    /// The proposed refund mint of a rejected payment.
    public let refundReference: String?
    /// The pacs.008 document, exactly as first written.
    public let document: [UInt8]
}

/// Something that did not reconcile.
public struct BankAlarm: Sendable, Equatable {
    /// `reversed_after_mint`, `unmatched_debit`, `minted_without_credit`, ...
    public let kind: String
    public let reference: String
    public let detail: String
    /// The bank message that raised it, or nil for one found by comparing with the ledger.
    public let messageID: String?
    public let raisedAtMilliseconds: Int64?
}

/// Why a redemption has no payment yet.
public struct PaymentWaiting: Sendable, Equatable {
    public let reference: String
    public let account: String
    public let reason: String
}

/// The bank details of a holder, from the personal data sealed at onboarding.
public struct Payee: Sendable, Equatable {
    public let name: String
    public let account: String
    public let agentBIC: String

    public init(name: String, account: String, agentBIC: String) {
        self.name = name
        self.account = account
        self.agentBIC = agentBIC
    }
}

extension BankDesk {
    /// The ledger's USD deposit whose bank reference is `reference`, if minted.
    func deposit(reference: String) throws(LedgerError) -> USDReserveMovement? {
        try ledger.usdDeposit(bank: settings.bankName, reference: reference)
    }

    /// Every credit reported, oldest first, with its state read against the ledger.
    public func credits() throws(LedgerError) -> [BankCredit] {
        let deposits = Dictionary(
            try ledger.usdReserveMovements(bank: settings.bankName).filter { $0.kind == .deposit }.map {
                ($0.reference, $0)
            },
            uniquingKeysWith: { first, _ in first })
        return try withStore { (store) throws(LedgerError) -> [BankCredit] in
            try store.query(
                """
                SELECT reference, origin, message_id, account, amount, value_date, reversed_by FROM bank_credits
                ORDER BY received_ms, reference
                """
            ).map { row in
                let reference = row.text(0)
                let minted = deposits[reference]
                let reversedBy = row.optionalText(6)
                let state: BankCredit.State =
                    minted != nil
                    ? .minted : reversedBy != nil ? .reversed : row.optionalText(3) == nil ? .unassigned : .proposed
                return BankCredit(
                    reference: reference, origin: row.text(1), messageID: row.text(2), account: row.optionalText(3),
                    cents: row.int(4), valueDate: row.text(5), state: state, mintSequence: minted?.sequence,
                    mintedTo: minted?.account,
                    reversedBy: reversedBy)
            }
        }
    }

    /// Why a `mint_usd` of `cents` to `account` with bank reference `reference` does not match a credit the
    /// bank reported, or nil when it does. With a bank desk, every USD mint at its bank needs one.
    public func mintProblem(account: String, cents: Int64, reference: String) throws(LedgerError) -> String? {
        let row = try withStore {
            (store) throws(LedgerError) -> (account: String?, cents: Int64, reversedBy: String?)? in
            try store.query(
                "SELECT account, amount, reversed_by FROM bank_credits WHERE reference = ?", [.text(reference)]
            )
            .first.map { ($0.optionalText(0), $0.int(1), $0.optionalText(2)) }
        }
        guard let row else {
            return "the bank reported no credit with reference \(reference) (camt.054 AcctSvcrRef or NtryRef); import "
                + "its notification first (sdt bank import)"
        }
        if let minted = try deposit(reference: reference) {
            return "credit \(reference) is already minted at sequence \(minted.sequence)"
        }
        if let reversal = row.reversedBy {
            return "the bank reversed credit \(reference) (entry \(reversal)); it cannot be minted"
        }
        let credit = (account: row.account, cents: row.cents)
        guard credit.cents == cents else {
            return
                "the bank credited \(ISOAmount.text(credit.cents)) USD under \(reference), not \(ISOAmount.text(cents))"
        }
        if let named = credit.account, named != account {
            return "the depositor named sdt:\(named) for credit \(reference), not \(account)"
        }
        return nil
    }

    /// Every payment written, oldest first.
    public func payments() throws(LedgerError) -> [BankPayment] {
        try withStore { (store) throws(LedgerError) -> [BankPayment] in
            try store.query(
                """
                SELECT end_to_end_id, uetr, message_id, withdrawal_sequence, reference, account, amount, status,
                       reasons, debited_by, refund_reference, document
                FROM bank_payments ORDER BY withdrawal_sequence
                """
            ).map { row in
                BankPayment(
                    endToEndID: row.text(0), uetr: row.text(1), messageID: row.text(2), withdrawalSequence: row.int(3),
                    reference: row.text(4), account: row.text(5), cents: row.int(6), status: row.text(7),
                    reasons: row.text(8).split(separator: ",").map(String.init), debitedBy: row.optionalText(9),
                    refundReference: row.optionalText(10), document: row.blob(11))
            }
        }
    }

    /// The alarms raised by bank messages, then those found now by comparing the ledger's USD deposits at
    /// this bank with the credits the bank reported: a mint without a credit, or of another amount or
    /// account, or a credit reversed after its mint was queued.
    public func alarms() throws(LedgerError) -> [BankAlarm] {
        let raised = try withStore { (store) throws(LedgerError) -> [BankAlarm] in
            try store.query("SELECT kind, reference, detail, message_id, raised_ms FROM bank_alarms ORDER BY id").map {
                BankAlarm(
                    kind: $0.text(0), reference: $0.text(1), detail: $0.text(2), messageID: $0.text(3),
                    raisedAtMilliseconds: $0.int(4))
            }
        }
        let credits = Dictionary(try credits().map { ($0.reference, $0) }, uniquingKeysWith: { first, _ in first })
        var found: [BankAlarm] = []
        for deposit in try ledger.usdReserveMovements(bank: settings.bankName) where deposit.kind == .deposit {
            func alarm(_ kind: String, _ detail: String) {
                found.append(
                    BankAlarm(
                        kind: kind, reference: deposit.reference, detail: detail, messageID: nil,
                        raisedAtMilliseconds: nil))
            }
            guard let credit = credits[deposit.reference] else {
                alarm(
                    "minted_without_credit",
                    "the ledger minted \(ISOAmount.text(deposit.amount)) USD to \(deposit.account) at sequence "
                        + "\(deposit.sequence) under a reference the bank never reported")
                continue
            }
            if credit.cents != deposit.amount || (credit.account.map { $0 != deposit.account } ?? false) {
                alarm(
                    "mint_mismatch",
                    "the mint at sequence \(deposit.sequence) (\(ISOAmount.text(deposit.amount)) USD to "
                        + "\(deposit.account)) differs from the bank's credit (\(ISOAmount.text(credit.cents)) USD for "
                        + "\(credit.account ?? "no named account"))")
            }
            if let reversal = credit.reversedBy,
                !raised.contains(where: { $0.kind == "reversed_after_mint" && $0.reference == deposit.reference })
            {
                alarm(
                    "reversed_after_mint",
                    "the bank reversed credit \(deposit.reference) (entry \(reversal)) and the ledger minted it at "
                        + "sequence \(deposit.sequence): the reserves no longer back that mint")
            }
        }
        return raised + found
    }

    /// Writes a pacs.008 for every USD redemption at this bank that has none yet, paying the holder's bank
    /// account on file (`payee`); also into the outbox folder when configured. Returns every payment still
    /// waiting for the bank's final status, and the redemptions that cannot be paid yet, with why.
    public func preparePayments(
        payee: (String) -> Result<Payee, BankDeskError>
    ) throws(BankDeskError)
        -> (open: [BankPayment], waiting: [PaymentWaiting])
    {
        var waiting: [PaymentWaiting] = []
        do {
            let withdrawals = try ledger.usdReserveMovements(bank: settings.bankName).filter { $0.kind == .withdrawal }
            let paid = Set(try payments().map(\.withdrawalSequence))
            for withdrawal in withdrawals where !paid.contains(withdrawal.sequence) {
                switch payee(withdrawal.account) {
                case .failure(let problem):
                    waiting.append(
                        PaymentWaiting(
                            reference: withdrawal.reference, account: withdrawal.account,
                            reason: problem.description))
                case .success(let payee):
                    if let problem = try write(withdrawal, to: payee) {
                        waiting.append(
                            PaymentWaiting(
                                reference: withdrawal.reference, account: withdrawal.account,
                                reason: problem))
                    }
                }
            }
            try writeOutbox()
            return (try payments().filter { $0.status == "sent" }, waiting)
        } catch let error as BankDeskError {
            throw error
        } catch {
            throw BankDeskError("storage", "the bank desk's store failed: \(error)")
        }
    }

    /// Records the payment of one withdrawal; returns why not when its document would not be valid.
    private func write(_ withdrawal: USDReserveMovement, to payee: Payee) throws(LedgerError) -> String? {
        // The redemption's own reference when it fits Max35Text and no other payment has it; else one made
        // from the ledger sequence, which no two redemptions share.
        let taken = try withStore { (store) throws(LedgerError) -> Bool in
            !(try store.query(
                "SELECT 1 FROM bank_payments WHERE end_to_end_id = ?", [.text(withdrawal.reference)]
            ).isEmpty)
        }
        let endToEnd =
            withdrawal.reference.count <= 35 && !taken ? withdrawal.reference : "\(region)-W\(withdrawal.sequence)"
        let bytes = random.bytes(16)
        let uetr = ISOIdentifiers.uetr(bytes)
        let messageID = "\(region)-P\(withdrawal.sequence)"
        let now = clock.nowMilliseconds()
        let document = CreditTransferWriter.document(
            messageID: messageID, createdAt: ISOIdentifiers.timestamp(now), endToEndID: endToEnd, uetr: uetr,
            cents: withdrawal.amount,
            settlementDate: withdrawal.valueDate,
            parties: PaymentParties(
                debtorName: String(settings.accountHolder.prefix(140)), debtorAccount: settings.reserveAccount,
                debtorAgentBIC: settings.bankBIC, creditorName: String(payee.name.prefix(140)),
                creditorAccount: payee.account,
                creditorAgentBIC: payee.agentBIC),
            remittance: "SDT \(region) redemption \(withdrawal.reference)".prefix(140).description)
        let problems = ISO20022Message.pacs008.schemaProblems(document)
        guard problems.isEmpty else {
            return "its pacs.008 would not be valid: \(problems.prefix(2).joined(separator: "; "))"
        }
        let inserted = try withStore { (store) throws(LedgerError) -> Int64 in
            try store.query(
                """
                INSERT INTO bank_payments (
                    end_to_end_id, uetr, message_id, withdrawal_sequence, reference, account, amount, document,
                    created_ms
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
                [
                    .text(endToEnd), .text(uetr), .text(messageID), .integer(withdrawal.sequence),
                    .text(withdrawal.reference),
                    .text(withdrawal.account), .integer(withdrawal.amount), .blob(document), .integer(now),
                ])
            return try store.query("SELECT changes()").first?.int(0) ?? 0
        }
        guard inserted == 1 else {
            // Another export wrote it meanwhile (fine), or an identifier collided: say which.
            let paid = try withStore { (store) throws(LedgerError) -> Bool in
                !(try store.query(
                    "SELECT 1 FROM bank_payments WHERE withdrawal_sequence = ?", [.integer(withdrawal.sequence)]
                ).isEmpty)
            }
            return paid ? nil : "its EndToEndId \(endToEnd) or MsgId \(messageID) is already another payment's"
        }
        return nil
    }

    /// Writes each payment not yet in the outbox folder as `<MsgId>.xml` (whole files only: written to a
    /// temporary name, then renamed), then marks it written. A crash between the two writes the same file again.
    private func writeOutbox() throws {
        guard let folder = settings.outbox else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let pending = try withStore { (store) throws(LedgerError) -> [(String, [UInt8])] in
            try store.query("SELECT message_id, document FROM bank_payments WHERE written = 0").map {
                ($0.text(0), $0.blob(1))
            }
        }
        for (messageID, document) in pending {
            let url = URL(fileURLWithPath: folder).appendingPathComponent("\(messageID).xml")
            try Data(document).write(to: url, options: .atomic)
            try withStore { (store) throws(LedgerError) in
                try store.query("UPDATE bank_payments SET written = 1 WHERE message_id = ?", [.text(messageID)])
            }
        }
    }
}
