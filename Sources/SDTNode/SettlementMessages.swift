import SDTBank
import SDTCore
import SDTCrypto
import SDTGlobal

/// Why a cycle's pacs.009 cannot be written, said so that the operator knows what to fix.
public struct SettlementMessageError: Error, CustomStringConvertible, Sendable {
    /// `nothing_to_pay` (no USD instruction), `settlement_account_unknown` (a region's reserve account is
    /// not in the registry) or `message_invalid` (the document would not pass the official schema).
    public let code: String
    public let description: String
}

/// The pacs.009 of a settlement cycle: one FinancialInstitutionCreditTransfer whose transactions are the
/// cycle's USD instructions, in netting order, each paying from the payer region's reserve account to the
/// payee region's, at the banks the signed registry lists for them. GOLD instructions are not payments
/// between banks and are not in it.
///
/// The document is a function of the cycle alone: its MsgId is `KD-CYCLE-<n>`, each EndToEndId
/// `KD-C<n>-<i>`, each UETR a digest of the cycle's record and the transaction's place, and its creation
/// time and settlement date are the cycle's planning time. Exporting a cycle twice gives the same bytes,
/// so a bank that sees it twice recognises the same payments and does not pay them twice.
public enum SettlementMessages {
    /// The document and what it carries.
    public struct Written: Sendable {
        public let messageID: String
        public let document: [UInt8]
        public let transfers: [InterbankTransfer]
        /// The cycle's instructions in other tokens, which the document does not carry.
        public let notCarried: [Obligation]
    }

    static let uetrDomain = "SDT-PACS009-UETR-V1\n"

    /// Writes the pacs.009 of a stored cycle with the reserve accounts of `registry`.
    public static func pacs009(_ cycle: StoredCycle, registry: RegionRegistry) -> Result<
        Written, SettlementMessageError
    > {
        pacs009(cycle.record, plannedAtMilliseconds: cycle.plannedAtMilliseconds, registry: registry)
    }

    /// Writes the pacs.009 of the cycle `record`, planned at `plannedAtMilliseconds`, with the reserve
    /// accounts of `registry`, checked against the official schema.
    public static func pacs009(
        _ record: SettlementCycle.Recorded, plannedAtMilliseconds: Int64, registry: RegionRegistry
    ) -> Result<Written, SettlementMessageError> {
        let usd = record.instructions.filter { $0.token == .usd }
        let others = record.instructions.filter { $0.token != .usd }
        guard !usd.isEmpty else {
            let rest =
                others.isEmpty
                ? ""
                : " (its other instructions, \(others.map(\.text).joined(separator: ", ")), "
                    + "are not bank payments)"
            return .failure(
                SettlementMessageError(
                    code: "nothing_to_pay", description: "cycle \(record.number) has no USD instruction\(rest)"))
        }
        var transfers: [InterbankTransfer] = []
        for (index, instruction) in usd.enumerated() {
            var accounts: [RegionRegistry.SettlementAccount] = []
            for region in [instruction.payer, instruction.payee] {
                guard let account = registry.entry(region)?.settlement else {
                    return .failure(
                        SettlementMessageError(
                            code: "settlement_account_unknown",
                            description:
                                "the registry (version \(registry.version)) lists no USD reserve account for \(region) "
                                + "(settlement_bic and settlement_account): the registry authority adds them to its "
                                + "entry (sdt registry entry prints them from the region's [bank]) and signs it again"))
                }
                accounts.append(account)
            }
            let place = index + 1
            let digest = Ed25519Group.sha512(Array(uetrDomain.utf8), record.bytes, Array("\n\(place)".utf8))
            transfers.append(
                InterbankTransfer(
                    endToEndID: "KD-C\(record.number)-\(place)", uetr: ISOIdentifiers.uetr(Array(digest.prefix(16))),
                    cents: instruction.amount, debtorBIC: accounts[0].bic, debtorAccount: accounts[0].account,
                    creditorBIC: accounts[1].bic, creditorAccount: accounts[1].account,
                    remittance:
                        "SDT K$ settlement cycle \(record.number): \(instruction.payer) pays \(instruction.payee)"
                ))
        }
        let messageID = "KD-CYCLE-\(record.number)"
        let document = InterbankTransferWriter.document(
            messageID: messageID, createdAt: ISOIdentifiers.timestamp(plannedAtMilliseconds),
            settlementDate: ISOIdentifiers.date(plannedAtMilliseconds), transfers: transfers)
        let problems = ISO20022Message.pacs009.schemaProblems(document)
        guard problems.isEmpty else {
            return .failure(
                SettlementMessageError(
                    code: "message_invalid",
                    description: "cycle \(record.number)'s pacs.009 would not be valid: "
                        + problems.prefix(2).joined(separator: "; ")))
        }
        return .success(Written(messageID: messageID, document: document, transfers: transfers, notCarried: others))
    }
}
