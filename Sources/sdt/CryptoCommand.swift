import ArgumentParser
import Foundation
import SDTCrypto

struct CryptoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto", abstract: "Check the platform's cryptography against published vectors.", subcommands: [FrostCheck.self]
    )

    struct FrostCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "frost-check",
            abstract: "Recompute every value of a FROST(Ed25519, SHA-512) vector file (RFC 9591 / CFRG layout); exit non-zero on any mismatch."
        )
        @Argument(help: "The vector file, e.g. ../shared/vectors/frost-ed25519-sha512-rfc9591.json.") var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let checks: [FROSTVectorCheck.Check]
            do {
                checks = try FROSTVectorCheck.run(json: data)
            } catch {
                throw fail("\(file): \(error)")
            }
            for check in checks { print("\(check.passed ? "ok  " : "FAIL") \(check.name)\(check.passed ? "" : ": \(check.detail)")") }
            let failed = checks.filter { !$0.passed }.count
            print(failed == 0 ? "all \(checks.count) checks passed" : "\(failed) of \(checks.count) checks FAILED")
            if failed > 0 { throw ExitCode(2) }
        }
    }
}
