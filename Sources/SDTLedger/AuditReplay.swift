import SDTCore
import SDTCrypto
import SDTEngine
import SDTRules

/// One stored entry as the audit reads it back: the row, and the signed record parsed into the
/// submission the applier decided (with the unsigned attachment a `set_rules` carried).
struct StoredEntry {
    let sequence: Int64
    let submission: Submission
    let appliedAtMilliseconds: Int64

    var name: String { "entry sequence \(sequence) (\(submission.kind.rawValue) \(submission.entryID))" }
    var leafHash: [UInt8] { Merkle.leafHash(submission.signingBytes + submission.signature) }
}

/// Replays a ledger's entries in order through the ledger engine into an in-memory store. Every entry
/// must be accepted again, at its own sequence and with its stored postings; the store then holds what
/// the ledger's tables must say.
struct AuditReplay {
    let connection: SQLiteConnection
    let engine: LedgerEngine
    private(set) var store = MemoryLedgerStore()
    /// Reserve records in force, in ledger order, with the signed action behind each: what the block
    /// headers' reserve root commits to.
    private(set) var reserveRecords: [(sequence: Int64, key: ReserveKey, amount: Int64, signingBytes: [UInt8])] = []
    /// How each pending transfer was resolved: the amount posted (0 for a void) and the resolving sequence.
    private(set) var resolutions: [String: (amount: Int64, sequence: Int64)] = [:]
    /// Rule set versions put in force by `set_rules` entries.
    private(set) var signedRuleSets: [(sequence: Int64, version: Int64, sha3Hex: String)] = []
    /// The rule set the node put in force from its rules file, and when; nil once it is in force.
    private var fileRules: (rules: RuleSet, atMilliseconds: Int64)?
    static let pageSize = 1_000

    init(connection: SQLiteConnection, region: String, policy: AuditPolicy) throws {
        self.connection = connection
        var operatorKeys = Set<String>()
        var treasury: String?
        try connection.each("SELECT public_key, signing_bytes FROM entries WHERE kind = 'operator'") { row in
            operatorKeys.insert(row.text(0))
            if treasury == nil, case .clawback(let clawback)? = (try? OperatorAction(signingBytes: row.blob(1)))?.command {
                treasury = clawback.treasury
            }
        }
        // The regions this one paid or was paid by, as its inter-region entries name them.
        var counterparts = Set<String>()
        try connection.each("SELECT signing_bytes FROM entries WHERE kind = 'inter_region'") { row in
            switch try? InterRegionEntry(recordedBytes: row.blob(0)) {
            case .outbound(let message)?: counterparts.insert(message.counterpart)
            case .incoming(let decision)?: counterparts.insert(decision.sourceRegion)
            case .acknowledgement(let acknowledgement)?: counterparts.insert(acknowledgement.counterpart)
            case .delivery?, nil: break
            }
        }
        engine = LedgerEngine(policy: EnginePolicy(
            region: region, tokensOffered: policy.tokensOffered ?? Set(Token.allCases),
            operatorKeys: policy.operatorKeys ?? operatorKeys, treasuryAccount: policy.treasuryAccount ?? treasury,
            counterparts: counterparts,
            // Ids are MACs under the node's secret, which an offline audit does not have.
            checkTransactionID: { _, _, _ in .valid }
        ))
        if let row = try connection.query("SELECT text, installed_at_ms FROM rule_sets WHERE sequence IS NULL").first {
            guard let rules = try? RuleSet(text: row.text(0)) else { throw AuditProblem("the rules file's rule set does not parse") }
            fileRules = (rules, row.int(1))
        }
    }

    /// The other regions this ledger's inter-region entries name.
    var counterparts: Set<String> { engine.policy.counterparts }

    var supply: [Token: Int64] {
        Dictionary(uniqueKeysWithValues: Token.allCases.map { ($0, (try? store.supply($0)) ?? 0) })
    }

    /// Replays every entry; `checked` runs after each entry is in the store.
    mutating func run(_ checked: (StoredEntry, AuditReplay) throws -> Void) throws {
        var unit: [StoredEntry] = []
        var needed = 0
        var after: Int64 = 0
        while true {
            let page = try readEntries(after: after)
            guard let last = page.last else { break }
            after = last.sequence
            for entry in page {
                guard entry.sequence == (try store.nextSequence()) + Int64(unit.count) else {
                    throw AuditProblem("entry sequence \(try store.nextSequence() + Int64(unit.count)) is missing")
                }
                // A complete unit waits for one more entry: the outbound message of a transfer to
                // another region is recorded right after it, decided with it.
                if needed == 0, !unit.isEmpty {
                    if case .interRegion(.outbound) = entry.submission {
                        unit.append(entry)
                        try replay(unit, checked)
                        unit = []
                        continue
                    }
                    try replay(unit, checked)
                    unit = []
                }
                unit.append(entry)
                if needed == 0 { needed = try Self.unitLength(entry) }
                needed -= 1
            }
        }
        if needed > 0, let open = unit.first { throw AuditProblem("\(open.name): the ledger ends before the entries decided with it") }
        if !unit.isEmpty { try replay(unit, checked) }
    }

