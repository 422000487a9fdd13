import SDTCore

/// One entry of a camt.054 notification, as the bank desk needs it.
public struct BankEntry: Sendable, Equatable {
    public enum Direction: String, Sendable {
        case credit = "CRDT"
        case debit = "DBIT"
    }

    /// The bank's own reference of the entry (`AcctSvcrRef`), unique at the bank: what duplicates are
    /// found by. `NtryRef` is not used: banks number it within one statement only.
    public let reference: String?
    public let direction: Direction
    public let reversal: Bool
    /// `BOOK`, `PDNG`, `INFO` (or a proprietary status).
    public let status: String
    public let currency: String
    /// The amount as the message writes it.
    public let amountText: String
    public let valueDate: String?
    /// For a reversal: the bank reference of the entry it reverses (`TxDtls/Refs/AcctSvcrRef`).
    public let reversedReference: String?
    /// The payment's `EndToEndId`, which ties a debit to the redemption that caused it.
    public let endToEndID: String?
    /// Every unstructured remittance line, where the depositor names the account to credit.
    public let remittance: [String]
    /// How many transactions (`TxDtls`) the entry batches.
    public let transactionCount: Int
}

/// A camt.054 notification of the reserve account.
public struct CreditNotification: Sendable, Equatable {
    public let messageID: String
    public let createdAt: String
    public let account: String?
    public let entries: [BankEntry]

    /// Reads a checked camt.054 body (see `ISO20022Message.read`). Every notification of the message must
    /// be for the same account.
    public init(_ body: XMLElement) throws(XMLProblem) {
        guard let id = body.text("GrpHdr", "MsgId"), let created = body.text("GrpHdr", "CreDtTm") else {
            throw XMLProblem("GrpHdr: MsgId and CreDtTm are required")
        }
        messageID = id
        createdAt = created
        var accounts: Set<String> = []
        var entries: [BankEntry] = []
        for notification in body.all("Ntfctn") {
            let account = notification.text("Acct", "Id", "IBAN") ?? notification.text("Acct", "Id", "Othr", "Id")
            accounts.insert(account ?? "")
            for entry in notification.all("Ntry") { entries.append(Self.entry(entry)) }
        }
        guard accounts.count <= 1 else {
            throw XMLProblem(
                "the message reports \(accounts.count) accounts; send one notification per reserve account")
        }
        account = accounts.first.flatMap { $0.isEmpty ? nil : $0 }
        self.entries = entries
    }

    private static func entry(_ entry: XMLElement) -> BankEntry {
        let details = entry.all("NtryDtls").flatMap { $0.all("TxDtls") }
        let ownReference = entry.text("AcctSvcrRef")
        return BankEntry(
            reference: ownReference,
            direction: entry.text("CdtDbtInd") == "DBIT" ? .debit : .credit,
            reversal: entry.text("RvslInd") == "true" || entry.text("RvslInd") == "1",
            status: entry.text("Sts", "Cd") ?? entry.text("Sts", "Prtry") ?? "",
            currency: entry.child("Amt")?.attributes["Ccy"] ?? "",
            amountText: entry.text("Amt") ?? "",
            valueDate: entry.text("ValDt", "Dt") ?? entry.text("BookgDt", "Dt")
                ?? entry.text("ValDt", "DtTm").map { String($0.prefix(10)) },
            reversedReference: details.lazy.compactMap { $0.text("Refs", "AcctSvcrRef") }.first,
            endToEndID: details.lazy.compactMap { $0.text("Refs", "EndToEndId") }.first,
            remittance: details.flatMap { $0.child("RmtInf")?.all("Ustrd").map(\.text) ?? [] },
            transactionCount: details.count
        )
    }

    /// The account a depositor named in the remittance information: the first `sdt:<account id>` word.
    public static func namedAccount(_ lines: [String]) -> String? {
        for line in lines {
            for word in line.split(whereSeparator: { $0 == " " || $0 == "/" || $0 == "," }) {
                guard word.hasPrefix("sdt:") else { continue }
                let account = word.dropFirst(4)
                if Identifier.isValidAccountID(account) { return String(account) }
            }
        }
        return nil
    }
}

/// A pacs.002 status report on payments the region sent.
public struct PaymentStatusReport: Sendable, Equatable {
    public struct Status: Sendable, Equatable {
        public let endToEndID: String?
        public let uetr: String?
        /// `ACSC` settled, `RJCT` rejected, or an interim status (`ACTC`, `ACSP`, `PDNG`, ...).
        public let status: String
        /// The reason codes given (e.g. `AC04` closed account), in order.
        public let reasons: [String]
    }

