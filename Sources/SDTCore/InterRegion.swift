/// The records of a payment between regions. Each is a canonical record like every signed entry, but
/// none carries a client's signature: the quorum of the region whose ledger holds it vouches for it by
/// signing the block it is in, and the other region checks that signature and the Merkle path before
/// it believes a word.
///
/// 1. The payer's region accepts the client's transfer to `region:account` and records right after it
///    an `OutboundMessage`: the next number of its link to the payee's region and the payer's facts
///    the payee's region's rules may ask about (jurisdiction, KYC tier).
/// 2. The payee's region receives the outbound message with the header of the block that holds it as a
///    `Delivery`, decides it by its own rules, and records an `IncomingDecision` (credited or refused).
/// 3. The payer's region receives that decision with the payee's block and records an
///    `Acknowledgement`: the in-transit amount becomes an obligation, or goes back to the payer.
public enum InterRegionEntry: Sendable, Hashable {
    case outbound(OutboundMessage)
    case delivery(Delivery)
    case incoming(IncomingDecision)
    case acknowledgement(Acknowledgement)

    /// Unique within the ledger's `inter_region` namespace: what the entry is, the other region, the number.
    public var entryID: String {
        switch self {
        case .outbound(let message): "outbound:\(message.counterpart):\(message.number)"
        case .delivery(let delivery): "incoming:\(delivery.message.region):\(delivery.message.number)"
        case .incoming(let decision): "incoming:\(decision.sourceRegion):\(decision.number)"
        case .acknowledgement(let ack): "acknowledgement:\(ack.counterpart):\(ack.number)"
        }
    }

    /// The region whose ledger takes the entry.
    public var region: String {
        switch self {
        case .outbound(let message): message.region
        case .delivery(let delivery): delivery.message.counterpart
        case .incoming(let decision): decision.region
        case .acknowledgement(let ack): ack.region
        }
    }

    public var signingBytes: [UInt8] {
        switch self {
        case .outbound(let message): message.signingBytes
        case .delivery(let delivery): delivery.message.signingBytes
        case .incoming(let decision): decision.signingBytes
        case .acknowledgement(let ack): ack.signingBytes
        }
    }

    /// Parses a recorded entry: an outbound message, an incoming decision or an acknowledgement (a
    /// delivery is never recorded: its decision is).
    public init(recordedBytes bytes: [UInt8]) throws(RecordError) {
        if bytes.starts(with: Array((OutboundMessage.header + "\n").utf8)) {
            self = .outbound(try OutboundMessage(signingBytes: bytes))
        } else if bytes.starts(with: Array((IncomingDecision.header + "\n").utf8)) {
            self = .incoming(try IncomingDecision(signingBytes: bytes))
        } else if bytes.starts(with: Array((Acknowledgement.header + "\n").utf8)) {
            self = .acknowledgement(try Acknowledgement(signingBytes: bytes))
        } else {
            throw RecordError("not an inter-region record")
        }
    }
}

/// How the receiving region decided a payment from another region.
public enum InterRegionVerdict: Sendable, Hashable {
    case credited
    /// Refused by a check (`receiver_unknown`, `account_frozen`, ...) or a rule, which is named.
    case refused(code: OutcomeCode, ruleID: String?, ruleSetVersion: Int64?)

    var fields: [(name: String, value: String)] {
        switch self {
        case .credited:
            [("verdict", "credited"), ("code", "accepted"), ("rule", "-"), ("rule_set_version", "0")]
        case .refused(let code, let ruleID, let version):
            [
                ("verdict", "refused"), ("code", code.name), ("rule", ruleID ?? "-"),
                ("rule_set_version", String(version ?? 0)),
            ]
        }
    }

    static let fieldNames = ["verdict", "code", "rule", "rule_set_version"]

    init(_ values: ArraySlice<String>) throws(RecordError) {
        let (verdict, code, rule, version) = (
            values[values.startIndex], values[values.startIndex + 1],
            values[values.startIndex + 2], values[values.startIndex + 3]
        )
        switch verdict {
        case "credited":
            guard code == "accepted", rule == "-", version == "0" else {
                throw RecordError("verdict: a credit has code accepted, rule - and rule_set_version 0")
            }
            self = .credited
        case "refused":
            guard let parsed = OutcomeCode.allCases.first(where: { $0.name == code }), parsed != .accepted else {
                throw RecordError("code: \(Echo.quoted(code)) is not a refusal code")
            }
            guard let number = Identifier.canonicalInteger(version[...], in: 0...Int64.max) else {
                throw RecordError("rule_set_version: must be a canonical integer")
            }
            guard rule == "-" || Identifier.isValidToken(rule[...], lengthMax: 64) else {
                throw RecordError("rule: must be - or a rule id")
            }
            self = .refused(code: parsed, ruleID: rule == "-" ? nil : rule, ruleSetVersion: number == 0 ? nil : number)
        default:
            throw RecordError("verdict: must be credited or refused")
        }
    }
}

