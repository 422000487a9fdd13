import SDTTesting
import Foundation
import FoundationNetworking
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import Testing

@Suite(.serialized) struct BadInputTests {
    struct Case: CustomStringConvertible {
        let description: String
        let method: String
        let path: String
        let body: Data?
        var contentType = "application/json"
        let status: Int
        let code: String
    }

    /// Edits a signed transfer's JSON object and returns the bytes.
    static func edited(_ transfer: Components.Schemas.SignedTransfer, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(transfer)) as! [String: Any]
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func everyBadInputGetsAProblemAndChangesNothing() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 10_000)
        _ = try await node.holder("bob")
        let good = try await node.signedTransfer(alice, "alice", "bob", 100)
        guard case .accepted = try await node.client.submit(good) else { throw TestFailure("the good transfer was refused") }

        let fresh = try await node.signedTransfer(alice, "alice", "bob", 100)
        let issuer = try TransactionIDIssuer(secret: Array(FileManager.default.contents(atPath: node.dataPath + "/node-secret")!), region: "us-tx")
        let expiredID = issuer.issue(account: "alice", expiresAtMilliseconds: 1_000)
        let expired = try await node.signedTransfer(alice, "alice", "bob", 100, transactionID: expiredID)
        let forgedID = try await node.signedTransfer(alice, "alice", "bob", 100, transactionID: "tx" + String(repeating: "ab", count: 32))
        let reused = try await node.signedTransfer(alice, "alice", "bob", 200, transactionID: good.transactionId)
        let toNobody = try await node.signedTransfer(alice, "alice", "carol", 100)
        let tooMany = Components.Schemas.TransferBatch(transfers: Array(repeating: fresh, count: 1_001))
        let stranger = SigningKey()
        let strangerAction = try Signing.operatorAction(key: stranger, region: "us-tx", requestID: "x-1", kind: .mintUSD,
                                                        fields: ReserveFields.deposit(1, "FAKE").merging([.account: "alice"]) { $1 })
        let deposit = try Signing.operatorAction(key: node.operatorKey, region: "us-tx", requestID: "d-1", kind: .mintUSD,
                                                 fields: ReserveFields.deposit(1, "DEP-BAD").merging([.account: "alice"]) { $1 })
        func action(_ edit: (inout [String: Any]) -> Void) throws -> Data {
            var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(deposit)) as! [String: Any]
            edit(&object)
            return try JSONSerialization.data(withJSONObject: object)
        }
        var wrongSignature = fresh
        wrongSignature.signature = Hex.encode(alice.sign(Array("something else".utf8)))

        let cases: [Case] = [
            Case(description: "malformed JSON", method: "POST", path: "/v1/transactions", body: Data("{\"region\":".utf8), status: 400, code: "malformed_request"),
            Case(description: "amount as a string", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["amount"] = "100" }, status: 400, code: "malformed_request"),
            Case(description: "missing signature", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["signature"] = nil }, status: 400, code: "malformed_request"),
            Case(description: "unknown field", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["memo"] = "hi" }, status: 400, code: "malformed_request"),
            Case(description: "mixed token", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["token"] = "USD+GOLD" }, status: 400, code: "malformed_request"),
            Case(description: "zero amount", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["amount"] = 0 }, status: 400, code: "invalid_field"),
            Case(description: "negative amount", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["amount"] = -5 }, status: 400, code: "invalid_field"),
            Case(description: "amount above the maximum", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["amount"] = 1_000_000_000_000_001 }, status: 400, code: "invalid_field"),
            Case(description: "amount overflowing 64 bits", method: "POST", path: "/v1/transactions",
                 body: Data(String(decoding: try Self.edited(fresh) { $0["amount"] = 7 }, as: UTF8.self)
                    .replacingOccurrences(of: "\"amount\":7", with: "\"amount\":99999999999999999999999").utf8), status: 400, code: "malformed_request"),
            Case(description: "wrong signature", method: "POST", path: "/v1/transactions", body: try node.json(wrongSignature), status: 400, code: "signature_invalid"),
            Case(description: "signature not hex", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["signature"] = "zz" }, status: 400, code: "signature_invalid"),
            Case(description: "unknown region", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["region"] = "us-zz" }, status: 400, code: "region_mismatch"),
            Case(description: "bad account id", method: "POST", path: "/v1/transactions", body: try Self.edited(fresh) { $0["to"] = "Bob Smith" }, status: 400, code: "invalid_field"),
            Case(description: "forged transaction id", method: "POST", path: "/v1/transactions", body: try node.json(forgedID), status: 422, code: "transaction_id_invalid"),
            Case(description: "expired transaction id", method: "POST", path: "/v1/transactions", body: try node.json(expired), status: 422, code: "transaction_id_expired"),
            Case(description: "reused transaction id", method: "POST", path: "/v1/transactions", body: try node.json(reused), status: 422, code: "transaction_id_used"),
            Case(description: "unknown receiver", method: "POST", path: "/v1/transactions", body: try node.json(toNobody), status: 422, code: "receiver_unknown"),
            Case(description: "too many ids", method: "POST", path: "/v1/transaction-ids", body: Data("{\"account\":\"alice\",\"count\":100000}".utf8), status: 400, code: "invalid_field"),
            Case(description: "oversize body", method: "POST", path: "/v1/transactions", body: Data(repeating: 0x20, count: 2 << 20), status: 413, code: "body_too_large"),
            Case(description: "batch too large", method: "POST", path: "/v1/transactions/batch", body: try node.json(tooMany), status: 400, code: "batch_too_large"),
            Case(description: "wrong media type", method: "POST", path: "/v1/transactions", body: try node.json(fresh), contentType: "text/plain", status: 415, code: "unsupported_media_type"),
            Case(description: "unknown operator key", method: "POST", path: "/v1/admin/operations", body: try node.json(strangerAction), status: 403, code: "operator_key_unknown"),
            Case(description: "operator action with an unknown field", method: "POST", path: "/v1/admin/operations", body: try action { $0["memo"] = "x" }, status: 400, code: "malformed_request"),
            Case(description: "deposit with an impossible value date", method: "POST", path: "/v1/admin/operations", body: try action { $0["value_date"] = "2026-02-30" }, status: 400, code: "invalid_field"),
            Case(description: "deposit with a field it does not take", method: "POST", path: "/v1/admin/operations", body: try action { $0["bar_serial"] = "B-1" }, status: 400, code: "invalid_field"),
            Case(description: "deposit without its bank", method: "POST", path: "/v1/admin/operations", body: try action { $0["bank"] = nil }, status: 400, code: "invalid_field"),
            Case(description: "rules text on a deposit", method: "POST", path: "/v1/admin/operations", body: try action { $0["rules_text"] = "version = 9" }, status: 400, code: "invalid_field"),
            Case(description: "reason with a line break", method: "POST", path: "/v1/admin/operations", body: try action {
                $0["action"] = "freeze"; $0["amount"] = nil; $0["bank"] = nil; $0["reference"] = nil; $0["value_date"] = nil
                $0["legal_directive"] = "Case 1"; $0["reason"] = "two\nlines"
            }, status: 400, code: "invalid_field"),
            Case(description: "dry run for a bad account id", method: "POST", path: "/v1/rules/dry-run",
                 body: Data("{\"from\":\"Alice Smith\",\"to\":\"bob\",\"token\":\"USD\",\"amount\":1}".utf8), status: 400, code: "invalid_field"),
            Case(description: "statistics for a malformed period", method: "GET", path: "/v1/statistics/transfers?token=USD&period=November", body: nil, status: 400, code: "invalid_field"),
            Case(description: "statistics for a malformed jurisdiction", method: "GET", path: "/v1/statistics/transfers?token=USD&period=2026-11&jurisdiction=Texas", body: nil, status: 400, code: "invalid_field"),
            Case(description: "unknown rule set version", method: "GET", path: "/v1/rules/99", body: nil, status: 404, code: "not_found"),
            Case(description: "unknown route", method: "GET", path: "/v1/nothing-here", body: nil, status: 404, code: "not_found"),
            Case(description: "unknown transaction", method: "GET", path: "/v1/transactions/tx00", body: nil, status: 404, code: "not_found"),
            Case(description: "an account read without a signed reader", method: "GET", path: "/v1/accounts/ghost/balance", body: nil, status: 401,
                 code: "authentication_required"),
            Case(description: "history limit out of range", method: "GET", path: "/v1/accounts/alice/history?limit=0", body: nil, status: 400, code: "invalid_field"),
            Case(description: "history limit not a number", method: "GET", path: "/v1/accounts/alice/history?limit=ten", body: nil, status: 400, code: "invalid_field"),
            Case(description: "receipt of a rejected transfer", method: "GET", path: "/v1/transactions/\(toNobody.transactionId)/receipt", body: nil, status: 409, code: "rejected"),
        ]
        for item in cases + (try Self.strictInputCases(fresh: fresh, deposit: deposit, node: node)) {
            let answer = try await node.raw(item.method, item.path, body: item.body, contentType: item.contentType)
            #expect(answer.status == item.status, "\(item): status \(answer.status) \(answer.json)")
            #expect(answer.json["code"] as? String == item.code, "\(item): \(answer.json)")
            #expect(answer.contentType.hasPrefix("application/problem+json"), "\(item): content type \(answer.contentType)")
            #expect((answer.json["detail"] as? String)?.isEmpty == false, "\(item): no detail")
        }
        #expect(try await node.client.account("alice").balances.first { $0.token == .usd }?.amount == 9_900)
        #expect(try await node.client.account("bob").balances.first { $0.token == .usd }?.amount == 100)
        #expect(try await node.client.head().supply.first { $0.token == .usd }?.amount == 10_000)
        #expect(try await node.client.health().status == .ok)
        #expect(!node.log.contains("unexpected error"), "a bad input reached an unexpected error: \(node.log)")
        for (path, allowed) in [("/v1/transactions/batch", "POST"), ("/v1/rules/dry-run", "POST"), ("/v1/reserves", "GET")] {
            var request = URLRequest(url: URL(string: node.client.baseURL + path)!)
            request.httpMethod = "OPTIONS"
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Allow") == allowed, "\(path)")
        }
    }
}

