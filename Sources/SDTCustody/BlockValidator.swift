import SDTCore
import SDTCrypto

/// Which entry signatures a custodian verifies itself.
public enum CheckPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Every entry's signature: the default.
    case full
    /// Every operator action, every transfer of at least `thresholdMinorUnits`, and of the smaller
    /// transfers a random `samplePerMille`/1000, drawn by the custodian from libsodium's generator, so
    /// the node cannot know which ones will be checked. Hash links and the Merkle root are always checked.
    case sampled(thresholdMinorUnits: Int64, samplePerMille: Int)

    /// `full`, or `sampled:THRESHOLD_MINOR_UNITS:PER_MILLE` (e.g. `sampled:100000:50`).
    public init?(_ text: String) {
        if text == "full" {
            self = .full
            return
        }
        let parts = text.split(separator: ":")
        guard parts.count == 3, parts[0] == "sampled", let threshold = Int64(parts[1]), threshold >= 1,
            let perMille = Int(parts[2]), (0...1000).contains(perMille)
        else { return nil }
        self = .sampled(thresholdMinorUnits: threshold, samplePerMille: perMille)
    }

    public var description: String {
        switch self {
        case .full: "full"
        case .sampled(let threshold, let perMille): "sampled:\(threshold):\(perMille)"
        }
    }

    func requiresCheck(_ entry: SignedEntry, random: any RandomSource) -> Bool {
        guard case .sampled(let threshold, let perMille) = self, entry.kind == .transfer else { return true }
        if random.uniform(1000) < perMille { return true }
        // Only the amount decides the rest; anything unreadable is checked in full.
        guard let amount = Self.amount(in: entry.signingBytes) else { return true }
        return amount >= threshold
    }

    /// The value of the `amount:` line of a transfer record, read without parsing the whole record.
    static func amount(in record: [UInt8]) -> Int64? {
        let prefix = Array("\namount:".utf8)
        guard
            let start = record.indices.dropLast(prefix.count).first(where: {
                record[$0..<$0 + prefix.count].elementsEqual(prefix)
            })
        else {
            return nil
        }
        var value: Int64 = 0
        var index = start + prefix.count
        while index < record.count, record[index] != 0x0A {
            guard record[index] >= 0x30, record[index] <= 0x39, value < Int64.max / 10 else { return nil }
            value = value * 10 + Int64(record[index] - 0x30)
            index += 1
        }
        return index > start + prefix.count ? value : nil
    }
}

/// What a custodian checks before it contributes a signature share, in this order: the header
/// parses and is for its region; the chain continues from a block the quorum signed (or from
/// genesis); the entries hash to the header's Merkle root and count; the entry signatures its
/// `CheckPolicy` selects verify; and it has not signed a different block at this height.
public struct BlockValidator: Sendable {
    public let region: String
    public let groupPublicKey: [UInt8]
    public let policy: CheckPolicy
    /// Draws the sample: unpredictable to the node in production, seeded in a simulation.
    let random: any RandomSource

    public init(
        region: String, groupPublicKey: [UInt8], policy: CheckPolicy = .full, random: any RandomSource = SystemRandom()
    ) {
        self.region = region
        self.groupPublicKey = groupPublicKey
        self.policy = policy
        self.random = random
    }

    public func validate(_ request: BlockSigningRequest) throws(CryptoError) -> BlockHeader {
        let header: BlockHeader
        do {
            header = try BlockHeader(signingBytes: request.headerBytes)
        } catch {
            throw CryptoError("the header does not parse: \(error)")
        }
        guard header.region == region else {
            throw CryptoError("the block is for region \(header.region), not \(region)")
        }
        for token in Token.allCases
        where (header.supply[token] ?? 0) != (header.reserves[token] ?? 0) + header.netPosition(token) {
            throw CryptoError(
                "the block states \(token.rawValue) supply \(header.supply[token] ?? 0) but reserves "
                    + "\(header.reserves[token] ?? 0) plus claims less obligations \(header.netPosition(token)); "
                    + "unbacked supply is never signed")
        }
        try checkContinuity(header, request)
        try checkPositions(header, request)
        guard header.entryCount == Int64(request.entries.count),
            header.lastSequence - header.firstSequence + 1 == header.entryCount,
            !request.entries.isEmpty
        else { throw CryptoError("the header counts \(header.entryCount) entries, \(request.entries.count) were sent") }
        let leaves = request.entries.map { Merkle.leafHash($0.signingBytes + $0.signature) }
        guard Hex.encode(Merkle.root(leafHashes: leaves)) == header.merkleRootHex else {
            throw CryptoError("the entries do not hash to the header's Merkle root")
        }
        for (index, entry) in request.entries.enumerated()
        where policy.requiresCheck(entry, random: random) && !Self.signatureVerifies(entry) {
            throw CryptoError("entry \(header.firstSequence + Int64(index)) has a signature that does not verify")
        }
        return header
    }