/// Field checks shared by the inter-region records.
enum InterRegionFields {
    static func region(_ value: String, _ name: String) throws(RecordError) -> String {
        guard Identifier.isValidRegionCode(value[...]) else {
            throw RecordError("\(name): \(Echo.quoted(value)) is not a region code")
        }
        return value
    }

    static func account(_ value: String, _ name: String) throws(RecordError) -> String {
        guard Identifier.isValidAccountID(value[...]) else {
            throw RecordError("\(name): \(Echo.quoted(value)) is not an account id")
        }
        return value
    }

    static func positive(_ value: String, _ name: String) throws(RecordError) -> Int64 {
        guard let number = Identifier.canonicalInteger(value[...], in: 1...Int64.max) else {
            throw RecordError("\(name): must be a canonical integer of at least 1")
        }
        return number
    }

    static func hash(_ value: String, _ name: String) throws(RecordError) -> String {
        guard Identifier.isValidHex(value[...], byteCount: 32) else {
            throw RecordError("\(name): must be 64 lowercase hex characters")
        }
        return value
    }

    static func token(_ value: String) throws(RecordError) -> Token {
        guard let token = Token(rawValue: value) else {
            throw RecordError("token: \(Echo.quoted(value)) is not a token")
        }
        return token
    }

    static func amount(_ value: String) throws(RecordError) -> Amount {
        guard let amount = Amount(canonical: value[...]) else { throw RecordError("amount: not a canonical amount") }
        return amount
    }
}

/// Recorded by the payer's region right after the client's transfer to another region: the message that
/// region's node is sent, numbered on the link from this region to that one (1, 2, 3, ... with no gap).
public struct OutboundMessage: Sendable, Hashable {
    public static let header = "SDT-OUTBOUND-V1"
    static let fieldNames = [
        "region", "counterpart", "number", "transaction_id", "from", "to", "token", "amount",
        "sender_jurisdiction", "sender_kyc_tier",
    ]

    public let region: String
    public let counterpart: String
    public let number: Int64
    public let transactionID: String
    public let from: String
    /// The payee's account in the counterpart region.
    public let to: String
    public let token: Token
    public let amount: Amount
    public let senderJurisdiction: String
    public let senderKYCTier: Int
    public let signingBytes: [UInt8]

    public init(
        region: String, counterpart: String, number: Int64, transactionID: String, from: String, to: String,
        token: Token,
        amount: Amount, senderJurisdiction: String, senderKYCTier: Int
    ) {
        self.region = region
        self.counterpart = counterpart
        self.number = number
        self.transactionID = transactionID
        self.from = from
        self.to = to
        self.token = token
        self.amount = amount
        self.senderJurisdiction = senderJurisdiction
        self.senderKYCTier = senderKYCTier
        signingBytes =
            CanonicalRecord(
                header: Self.header,
                fields: [
                    ("region", region), ("counterpart", counterpart), ("number", String(number)),
                    ("transaction_id", transactionID),
                    ("from", from), ("to", to), ("token", token.rawValue), ("amount", amount.description),
                    ("sender_jurisdiction", senderJurisdiction), ("sender_kyc_tier", String(senderKYCTier)),
                ]
            ).bytes
    }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        guard Identifier.isValidToken(values[3][...]) else { throw RecordError("transaction_id: not a transaction id") }
        guard Identifier.isValidJurisdiction(values[8][...]) else {
            throw RecordError("sender_jurisdiction: not a jurisdiction")
        }
        let tiers = Int64(KYCTier.range.lowerBound)...Int64(KYCTier.range.upperBound)
        guard let tier = Identifier.canonicalInteger(values[9][...], in: tiers) else {
            throw RecordError("sender_kyc_tier: must be \(KYCTier.range.lowerBound)...\(KYCTier.range.upperBound)")
        }
        self.init(
            region: try InterRegionFields.region(values[0], "region"),
            counterpart: try InterRegionFields.region(values[1], "counterpart"),
            number: try InterRegionFields.positive(values[2], "number"), transactionID: values[3],
            from: try InterRegionFields.account(values[4], "from"), to: try InterRegionFields.account(values[5], "to"),
            token: try InterRegionFields.token(values[6]), amount: try InterRegionFields.amount(values[7]),
            senderJurisdiction: values[8], senderKYCTier: Int(tier)
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}

/// An outbound message as the payee's region receives it, with the block of the payer's region that
/// holds it. The node checks the block's quorum signature and the message's Merkle path before it makes
/// one; the engine decides it into an `IncomingDecision`.
public struct Delivery: Sendable, Hashable {
    public let message: OutboundMessage
    /// SHA3-256 of the message's bytes, as the node computed it when it checked the Merkle path.
    public let messageSHA3Hex: String
    public let sourceBlockHeight: Int64
    public let sourceBlockHashHex: String

