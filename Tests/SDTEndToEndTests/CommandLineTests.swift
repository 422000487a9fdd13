import Foundation
import SDTClient
import SDTCore
import SDTTesting
import Testing

@testable import SDTLedger

/// The command-line tool as an operator meets it: `--json` on read commands gives one JSON document and
/// nothing else, progress lines appear on a terminal and never in a pipe, and shell completion is generated.
@Suite struct CommandLineTests {
    static func json(_ output: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return try #require(object, "not one JSON object: \(output)")
    }

    @Test func readCommandsPrintOneJSONDocumentThatAgreesWithTheNode() async throws {
        let node = try TestNode()
        try await node.start()
        let alice = try await node.holder("alice", usd: 50_000)
        _ = try await node.holder("bob")
        let signed = try await node.signedTransfer(alice, "alice", "bob", 1_234)
        _ = try await node.client.submit(signed)
        let settled = try await node.client.waitUntilSettled(signed.transactionId)
        let url = node.client.baseURL

        let status = try AuditCommandTests.sdt(["wallet", "status", "--node", url, signed.transactionId, "--json"])
        #expect(status.status == 0, "\(status.output)")
        let answer = try #require(try Self.json(status.output)["status"] as? [String: Any])
        #expect(
            answer["state"] as? String == "final" && answer["block_height"] as? Int == settled.blockHeight.map(Int.init)
        )

        let ids = try AuditCommandTests.sdt([
            "wallet", "txids", "--node", url, "--account", "alice", "--count", "3", "--json",
        ])
        #expect((try Self.json(ids.output)["transaction_ids"] as? [String])?.count == 3, "\(ids.output)")

        let head = try await node.client.head()
        node.stopAll()
        let audit = try AuditCommandTests.sdt(["audit", "--data", node.dataPath, "--region", node.configPath, "--json"])
        #expect(audit.status == 0, "\(audit.output)")
        let report = try Self.json(audit.output)
        #expect(report["intact"] as? Bool == true && report["first_problem"] is NSNull)
        #expect(report["entries_checked"] as? Int == Int(head.appliedSequence))
        #expect((report["supply_minor_units"] as? [String: Int])?["USD"] == 50_000)

        let connection = try SQLiteConnection(path: node.dataPath + "/ledger.sqlite")
        try connection.execute("UPDATE movements SET amount = 1235 WHERE amount = 1234")
        let tampered = try AuditCommandTests.sdt(["audit", "--data", node.dataPath, "--json"])
        #expect(tampered.status == 2)
        let failed = try Self.json(tampered.output)
        #expect(
            failed["intact"] as? Bool == false && (failed["first_problem"] as? String)?.contains("sequence") == true)
    }

    @Test func progressIsDrawnOnATerminalAndNeverIntoAPipe() throws {
        let piped = try AuditCommandTests.sdt(["simulate", "--seeds", "3", "--steps", "60"])
        #expect(piped.status == 0, "\(piped.output)")
        #expect(!piped.output.contains("\r") && piped.output.contains("3 seed(s) passed"), "\(piped.output)")
        // `script` (util-linux) gives the command a terminal of its own.
        let command = "\(NodeProcess.sdtExecutable()) simulate --seeds 3 --steps 60"
        let terminal = try runToCompletion("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.output)")
        #expect(
            terminal.output.contains("simulate [") && terminal.output.contains("3/3 seeds")
                && terminal.output.contains("/s, ") && terminal.output.contains("left"), "\(terminal.output)")
    }

    @Test func shellCompletionIsGenerated() throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try AuditCommandTests.sdt(["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.output.contains("simulate") && script.output.contains("two-regions"), "\(shell)")
        }
    }
}
