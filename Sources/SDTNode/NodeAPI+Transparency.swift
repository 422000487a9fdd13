import Foundation
import Mustache
import OpenAPIRuntime
import SDTAPI
import SDTClient
import SDTCore
import SDTLedger
import Synchronization

/// `GET /`: the region's public page (seed 000: non-sensitive data publicly queryable), rendered on
/// the server from a Mustache template with figures read from the ledger when it is served, and a
/// chart drawn as SVG on the server, so it reads without JavaScript.
extension NodeAPI {
    /// The template, parsed once (it is part of the build: a parse failure is a defect, reported as such).
    static let transparencyTemplate = Result {
        try MustacheTemplate(string: String(decoding: PackageResources.transparency_mustache, as: UTF8.self))
    }
    /// Blocks drawn in the chart and listed in the table, and bars listed.
    static let chartBlocksMax = 60
    static let listedBlocksMax = 10
    static let listedBarsMax = 200

    /// The page as last read, with the ledger state it was read at: every change to what the page shows
    /// is an entry or a seal or a signature, so while those stand still the page read then is still true
    /// (it says when it was read). A public page cannot make the node re-read the ledger per request.
    static let transparencyCache = Mutex<(key: String, page: TransparencyPage)?>(nil)

    public func getTransparencyPage(
        _ input: Operations.GetTransparencyPage.Input
    ) async throws -> Operations.GetTransparencyPage.Output {
        let head = try reader.head()
        let key = "\(config.region)/\(head.appliedSequence)/\(head.sealedHeight)/\(head.finalHeight)"
        var page: TransparencyPage
        if let cached = Self.transparencyCache.withLock({ $0 }), cached.key == key {
            page = cached.page
        } else {
            page = try TransparencyPage.read(
                reader: reader, config: config, roster: roster, nowMilliseconds: clock.nowMilliseconds(),
                chartBlocks: Self.chartBlocksMax, listedBlocks: Self.listedBlocksMax, bars: Self.listedBarsMax)
            Self.transparencyCache.withLock { [page] in $0 = (key, page) }
        }
        if let id = input.query.receipt?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
            page.lookupID = id
            page.lookup = try await lookUpReceipt(id)
        }
        let html = try Self.transparencyTemplate.get().render(page)
        return .ok(.init(body: .html(HTTPBody(html))))
    }

    /// Fetches the receipt as any client would and verifies it with the region's block key.
    private func lookUpReceipt(_ id: String) async throws -> TransparencyPage.Lookup {
        let quoted = Echo.quoted(id)
        switch try await getReceipt(.init(path: .init(id: id))) {
        case .ok(let ok):
            let receipt = try ok.body.json
            do {
                let header = try Signing.verify(receipt: receipt, blockPublicKey: blockPublicKey)
                return .init(
                    style: "verified",
                    text: "Verified: \(quoted) is entry \(receipt.leafIndex + 1) of \(receipt.entryCount) in block "
                        + "\(header.height), and the block's header is signed by this region's block key.")
            } catch {
                return .init(style: "refused", text: "The receipt of \(quoted) does NOT verify: \(error)")
            }
        case .notFound:
            return .init(style: "refused", text: "This ledger holds no transfer \(quoted).")
        case .conflict(let conflict):
            let detail = (try? conflict.body.applicationProblemJson.detail) ?? nil
            return .init(style: "refused", text: "No receipt yet for \(quoted): \(detail ?? "not final")")
        default:
            return .init(style: "refused", text: "The receipt of \(quoted) could not be looked up.")
        }
    }
}

/// What the page shows, as the template reads it. Every figure comes from the ledger at one moment.
struct TransparencyPage: Sendable {
    struct TokenRow {
        let token: String
        let supply: String
        let reserves: String
        let claims: String
        let obligations: String
        let backed: String
    }

    struct Chart {
        let token: String
        let width = 600
        let height = 220
        let blocks: Int
        let firstHeight: Int64
        let lastHeight: Int64
        let top: String
        let supplyPoints: String
        let reservePoints: String
        let description: String
    }

    struct Bar {
        let serial: String
        let vault: String
        let refiner: String
        let fine: String
    }

    /// Whether a block is signed, and by whom when its signers' shares prove it.
    static func signedBy(_ block: SealedBlock, roster: CustodianRoster?) -> String {
        guard block.isFinal else { return "not yet" }
        guard let roster, !block.signers.isEmpty else { return "yes" }
        guard let proven = roster.provenSigners(of: block) else { return "yes (the signers' shares do not verify)" }
        let names = proven.map { "\($0) (\(roster.names[$0] ?? "?"))" }
        let listed = names.count > 1 ? names.dropLast().joined(separator: ", ") + " and " + names.last! : names.joined()
        return "yes, by custodians " + listed
    }

    struct BlockRow {
        let height: Int64
        let sealedAt: String
        let entries: Int64
        let signed: String
        let hash: String
    }

    struct Rules {
        let version: Int64
        let sha3: String
        let since: String
        let text: String
    }

    struct Lookup {
        let style: String
        let text: String
    }

    let name: String
    let region: String
    let asOf: String
    let tokens: [TokenRow]
    let charts: [Chart]
    let bars: [Bar]
    let hasBars: Bool
    let barCount: Int
    let barsShown: Int
    let barsTruncated: Bool
    let blocks: [BlockRow]
    let hasBlocks: Bool
    let signers: String
    let rules: Rules?
    var lookupID = ""
    var lookup: Lookup?