extension BadInputTests {
    /// What the contract forbids beyond the schema's shape: repeated keys, a byte-order mark, other media
    /// types and charsets, uppercase hex, keys that are not prime-order points, control bytes in the
    /// path, parameters out of their schema, methods a path does not have.
    static func strictInputCases(fresh: Components.Schemas.SignedTransfer, deposit: Components.Schemas.OperatorAction, node: TestNode) throws
        -> [Case] {
        let body = String(decoding: try node.json(fresh), as: UTF8.self)
        let twice = body.replacingOccurrences(of: "\"amount\":100", with: "\"amount\":100,\"amount\":99")
        precondition(twice != body, "the body has its amount")
        func openAccount(_ key: String) throws -> Data {
            var object = try JSONSerialization.jsonObject(with: node.json(deposit)) as! [String: Any]
            for field in ["amount", "bank", "reference", "value_date"] { object[field] = nil }
            object["action"] = "open_account"
            object["account"] = "dave"
            object["jurisdiction"] = "US-TX"
            object["kyc_tier"] = 1
            object["device_key"] = key
            return try JSONSerialization.data(withJSONObject: object)
        }
        let identity = "01" + String(repeating: "00", count: 31)
        let smallOrder = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
        return [
            Case(description: "a key given twice", method: "POST", path: "/v1/transactions", body: Data(twice.utf8), status: 400, code: "malformed_request"),
            Case(description: "a byte-order mark", method: "POST", path: "/v1/transactions", body: Data([0xEF, 0xBB, 0xBF] + Array(body.utf8)), status: 400,
                 code: "malformed_request"),
            Case(description: "no content type", method: "POST", path: "/v1/transactions", body: Data(body.utf8), contentType: "", status: 415,
                 code: "unsupported_media_type"),
            Case(description: "another charset", method: "POST", path: "/v1/transactions", body: Data(body.utf8), contentType: "application/json; charset=utf-16",
                 status: 415, code: "unsupported_media_type"),
            Case(description: "an uppercase signature", method: "POST", path: "/v1/transactions",
                 body: try Self.edited(fresh) { $0["signature"] = fresh.signature.uppercased() }, status: 400, code: "signature_invalid"),
            Case(description: "an all-zero device key", method: "POST", path: "/v1/admin/operations", body: try openAccount(String(repeating: "0", count: 64)),
                 status: 400, code: "invalid_field"),
            Case(description: "the identity as device key", method: "POST", path: "/v1/admin/operations", body: try openAccount(identity), status: 400,
                 code: "invalid_field"),
            Case(description: "a small-order device key", method: "POST", path: "/v1/admin/operations", body: try openAccount(smallOrder), status: 400,
                 code: "invalid_field"),
            Case(description: "a NUL in the path", method: "GET", path: "/v1/accounts/alice%00x", body: nil, status: 400, code: "invalid_field"),
            Case(description: "a path parameter too long", method: "GET", path: "/v1/accounts/" + String(repeating: "a", count: 65), body: nil, status: 400,
                 code: "invalid_field"),
            Case(description: "a query parameter too long", method: "GET", path: "/v1/reserves/bars?after=" + String(repeating: "b", count: 129), body: nil,
                 status: 400, code: "invalid_field"),
            Case(description: "an unknown query parameter", method: "GET", path: "/v1/reserves?page=2", body: nil, status: 400, code: "invalid_field"),
            Case(description: "a method the path does not have", method: "DELETE", path: "/v1/reserves", body: nil, status: 405, code: "method_not_allowed"),
            // A literal path wins over a template: /v1/transactions/batch is not the transaction "batch".
            Case(description: "GET on a POST-only literal path", method: "GET", path: "/v1/transactions/batch", body: nil, status: 405,
                 code: "method_not_allowed"),
            Case(description: "GET on the dry run", method: "GET", path: "/v1/rules/dry-run", body: nil, status: 405, code: "method_not_allowed"),
        ]
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