    /// How many entries were decided together, starting with this one: a linked group's legs, or a
    /// review that approved a held transfer followed by that transfer.
    private static func unitLength(_ entry: StoredEntry) throws -> Int {
        switch entry.submission {
        case .transfer(let transfer, _):
            guard let link = transfer.link else { return 1 }
            guard link.index == 1 else { throw AuditProblem("\(entry.name): leg \(link.index)/\(link.count) does not start its group") }
            return link.count
        case .operatorAction(let action, _, _):
            if case .review(_, true, _) = action.command { return 2 }
            return 1
        case .resolution, .interRegion:
            return 1
        }
    }

    private mutating func replay(_ unit: [StoredEntry], _ checked: (StoredEntry, AuditReplay) throws -> Void) throws {
        let now = unit[0].appliedAtMilliseconds
        guard unit.allSatisfy({ $0.appliedAtMilliseconds == now }) else {
            throw AuditProblem("\(unit[0].name): entries decided together were applied at different times")
        }
        if let file = fileRules, now >= file.atMilliseconds {
            store.putInForce(file.rules)
            fileRules = nil
        }
        // The engine records a transfer's outbound message itself, and a delivery as its decision.
        var submissions = unit.compactMap { (entry) -> Submission? in
            switch entry.submission {
            case .interRegion(.outbound): nil
            case .interRegion(.incoming(let decision)): .interRegion(.delivery(decision.delivery))
            default: entry.submission
            }
        }
        if case .operatorAction(let action, _, _) = unit[0].submission, case .review(let id, let approve, _) = action.command {
            // The approved transfer is the entry right after the review (its outbound message, if it pays
            // another region, comes after it).
            try restoreHold(id, approved: approve && unit.count > 1 ? unit[1] : nil, review: unit[0])
            // The engine applies the approved transfer itself, right after the review.
            submissions = [unit[0].submission]
        }
        let result = try engine.apply(submissions, to: store, now: now)
        let applied = result.changes.compactMap { change -> AppliedEntry? in
            if case .applied(let entry) = change { entry } else { nil }
        }
        let matches = applied.count == unit.count && zip(applied, unit).allSatisfy {
            $0.sequence == $1.sequence && $0.submission.signingBytes == $1.submission.signingBytes
        }
        guard matches else {
            let refusal = result.outcomes.first { $0.code != .accepted }.map { "the ledger's checks refuse it now: \($0.code.name)" }
            throw AuditProblem("\(unit[0].name): \(refusal ?? "its replay gives other entries than the ledger holds")")
        }
        var index = 0
        for change in result.changes {
            try store.commit(change)
            guard case .applied(let entry) = change else { continue }
            try comparePostings(entry, name: unit[index].name)
            track(entry)
            try checked(unit[index], self)
            index += 1
        }
    }

    /// A review decides a hold, which is not an entry: put the held transfer back as the applier had
    /// it. An approved one is the entry right after the review; a rejected one is in `holds`.
    private mutating func restoreHold(_ transactionID: String, approved: StoredEntry?, review: StoredEntry) throws {
        let transfer: Transfer
        let signature: [UInt8]
        if let approved {
            guard case .transfer(let held, let heldSignature) = approved.submission, held.link == nil else {
                throw AuditProblem("\(review.name): the review approving \(transactionID) is not followed by that transfer")
            }
            (transfer, signature) = (held, heldSignature)
        } else {
            guard let row = try connection.query(
                "SELECT signing_bytes, signature FROM holds WHERE transaction_id = ? AND review_sequence = ?",
                [.text(transactionID), .integer(review.sequence)]
            ).first, let held = try? Transfer(signingBytes: row.blob(0)),
                Ed25519.verify(signature: row.blob(1), message: row.blob(0), publicKey: Hex.decode(held.publicKeyHex) ?? [])
            else { throw AuditProblem("\(review.name): the held transfer \(transactionID) it rejects is missing or not signed") }
            (transfer, signature) = (held, row.blob(1))
        }
        let hold = HoldState(transfer: transfer, signature: signature, ruleID: "", ruleSetVersion: 0)
        try store.commit(.held(NewHold(hold: hold, heldAtMilliseconds: review.appliedAtMilliseconds)))
    }

