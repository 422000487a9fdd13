import Foundation
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
    /// FinancialInstitutionCreditTransfer: the K$ node's instruction that one region's reserve bank pay
    /// another's, for a settlement cycle's USD instructions.
    case pacs009 = "pacs.009.001.09"

    public var namespace: String { "urn:iso:std:iso:20022:tech:xsd:\(rawValue)" }

    /// The message's element under `Document`.
    public var bodyElement: String {
        switch self {
        case .camt054: "BkToCstmrDbtCdtNtfctn"
        case .pacs008: "FIToFICstmrCdtTrf"
        case .pacs002: "FIToFIPmtStsRpt"
        case .pacs009: "FICdtTrf"
        }
    }

    var schema: CompiledSchema {
        switch self {
        case .camt054: Schemas.camt054
        case .pacs008: Schemas.pacs008
        case .pacs002: Schemas.pacs002
        case .pacs009: Schemas.pacs009
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
    static let pacs009 = CompiledSchema(PackageResources.pacs_009_001_09_xsd, name: "pacs.009.001.09")
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
    public static func text<Cents: BinaryInteger>(_ cents: Cents) -> String {
        let minor = cents % 100
        return "\(cents / 100).\(minor < 10 ? "0" : "")\(minor)"
    }
}

/// The identifiers and times ISO 20022 messages carry, in the forms the schemas take.
public enum ISOIdentifiers {
    /// A UETR: a version 4 UUID made of 16 bytes (random ones, or a digest where the same payment must
    /// always get the same UETR), in the lowercase form the schemas take.
    public static func uetr(_ sixteenBytes: [UInt8]) -> String {
        precondition(sixteenBytes.count == 16, "a UUID is 16 bytes")
        var bytes = sixteenBytes
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let characters = Array(Hex.encode(bytes))
        func part(_ range: Range<Int>) -> String { String(characters[range]) }
        return [part(0..<8), part(8..<12), part(12..<16), part(16..<20), part(20..<32)].joined(separator: "-")
    }

    /// ISO 8601 UTC with seconds, e.g. `2026-12-01T21:30:00Z`.
    public static func timestamp(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(milliseconds / 1000)))
    }

    /// The UTC date, `YYYY-MM-DD`.
    public static func date(_ milliseconds: Int64) -> String { String(timestamp(milliseconds).prefix(10)) }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
