import SDTCore

/// The writes of an accepted entry: double-entry postings that sum to zero, balances, supply.
extension LedgerWriter {
    func write(_ transfer: Transfer, sequence: Int64) throws(LedgerError) {
        try post(sequence: sequence, token: transfer.token, amount: transfer.amount.minorUnits, from: transfer.from, to: transfer.to)
    }

    func write(_ action: OperatorAction, sequence: Int64) throws(LedgerError) {
        let details = action.details
        switch action.kind {
        case .openAccount:
            try connection.query(
                "INSERT INTO accounts (id, jurisdiction, kyc_tier, opened_sequence) VALUES (?, ?, ?, ?)",
                [.text(action.account), .text(details.jurisdiction ?? ""), .integer(Int64(details.kycTier ?? 0)), .integer(sequence)]
            )
            working.accounts.insert(action.account)
            try addKey(details.deviceKeyHex ?? "", account: action.account, sequence: sequence)
        case .addKey:
            try addKey(details.deviceKeyHex ?? "", account: action.account, sequence: sequence)
        case .revokeKey:
            try connection.query(
                "UPDATE device_keys SET revoked_sequence = ? WHERE public_key = ?",
                [.integer(sequence), .text(details.deviceKeyHex ?? "")]
            )
            working.keys[details.deviceKeyHex ?? ""] = (action.account, true)
        case .mint, .redeem:
            guard let token = action.token, let amount = action.amount else {
                preconditionFailure("a validated \(action.kind.rawValue) has a token and an amount")
            }
            let minting = action.kind == .mint
            try post(
                sequence: sequence, token: token, amount: amount.minorUnits,
                from: minting ? issuerAccountID : action.account, to: minting ? action.account : issuerAccountID
            )
            try connection.query(
                "INSERT INTO reserve_references (reference, sequence) VALUES (?, ?)",
                [.text(reserveKey(action)), .integer(sequence)]
            )
        }
    }

    private func addKey(_ publicKeyHex: String, account: String, sequence: Int64) throws(LedgerError) {
        try connection.query(
            "INSERT INTO device_keys (public_key, account_id, added_sequence) VALUES (?, ?, ?)",
            [.text(publicKeyHex), .text(account), .integer(sequence)]
        )
        working.keys[publicKeyHex] = (account, false)
    }

    /// Debits `from` and credits `to` by `amount`. The issuer account has no balance row: its
    /// postings move the supply instead, so supply always equals the sum of holder balances.
    private func post(sequence: Int64, token: Token, amount: Int64, from: String, to: String) throws(LedgerError) {
        for (account, delta) in [(from, -amount), (to, amount)] {
            try connection.query(
                "INSERT INTO postings (sequence, account_id, token, amount) VALUES (?, ?, ?, ?)",
                [.integer(sequence), .text(account), .text(token.rawValue), .integer(delta)]
            )
            if account == issuerAccountID {
                let supply = try supply(token) - delta
                precondition(supply >= 0, "supply of \(token.rawValue) would become \(supply) at sequence \(sequence)")
                setSupply(token, supply)
            } else {
                let balance = try balance(account, token) + delta
                precondition(balance >= 0, "balance of \(account) in \(token.rawValue) would become \(balance) at sequence \(sequence)")
                setBalance(account, token, balance)
            }
        }
    }
}
