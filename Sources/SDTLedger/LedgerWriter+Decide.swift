import SDTCore

/// The checks, in their documented order. They only read; the writes follow in `LedgerWriter+Write`.
extension LedgerWriter {
    func decide(_ transfer: Transfer, idExpired: Bool) throws(LedgerError) -> OutcomeCode {
        if idExpired { return .transactionIDExpired }
        guard try accountExists(transfer.from) else { return .accountUnknown }
        guard let key = try deviceKey(transfer.publicKeyHex), key.account == transfer.from else { return .keyNotRegistered }
        guard !key.revoked else { return .keyRevoked }
        guard try accountExists(transfer.to) else { return .receiverUnknown }
        guard transfer.from != transfer.to else { return .sameAccount }
        guard policy.tokensOffered.contains(transfer.token) else { return .tokenNotOffered }
        guard try balance(transfer.from, transfer.token) >= transfer.amount.minorUnits else { return .insufficientFunds }
        let (_, overflow) = try balance(transfer.to, transfer.token).addingReportingOverflow(transfer.amount.minorUnits)
        return overflow ? .balanceOverflow : .accepted
    }

    func decide(_ action: OperatorAction) throws(LedgerError) -> OutcomeCode {
        let exists = try accountExists(action.account)
        switch action.kind {
        case .openAccount:
            guard !exists else { return .accountExists }
            return try deviceKey(action.details.deviceKeyHex ?? "") == nil ? .accepted : .deviceKeyInUse
        case .addKey:
            guard exists else { return .accountUnknown }
            return try deviceKey(action.details.deviceKeyHex ?? "") == nil ? .accepted : .deviceKeyInUse
        case .revokeKey:
            guard exists else { return .accountUnknown }
            guard let key = try deviceKey(action.details.deviceKeyHex ?? ""), key.account == action.account, !key.revoked else {
                return .deviceKeyUnknown
            }
            return .accepted
        case .mint, .redeem:
            guard exists else { return .accountUnknown }
            guard let token = action.token, let amount = action.amount else {
                preconditionFailure("a validated \(action.kind.rawValue) has a token and an amount")
            }
            guard policy.tokensOffered.contains(token) else { return .tokenNotOffered }
            let referenceUsed = try !connection.query(
                "SELECT 1 FROM reserve_references WHERE reference = ?", [.text(reserveKey(action))]
            ).isEmpty
            guard !referenceUsed else { return .reserveReferenceUsed }
            if action.kind == .redeem {
                return try balance(action.account, token) >= amount.minorUnits ? .accepted : .insufficientFunds
            }
            let (_, overflow) = try supply(token).addingReportingOverflow(amount.minorUnits)
            return overflow ? .balanceOverflow : .accepted
        }
    }

    /// Reserve references are unique per token and direction: a deposit and a withdrawal may share a
    /// bank's reference number, two deposits may not.
    func reserveKey(_ action: OperatorAction) -> String {
        "\(action.details.token ?? "")/\(action.kind.rawValue)/\(action.details.reserveReference ?? "")"
    }
}