    public let messageID: String
    public let originalMessageID: String?
    /// The status of the whole original message (`OrgnlGrpInfAndSts/GrpSts`), with its reason codes.
    public let groupStatus: String?
    public let groupReasons: [String]
    public let statuses: [Status]

    public init(_ body: XMLElement) throws(XMLProblem) {
        guard let id = body.text("GrpHdr", "MsgId") else { throw XMLProblem("GrpHdr: MsgId is required") }
        messageID = id
        let group = body.all("OrgnlGrpInfAndSts").first
        originalMessageID = group?.text("OrgnlMsgId")
        groupStatus = group?.text("GrpSts")
        groupReasons = group?.all("StsRsnInf").compactMap { $0.text("Rsn", "Cd") ?? $0.text("Rsn", "Prtry") } ?? []
        statuses = body.all("TxInfAndSts").map { transaction in
            Status(
                endToEndID: transaction.text("OrgnlEndToEndId"), uetr: transaction.text("OrgnlUETR"),
                status: transaction.text("TxSts") ?? "",
                reasons: transaction.all("StsRsnInf").compactMap { $0.text("Rsn", "Cd") ?? $0.text("Rsn", "Prtry") })
        }
        guard !statuses.isEmpty || groupStatus != nil else {
            throw XMLProblem("the status report gives no status: neither TxInfAndSts nor OrgnlGrpInfAndSts/GrpSts")
        }
    }
}

/// The parties of a redemption's payment out of the reserve account.
public struct PaymentParties: Sendable, Equatable {
    /// The region (the debtor), its reserve account and its bank's BIC.
    public let debtorName: String
    public let debtorAccount: String
    public let debtorAgentBIC: String
    /// The holder (the creditor), the bank account on file and that bank's BIC.
    public let creditorName: String
    public let creditorAccount: String
    public let creditorAgentBIC: String

    public init(
        debtorName: String, debtorAccount: String, debtorAgentBIC: String, creditorName: String,
        creditorAccount: String,
        creditorAgentBIC: String
    ) {
        self.debtorName = debtorName
        self.debtorAccount = debtorAccount
        self.debtorAgentBIC = debtorAgentBIC
        self.creditorName = creditorName
        self.creditorAccount = creditorAccount
        self.creditorAgentBIC = creditorAgentBIC
    }
}

/// Writes the pacs.008 of one redemption.
public enum CreditTransferWriter {
    /// The document for a payment of `cents` USD; `createdAt` is ISO 8601 UTC, `settlementDate` YYYY-MM-DD.
    public static func document(
        messageID: String, createdAt: String, endToEndID: String, uetr: String, cents: Int64, settlementDate: String,
        parties: PaymentParties, remittance: String
    ) -> [UInt8] {
        let amount = ISOAmount.text(cents)
        let transaction = node(
            "CdtTrfTxInf",
            [
                node("PmtId", [leaf("InstrId", endToEndID), leaf("EndToEndId", endToEndID), leaf("UETR", uetr)]),
                leaf("IntrBkSttlmAmt", amount, ["Ccy": "USD"]),
                leaf("IntrBkSttlmDt", settlementDate),
                leaf("ChrgBr", "SLEV"),
                node("Dbtr", [leaf("Nm", parties.debtorName)]),
                node("DbtrAcct", [accountID(parties.debtorAccount)]),
                node("DbtrAgt", [institutionID(bic: parties.debtorAgentBIC)]),
                node("CdtrAgt", [institutionID(bic: parties.creditorAgentBIC)]),
                node("Cdtr", [leaf("Nm", parties.creditorName)]),
                node("CdtrAcct", [accountID(parties.creditorAccount)]),
                node("RmtInf", [leaf("Ustrd", remittance)]),
            ])
        let body = node(
            "FIToFICstmrCdtTrf",
            [
                node(
                    "GrpHdr",
                    [
                        leaf("MsgId", messageID), leaf("CreDtTm", createdAt), leaf("NbOfTxs", "1"),
                        leaf("TtlIntrBkSttlmAmt", amount, ["Ccy": "USD"]), leaf("IntrBkSttlmDt", settlementDate),
                        node("SttlmInf", [leaf("SttlmMtd", "INDA")]),
                    ]),
                transaction,
            ])
        let document = XMLElement("Document", namespace: ISO20022Message.pacs008.namespace, children: [body])
        return XMLDocumentIO.serialise(document)
    }
}

/// One side of a pacs.009 payment: the institution whose account is debited or credited (for the K$
/// node, a region's depository, named and identified by its region code), its account, and the bank
/// that holds the account.
public struct InterbankParty: Sendable, Hashable {
    public var name: String
    public var identifier: String
    public var account: String
    public var agentBIC: String