    public init(message: OutboundMessage, messageSHA3Hex: String, sourceBlockHeight: Int64, sourceBlockHashHex: String)
    {
        self.message = message
        self.messageSHA3Hex = messageSHA3Hex
        self.sourceBlockHeight = sourceBlockHeight
        self.sourceBlockHashHex = sourceBlockHashHex
    }

    /// The decision recorded for this delivery.
    public func decided(_ verdict: InterRegionVerdict) -> IncomingDecision {
        IncomingDecision(
            message: message, outboundSHA3Hex: messageSHA3Hex, sourceBlockHeight: sourceBlockHeight,
            sourceBlockHashHex: sourceBlockHashHex, verdict: verdict)
    }
}

/// Recorded by the payee's region: how it decided a payment from another region, with the whole
/// message it decided (so that an audit can decide it again) and the block of the payer's region that
/// held it. Its block, signed by the payee region's quorum, is the acknowledgement the payer's region
/// is sent back.
public struct IncomingDecision: Sendable, Hashable {
    public static let header = "SDT-INCOMING-V1"
    static let fieldNames =
        [
            "region", "source_region", "number", "transaction_id", "from", "to", "token", "amount",
            "sender_jurisdiction",
            "sender_kyc_tier", "outbound_sha3", "source_block_height", "source_block_hash",
        ] + InterRegionVerdict.fieldNames

    public let message: OutboundMessage
    /// SHA3-256 of the outbound message decided, so that the payer's region knows it is its message.
    public let outboundSHA3Hex: String
    public let sourceBlockHeight: Int64
    public let sourceBlockHashHex: String
    public let verdict: InterRegionVerdict
    public let signingBytes: [UInt8]

    public var region: String { message.counterpart }
    public var sourceRegion: String { message.region }
    public var number: Int64 { message.number }
    public var to: String { message.to }
    public var token: Token { message.token }
    public var amount: Amount { message.amount }

    public init(
        message: OutboundMessage, outboundSHA3Hex: String, sourceBlockHeight: Int64, sourceBlockHashHex: String,
        verdict: InterRegionVerdict
    ) {
        self.message = message
        self.outboundSHA3Hex = outboundSHA3Hex
        self.sourceBlockHeight = sourceBlockHeight
        self.sourceBlockHashHex = sourceBlockHashHex
        self.verdict = verdict
        signingBytes =
            CanonicalRecord(
                header: Self.header,
                fields: [
                    ("region", message.counterpart), ("source_region", message.region),
                    ("number", String(message.number)),
                    ("transaction_id", message.transactionID), ("from", message.from), ("to", message.to),
                    ("token", message.token.rawValue), ("amount", message.amount.description),
                    ("sender_jurisdiction", message.senderJurisdiction),
                    ("sender_kyc_tier", String(message.senderKYCTier)),
                    ("outbound_sha3", outboundSHA3Hex), ("source_block_height", String(sourceBlockHeight)),
                    ("source_block_hash", sourceBlockHashHex),
                ] + verdict.fields
            ).bytes
    }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        // The message's own fields, in the message's order, parsed by the message.
        let messageFields =
            [("region", values[1]), ("counterpart", values[0])]
            + zip(
                [
                    "number", "transaction_id", "from", "to", "token", "amount", "sender_jurisdiction",
                    "sender_kyc_tier",
                ], values[2...9]
            ).map { ($0, $1) }
        let message = try OutboundMessage(
            signingBytes: CanonicalRecord(header: OutboundMessage.header, fields: messageFields).bytes)
        self.init(
            message: message, outboundSHA3Hex: try InterRegionFields.hash(values[10], "outbound_sha3"),
            sourceBlockHeight: try InterRegionFields.positive(values[11], "source_block_height"),
            sourceBlockHashHex: try InterRegionFields.hash(values[12], "source_block_hash"),
            verdict: try InterRegionVerdict(values[13...])
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }

    /// The delivery this decision decided, for a replay.
    public var delivery: Delivery {
        Delivery(
            message: message, messageSHA3Hex: outboundSHA3Hex, sourceBlockHeight: sourceBlockHeight,
            sourceBlockHashHex: sourceBlockHashHex)
    }

