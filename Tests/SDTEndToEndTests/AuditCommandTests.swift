import Foundation
import SDTClient
import SDTCore
import SDTTesting
import SDTCrypto
import Testing
@testable import SDTLedger

@Suite(.serialized) struct AuditCommandTests {
    /// Runs `sdt ARGUMENTS` to completion; returns its exit code and standard output.
    static func sdt(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runToCompletion(NodeProcess.sdtExecutable(), arguments)
    }

    @Test func auditPassesOnAnIntactLedgerAndNamesTheFirstTamperedEntry() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 50_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 1_234)
        _ = try await node.client.submit(signed)
        _ = try await node.client.waitUntilSettled(signed.transactionId)
        node.stopAll()

        let intact = try Self.sdt(["audit", "--data", node.dataPath, "--region", node.configPath])
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.output.contains("audit passed"))

        let connection = try SQLiteConnection(path: node.dataPath + "/ledger.sqlite")
        try connection.execute("UPDATE movements SET amount = 1235 WHERE amount = 1234")
        let tampered = try Self.sdt(["audit", "--data", node.dataPath])
        #expect(tampered.status == 2)
        #expect(tampered.output.contains("AUDIT FAILED: entry sequence 4"), "\(tampered.output)")

        let otherOperators = try Self.sdt(["audit", "--data", node.dataPath, "--region", "regions/us-tx.toml"])
        #expect(otherOperators.status != 0)
        let missing = try Self.sdt(["audit", "--data", node.directory.file("nowhere")])
        #expect(missing.status != 0)
        #expect(missing.output.contains("does not exist"))
    }
}
