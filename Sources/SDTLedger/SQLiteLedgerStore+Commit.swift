import SDTCore
import SDTCrypto
import SDTEngine

/// The writes of a decided batch: each change as rows, then the balances and supply it left. Runs
/// inside the batch's transaction; the caller merges the overlay into `working` once it commits.
extension SQLiteLedgerStore {
    func write(_ result: BatchResult) throws(LedgerError) {
        for change in result.changes {
            switch change {
            case .applied(let entry): try write(entry)
            case .rejected(let rejection): try write(rejection)
            case .held(let new): try write(new)
            case .expired(let ids, let milliseconds):
                for id in ids {
                    try connection.query(
                        "UPDATE pending_transfers SET state = 'expired', resolved_at_ms = ? WHERE transaction_id = ? AND state = 'pending'",
                        [.integer(milliseconds), .text(id)]
                    )
                }
            case .linkGroup(let record):
                try connection.query(
                    "INSERT INTO link_groups (link_id, record_hash, legs, decided_at_ms, failed_leg) VALUES (?, ?, ?, ?, ?)",
                    [.text(record.linkID), .blob(SQLiteStateReads.groupHash(record.legs.map(\.signingBytes))),
                     .integer(Int64(record.legs.count)), .integer(record.decidedAtMilliseconds),
                     record.failedLeg.map { .text($0) } ?? .null]
                )
            }
        }
        for (key, amount) in result.overlay.balances {
            try connection.query(
                """
                INSERT INTO balances (account_id, token, amount) VALUES (?, ?, ?)
                ON CONFLICT (account_id, token) DO UPDATE SET amount = excluded.amount
                """, [.text(key.account), .text(key.token.rawValue), .integer(amount)]
            )
        }
        for (key, position) in result.overlay.positions {
            try connection.query(
                """
                INSERT INTO region_positions (counterpart, token, claims, obligations) VALUES (?, ?, ?, ?)
                ON CONFLICT (counterpart, token) DO UPDATE SET claims = excluded.claims, obligations = excluded.obligations
                """, [.text(key.counterpart), .text(key.token.rawValue), .integer(position.claims), .integer(position.obligations)]
            )
        }
        for (counterpart, link) in result.overlay.links {
            try connection.query(
                """
                INSERT INTO inter_region_links (counterpart, last_outbound, last_inbound) VALUES (?, ?, ?)
                ON CONFLICT (counterpart) DO UPDATE SET last_outbound = excluded.last_outbound, last_inbound = excluded.last_inbound
                """, [.text(counterpart), .integer(link.lastOutbound), .integer(link.lastInbound)]
            )
        }
        for (token, amount) in result.overlay.supply {
            try connection.query(
                "INSERT INTO supply (token, amount) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET amount = excluded.amount",
                [.text(token.rawValue), .integer(amount)]
            )
        }
    }

