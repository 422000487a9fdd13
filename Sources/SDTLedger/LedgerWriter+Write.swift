import SDTCore
import SDTCrypto
import SDTRules

/// The writes of an accepted entry: double-entry postings that sum to zero, balances, supply,
/// reserve records, compliance state and rule sets.
extension LedgerWriter {
    func insertEntry(_ submission: Submission, sequence: Int64, nowMilliseconds: Int64) throws(LedgerError) {
        try connection.query(
            """
            INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(sequence), .text(submission.kind.rawValue), .text(submission.entryID),
             .blob(submission.signingBytes), .text(submission.publicKeyHex), .blob(submission.signature),
             .integer(nowMilliseconds)]
        )
    }

    func write(_ transfer: Transfer, sequence: Int64, flags: RuleDecision?, nowMilliseconds: Int64) throws(LedgerError) {
        if transfer.isPending {
            try writePending(transfer, sequence: sequence, nowMilliseconds: nowMilliseconds)
        } else {
            try post(sequence: sequence, token: transfer.token, amount: transfer.amount.minorUnits, from: transfer.from, to: transfer.to)
        }
        if let ruleSet {
            noteOutgoing(transfer.from, transfer.token, amount: transfer.amount.minorUnits, at: nowMilliseconds,
                         keepSince: nowMilliseconds - ruleSet.longestVelocityWindowMilliseconds)
        }
        guard let flags, !flags.flags.isEmpty else { return }
        for flag in flags.flags {
            // The rule that raised the flag: the first matching rule carrying it.
            let ruleID = ruleSet?.rules.first { $0.flag == flag }?.id ?? ""
            try connection.query("INSERT INTO entry_flags (sequence, flag, rule_id) VALUES (?, ?, ?)",
                                 [.integer(sequence), .text(flag), .text(ruleID)])
        }
    }

    func write(_ action: OperatorAction, attachment: [UInt8], sequence: Int64, nowMilliseconds: Int64) throws(LedgerError) {
        if !action.account.isEmpty, action.kind != .openAccount {
            try noteEvent(account: action.account, sequence: sequence)
        }
        switch action.kind {
        case .openAccount:
            let tier = Int(action.integer(.kycTier) ?? 0)
            try connection.query(
                "INSERT INTO accounts (id, jurisdiction, kyc_tier, opened_sequence) VALUES (?, ?, ?, ?)",
                [.text(action.account), .text(action[.jurisdiction] ?? ""), .integer(Int64(tier)), .integer(sequence)]
            )
            working.accounts[action.account] = .init(jurisdiction: action[.jurisdiction] ?? "", kycTier: tier)
            try noteEvent(account: action.account, sequence: sequence)
            try addKey(action[.deviceKey] ?? "", account: action.account, sequence: sequence)
            if !attachment.isEmpty {
                try connection.query("INSERT INTO holder_data (account_id, sealed) VALUES (?, ?)", [.text(action.account), .blob(attachment)])
            }
        case .addKey:
            try addKey(action[.deviceKey] ?? "", account: action.account, sequence: sequence)
        case .revokeKey:
            try connection.query(
                "UPDATE device_keys SET revoked_sequence = ? WHERE public_key = ?", [.integer(sequence), .text(action[.deviceKey] ?? "")]
            )
            working.keys[action[.deviceKey] ?? ""] = (action.account, true)
        case .setKYCTier:
            let tier = action.integer(.kycTier) ?? 0
            try connection.query("UPDATE accounts SET kyc_tier = ? WHERE id = ?", [.integer(tier), .text(action.account)])
            working.accounts[action.account]?.kycTier = Int(tier)
        case .freeze:
            try connection.query("INSERT INTO frozen_accounts (account_id, sequence) VALUES (?, ?)", [.text(action.account), .integer(sequence)])
            working.frozen[action.account] = true
        case .unfreeze:
            try connection.query("DELETE FROM frozen_accounts WHERE account_id = ?", [.text(action.account)])
            working.frozen[action.account] = false
        case .mintUSD, .redeemUSD, .mintGold, .redeemGold:
            try writeReserve(action, sequence: sequence)
        case .clawback:
            guard let token = action.token, let amount = action.amount, let treasury = policy.treasuryAccount else {
                preconditionFailure("a decided clawback has a token, an amount and a treasury")
            }
            try post(sequence: sequence, token: token, amount: amount.minorUnits, from: action.account, to: treasury)
        case .setRules:
            guard let text = String(validating: attachment, as: UTF8.self), let rules = try? RuleSet(text: text) else {
                preconditionFailure("a decided set_rules carries a valid rule set")
            }
            try connection.query(
                "INSERT INTO rule_sets (version, sha3, text, sequence, installed_at_ms) VALUES (?, ?, ?, ?, ?)",
                [.integer(rules.version), .text(rules.sha3Hex), .text(rules.text), .integer(sequence), .integer(nowMilliseconds)]
            )
            ruleSet = rules
        case .review:
            try writeReview(action, sequence: sequence, nowMilliseconds: nowMilliseconds)
        }
    }

    private func writeReserve(_ action: OperatorAction, sequence: Int64) throws(LedgerError) {
        guard let token = action.kind.reserveToken, let amount = action.amount?.minorUnits else {
            preconditionFailure("a validated \(action.kind.rawValue) has a token and an amount")
        }
        let record = Self.reserveRecord(action)
        let minting = action.kind == .mintUSD || action.kind == .mintGold
        // Read before the record changes: a first read loads the total from the table.
        let reservesBefore = try reserves(token)
        if action.kind == .redeemGold {
            try connection.query(
                "UPDATE reserve_records SET released_sequence = ? WHERE token = 'GOLD' AND kind = 'bar' AND reference = ? AND released_sequence IS NULL",
                [.integer(sequence), .text(record.reference)]
            )
        } else {
            try connection.query(
                "INSERT INTO reserve_records (sequence, token, kind, reference, amount) VALUES (?, ?, ?, ?, ?)",
                [.integer(sequence), .text(token.rawValue), .text(record.kind), .text(record.reference), .integer(amount)]
            )
        }
        working.reserves[token] = reservesBefore + (minting ? amount : -amount)
        try post(
            sequence: sequence, token: token, amount: amount,
            from: minting ? issuerAccountID : action.account, to: minting ? action.account : issuerAccountID
        )
    }

    /// Records the reviewer's decision; an approval applies the held transfer right after the review.
    private func writeReview(_ action: OperatorAction, sequence: Int64, nowMilliseconds: Int64) throws(LedgerError) {
        let transactionID = action[.transactionID] ?? ""
        guard let held = try openHold(transactionID) else { preconditionFailure("a decided review has an open hold") }
        try connection.query("UPDATE holds SET review_sequence = ? WHERE transaction_id = ?", [.integer(sequence), .text(transactionID)])
        working.openHolds = working.openHolds.map { $0 - 1 }
        let submission = Submission.transfer(held.transfer, signature: held.signature)
        if action[.decision] == "approve" {
            let transferSequence = takeSequence()
            try insertEntry(submission, sequence: transferSequence, nowMilliseconds: nowMilliseconds)
            // The flags its rules raise (a currency transaction report, say) are recorded as for any transfer.
            let flags = try decide(held.transfer, idExpired: false, nowMilliseconds: nowMilliseconds).rules
            try write(held.transfer, sequence: transferSequence, flags: flags, nowMilliseconds: nowMilliseconds)
            extraOutcomes.append(Outcome(kind: .transfer, entryID: transactionID, code: .accepted, sequence: transferSequence))
        } else {
            try recordRejection(submission, code: .reviewRejected, rules: nil, nowMilliseconds: nowMilliseconds)
            extraOutcomes.append(Outcome(kind: .transfer, entryID: transactionID, code: .reviewRejected, sequence: nil))
        }
    }

    func recordRejection(
        _ submission: Submission, code: OutcomeCode, rules: RuleDecision?, failedLeg: String? = nil, nowMilliseconds: Int64
    ) throws(LedgerError) {
        try connection.query(
            """
            INSERT INTO rejections (kind, entry_id, record_hash, code, decided_at_ms, rule_id, rule_set_version, failed_leg)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(submission.kind.rawValue), .text(submission.entryID), .blob(SHA3.hash256(submission.signingBytes)),
             .integer(Int64(code.rawValue)), .integer(nowMilliseconds),
             rules?.ruleID.map { .text($0) } ?? .null, rules.map { .integer($0.ruleSetVersion) } ?? .null,
             failedLeg.map { .text($0) } ?? .null]
        )
    }

    func recordHold(_ transfer: Transfer, signature: [UInt8], rules: RuleDecision, nowMilliseconds: Int64) throws(LedgerError) {
        try connection.query(
            """
            INSERT INTO holds (transaction_id, signing_bytes, public_key, signature, rule_id, rule_set_version, held_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(transfer.transactionID), .blob(transfer.signingBytes), .text(transfer.publicKeyHex), .blob(signature),
             .text(rules.ruleID ?? ""), .integer(rules.ruleSetVersion), .integer(nowMilliseconds)]
        )
        working.openHolds = working.openHolds.map { $0 + 1 }
    }

    private func noteEvent(account: String, sequence: Int64) throws(LedgerError) {
        try connection.query("INSERT INTO account_events (account_id, sequence) VALUES (?, ?)", [.text(account), .integer(sequence)])
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
    func post(sequence: Int64, token: Token, amount: Int64, from: String, to: String) throws(LedgerError) {
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
