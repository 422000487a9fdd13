import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTTesting
import Testing

/// Every read endpoint, asked by every kind of reader: what is public stays public, an account is read
/// by its holder and by operators only, compliance data only by compliance readers, and a signature
/// that is stale, forged, revoked or by an unknown key is refused (401) wherever it is sent.
@Suite(.serialized) struct ReadAuthorisationTests {
    enum Kind: String, CaseIterable {
        case anyone, holder, otherHolder, support, auditor, staleSignature, forgedSignature, unknownKey, revokedKey
    }

    @Test func everyReadEndpointAnswersEveryReaderByLevel() async throws {
        let node = try TestNode()
        let support = SigningKey()
        let auditor = SigningKey()
        node.config.operatorRoles = [support.publicKeyHex: [.support], auditor.publicKeyHex: [.auditor]]
        try node.saveConfig()
        try await node.start()
        let alice = try await node.holder("alice", usd: 10_000)
        let bob = try await node.holder("bob")
        let old = SigningKey()
        _ = try await node.operate(.addKey, "bob", [.deviceKey: old.publicKeyHex])
        _ = try await node.operate(.revokeKey, "bob", [.deviceKey: old.publicKeyHex])
        let transfer = try await node.signedTransfer(alice, "alice", "bob", 100)
        guard case .accepted = try await node.client.submit(transfer) else {
            throw TestFailure("the transfer was refused")
        }
        _ = try await node.operate(
            .freeze, "alice", [.legalDirective: "Case 2026-CV-9", .reason: "preservation order"])
        _ = try await node.operate(.unfreeze, "alice", [.legalDirective: "Case 2026-CV-9", .reason: "order lifted"])
        _ = try await node.client.waitUntilSettled(transfer.transactionId)

        let publicPaths = [
            "/health", "/openapi.yaml", "/v1/region", "/v1/ledger/head", "/v1/blocks/1", "/v1/reserves",
            "/v1/reserves/bars", "/v1/reserves/records",
            "/v1/rules", "/v1/rules/1", "/v1/transactions/\(transfer.transactionId)",
            "/v1/transactions/\(transfer.transactionId)/receipt",
        ]
        let accountPaths = ["/v1/accounts/alice", "/v1/accounts/alice/balance", "/v1/accounts/alice/history"]
        var walked = 0
        for kind in Kind.allCases {
            func ask(
                _ path: String
            ) async throws -> (status: Int, json: [String: Any], contentType: String, headers: [String: String]) {
                switch kind {
                case .anyone: try await node.raw("GET", path)
                case .holder: try await node.raw("GET", path, reader: alice)
                case .otherHolder: try await node.raw("GET", path, reader: bob)
                case .support: try await node.raw("GET", path, reader: support)
                case .auditor: try await node.raw("GET", path, reader: auditor)
                case .staleSignature:
                    try await node.raw("GET", path, reader: alice, time: SystemClock().nowMilliseconds() - 600_000)
                case .forgedSignature:
                    try await node.raw(
                        "GET", path,
                        authorization: "SDT-Signature key=\(alice.publicKeyHex), "
                            + "time=\(SystemClock().nowMilliseconds()), signature=\(String(repeating: "ab", count: 64))"
                    )
                case .unknownKey: try await node.raw("GET", path, reader: SigningKey())
                case .revokedKey: try await node.raw("GET", path, reader: old)
                }
            }
            let refusedOutright = [.staleSignature, .forgedSignature, .unknownKey, .revokedKey].contains(kind)
            for path in publicPaths {
                let answer = try await ask(path)
                walked += 1
                if refusedOutright {
                    #expect(
                        answer.status == 401 && answer.json["code"] as? String == "authentication_invalid",
                        "\(kind) \(path): \(answer.status)")
                } else {
                    #expect(answer.status == 200, "\(kind) \(path): \(answer.status) \(answer.json)")
                }
            }
            for path in accountPaths {
                let answer = try await ask(path)
                walked += 1
                let expected: (Int, String?) =
                    switch kind {
                    case .anyone: (401, "authentication_required")
                    case .holder, .support, .auditor: (200, nil)
                    case .otherHolder: (403, "forbidden")
                    case .staleSignature, .forgedSignature, .unknownKey, .revokedKey: (401, "authentication_invalid")
                    }
                #expect(answer.status == expected.0, "\(kind) \(path): \(answer.status) \(answer.json)")
                #expect(answer.json["code"] as? String == expected.1, "\(kind) \(path): \(answer.json)")
                guard path.hasSuffix("/history"), answer.status == 200 else { continue }
                // Compliance data — the directive and the reason behind the freeze — only for compliance readers.
                let events = answer.json["events"] as? [[String: Any]] ?? []
                #expect(events.map { $0["action"] as? String } == ["open_account", "mint_usd", "freeze", "unfreeze"])
                let directives = events.compactMap { $0["legal_directive"] as? String }
                #expect(
                    directives == (kind == .auditor ? ["Case 2026-CV-9", "Case 2026-CV-9"] : []),
                    "\(kind): \(directives)")
            }
        }
        #expect(walked == Kind.allCases.count * (publicPaths.count + accountPaths.count))
        // No reader learns whether an account exists unless it may read it: a holder asking about an
        // unknown account is refused like for any other one; an operator is told it is unknown.
        #expect(try await node.raw("GET", "/v1/accounts/ghost", reader: alice).status == 403)
        #expect(try await node.raw("GET", "/v1/accounts/ghost", reader: support).status == 404)
        // A signature covers the query: the same signature for another page is refused.
        let signed = SignedRequest(
            method: "GET", path: "/v1/accounts/alice/history", query: "limit=1",
            timeMilliseconds: SystemClock().nowMilliseconds(), publicKeyHex: alice.publicKeyHex)
        let header = signed.authorization(signatureHex: Hex.encode(alice.sign(signed.signingBytes)))
        #expect(try await node.raw("GET", "/v1/accounts/alice/history?limit=1", authorization: header).status == 200)
        #expect(try await node.raw("GET", "/v1/accounts/alice/history?limit=2", authorization: header).status == 401)
    }

    /// `sdt wallet account` reads a holder's own account with a request its device key signs, and is
    /// refused, naming why, for an account the key does not belong to.
    @Test func walletAccountReadsTheHoldersOwnAccountOnly() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        let transfer = try await node.signedTransfer(alice, "alice", "bob", 250)
        _ = try await node.client.submit(transfer)
        _ = try await node.client.waitUntilSettled(transfer.transactionId)
        let keystore = node.directory.file("alice.key")
        let passphraseFile = node.directory.file("passphrase")
        try "correct horse battery".write(toFile: passphraseFile, atomically: true, encoding: .utf8)
        try Keystore.seal(alice, purpose: "device", passphrase: "correct horse battery").write(to: keystore)
        let common = ["--node", node.client.baseURL, "--key", keystore, "--passphrase-file", passphraseFile]

        let own = try AuditCommandTests.sdt(["wallet", "account", "--account", "alice"] + common)
        #expect(own.status == 0, "\(own.output)")
        #expect(own.output.contains("account alice (US-TX"), "\(own.output)")
        #expect(own.output.contains("97.50 USD"), "\(own.output)")
        #expect(own.output.contains("key \(alice.publicKeyHex) active"), "\(own.output)")
        #expect(own.output.contains("with bob"), "\(own.output)")

        let other = try AuditCommandTests.sdt(["wallet", "account", "--account", "bob"] + common)
        #expect(other.status != 0)
        #expect(other.output.contains("forbidden"), "\(other.output)")
    }

    /// Roles separate duties on writes too: a key signs only the actions its roles cover, is told which
    /// role it lacks, and a key with read roles only signs nothing.
    @Test func operatorKeysSignOnlyTheActionsTheirRolesCover() async throws {
        let node = try TestNode()
        let minter = SigningKey()
        let support = SigningKey()
        node.config.operatorKeys.append(minter.publicKeyHex)
        node.config.operatorRoles = [minter.publicKeyHex: [.minting], support.publicKeyHex: [.support]]
        try node.saveConfig()
        try await node.start()
        _ = try await node.holder("alice")
        let minted = try await node.operate(
            .mintUSD, "alice",
            [
                .amount: "500", .bank: "Test Bank", .reference: "DEP-9",
                .valueDate: "2026-11-20",
            ], key: minter)
        #expect(minted.state == .accepted)
        for (key, expected) in [(minter, "operator_role_missing"), (support, "operator_key_unknown")] {
            do {
                _ = try await node.operate(.freeze, "alice", [.legalDirective: "Case 1", .reason: "order"], key: key)
                Issue.record("a key without the compliance role froze an account")
            } catch let error as NodeClientError {
                #expect(error.status == 403)
                #expect(error.problem?.code == expected, "\(error)")
                if expected == "operator_role_missing" {
                    #expect(error.problem?.detail.contains("compliance role") == true)
                }
            }
        }
        let account = try await node.client.account("alice")
        #expect(account.frozen == false)
        #expect(account.balances.first { $0.token == .usd }?.amount == 500)
    }
}
