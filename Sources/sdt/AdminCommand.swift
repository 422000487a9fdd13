import ArgumentParser
import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto
import SDTRules

/// Options every operator action shares: the node, the operator keystore and the request id.
struct OperatorOptions: ParsableArguments {
    @Option(help: "Node URL, e.g. http://127.0.0.1:8401.") var node: String
    @Option(help: "The operator keystore; its public key must be listed in the region config.") var key: String
    @Option(help: "Unique id of this action (default: a fresh random one). Reuse it to retry safely.") var requestID: String?
    @OptionGroup var passphrase: PassphraseOptions

    func submit(
        _ kind: OperatorAction.Kind, _ fields: [OperatorAction.Field: String], rulesText: String? = nil,
        holder: Components.Schemas.OperatorAction.HolderPayload? = nil
    ) async throws {
        let client = try NodeClient(baseURL: node)
        let operatorKey = try passphrase.openKey(key)
        let region = try await client.region().region
        let id = requestID ?? "op-\(UUID().uuidString.lowercased())"
        let subject = fields[.account] ?? fields[.transactionID] ?? fields[.rulesVersion].map { "version \($0)" } ?? ""
        do {
            let result = try await client.operatorAction(Signing.operatorAction(
                key: operatorKey, region: region, requestID: id, kind: kind, fields: fields, rulesText: rulesText,
                holder: holder
            ))
            print("\(kind.rawValue) \(subject): \(result.state.rawValue) (\(result.code))\(result.sequence.map { " at sequence \($0)" } ?? "")")
        } catch let error as NodeClientError {
            throw fail("\(kind.rawValue) \(subject) refused: \(error)")
        }
    }
}

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator actions, each signed by an operator key: accounts, keys, reserves, compliance, rules.",
        subcommands: [
            OpenAccount.self, AddKey.self, RevokeKey.self, SetKYCTier.self, MintUSD.self, RedeemUSD.self, MintGold.self, RedeemGold.self,
            Freeze.self, Unfreeze.self, Clawback.self, SetRules.self, Review.self,
        ]
    )

    struct OpenAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Onboard an account holder with a first device key.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option(help: "State or country: US-TX, MX.") var jurisdiction: String
        @Option(help: "KYC tier 0-3.") var kycTier: Int
        @Option(help: "Hex Ed25519 public key of the holder's device.") var deviceKey: String
        @Option(help: "The holder's legal name (personal data: sealed with the node's data key, never in a block).")
        var holderName: String?
        @Option(help: "The holder's bank account that USD redemptions are paid to (needs --holder-name).")
        var payoutAccount: String?
        @Option(help: "The BIC of the holder's bank (with --payout-account).") var payoutAgent: String?

        func validate() throws {
            if (payoutAccount != nil || payoutAgent != nil) && holderName == nil {
                throw ValidationError("--payout-account and --payout-agent are personal data: give --holder-name too")
            }
            if (payoutAccount == nil) != (payoutAgent == nil) {
                throw ValidationError("give both --payout-account and --payout-agent, or neither")
            }
        }

        func run() async throws {
            let holder = holderName.map {
                Components.Schemas.OperatorAction.HolderPayload(
                    name: $0, payoutAccount: payoutAccount, payoutAgent: payoutAgent)
            }
            try await options.submit(
                .openAccount,
                [.account: account, .jurisdiction: jurisdiction, .kycTier: String(kycTier), .deviceKey: deviceKey],
                holder: holder)
        }
    }

    struct AddKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register another device key for an account.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var deviceKey: String

        func run() async throws { try await options.submit(.addKey, [.account: account, .deviceKey: deviceKey]) }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a device key; it can sign nothing after this.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var deviceKey: String

        func run() async throws { try await options.submit(.revokeKey, [.account: account, .deviceKey: deviceKey]) }
    }

    struct SetKYCTier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-kyc-tier", abstract: "Record a holder's new KYC tier.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option(help: "KYC tier 0-3.") var kycTier: Int
        @Option var reason: String

        func run() async throws { try await options.submit(.setKYCTier, [.account: account, .kycTier: String(kycTier), .reason: reason]) }
    }

    struct MintUSD: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mint-usd", abstract: "Mint USD against a deposit at the custodian bank.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var deposit: BankRecordOptions

        func run() async throws { try await options.submit(.mintUSD, try deposit.fields()) }
    }

    struct RedeemUSD: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "redeem-usd", abstract: "Burn USD against a withdrawal from the custodian bank.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var withdrawal: BankRecordOptions

        func run() async throws { try await options.submit(.redeemUSD, try withdrawal.fields()) }
    }

    struct MintGold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mint-gold", abstract: "Mint GOLD against one bar received into a vault.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var vault: String
        @Option var barSerial: String
        @Option var refiner: String
        @Option(help: "Gross weight in grams (12441.600).") var grossWeight: String
        @Option(help: "Fineness in parts per 10,000 (9999 for 999.9).") var fineness: Int

        func run() async throws {
            guard let gross = Token.gold.minorUnits(decimal: grossWeight) else { throw ValidationError("--gross-weight \(grossWeight) is not grams with at most 3 decimals") }
            let (product, overflow) = gross.multipliedReportingOverflow(by: Int64(fineness))
            guard !overflow else { throw ValidationError("--gross-weight is too large") }
            try await options.submit(.mintGold, [
                .account: account, .amount: String(product / 10_000), .vault: vault, .barSerial: barSerial, .refiner: refiner,
                .grossWeight: String(gross), .fineness: String(fineness),
            ])
        }
    }

    struct RedeemGold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "redeem-gold", abstract: "Release one bar to a holder, burning its fine weight in GOLD.")
        @OptionGroup var options: OperatorOptions
        @Option var account: String
        @Option var barSerial: String
        @Option(help: "The bar's fine weight in grams, as the reserves list it.") var fineWeight: String

        func run() async throws {
            guard let fine = Token.gold.minorUnits(decimal: fineWeight) else { throw ValidationError("--fine-weight \(fineWeight) is not grams with at most 3 decimals") }
            try await options.submit(.redeemGold, [.account: account, .amount: String(fine), .barSerial: barSerial])
        }
    }

    struct Freeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Freeze an account under a legal directive: it can neither send nor receive.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var directive: DirectiveOptions

        func run() async throws { try await options.submit(.freeze, directive.fields()) }
    }

    struct Unfreeze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a freeze.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var directive: DirectiveOptions

        func run() async throws { try await options.submit(.unfreeze, directive.fields()) }
    }

    struct Clawback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move tokens from an account to the region's treasury under a legal directive.")
        @OptionGroup var options: OperatorOptions
        @OptionGroup var directive: DirectiveOptions
        @Option(help: "USD or GOLD.") var token: String
        @Option(help: "Dollars (1000.00) or grams (31.103).") var amount: String
        @Option(help: "The region's treasury account (treasury_account in the region config).") var treasury: String

        func run() async throws {
            guard let token = Token(rawValue: token) else { throw ValidationError("--token must be USD or GOLD") }
            guard let minor = token.minorUnits(decimal: amount) else { throw ValidationError("--amount \(amount) is not a positive amount") }
            var fields = directive.fields()
            fields[.token] = token.rawValue
            fields[.amount] = String(minor)
            fields[.treasury] = treasury
            try await options.submit(.clawback, fields)
        }
    }

    struct SetRules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-rules", abstract: "Put a new version of the region's rule set in force.")
        @OptionGroup var options: OperatorOptions
        @Option(help: "The rule-set file (its version must be above the one in force).") var rules: String
        @Option var reason: String

        func run() async throws {
            guard let text = try? String(contentsOfFile: rules, encoding: .utf8) else { throw ValidationError("cannot read --rules \(rules)") }
            let ruleSet: RuleSet
            do {
                ruleSet = try RuleSet(text: text)
            } catch {
                throw ValidationError("--rules \(rules): \(error.description)")
            }
            try await options.submit(.setRules, [.rulesVersion: String(ruleSet.version), .rulesSHA3: ruleSet.sha3Hex, .reason: reason], rulesText: text)
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve or reject a transfer held for review.")
        @OptionGroup var options: OperatorOptions
        @Option var transactionID: String
        @Option(help: "approve or reject.") var decision: String
        @Option var reason: String

        func run() async throws { try await options.submit(.review, [.transactionID: transactionID, .decision: decision, .reason: reason]) }
    }
}

/// A deposit or withdrawal at the custodian bank.
struct BankRecordOptions: ParsableArguments {
    @Option var account: String
    @Option(help: "Dollars, e.g. 1000.00.") var amount: String
    @Option(help: "The custodian bank.") var bank: String
    @Option(help: "The bank's reference of the deposit or withdrawal.") var reference: String
    @Option(help: "Value date YYYY-MM-DD.") var valueDate: String

    func fields() throws -> [OperatorAction.Field: String] {
        guard let minor = Token.usd.minorUnits(decimal: amount) else {
            throw ValidationError("--amount \(amount) is not a positive dollar amount with at most 2 decimals")
        }
        return [.account: account, .amount: String(minor), .bank: bank, .reference: reference, .valueDate: valueDate]
    }
}

/// The account and the legal directive a freeze, unfreeze or clawback acts under.
struct DirectiveOptions: ParsableArguments {
    @Option var account: String
    @Option(help: "The court order or agency directive, e.g. 'TX Dist. Ct. No. 2026-CV-1142'.") var legalDirective: String
    @Option var reason: String

    func fields() -> [OperatorAction.Field: String] { [.account: account, .legalDirective: legalDirective, .reason: reason] }
}
