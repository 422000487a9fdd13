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
/// payee region's, at the banks the signed registry lists for them (the debtor's bank is the instructed
/// agent that settles it). GOLD instructions are not payments between banks and are not in it.
///
/// The document is a function of the cycle and of the accounts it pays between: its MsgId is
/// `KD-CYCLE-<n>-<6 hex of a digest of the accounts>`, each EndToEndId `KD-C<n>-<i>`, each UETR the first
/// 16 bytes of a SHA-512 of the cycle's record, the accounts and the transaction's place (with the version
/// 4 bits set), and its creation time and settlement date are the cycle's planning time. Exporting a
/// cycle twice gives the same bytes, so a bank that sees it twice recognises the same payments; a
/// registry that changes an account changes the identifiers with it.
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
    static let accountsDomain = "SDT-PACS009-ACCOUNTS-V1\n"

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
        var parties: [(debtor: InterbankParty, creditor: InterbankParty)] = []
        for instruction in usd {
            var sides: [InterbankParty] = []
            for region in [instruction.payer, instruction.payee] {
                guard let entry = registry.entry(region) else {
                    return .failure(
                        SettlementMessageError(
                            code: "settlement_account_unknown",
                            description:
                                "\(region) is not in the registry (version \(registry.version)) any more: the "
                                + "registry authority lists it again, with settlement_bic and settlement_account, "
                                + "until its settlement is done"))
                }
                guard let account = entry.settlement else {
                    return .failure(
                        SettlementMessageError(
                            code: "settlement_account_unknown",
                            description:
                                "the registry (version \(registry.version)) lists no USD reserve account for \(region) "
                                + "(settlement_bic and settlement_account): the registry authority adds them to its "
                                + "entry (sdt registry entry prints them from the region's [bank]) and signs it again"))
                }
                sides.append(
                    InterbankParty(
                        name: entry.name, identifier: region, account: account.account,
                        agentBIC: account.bic))
            }
            parties.append((sides[0], sides[1]))
        }
        // The identifiers follow the cycle and the accounts it pays between: the same cycle over the same
        // accounts always gives the same MsgId and UETRs, and if the registry changes an account, both change
        // too, so no bank sees one UETR with two different accounts.
        let accounts = Array(
            parties.map { pair in
                [pair.debtor, pair.creditor].map { "\($0.identifier) \($0.agentBIC) \($0.account)" }
                    .joined(separator: " > ")
            }.joined(separator: "\n").utf8)
        let accountsDigest = Hex.encode(Ed25519Group.sha512(Array(accountsDomain.utf8), accounts).prefix(3))
        var transfers: [InterbankTransfer] = []
        for (index, (instruction, pair)) in zip(usd, parties).enumerated() {
            let place = index + 1
            let digest = Ed25519Group.sha512(
                Array(uetrDomain.utf8), record.bytes, accounts, Array("\n\(place)".utf8))
            transfers.append(
                InterbankTransfer(
                    endToEndID: "KD-C\(record.number)-\(place)", uetr: ISOIdentifiers.uetr(Array(digest.prefix(16))),
                    cents: instruction.amount, debtor: pair.debtor, creditor: pair.creditor,
                    remittance:
                        "SDT K$ settlement cycle \(record.number): \(instruction.payer) pays \(instruction.payee)"))
        }
        let messageID = "KD-CYCLE-\(record.number)-\(accountsDigest)"
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
