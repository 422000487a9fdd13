import Testing
@testable import SDTCore

@Suite struct TwoPhaseRecordTests {
    let key = String(repeating: "ab", count: 32)
    let common = "region:us-tx\ntransaction_id:tx01\nfrom:alice\nto:bob\ntoken:USD\namount:1250\npublic_key:"

    @Test func pendingAndLinkedTransfersAreSignedAsV2WithTheirPhaseAndGroup() throws {
        let pending = try Transfer(region: "us-tx", transactionID: "tx01", from: "alice", to: "bob", token: "USD", amountMinorUnits: 1250,
                                   publicKeyHex: key, pendingTimeoutSeconds: 3600)
        #expect(String(decoding: pending.signingBytes, as: UTF8.self)
            == "SDT-TRANSFER-V2\n\(common)\(key)\nmode:pending\ntimeout:3600\nlink:-\nleg:-\n")
        let leg = try Transfer(region: "us-tx", transactionID: "tx01", from: "alice", to: "bob", token: "USD", amountMinorUnits: 1250,
                               publicKeyHex: key, link: .init(id: "swap-1", index: 2, count: 3))
        #expect(String(decoding: leg.signingBytes, as: UTF8.self)
            == "SDT-TRANSFER-V2\n\(common)\(key)\nmode:immediate\ntimeout:0\nlink:swap-1\nleg:2/3\n")
        #expect(try Transfer(signingBytes: pending.signingBytes) == pending)
        #expect(try Transfer(signingBytes: leg.signingBytes) == leg)
    }

    @Test func aRecordHasOneEncodingAndBadPhasesOrLegsAreRefused() throws {
        let v2 = "SDT-TRANSFER-V2\n\(common)\(key)\n"
        for variant in [
            v2 + "mode:immediate\ntimeout:0\nlink:-\nleg:-\n", // a plain transfer is V1
            v2 + "mode:immediate\ntimeout:5\nlink:x\nleg:1/2\n",
            v2 + "mode:pending\ntimeout:0\nlink:-\nleg:-\n",
            v2 + "mode:pending\ntimeout:2592001\nlink:-\nleg:-\n",
            v2 + "mode:later\ntimeout:5\nlink:-\nleg:-\n",
            v2 + "mode:immediate\ntimeout:0\nlink:x\nleg:3/2\n",
            v2 + "mode:immediate\ntimeout:0\nlink:x\nleg:1/1\n",
            v2 + "mode:immediate\ntimeout:0\nlink:x\nleg:1/9\n",
            v2 + "mode:immediate\ntimeout:0\nlink:x\nleg:-\n",
            v2 + "mode:immediate\ntimeout:0\nlink:-\nleg:1/2\n",
            v2 + "mode:immediate\ntimeout:0\nlink:x\nleg:01/2\n",
        ] {
            #expect(throws: RecordError.self, "\(variant)") { try Transfer(signingBytes: Array(variant.utf8)) }
        }
    }

    @Test func postsAndVoidsRoundTripAndNameTheirFields() throws {
        let post = try PendingResolution(region: "us-tx", transactionID: "tx02", pendingID: "tx01", account: "alice",
                                         postAmountMinorUnits: 500, publicKeyHex: key)
        #expect(String(decoding: post.signingBytes, as: UTF8.self)
            == "SDT-POST-V1\nregion:us-tx\ntransaction_id:tx02\npending_id:tx01\naccount:alice\namount:500\npublic_key:\(key)\n")
        let void = try PendingResolution(region: "us-tx", transactionID: "tx03", pendingID: "tx01", account: "bob",
                                         postAmountMinorUnits: nil, publicKeyHex: key)
        #expect(String(decoding: void.signingBytes, as: UTF8.self)
            == "SDT-VOID-V1\nregion:us-tx\ntransaction_id:tx03\npending_id:tx01\naccount:bob\npublic_key:\(key)\n")
        #expect(try TransferEntryRecord(signingBytes: post.signingBytes) == .resolution(post))
        #expect(try TransferEntryRecord(signingBytes: void.signingBytes) == .resolution(void))
        #expect(throws: RecordError.self) {
            try PendingResolution(region: "us-tx", transactionID: "tx01", pendingID: "tx01", account: "bob", postAmountMinorUnits: nil, publicKeyHex: key)
        }
        #expect(throws: RecordError.self) {
            try PendingResolution(region: "us-tx", transactionID: "tx02", pendingID: "tx01", account: "bob", postAmountMinorUnits: 0, publicKeyHex: key)
        }
    }
}