    static func time(_ milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        return Date.ISO8601FormatStyle().format(Date(timeIntervalSince1970: TimeInterval(seconds)))
            .replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
    }

    static func read(
        reader: LedgerReader, config: RegionConfig, roster: CustodianRoster?, nowMilliseconds: Int64, chartBlocks: Int,
        listedBlocks: Int, bars barsMax: Int
    ) throws -> TransparencyPage {
        let reserves = try reader.reserves()
        let totals = try reader.positionTotals()
        let tokens = config.tokens.map { token in
            let (claims, obligations) = (totals.claims[token] ?? 0, totals.obligations[token] ?? 0)
            let supply = reserves.supply[token] ?? 0
            let backing = (reserves.reserves[token] ?? 0) + claims - obligations
            let backed =
                supply == backing
                ? "yes: supply = reserves + claims − obligations"
                : "NO: supply differs from reserves + claims − obligations by "
                    + Amount.display(supply - backing, token)
            return TokenRow(
                token: token.rawValue, supply: Amount.display(supply, token),
                reserves: Amount.display(reserves.reserves[token] ?? 0, token), claims: Amount.display(claims, token),
                obligations: Amount.display(obligations, token), backed: backed)
        }
        let headers = try reader.newestBlocks(chartBlocks)
        let charts = headers.isEmpty ? [] : config.tokens.map { chart($0, headers) }
        let held = try reader.bars(after: "", limit: barsMax + 1)
        let bars = held.prefix(barsMax).map {
            Bar(
                serial: $0.serial, vault: $0.vault, refiner: $0.refiner,
                fine: Amount.display($0.fineWeightMilligrams, .gold))
        }
        let blocks = headers.suffix(listedBlocks).reversed().map { block in
            BlockRow(
                height: block.height, sealedAt: time(block.header.sealedAtMilliseconds),
                entries: block.header.entryCount,
                signed: signedBy(block, roster: roster), hash: String(Hex.encode(block.hash).prefix(16)) + "…")
        }
        let signers =
            config.custody == nil
            ? "Blocks are signed with this region's block key."
            : "A block is signed by a quorum of this region's custodians with one threshold signature (FROST), which "
                + "verifies with the region's one block key. The signature itself does not show who made it, so the "
                + "node keeps each signer's nonce commitments and signature share; a signer is named here only when "
                + "its share verifies against its public share in the ceremony transcript."
        let rules = try reader.ruleSet(version: nil).map {
            Rules(version: $0.version, sha3: $0.sha3Hex, since: time($0.installedAtMilliseconds), text: $0.text)
        }
        return TransparencyPage(
            name: config.name, region: config.region, asOf: time(nowMilliseconds), tokens: tokens, charts: charts,
            bars: bars, hasBars: !bars.isEmpty, barCount: Int(reserves.barsHeld), barsShown: bars.count,
            barsTruncated: held.count > barsMax, blocks: blocks, hasBlocks: !blocks.isEmpty, signers: signers,
            rules: rules)
    }

    /// Supply and reserves of `token` at each block, as polylines in the chart's pixels. Pixels are
    /// whole numbers computed from the exact amounts (integer arithmetic, rounded down).
    static func chart(_ token: Token, _ blocks: [SealedBlock]) -> Chart {
        let (width, height, pad): (Int64, Int64, Int64) = (600, 220, 10)
        let supply = blocks.map { $0.header.supply[token] ?? 0 }
        let reserves = blocks.map { $0.header.reserves[token] ?? 0 }
        let top = max(1, (supply + reserves).max() ?? 1)
        func points(_ values: [Int64]) -> String {
            values.enumerated().map { index, value in
                let x = pad + (width - 2 * pad) * Int64(index) / max(1, Int64(values.count - 1))
                let scaled = top.dividingFullWidth(max(0, value).multipliedFullWidth(by: height - 2 * pad)).quotient
                return "\(x),\(height - pad - scaled)"
            }.joined(separator: " ")
        }
        let short = blocks.filter { block in
            let net =
                block.header.claims.values.reduce(Int64(0)) { $0 + ($1[token] ?? 0) }
                - block.header.obligations.values.reduce(Int64(0)) { $0 + ($1[token] ?? 0) }
            return (block.header.supply[token] ?? 0) != (block.header.reserves[token] ?? 0) + net
        }.count
        let description =
            "Over blocks \(blocks.first!.height) to \(blocks.last!.height), reserves went from "
            + "\(Amount.display(reserves.first!, token)) to \(Amount.display(reserves.last!, token)) and supply from "
            + "\(Amount.display(supply.first!, token)) to \(Amount.display(supply.last!, token)). "
            + (short == 0
                ? "At every one of these blocks the signed header states supply equal to reserves plus claims less "
                    + "obligations."
                : "At \(short) of these blocks the signed header's supply differs from reserves plus claims less "
                    + "obligations.")
        return Chart(
            token: token.rawValue, blocks: blocks.count, firstHeight: blocks.first!.height,
            lastHeight: blocks.last!.height, top: Amount.display(top, token), supplyPoints: points(supply),
            reservePoints: points(reserves), description: description)
    }
}