    /// Claims and obligations must be the previous block's, moved by exactly the credits this block's
    /// entries record: a claim only for a payment this region credited for another, an obligation only
    /// for an acknowledged credit by another. (Whether the other region really sent the payment is the
    /// receiving node's check of its block signature against the registry.)
    private func checkPositions(_ header: BlockHeader, _ request: BlockSigningRequest) throws(CryptoError) {
        let previous = request.previousHeader.flatMap { try? BlockHeader(signingBytes: $0) }
        var claims = previous?.claims ?? [:]
        var obligations = previous?.obligations ?? [:]
        for entry in request.entries where entry.kind == .interRegion {
            // A record that does not parse is refused by the entry checks.
            (try? InterRegionEntry(recordedBytes: entry.signingBytes))?.moving(
                claims: &claims, obligations: &obligations)
        }
        func same(_ left: [String: [Token: Int64]], _ right: [String: [Token: Int64]]) -> Bool {
            Set(left.keys).union(right.keys).allSatisfy { region in
                Token.allCases.allSatisfy { (left[region]?[$0] ?? 0) == (right[region]?[$0] ?? 0) }
            }
        }
        guard same(claims, header.claims), same(obligations, header.obligations) else {
            throw CryptoError(
                "the block's claims or obligations do not follow from the previous block and this block's entries")
        }
    }

    private func checkContinuity(_ header: BlockHeader, _ request: BlockSigningRequest) throws(CryptoError) {
        if header.height == 1 {
            guard header.previousHashHex == BlockHeader.genesisPreviousHashHex, header.firstSequence == 1 else {
                throw CryptoError("block 1 must start the chain at sequence 1 from the genesis hash")
            }
            return
        }
        guard let previousBytes = request.previousHeader, let previousSignature = request.previousSignature,
            let previous = try? BlockHeader(signingBytes: previousBytes)
        else { throw CryptoError("block \(header.height) came without its signed predecessor") }
        guard Ed25519.verify(signature: previousSignature, message: previousBytes, publicKey: groupPublicKey) else {
            throw CryptoError("the predecessor of block \(header.height) is not signed by the region key")
        }
        guard previous.height == header.height - 1, Hex.encode(SHA3.hash256(previousBytes)) == header.previousHashHex,
            previous.lastSequence + 1 == header.firstSequence
        else { throw CryptoError("block \(header.height) does not continue the chain from block \(previous.height)") }
    }

    static func signatureVerifies(_ entry: SignedEntry) -> Bool {
        let publicKeyHex: String
        switch entry.kind {
        case .transfer:
            guard let record = try? TransferEntryRecord(signingBytes: entry.signingBytes) else { return false }
            publicKeyHex = record.publicKeyHex
        case .operatorAction:
            guard let action = try? OperatorAction(signingBytes: entry.signingBytes) else { return false }
            publicKeyHex = action.operatorKeyHex
        case .interRegion:
            // No client signs it: it must be a well-formed inter-region record with no signature.
            return entry.signature.isEmpty && (try? InterRegionEntry(recordedBytes: entry.signingBytes)) != nil
        }
        return Ed25519.verify(
            signature: entry.signature, message: entry.signingBytes, publicKey: Hex.decode(publicKeyHex) ?? [])
    }
}