    /// The acknowledgement the payer's region records for this decision, held in the payee's block
    /// `blockHeight` whose header hashes to `blockHashHex`; `sha3Hex` is SHA3-256 of this decision's bytes.
    public func acknowledgement(sha3Hex: String, blockHeight: Int64, blockHashHex: String) -> Acknowledgement {
        Acknowledgement(
            region: sourceRegion, counterpart: region, number: number, incomingSHA3Hex: sha3Hex,
            counterpartBlockHeight: blockHeight, counterpartBlockHashHex: blockHashHex, token: token, amount: amount,
            verdict: verdict
        )
    }
}

/// Recorded by the payer's region once the payee's region decided: the end of one payment's journey.
public struct Acknowledgement: Sendable, Hashable {
    public static let header = "SDT-ACK-V1"
    static let fieldNames =
        [
            "region", "counterpart", "number", "incoming_sha3", "counterpart_block_height", "counterpart_block_hash",
            "token",
            "amount",
        ] + InterRegionVerdict.fieldNames

    public let region: String
    public let counterpart: String
    public let number: Int64
    public let incomingSHA3Hex: String
    public let counterpartBlockHeight: Int64
    public let counterpartBlockHashHex: String
    public let token: Token
    public let amount: Amount
    public let verdict: InterRegionVerdict
    public let signingBytes: [UInt8]

    public init(
        region: String, counterpart: String, number: Int64, incomingSHA3Hex: String, counterpartBlockHeight: Int64,
        counterpartBlockHashHex: String, token: Token, amount: Amount, verdict: InterRegionVerdict
    ) {
        self.region = region
        self.counterpart = counterpart
        self.number = number
        self.incomingSHA3Hex = incomingSHA3Hex
        self.counterpartBlockHeight = counterpartBlockHeight
        self.counterpartBlockHashHex = counterpartBlockHashHex
        self.token = token
        self.amount = amount
        self.verdict = verdict
        signingBytes =
            CanonicalRecord(
                header: Self.header,
                fields: [
                    ("region", region), ("counterpart", counterpart), ("number", String(number)),
                    ("incoming_sha3", incomingSHA3Hex),
                    ("counterpart_block_height", String(counterpartBlockHeight)),
                    ("counterpart_block_hash", counterpartBlockHashHex),
                    ("token", token.rawValue), ("amount", amount.description),
                ] + verdict.fields
            ).bytes
    }

    public init(signingBytes: [UInt8]) throws(RecordError) {
        let values = try CanonicalRecord.parse(signingBytes, header: Self.header, names: Self.fieldNames)
        self.init(
            region: try InterRegionFields.region(values[0], "region"),
            counterpart: try InterRegionFields.region(values[1], "counterpart"),
            number: try InterRegionFields.positive(values[2], "number"),
            incomingSHA3Hex: try InterRegionFields.hash(values[3], "incoming_sha3"),
            counterpartBlockHeight: try InterRegionFields.positive(values[4], "counterpart_block_height"),
            counterpartBlockHashHex: try InterRegionFields.hash(values[5], "counterpart_block_hash"),
            token: try InterRegionFields.token(values[6]), amount: try InterRegionFields.amount(values[7]),
            verdict: try InterRegionVerdict(values[8...])
        )
        guard self.signingBytes == signingBytes else { throw RecordError("record is not in canonical form") }
    }
}

extension InterRegionEntry {
    /// Moves a block header's claims and obligations (per counterpart and token) by what this recorded
    /// entry credits: a credit this region gave a payment from another region is a claim on it; an
    /// acknowledged credit by another region of a payment from here is an obligation to it. The sealer
    /// states headers with it and custodians check them with it.
    public func moving(claims: inout [String: [Token: Int64]], obligations: inout [String: [Token: Int64]]) {
        switch self {
        case .incoming(let decision) where decision.verdict == .credited:
            claims[decision.sourceRegion, default: [:]][decision.token, default: 0] += decision.amount.minorUnits
        case .acknowledgement(let acknowledgement) where acknowledgement.verdict == .credited:
            obligations[acknowledgement.counterpart, default: [:]][acknowledgement.token, default: 0] +=
                acknowledgement.amount.minorUnits
        default:
            break
        }
    }
}

/// The account that holds what is on its way to a counterpart region: a liability of this region to
/// that one until the payee's region decides. Outside the client account alphabet, like the issuer.
public func inTransitAccountID(_ counterpart: String) -> String { "$transit:\(counterpart)" }
