import SDTCore

/// A USD mint or redemption as the ledger recorded it: what the bank desk reconciles against the
/// bank's messages.
public struct USDReserveMovement: Sendable, Equatable {
    public enum Kind: String, Sendable { case deposit, withdrawal }

    public let sequence: Int64
    public let kind: Kind
    public let account: String
    public let amount: Int64
    public let bank: String
    public let reference: String
    public let valueDate: String
    public let appliedAtMilliseconds: Int64
}

extension LedgerReader {
    /// The USD deposit recorded under bank reference `reference` at `bank`, if any (one indexed lookup).
    public func usdDeposit(bank: String, reference: String) throws(LedgerError) -> USDReserveMovement? {
        let rows = try read { (connection) throws(LedgerError) -> [Row] in
            try connection.query(
                """
                SELECT r.sequence, r.kind, e.signing_bytes, e.applied_at_ms FROM reserve_records r
                JOIN entries e ON e.sequence = r.sequence
                WHERE r.token = 'USD' AND r.kind = 'deposit' AND r.reference = ? AND r.released_sequence IS NULL
                """, [.text("\(bank)/\(reference)")])
        }
        return rows.lazy.compactMap { Self.movement($0, bank: bank) }.first
    }

    /// Every USD deposit and withdrawal naming `bank`, in ledger order, from `after` on.
    public func usdReserveMovements(bank: String, after sequence: Int64 = 0) throws(LedgerError) -> [USDReserveMovement]
    {
        try read { (connection) throws(LedgerError) -> [USDReserveMovement] in
            try connection.query(
                """
                SELECT r.sequence, r.kind, e.signing_bytes, e.applied_at_ms FROM reserve_records r
                JOIN entries e ON e.sequence = r.sequence
                WHERE r.token = 'USD' AND r.kind IN ('deposit', 'withdrawal') AND r.sequence > ? ORDER BY r.sequence
                """, [.integer(sequence)]
            ).compactMap { Self.movement($0, bank: bank) }
        }
    }

    /// The movement an entry's `mint_usd` or `redeem_usd` recorded, if it names `bank`.
    static func movement(_ row: Row, bank: String) -> USDReserveMovement? {
        guard let action = try? OperatorAction(signingBytes: row.blob(2)) else { return nil }
        let movement: OperatorCommand.BankMovement
        switch action.command {
        case .mintUSD(let deposit): movement = deposit
        case .redeemUSD(let withdrawal): movement = withdrawal
        default: return nil
        }
        guard movement.bank == bank, let kind = USDReserveMovement.Kind(rawValue: row.text(1)) else { return nil }
        return USDReserveMovement(
            sequence: row.int(0), kind: kind, account: movement.account, amount: movement.amount.minorUnits,
            bank: movement.bank, reference: movement.reference, valueDate: movement.valueDate,
            appliedAtMilliseconds: row.int(3))
    }
}
