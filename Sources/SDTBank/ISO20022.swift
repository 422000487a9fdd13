import SDTCore

/// The ISO 20022 messages the region exchanges with its custodian bank, each with its namespace and
/// the official schema every document read or written is checked against.
public enum ISO20022Message: String, Sendable, CaseIterable {
    /// BankToCustomerDebitCreditNotification: the bank reports credits and debits on the reserve account.
    case camt054 = "camt.054.001.08"
    /// FIToFICustomerCreditTransfer: a USD redemption paid out to the holder's bank account.
    case pacs008 = "pacs.008.001.09"
    /// FIToFIPaymentStatusReport: the bank's status of such a payment.
    case pacs002 = "pacs.002.001.11"

    public var namespace: String { "urn:iso:std:iso:20022:tech:xsd:\(rawValue)" }

    /// The message's element under `Document`.
    public var bodyElement: String {
        switch self {
        case .camt054: "BkToCstmrDbtCdtNtfctn"
        case .pacs008: "FIToFICstmrCdtTrf"
        case .pacs002: "FIToFIPmtStsRpt"
        }
    }

    var schema: CompiledSchema {
        switch self {
        case .camt054: Schemas.camt054
        case .pacs008: Schemas.pacs008
        case .pacs002: Schemas.pacs002
        }
    }

    /// The schema's complaints about `bytes` (empty when valid).
    public func schemaProblems(_ bytes: [UInt8]) -> [String] { XMLDocumentIO.validate(bytes, against: schema) }

    /// Parses and checks an incoming document: well-formed without a DOCTYPE, `Document` in one of the
    /// namespaces of `accepted`, and valid against that message's official schema. Returns which
    /// message it is and its body element.
    public static func read(
        _ bytes: [UInt8], accepting accepted: [ISO20022Message]
    ) throws(XMLProblem)
        -> (message: ISO20022Message, body: XMLElement)
    {
        let root = try XMLDocumentIO.parse(bytes)
        let names = accepted.map(\.namespace).joined(separator: " or ")
        guard root.name == "Document" else {
            throw XMLProblem("the root element is <\(root.name)>; an ISO 20022 message is a <Document> in \(names)")
        }
        guard let message = accepted.first(where: { $0.namespace == root.namespace }) else {
            throw XMLProblem(
                "the document's namespace is \(root.namespace.map { "\"\($0)\"" } ?? "missing"); expected \(names)")
        }
        let problems = message.schemaProblems(bytes)
        guard problems.isEmpty else {
            throw XMLProblem(
                "the document is not a valid \(message.rawValue) (official schema): "
                    + problems.prefix(3).joined(separator: "; "))
        }
        guard let body = root.child(message.bodyElement) else {
            throw XMLProblem("the document has no <\(message.bodyElement)>")
        }
        return (message, body)
    }
}

/// The embedded schemas, compiled once on first use.
private enum Schemas {
    static let camt054 = CompiledSchema(PackageResources.camt_054_001_08_xsd, name: "camt.054.001.08")
    static let pacs008 = CompiledSchema(PackageResources.pacs_008_001_09_xsd, name: "pacs.008.001.09")
    static let pacs002 = CompiledSchema(PackageResources.pacs_002_001_11_xsd, name: "pacs.002.001.11")
}

/// US dollar amounts as ISO 20022 writes them (`1250.00`), to and from cents, exactly.
public enum ISOAmount {
    /// Cents of a decimal amount; nil when it is not a positive decimal, has non-zero digits past the
    /// cents, or is larger than the ledger can hold.
    public static func cents(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 16,
            whole.allSatisfy(\.isASCIIDigit)
        else { return nil }
        var fraction = parts.count == 2 ? Array(parts[1]) : []
        guard parts.count == 1 || !fraction.isEmpty, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
        while fraction.count > 2 {
            guard fraction.removeLast() == "0" else { return nil }
        }
        while fraction.count < 2 { fraction.append("0") }
        guard let units = Int64(whole), let minor = Int64(String(fraction)) else { return nil }
        let (hundreds, overflow) = units.multipliedReportingOverflow(by: 100)
        guard !overflow, hundreds <= Amount.minorUnitsMax - minor else { return nil }
        let total = hundreds + minor
        return total > 0 ? total : nil
    }

    /// `cents` as `units.cc`.
    public static func text(_ cents: Int64) -> String {
        let minor = cents % 100
        return "\(cents / 100).\(minor < 10 ? "0" : "")\(minor)"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