    private func write(_ entry: AppliedEntry) throws(LedgerError) {
        let submission = entry.submission
        let sequence = entry.sequence
        try connection.query(
            """
            INSERT INTO entries (sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(sequence), .text(submission.kind.rawValue), .text(submission.entryID), .blob(submission.signingBytes),
             .text(submission.publicKeyHex), .blob(submission.signature), .integer(entry.appliedAtMilliseconds)]
        )
        var leg: Int64 = 0
        for effect in entry.effects {
            if case .posting(let posting) = effect {
                try connection.query(
                    "INSERT INTO movements (sequence, leg, token, amount, from_account, to_account) VALUES (?, ?, ?, ?, ?, ?)",
                    [.integer(sequence), .integer(leg), .text(posting.token.rawValue), .integer(posting.amount), .text(posting.from),
                     .text(posting.to)]
                )
                leg += 1
            } else {
                try write(effect, sequence: sequence, at: entry.appliedAtMilliseconds)
            }
        }
    }

    private func write(_ effect: Effect, sequence: Int64, at milliseconds: Int64) throws(LedgerError) {
        switch effect {
        case .posting:
            preconditionFailure("postings are written as movements by the entry")
        case .accountOpened(let account, let state, let holderData):
            try connection.query(
                "INSERT INTO accounts (id, jurisdiction, kyc_tier, opened_sequence) VALUES (?, ?, ?, ?)",
                [.text(account), .text(state.jurisdiction), .integer(Int64(state.kycTier)), .integer(sequence)]
            )
            if !holderData.isEmpty {
                try connection.query("INSERT INTO holder_data (account_id, sealed) VALUES (?, ?)", [.text(account), .blob(holderData)])
            }
        case .keyAdded(let publicKeyHex, let account):
            try connection.query(
                "INSERT INTO device_keys (public_key, account_id, added_sequence) VALUES (?, ?, ?)",
                [.text(publicKeyHex), .text(account), .integer(sequence)]
            )
        case .keyRevoked(let publicKeyHex):
            try connection.query("UPDATE device_keys SET revoked_sequence = ? WHERE public_key = ?", [.integer(sequence), .text(publicKeyHex)])
        case .kycTierSet(let account, let tier):
            try connection.query("UPDATE accounts SET kyc_tier = ? WHERE id = ?", [.integer(Int64(tier)), .text(account)])
        case .frozen(let account):
            try connection.query("INSERT INTO frozen_accounts (account_id, sequence) VALUES (?, ?)", [.text(account), .integer(sequence)])
        case .unfrozen(let account):
            try connection.query("DELETE FROM frozen_accounts WHERE account_id = ?", [.text(account)])
        case .accountEvent(let account):
            try connection.query("INSERT INTO account_events (account_id, sequence) VALUES (?, ?)", [.text(account), .integer(sequence)])
        case .reserveRecorded(let key, let amount):
            try connection.query(
                "INSERT INTO reserve_records (sequence, token, kind, reference, amount) VALUES (?, ?, ?, ?, ?)",
                [.integer(sequence), .text(key.token.rawValue), .text(key.kind.rawValue), .text(key.reference), .integer(amount)]
            )
        case .reserveReleased(let key):
            try connection.query(
                """
                UPDATE reserve_records SET released_sequence = ?
                WHERE token = ? AND kind = ? AND reference = ? AND released_sequence IS NULL
                """, [.integer(sequence), .text(key.token.rawValue), .text(key.kind.rawValue), .text(key.reference)]
            )
        case .pendingOpened(let pending):
            try connection.query(
                """
                INSERT INTO pending_transfers (transaction_id, sequence, from_account, to_account, token, amount, created_at_ms,
                                               expires_at_ms, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')
                """,
                [.text(pending.transactionID), .integer(sequence), .text(pending.from), .text(pending.to), .text(pending.token.rawValue),
                 .integer(pending.amount), .integer(pending.createdAtMilliseconds), .integer(pending.expiresAtMilliseconds)]
            )
        case .pendingPosted(let id, let amount):
            try connection.query(
                """
                UPDATE pending_transfers SET state = 'posted', posted_amount = ?, resolved_sequence = ?, resolved_at_ms = ?
                WHERE transaction_id = ?
                """, [.integer(amount), .integer(sequence), .integer(milliseconds), .text(id)]
            )
        case .pendingVoided(let id):
            try connection.query(
                "UPDATE pending_transfers SET state = 'voided', resolved_sequence = ?, resolved_at_ms = ? WHERE transaction_id = ?",
                [.integer(sequence), .integer(milliseconds), .text(id)]
            )
        case .holdReviewed(let id):
            try connection.query("UPDATE holds SET review_sequence = ? WHERE transaction_id = ?", [.integer(sequence), .text(id)])
        case .ruleSetInstalled(let rules):
            try connection.query(
                "INSERT INTO rule_sets (version, sha3, text, sequence, installed_at_ms) VALUES (?, ?, ?, ?, ?)",
                [.integer(rules.version), .text(rules.sha3Hex), .text(rules.text), .integer(sequence), .integer(milliseconds)]
            )
        case .flagRaised(let flag, let ruleID):
            try connection.query("INSERT INTO entry_flags (sequence, flag, rule_id) VALUES (?, ?, ?)",
                                 [.integer(sequence), .text(flag), .text(ruleID)])
        case .outboundSent(let message):
            try connection.query("INSERT INTO outbound_messages (counterpart, number, sequence) VALUES (?, ?, ?)",
                                 [.text(message.counterpart), .integer(message.number), .integer(sequence)])
        case .acknowledged(let counterpart, let number):
            try connection.query(
                "UPDATE outbound_messages SET acknowledged_sequence = ? WHERE counterpart = ? AND number = ? AND acknowledged_sequence IS NULL",
                [.integer(sequence), .text(counterpart), .integer(number)]
            )
        case .inboundDecided, .claimChanged, .obligationChanged:
            break // written from the overlay's links and positions after the batch's changes
        }
    }

    private func write(_ rejection: Rejection) throws(LedgerError) {
        let submission = rejection.submission
        try connection.query(
            """
            INSERT INTO rejections (kind, entry_id, record_hash, code, decided_at_ms, rule_id, rule_set_version, failed_leg)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(submission.kind.rawValue), .text(submission.entryID), .blob(SHA3.hash256(submission.signingBytes)),
             .integer(Int64(rejection.code.rawValue)), .integer(rejection.decidedAtMilliseconds),
             rejection.ruleID.map { .text($0) } ?? .null, rejection.ruleSetVersion.map { .integer($0) } ?? .null,
             rejection.failedLeg.map { .text($0) } ?? .null]
        )
    }

    private func write(_ new: NewHold) throws(LedgerError) {
        let transfer = new.hold.transfer
        try connection.query(
            """
            INSERT INTO holds (transaction_id, signing_bytes, public_key, signature, rule_id, rule_set_version, held_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(transfer.transactionID), .blob(transfer.signingBytes), .text(transfer.publicKeyHex), .blob(new.hold.signature),
             .text(new.hold.ruleID), .integer(new.hold.ruleSetVersion), .integer(new.heldAtMilliseconds)]
        )
    }
}