    public init(name: String, identifier: String, account: String, agentBIC: String) {
        self.name = name
        self.identifier = identifier
        self.account = account
        self.agentBIC = agentBIC
    }
}

/// One payment of a pacs.009: the debtor institution pays the creditor institution, from its account at
/// its bank (the debtor agent, also the instructed agent that is to settle it) to the creditor's account
/// at the creditor's bank.
public struct InterbankTransfer: Sendable, Hashable {
    public var endToEndID: String
    public var uetr: String
    public var cents: Int64
    public var debtor: InterbankParty
    public var creditor: InterbankParty
    public var remittance: String

    public init(
        endToEndID: String, uetr: String, cents: Int64, debtor: InterbankParty, creditor: InterbankParty,
        remittance: String
    ) {
        self.endToEndID = endToEndID
        self.uetr = uetr
        self.cents = cents
        self.debtor = debtor
        self.creditor = creditor
        self.remittance = remittance
    }
}

/// Writes a pacs.009 (FinancialInstitutionCreditTransfer): the K$ node's settlement instructions between
/// the regions, one transaction per USD instruction of a cycle. Each transaction names its debtor bank
/// as the instructed agent, which settles it (`SttlmMtd` `INDA`) by debiting the debtor's account.
public enum InterbankTransferWriter {
    /// The document of `transfers` (at least one), all in USD; `createdAt` is ISO 8601 UTC, `settlementDate`
    /// YYYY-MM-DD. The group header states the count and the total, so a bank can check it has them all.
    public static func document(
        messageID: String, createdAt: String, settlementDate: String, transfers: [InterbankTransfer]
    ) -> [UInt8] {
        precondition(!transfers.isEmpty, "a pacs.009 carries at least one transaction")
        func institution(_ name: String, _ party: InterbankParty) -> XMLElement {
            node(name, [node("FinInstnId", [leaf("Nm", party.name), node("Othr", [leaf("Id", party.identifier)])])])
        }
        let total = transfers.reduce(Int128(0)) { $0 + Int128($1.cents) }
        let transactions = transfers.map { transfer in
            node(
                "CdtTrfTxInf",
                [
                    node(
                        "PmtId",
                        [
                            leaf("InstrId", transfer.endToEndID), leaf("EndToEndId", transfer.endToEndID),
                            leaf("UETR", transfer.uetr),
                        ]),
                    leaf("IntrBkSttlmAmt", ISOAmount.text(transfer.cents), ["Ccy": "USD"]),
                    leaf("IntrBkSttlmDt", settlementDate),
                    node("InstdAgt", [institutionID(bic: transfer.debtor.agentBIC)]),
                    institution("Dbtr", transfer.debtor), node("DbtrAcct", [accountID(transfer.debtor.account)]),
                    node("DbtrAgt", [institutionID(bic: transfer.debtor.agentBIC)]),
                    node("CdtrAgt", [institutionID(bic: transfer.creditor.agentBIC)]),
                    institution("Cdtr", transfer.creditor), node("CdtrAcct", [accountID(transfer.creditor.account)]),
                    node("RmtInf", [leaf("Ustrd", transfer.remittance)]),
                ])
        }
        let header = node(
            "GrpHdr",
            [
                leaf("MsgId", messageID), leaf("CreDtTm", createdAt), leaf("NbOfTxs", String(transfers.count)),
                leaf("TtlIntrBkSttlmAmt", ISOAmount.text(total), ["Ccy": "USD"]),
                leaf("IntrBkSttlmDt", settlementDate), node("SttlmInf", [leaf("SttlmMtd", "INDA")]),
            ])
        let body = node("FICdtTrf", [header] + transactions)
        let document = XMLElement("Document", namespace: ISO20022Message.pacs009.namespace, children: [body])
        return XMLDocumentIO.serialise(document)
    }
}

/// Writes the messages a custodian bank sends (camt.054, pacs.002): what `sdt demo` plays the bank
/// with, and what tests send. A region never sends these itself.
public enum BankSideWriter {
    /// One booked entry of a notification.
    public struct Entry: Sendable {
        public var reference: String
        public var cents: Int64
        public var credit: Bool
        public var reversal: Bool
        public var status: String
        public var valueDate: String
        /// For a reversal, the reversed entry's reference; for a debit, the payment's EndToEndId.
        public var related: String?
        public var remittance: String?

