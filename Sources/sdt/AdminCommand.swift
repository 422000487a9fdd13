import ArgumentParser
import Foundation
import SDTClient
import SDTCore
import SDTCrypto

/// Options every operator action shares: the node, the operator keystore and the request id.
struct OperatorOptions: ParsableArguments {
    @Option(help: "Node URL, e.g. http://127.0.0.1:8401.") var node: String
    @Option(help: "The operator keystore; its public key must be listed in the region config.") var key: String
    @Option(help: "Unique id of this action (default: a fresh random one). Reuse it to retry safely.") var requestID: String?
    @OptionGroup var passphrase: PassphraseOptions

    func submit(_ kind: OperatorAction.Kind, account: String, details: OperatorAction.Details) async throws {
        let client = try NodeClient(baseURL: node)
        let operatorKey = try passphrase.openKey(key)
        let region = try await client.region().region
        let id = requestID ?? "op-\(UUID().uuidString.lowercased())"
        do {
            let result = try await client.operatorAction(Signing.operatorAction(
                key: operatorKey, region: region, requestID: id, kind: kind, account: account, details: details
            ))
            print("\(kind.rawValue) \(account): \(result.state.rawValue) (\(result.code))\(result.sequence.map { " at sequence \($0)" } ?? "")")
        } catch let error as NodeClientError {
            throw fail("\(kind.rawValue) \(account) refused: \(error)")
        }
    }
}

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator actions, each signed by an operator key: accounts, device keys, mint and redeem.",
        subcommands: [OpenAccount.self, AddKey.self, RevokeKey.self, Mint.self, Redeem.self]
    )

    struct OpenAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Onboard an account holder with a first device key.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option(help: "State or country: US-TX, MX.") var jurisdiction: String
        @Option(help: "KYC tier 0-3.") var kycTier: Int
        @Option(help: "Hex Ed25519 public key of the holder's device.") var deviceKey: String

        func run() async throws {
            try await options.submit(.openAccount, account: account,
                                     details: .init(jurisdiction: jurisdiction, kycTier: kycTier, deviceKeyHex: deviceKey))
        }
    }

    struct AddKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register another device key for an account.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var deviceKey: String

        func run() async throws { try await options.submit(.addKey, account: account, details: .init(deviceKeyHex: deviceKey)) }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a device key; it can sign nothing after this.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var deviceKey: String

        func run() async throws { try await options.submit(.revokeKey, account: account, details: .init(deviceKeyHex: deviceKey)) }
    }

    struct Mint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mint tokens against a reserve record (USD: deposit reference; GOLD: vault receipt).")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var reserve: ReserveOptions

        func run() async throws { try await options.submit(.mint, account: reserve.account, details: try reserve.details()) }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Redeem (burn) tokens against a withdrawal or release record.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var reserve: ReserveOptions

        func run() async throws { try await options.submit(.redeem, account: reserve.account, details: try reserve.details()) }
    }
}

/// What a mint or a redemption names: the account, the token, the amount and its reserve record.
struct ReserveOptions: ParsableArguments {
    @Option var account: String
    @Option(help: "USD or GOLD.") var token: String
    @Option(help: "Dollars (1000.00) or grams of fine gold (31.103).") var amount: String
    @Option(help: "USD: the deposit or withdrawal reference; GOLD: the vault receipt.") var reserveReference: String

    func details() throws -> OperatorAction.Details {
        guard let token = Token(rawValue: token) else { throw ValidationError("--token must be USD or GOLD") }
        guard let minorUnits = token.minorUnits(decimal: amount) else {
            throw ValidationError("--amount \(amount) is not a positive amount with at most \(token.fractionDigits) decimals")
        }
        return .init(token: token.rawValue, amountMinorUnits: minorUnits, reserveReference: reserveReference)
    }
}
