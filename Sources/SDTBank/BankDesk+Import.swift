import SDTCore
import SDTCrypto
import SDTLedger

/// Why the desk refused a whole message or request; nothing of it was applied.
public struct BankDeskError: Error, Sendable, CustomStringConvertible {
    /// A stable code for the problem body: `bank_message_invalid`, `bank_account_mismatch`, `message_id_reused`,
    /// `storage`.
    public let code: String
    public let description: String

    public init(_ code: String, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// What an import did with each entry or payment status of a message.
public struct BankImportReport: Sendable, Equatable {
    public enum Result: String, Sendable {
        /// A credit became a proposed mint.
        case proposed
        /// Seen before (same reference, or the whole message): nothing applied again.
        case duplicate
        /// A reversal cancelled a credit that had not been minted.
        case reversed
        /// A debit matched the payment of a redemption.
        case matched
        /// A payment status: settled, rejected, or interim.
        case settled, rejected, interim
        /// Not booked yet (pending or information only): nothing recorded, send it again once booked.
        case ignored
        /// Did not reconcile: an alarm was raised (`GET /v1/admin/bank/alarms`).
        case alarm
    }

    public struct Line: Sendable, Equatable {
        public let reference: String
        public let result: Result
        public let detail: String
    }

    public let message: ISO20022Message
    public let messageID: String
    /// True when this exact message was imported before: nothing was applied.
    public let duplicate: Bool
    public let lines: [Line]
}

extension BankDesk {
    /// Reads a camt.054 or pacs.002 from the bank and applies it, all in one transaction. A malformed,
    /// DOCTYPE-bearing, wrongly namespaced or schema-invalid document, a notification of another account,
    /// or a message id reused with other content is refused whole.
    public func importMessage(_ bytes: [UInt8], operatorKey: String) throws(BankDeskError) -> BankImportReport {
        let message: ISO20022Message
        let body: XMLElement
        do {
            (message, body) = try ISO20022Message.read(bytes, accepting: [.camt054, .pacs002])
        } catch {
            throw BankDeskError("bank_message_invalid", error.description)
        }
        enum Parsed {
            case notification(CreditNotification)
            case report(PaymentStatusReport)
        }
        let parsed: Parsed
        do {
            parsed =
                message == .camt054
                ? .notification(try CreditNotification(body)) : .report(try PaymentStatusReport(body))
        } catch {
            throw BankDeskError("bank_message_invalid", error.description)
        }
        let messageID: String
        switch parsed {
        case .notification(let notification):
            guard notification.account == settings.reserveAccount else {
                throw BankDeskError(
                    "bank_account_mismatch",
                    "the notification is for account \(notification.account ?? "(none)"), not the region's reserve "
                        + "account \(settings.reserveAccount) ([bank] reserve_account); nothing applied")
            }
            messageID = notification.messageID
        case .report(let report): messageID = report.messageID
        }
        let sha3 = Hex.encode(SHA3.hash256(bytes))
        let now = clock.nowMilliseconds()
        let answer: Result<BankImportReport, BankDeskError>
        do {
            answer = try withStore { (store) throws(LedgerError) -> Result<BankImportReport, BankDeskError> in
                try store.transaction { () throws(LedgerError) -> Result<BankImportReport, BankDeskError> in
                    if let seen = try store.query(
                        "SELECT sha3 FROM bank_messages WHERE kind = ? AND message_id = ?",
                        [.text(message.rawValue), .text(messageID)]
                    ).first {
                        guard seen.text(0) == sha3 else {
                            return .failure(
                                BankDeskError(
                                    "message_id_reused",
                                    "MsgId \(messageID) was imported before with other content "
                                        + "(SHA3-256 \(seen.text(0))); nothing applied. A bank never reuses a "
                                        + "MsgId: ask the bank which one is right."
                                ))
                        }
                        return .success(
                            BankImportReport(
                                message: message, messageID: messageID, duplicate: true,
                                lines: [
                                    .init(
                                        reference: messageID, result: .duplicate,
                                        detail: "this message was imported before; nothing applied again")
                                ]))
                    }
                    let run = ImportRun(desk: self, store: store, now: now)
                    let lines: [BankImportReport.Line]
                    switch parsed {
                    case .notification(let notification): lines = try run.notification(notification)
                    case .report(let report): lines = try run.statusReport(report)
                    }
                    try store.query(
                        """
                        INSERT INTO bank_messages (kind, message_id, sha3, received_ms, operator_key)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                        [.text(message.rawValue), .text(messageID), .text(sha3), .integer(now), .text(operatorKey)])
                    return .success(
                        BankImportReport(message: message, messageID: messageID, duplicate: false, lines: lines))
                }
            }
        } catch {
            throw BankDeskError("storage", "the bank desk's store failed: \(error); nothing applied")
        }
        return try answer.get()
    }
}

/// One import's work inside its transaction.
private struct ImportRun {
    let desk: BankDesk
    let store: SQLiteConnection
    let now: Int64

    func notification(_ notification: CreditNotification) throws(LedgerError) -> [BankImportReport.Line] {
        var lines: [BankImportReport.Line] = []
        for entry in notification.entries { lines.append(try self.entry(entry, messageID: notification.messageID)) }
        return lines
    }

    private func entry(_ entry: BankEntry, messageID: String) throws(LedgerError) -> BankImportReport.Line {
        guard let reference = entry.reference else {
            return try alarm(
                "missing_reference", "(none)", messageID,
                "an entry of \(entry.amountText) \(entry.currency) has no AcctSvcrRef (the bank's own reference), so "
                    + "it cannot be told from a duplicate; ask the bank to send it with one")
        }
        guard entry.status == "BOOK" else {
            return .init(
                reference: reference, result: .ignored,
                detail: "status \(entry.status): not booked, so nothing is recorded; the notification that reports "
                    + "it booked records it")
        }
        let cents = ISOAmount.cents(entry.amountText)
        if let seen = try store.query(
            "SELECT direction, reversal, amount FROM bank_entries WHERE reference = ?", [.text(reference)]
        ).first {
            guard seen.text(0) == entry.direction.rawValue, (seen.int(1) == 1) == entry.reversal,
                seen.int(2) == (cents ?? 0)
            else {
                return try alarm(
                    "reference_reused", reference, messageID,
                    "entry \(reference) was imported before as another movement (\(seen.text(0)) of "
                        + "\(ISOAmount.text(seen.int(2))) USD); this one is not applied: ask the bank")
            }
            return .init(reference: reference, result: .duplicate, detail: "entry \(reference) was imported before")
        }
        try store.query(
            """
            INSERT INTO bank_entries (reference, message_id, direction, reversal, amount, result)
            VALUES (?, ?, ?, ?, ?, '')
            """,
            [
                .text(reference), .text(messageID), .text(entry.direction.rawValue), .integer(entry.reversal ? 1 : 0),
                .integer(cents ?? 0),
            ])
        let line = try decide(entry, reference: reference, cents: cents, messageID: messageID)
        try store.query(
            "UPDATE bank_entries SET result = ? WHERE reference = ?", [.text(line.result.rawValue), .text(reference)])
        return line
    }

    private func decide(
        _ entry: BankEntry, reference: String, cents: Int64?, messageID: String
    ) throws(LedgerError)
        -> BankImportReport.Line
    {
        guard entry.currency == "USD" else {
            return try alarm(
                "currency", reference, messageID,
                "the entry is in \(entry.currency); the reserve account holds USD only")
        }
        guard let cents else {
            return try alarm(
                "amount", reference, messageID,
                "the amount \(entry.amountText) is not a whole number of cents within the ledger's range")
        }
        switch (entry.direction, entry.reversal) {
        case (.credit, false):
            guard entry.transactionCount <= 1 else {
                return try alarm(
                    "batched_entry", reference, messageID,
                    "the credit of \(ISOAmount.text(cents)) USD batches \(entry.transactionCount) transactions; each "
                        + "depositor's credit must be its own entry to be proposed to its account")
            }
            guard try store.query("SELECT 1 FROM bank_credits WHERE reference = ?", [.text(reference)]).isEmpty else {
                return try alarm(
                    "reference_reused", reference, messageID,
                    "a credit with reference \(reference) is already proposed (a refund of a rejected payment)")
            }
            let account = CreditNotification.namedAccount(entry.remittance)
            guard let valueDate = entry.valueDate else {
                return try alarm("value_date", reference, messageID, "the credit has no value or booking date")
            }
            try store.query(
                """
                INSERT INTO bank_credits (reference, origin, message_id, account, amount, value_date, received_ms)
                VALUES (?, 'camt.054', ?, ?, ?, ?, ?)
                """,
                [
                    .text(reference), .text(messageID), account.map { .text($0) } ?? .null, .integer(cents),
                    .text(valueDate),
                    .integer(now),
                ])
            let amount = ISOAmount.text(cents)
            guard let account else {
                return .init(
                    reference: reference, result: .proposed,
                    detail: "a mint of \(amount) USD, but the remittance names no sdt:<account>: an operator "
                        + "must name the account when approving (sdt bank approve \(reference) --account ...)")
            }
            return .init(
                reference: reference, result: .proposed,
                detail: "a mint of \(amount) USD to \(account), waiting for an operator's signed approval "
                    + "(sdt bank approve \(reference))")
        case (.debit, true):
            return try reversal(entry, reference: reference, cents: cents, messageID: messageID)
        case (.debit, false):
            guard let endToEnd = entry.endToEndID,
                let payment = try store.query(
                    "SELECT amount, debited_by, status FROM bank_payments WHERE end_to_end_id = ?", [.text(endToEnd)]
                ).first
            else {
                return try alarm(
                    "unmatched_debit", reference, messageID,
                    "a debit of \(ISOAmount.text(cents)) USD (EndToEndId \(entry.endToEndID ?? "none")) "
                        + "matches no payment of a redemption: money left the reserve account unexplained")
            }
            guard payment.int(0) == cents else {
                return try alarm(
                    "debit_amount", reference, messageID,
                    "the debit of \(ISOAmount.text(cents)) USD for \(endToEnd) differs from its payment of "
                        + "\(ISOAmount.text(payment.int(0))) USD")
            }
            if let earlier = payment.optionalText(1) {
                return try alarm(
                    "double_debit", reference, messageID,
                    "payment \(endToEnd) was already debited by entry \(earlier): "
                        + "\(ISOAmount.text(cents)) USD left the reserve account twice")
            }
            guard payment.text(2) != "rejected" else {
                return try alarm(
                    "debit_after_reject", reference, messageID,
                    "the bank debited \(ISOAmount.text(cents)) USD for payment \(endToEnd), which its pacs.002 "
                        + "rejected (a refund may be proposed): do not approve the refund until this is resolved")
            }
            try store.query(
                "UPDATE bank_payments SET debited_by = ? WHERE end_to_end_id = ?", [.text(reference), .text(endToEnd)])
            return .init(
                reference: reference, result: .matched,
                detail: "the debit pays redemption \(endToEnd): the reserve account paid it out")
        case (.credit, true):
            return try alarm(
                "debit_reversed", reference, messageID,
                "the bank reversed a debit of \(ISOAmount.text(cents)) USD: money came back to the reserve "
                    + "account; find the payment and decide what to do")
        }
    }

    private func reversal(
        _ entry: BankEntry, reference: String, cents: Int64, messageID: String
    ) throws(LedgerError)
        -> BankImportReport.Line
    {
        guard let original = entry.reversedReference else {
            return try alarm(
                "unmatched_reversal", reference, messageID,
                "the reversal names no reversed entry (TxDtls/Refs/AcctSvcrRef)")
        }
        guard
            let credit = try store.query(
                "SELECT amount, reversed_by FROM bank_credits WHERE reference = ?", [.text(original)]
            ).first
        else {
            return try alarm(
                "unmatched_reversal", reference, messageID,
                "the bank reversed entry \(original), which no imported credit has as its reference")
        }
        guard credit.int(0) == cents else {
            return try alarm(
                "reversal_amount", reference, messageID,
                "the reversal of \(ISOAmount.text(cents)) USD differs from credit \(original) of "
                    + "\(ISOAmount.text(credit.int(0))) USD")
        }
        if let earlier = credit.optionalText(1) {
            return try alarm(
                "double_reversal", original, messageID,
                "credit \(original) was already reversed by entry \(earlier); entry \(reference) reverses it again")
        }
        try store.query(
            "UPDATE bank_credits SET reversed_by = ? WHERE reference = ?", [.text(reference), .text(original)])
        if let minted = try desk.deposit(reference: original) {
            return try alarm(
                "reversed_after_mint", original, messageID,
                "the bank reversed credit \(original) of \(ISOAmount.text(cents)) USD, which was already "
                    + "minted to \(minted.account) at sequence \(minted.sequence): the reserves no longer "
                    + "back that mint; redeem or claw it back")
        }
        return .init(
            reference: reference, result: .reversed,
            detail: "credit \(original) was reversed before it was minted; it can no longer be approved")
    }

    /// Each transaction's status; a group status without transaction lines applies to every payment of
    /// the original message.
    func statusReport(_ report: PaymentStatusReport) throws(LedgerError) -> [BankImportReport.Line] {
        var statuses = report.statuses
        if statuses.isEmpty, let group = report.groupStatus, let original = report.originalMessageID {
            statuses = try store.query(
                "SELECT end_to_end_id, uetr FROM bank_payments WHERE message_id = ?", [.text(original)]
            ).map { .init(endToEndID: $0.text(0), uetr: $0.text(1), status: group, reasons: report.groupReasons) }
            if statuses.isEmpty {
                return [
                    try alarm(
                        "unknown_payment", original, report.messageID,
                        "a group status \(group) for message \(original), which this region never sent")
                ]
            }
        }
        var lines: [BankImportReport.Line] = []
        for status in statuses { lines.append(try self.status(status, messageID: report.messageID)) }
        return lines
    }

    private func status(
        _ status: PaymentStatusReport.Status, messageID: String
    ) throws(LedgerError)
        -> BankImportReport.Line
    {
        let name = status.uetr ?? status.endToEndID ?? "(none)"
        let rows = try store.query(
            """
            SELECT end_to_end_id, status, account, amount, debited_by FROM bank_payments
            WHERE (?1 IS NOT NULL AND uetr = ?1) OR (?1 IS NULL AND end_to_end_id = ?2)
            """, [status.uetr.map { .text($0) } ?? .null, status.endToEndID.map { .text($0) } ?? .null])
        guard let payment = rows.first else {
            return try alarm(
                "unknown_payment", name, messageID,
                "a status \(status.status) for a payment this region never sent (UETR/EndToEndId \(name))")
        }
        let endToEnd = payment.text(0)
        let current = payment.text(1)
        let reasons = status.reasons.joined(separator: ",")
        switch status.status {
        case "ACSC", "RJCT":
            let wanted = status.status == "ACSC" ? "settled" : "rejected"
            if current == wanted {
                return .init(
                    reference: endToEnd, result: .duplicate, detail: "payment \(endToEnd) is already \(wanted)")
            }
            guard current == "sent" else {
                return try alarm(
                    "conflicting_status", endToEnd, messageID,
                    "the bank now says \(status.status) for payment \(endToEnd), which it reported \(current)")
            }
            guard wanted == "rejected" else {
                try store.query(
                    "UPDATE bank_payments SET status = 'settled', status_message_id = ? WHERE end_to_end_id = ?",
                    [.text(messageID), .text(endToEnd)])
                return .init(reference: endToEnd, result: .settled, detail: "payment \(endToEnd) settled (ACSC)")
            }
            if let debit = payment.optionalText(4) {
                return try alarm(
                    "rejected_after_debit", endToEnd, messageID,
                    "the bank rejected payment \(endToEnd) (\(reasons.isEmpty ? "no reason code" : reasons)) after "
                        + "entry \(debit) debited it: no refund is proposed until the bank says where the money is")
            }
            let refund = "RJCT-\(endToEnd)"
            guard try store.query("SELECT 1 FROM bank_credits WHERE reference = ?", [.text(refund)]).isEmpty else {
                return try alarm(
                    "reference_reused", endToEnd, messageID,
                    "the refund reference \(refund) is already a credit the bank reported; resolve it by hand")
            }
            try store.query(
                """
                UPDATE bank_payments SET status = 'rejected', reasons = ?, status_message_id = ?, refund_reference = ?
                WHERE end_to_end_id = ?
                """, [.text(reasons), .text(messageID), .text(refund), .text(endToEnd)])
            try store.query(
                """
                INSERT INTO bank_credits (reference, origin, message_id, account, amount, value_date, received_ms)
                VALUES (?, 'pacs.002', ?, ?, ?, ?, ?)
                """,
                [
                    .text(refund), .text(messageID), .text(payment.text(2)), .integer(payment.int(3)),
                    .text(Self.date(now)), .integer(now),
                ])
            return .init(
                reference: endToEnd, result: .rejected,
                detail: "payment \(endToEnd) rejected (\(reasons.isEmpty ? "no reason code" : reasons)); the "
                    + "\(ISOAmount.text(payment.int(3))) USD stayed in the reserve account, so a refund mint to "
                    + "\(payment.text(2)) is proposed: sdt bank approve \(refund)")
        default:
            return .init(
                reference: endToEnd, result: .interim,
                detail: "status \(status.status) noted; the payment waits for ACSC or RJCT")
        }
    }

    private func alarm(
        _ kind: String, _ reference: String, _ messageID: String, _ detail: String
    ) throws(LedgerError)
        -> BankImportReport.Line
    {
        try store.query(
            "INSERT INTO bank_alarms (raised_ms, kind, reference, detail, message_id) VALUES (?, ?, ?, ?, ?)",
            [.integer(now), .text(kind), .text(reference), .text(detail), .text(messageID)])
        return .init(reference: reference, result: .alarm, detail: "\(kind): \(detail)")
    }

    /// `YYYY-MM-DD` (UTC) of a time in milliseconds.
    static func date(_ milliseconds: Int64) -> String { ISOIdentifiers.date(milliseconds) }
}