    private func comparePostings(_ entry: AppliedEntry, name: String) throws {
        let stored = try connection.query(
            "SELECT token, amount, from_account, to_account FROM movements WHERE sequence = ? ORDER BY leg", [.integer(entry.sequence)]
        ).map { "\($0.text(2))->\($0.text(3)) \($0.int(1)) \($0.text(0))" }
        let replayed = entry.postings.map { "\($0.from)->\($0.to) \($0.amount) \($0.token.rawValue)" }
        guard stored == replayed else { throw AuditProblem("\(name): stored postings \(stored) differ from the signed entry's \(replayed)") }
    }

    private mutating func track(_ entry: AppliedEntry) {
        for effect in entry.effects {
            switch effect {
            case .reserveRecorded(let key, let amount):
                reserveRecords.append((entry.sequence, key, amount, entry.submission.signingBytes))
            case .reserveReleased(let key):
                reserveRecords.removeAll { $0.key == key }
            case .pendingPosted(let id, let amount):
                resolutions[id] = (amount, entry.sequence)
            case .pendingVoided(let id):
                resolutions[id] = (0, entry.sequence)
            case .ruleSetInstalled(let rules):
                signedRuleSets.append((entry.sequence, rules.version, rules.sha3Hex))
            default:
                break
            }
        }
    }

    /// Reserves per token and their Merkle root, as the block header after the current entry must state.
    var reserves: (amounts: [Token: Int64], rootHex: String) {
        var amounts: [Token: Int64] = [:]
        for record in reserveRecords { amounts[record.key.token, default: 0] += record.key.kind == .withdrawal ? -record.amount : record.amount }
        return (amounts, Hex.encode(Merkle.root(leafHashesOrNone: reserveRecords.map { Merkle.leafHash($0.signingBytes) })))
    }

    /// The next page of stored entries, each signature verified and each record parsed.
    private func readEntries(after sequence: Int64) throws -> [StoredEntry] {
        try connection.query(
            """
            SELECT sequence, kind, entry_id, signing_bytes, public_key, signature, applied_at_ms
            FROM entries WHERE sequence > ? ORDER BY sequence LIMIT ?
            """, [.integer(sequence), .integer(Int64(Self.pageSize))]
        ).map { row throws in
            let name = "entry sequence \(row.int(0)) (\(row.text(1)) \(row.text(2)))"
            let (bytes, signature, key) = (row.blob(3), row.blob(5), row.text(4))
            // An inter-region entry has no client signature: the quorum's block signature covers it.
            if row.text(1) != EntryKind.interRegion.rawValue {
                guard let publicKey = Hex.decode(key), Ed25519.verify(signature: signature, message: bytes, publicKey: publicKey) else {
                    throw AuditProblem("\(name): signature does not verify")
                }
            }
            let submission = try parse(kind: row.text(1), bytes: bytes, signature: signature, sequence: row.int(0), name: name)
            guard submission.entryID == row.text(2), submission.publicKeyHex == key else {
                throw AuditProblem("\(name): stored id or key differs from the signed record")
            }
            return StoredEntry(sequence: row.int(0), submission: submission, appliedAtMilliseconds: row.int(6))
        }
    }

    private func parse(kind: String, bytes: [UInt8], signature: [UInt8], sequence: Int64, name: String) throws -> Submission {
        switch kind {
        case EntryKind.transfer.rawValue:
            switch try? TransferEntryRecord(signingBytes: bytes) {
            case .transfer(let transfer)?: return .transfer(transfer, signature: signature)
            case .resolution(let resolution)?: return .resolution(resolution, signature: signature)
            case nil: throw AuditProblem("\(name): signed transfer does not parse")
            }
        case EntryKind.operatorAction.rawValue:
            guard let action = try? OperatorAction(signingBytes: bytes) else { throw AuditProblem("\(name): signed operator action does not parse") }
            var attachment: [UInt8] = []
            if case .setRules = action.command {
                attachment = try connection.query("SELECT text FROM rule_sets WHERE sequence = ?", [.integer(sequence)]).first
                    .map { Array($0.text(0).utf8) } ?? []
            }
            return .operatorAction(action, signature: signature, attachment: attachment)
        case EntryKind.interRegion.rawValue:
            guard signature.isEmpty, let entry = try? InterRegionEntry(recordedBytes: bytes) else {
                throw AuditProblem("\(name): inter-region record does not parse or carries a signature")
            }
            if case .incoming(let decision) = entry, decision.outboundSHA3Hex != Hex.encode(SHA3.hash256(decision.message.signingBytes)) {
                throw AuditProblem("\(name): the incoming decision's outbound_sha3 is not the hash of the message it states")
            }
            return .interRegion(entry)
        default:
            throw AuditProblem("\(name): unknown entry kind \(kind)")
        }
    }
}