        public init(
            reference: String, cents: Int64, credit: Bool = true, reversal: Bool = false, status: String = "BOOK",
            valueDate: String, related: String? = nil, remittance: String? = nil
        ) {
            self.reference = reference
            self.cents = cents
            self.credit = credit
            self.reversal = reversal
            self.status = status
            self.valueDate = valueDate
            self.related = related
            self.remittance = remittance
        }
    }


    /// A camt.054.001.08 of `entries` on `account`.
    public static func notification(messageID: String, createdAt: String, account: String, entries: [Entry]) -> [UInt8]
    {
        let items = entries.map { entry -> XMLElement in
            var details: [XMLElement] = []
            var references: [XMLElement] = []
            if let related = entry.related {
                references.append(entry.reversal ? leaf("AcctSvcrRef", related) : leaf("EndToEndId", related))
            }
            if !references.isEmpty { details.append(node("Refs", references)) }
            details.append(leaf("Amt", ISOAmount.text(entry.cents), ["Ccy": "USD"]))
            details.append(leaf("CdtDbtInd", entry.credit ? "CRDT" : "DBIT"))
            if let remittance = entry.remittance { details.append(node("RmtInf", [leaf("Ustrd", remittance)])) }
            var children = [
                leaf("NtryRef", entry.reference), leaf("Amt", ISOAmount.text(entry.cents), ["Ccy": "USD"]),
                leaf("CdtDbtInd", entry.credit ? "CRDT" : "DBIT"),
            ]
            if entry.reversal { children.append(leaf("RvslInd", "true")) }
            children += [
                node("Sts", [leaf("Cd", entry.status)]), node("BookgDt", [leaf("Dt", entry.valueDate)]),
                node("ValDt", [leaf("Dt", entry.valueDate)]), leaf("AcctSvcrRef", entry.reference),
                node(
                    "BkTxCd",
                    [
                        node(
                            "Domn",
                            [
                                leaf("Cd", "PMNT"),
                                node("Fmly", [leaf("Cd", entry.credit ? "RCDT" : "ICDT"), leaf("SubFmlyCd", "DMCT")]),
                            ])
                    ]),
                node("NtryDtls", [node("TxDtls", details)]),
            ]
            return node("Ntry", children)
        }
        let body = node(
            "BkToCstmrDbtCdtNtfctn",
            [
                node("GrpHdr", [leaf("MsgId", messageID), leaf("CreDtTm", createdAt)]),
                node(
                    "Ntfctn",
                    [
                        leaf("Id", messageID), leaf("CreDtTm", createdAt),
                        node("Acct", [node("Id", [node("Othr", [leaf("Id", account)])]), leaf("Ccy", "USD")]),
                    ] + items),
            ])
        return XMLDocumentIO.serialise(
            XMLElement("Document", namespace: ISO20022Message.camt054.namespace, children: [body]))
    }

    /// A pacs.002.001.11 giving `status` (with `reasons`) for one payment.
    public static func statusReport(
        messageID: String, createdAt: String, originalMessageID: String, endToEndID: String, uetr: String,
        status: String,
        reasons: [String] = []
    ) -> [UInt8] {
        var transaction = [leaf("OrgnlEndToEndId", endToEndID), leaf("OrgnlUETR", uetr), leaf("TxSts", status)]
        transaction += reasons.map { node("StsRsnInf", [node("Rsn", [leaf("Cd", $0)])]) }
        let body = node(
            "FIToFIPmtStsRpt",
            [
                node("GrpHdr", [leaf("MsgId", messageID), leaf("CreDtTm", createdAt)]),
                node(
                    "OrgnlGrpInfAndSts",
                    [leaf("OrgnlMsgId", originalMessageID), leaf("OrgnlMsgNmId", "pacs.008.001.09")]),
                node("TxInfAndSts", transaction),
            ])
        return XMLDocumentIO.serialise(
            XMLElement("Document", namespace: ISO20022Message.pacs002.namespace, children: [body]))
    }
}

// The element builders every writer here shares.

/// An element holding text.
private func leaf(_ name: String, _ text: String, _ attributes: [String: String] = [:]) -> XMLElement {
    XMLElement(name, attributes: attributes, text: text)
}

/// An element holding elements.
private func node(_ name: String, _ children: [XMLElement]) -> XMLElement { XMLElement(name, children: children) }

/// `<FinInstnId><BICFI>…` of a bank.
private func institutionID(bic: String) -> XMLElement { node("FinInstnId", [leaf("BICFI", bic)]) }

/// `<Id><Othr><Id>…` of an account.
private func accountID(_ id: String) -> XMLElement { node("Id", [node("Othr", [leaf("Id", id)])]) }
