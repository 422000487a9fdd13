import ArgumentParser
import Foundation
import SDTAPI
import SDTClient
import SDTCore
import SDTCrypto

struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wallet",
        abstract: "A client's device key: generate it, ask for transaction ids, sign and send transfers, follow and verify them.",
        subcommands: [Keygen.self, TransactionIDs.self, Account.self, Send.self, Resolve.self, Status.self, Receipt.self, VerifyReceipt.self]
    )

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a device key, stored encrypted (Argon2id + XChaCha20-Poly1305).")
        @OptionGroup var keystore: NewKeystoreOptions
        @Option(help: "device or operator.") var purpose: String = "device"

        func validate() throws {
            guard ["device", "operator"].contains(purpose) else { throw ValidationError("--purpose must be device or operator") }
        }

        func run() throws {
            let key = try keystore.create(purpose: purpose)
            print("public key \(key.publicKeyHex)\nkeystore   \(keystore.out)")
        }
    }

    struct TransactionIDs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "txids", abstract: "Ask the node for single-use transaction ids.")
        @Option(help: "Node URL, e.g. http://127.0.0.1:8401.") var node: String
        @Option(help: "The sending account the ids are bound to.") var account: String
        @Option(help: "How many (1-1000).") var count: Int = 1
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let list = try await NodeClient(baseURL: node).transactionIDs(account: account, count: count)
            if output.json { return try output.printJSON(["transaction_ids": list.transactionIds]) }
            for id in list.transactionIds { print(id) }
        }
    }

    struct Account: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read your account — balances, device keys and recent history — with a request signed by your device key."
        )
        @Option var node: String
        @Option(help: "The device keystore (or an operator keystore).") var key: String
        @Option var account: String
        @Option(help: "Postings and events to show, newest last (1-500).") var last: Int = 10
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...500).contains(last) else { throw ValidationError("--last must be 1...500") }
        }

        func run() async throws {
            let client = try NodeClient(baseURL: node, reader: try passphrase.openKey(key))
            let info = try await client.account(account)
            if output.json {
                let history = try await client.history(account, limit: last)
                return try output.printJSON([
                    "account": try OutputOptions.value(info), "history": try OutputOptions.value(history),
                ])
            }
            print("account \(info.id) (\(info.jurisdiction), KYC tier \(info.kycTier))\(info.frozen ? ", FROZEN" : "")")
            for balance in info.balances {
                print("  \(balance.display)" + (balance.reserved.map { " (\(Amount.display($0, Token(rawValue: balance.token.rawValue)!)) reserved)" } ?? ""))
            }
            for device in info.deviceKeys { print("  key \(device.publicKey) \(device.state.rawValue)") }
            let history = try await client.history(account, limit: 500)
            for posting in history.postings.suffix(last) {
                print("  #\(posting.sequence) \(posting.kind.rawValue) \(posting.amount) \(posting.token.rawValue)"
                      + (posting.counterparty.map { " with \($0)" } ?? "") + " (\(posting.entryId.prefix(24))…)")
            }
            for event in (history.events ?? []).suffix(last) { print("  #\(event.sequence) \(event.action)") }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a transfer with a device key and submit it.")
        @Option var node: String
        @Option(help: "The device keystore.") var key: String
        @Option var from: String
        @Option var to: String
        @Option(help: "USD or GOLD.") var token: String
        @Option(help: "Amount in display units: dollars (12.50) or grams of fine gold (31.103).") var amount: String
        @Option(help: "Use this transaction id instead of asking for one.") var transactionID: String?
        @Option(help: "Send a pending transfer: the funds stay reserved this many seconds (1-2592000) until posted or voided.")
        var pendingTimeout: Int64?
        @Flag(help: "Wait until the transfer is final (its block is signed).") var wait = false
        @OptionGroup var passphrase: PassphraseOptions

        func validate() throws {
            if let pendingTimeout, !(1...Transfer.pendingTimeoutSecondsMax).contains(pendingTimeout) {
                throw ValidationError("--pending-timeout must be 1...\(Transfer.pendingTimeoutSecondsMax) seconds (30 days)")
            }
            guard let token = Token(rawValue: token) else { throw ValidationError("--token must be USD or GOLD") }
            guard token.minorUnits(decimal: amount) != nil else {
                throw ValidationError("--amount \(amount) is not a positive amount with at most \(token.fractionDigits) decimals")
            }
        }

        func run() async throws {
            let client = try NodeClient(baseURL: node)
            let signingKey = try passphrase.openKey(key)
            let region = try await client.region().region
            let id: String
            if let transactionID {
                id = transactionID
            } else {
                id = try await client.transactionIDs(account: from).transactionIds[0]
            }
            let token = Token(rawValue: token)!
            let signed = try Signing.transfer(key: signingKey, region: region, transactionID: id, from: from, to: to, token: token,
                                              amountMinorUnits: token.minorUnits(decimal: amount)!, pendingTimeoutSeconds: pendingTimeout)
            try await WalletCommand.report(client.submit(signed), id: id, client: client, wait: wait)
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Post a pending transfer (as its payer: all or part of it) or void it (as its payee)."
        )
        @Option var node: String
        @Option(help: "The device keystore of --account.") var key: String
        @Option(help: "The payer to post, the payee to void.") var account: String
        @Option(help: "The pending transfer's transaction id.") var pending: String
        @Option(help: "Post this amount, in display units of the pending transfer's token (at most its amount).") var post: String?
        @Flag(help: "Void the pending transfer: release everything back to the payer.") var void = false
        @Flag(help: "Wait until the post or void is final.") var wait = false
        @OptionGroup var passphrase: PassphraseOptions

        func validate() throws {
            guard (post != nil) != void else { throw ValidationError("give exactly one of --post AMOUNT or --void") }
        }

        func run() async throws {
            let client = try NodeClient(baseURL: node)
            var amount: Int64?
            if let post {
                guard let pendingToken = try await client.status(pending).pending?.token, let token = Token(rawValue: pendingToken.rawValue) else {
                    throw ValidationError("\(pending) is not a pending transfer")
                }
                guard let minorUnits = token.minorUnits(decimal: post) else {
                    throw ValidationError("--post \(post) is not a positive \(token.rawValue) amount with at most \(token.fractionDigits) decimals")
                }
                amount = minorUnits
            }
            let signingKey = try passphrase.openKey(key)
            let region = try await client.region().region
            let id = try await client.transactionIDs(account: account).transactionIds[0]
            let signed = try Signing.resolution(key: signingKey, region: region, transactionID: id, pendingID: pending, account: account,
                                                postAmountMinorUnits: amount)
            try await WalletCommand.report(client.submit(signed), id: id, client: client, wait: wait)
        }
    }

    /// Prints a submission's answer; a rejection exits with status 3.
    static func report(_ result: NodeClient.SubmitResult, id: String, client: NodeClient, wait: Bool) async throws {
        switch result {
        case .rejected(let problem):
            print("rejected \(id): \(problem.code) — \(problem.detail)")
            throw ExitCode(3)
        case .queued(let status), .accepted(let status):
            print("\(status.state.rawValue) \(id)\(status.sequence.map { " at sequence \($0)" } ?? "")")
            if wait {
                let settled = try await client.waitUntilSettled(id)
                print("\(settled.state.rawValue) \(id)\(settled.blockHeight.map { " in block \($0)" } ?? "")")
                guard settled.interRegion != nil else { return }
                // A payment to another region: wait (bounded) for that region's decision.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    guard let info = try await client.status(id).interRegion else { return }
                    if info.state != .inFlight {
                        print(interRegionLine(info))
                        return
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                print("still in flight to the payee's region after 60 s; follow it with sdt wallet status")
            }
        }
    }

    /// How a payment to another region stands, in words.
    static func interRegionLine(_ info: Components.Schemas.TransferStatus.InterRegionPayload) -> String {
        switch info.state {
        case .inFlight: "in flight to \(info.region) (message \(info.number))"
        case .credited: "delivered: credited by \(info.region) (message \(info.number))"
        case .refused:
            "refused by \(info.region): \(info.code ?? "refused")\(info.ruleId.map { " (rule \($0))" } ?? ""); refunded to the payer"
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Where a transfer stands.")
        @Option var node: String
        @Argument var transactionID: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let status = try await NodeClient(baseURL: node).status(transactionID)
            if output.json { return try output.printJSON(["status": try OutputOptions.value(status)]) }
            print("\(status.state.rawValue) \(status.code)\(status.blockHeight.map { " block \($0)" } ?? "") — \(status.detail ?? "")")
            if let info = status.interRegion { print(WalletCommand.interRegionLine(info)) }
            if let pending = status.pending {
                let token = Token(rawValue: pending.token.rawValue)!
                print("pending transfer of \(Amount.display(pending.amount, token)): \(pending.state.rawValue)"
                      + (pending.postedAmount.map { " (\(Amount.display($0, token)) moved)" } ?? "") + "; timeout at \(pending.expiresAtMs) ms")
            }
        }
    }

    struct Receipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch a final transfer's receipt as JSON.")
        @Option var node: String
        @Option(help: "Write the receipt here instead of standard output.") var out: String?
        @Argument var transactionID: String

        func run() async throws {
            let receipt = try await NodeClient(baseURL: node).receipt(transactionID)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(receipt)
            if let out {
                try data.write(to: URL(fileURLWithPath: out))
                print("receipt of \(transactionID) written to \(out)")
            } else {
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }

    struct VerifyReceipt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a receipt offline with the region's block public key alone.")
        @Argument(help: "The receipt JSON file.") var file: String
        @Option(help: "The region's block public key (hex), from GET /v1/region.") var regionKey: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let key = Hex.decode(regionKey), key.count == 32 else { throw ValidationError("--region-key must be 64 hex characters") }
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let receipt: Components.Schemas.Receipt
            do {
                receipt = try JSONDecoder().decode(Components.Schemas.Receipt.self, from: data)
            } catch {
                throw fail("\(file) is not a receipt: \(error)")
            }
            do {
                let header = try Signing.verify(receipt: receipt, blockPublicKey: key)
                let what = switch try TransferEntryRecord(signingBytes: Hex.decode(receipt.entry.signingBytes) ?? []) {
                case .transfer(let transfer):
                    "\(transfer.isPending ? "pending " : "")\(transfer.from) → \(transfer.to) \(Amount.display(transfer.amount.minorUnits, transfer.token))"
                case .resolution(let resolution):
                    "\(resolution.decision == .void ? "void" : "post") of pending \(resolution.pendingID) by \(resolution.account)"
                }
                if output.json {
                    return try output.printJSON([
                        "verified": true, "entry": what, "leaf_index": receipt.leafIndex, "block_height": header.height,
                        "region": header.region,
                    ])
                }
                print("receipt verified: \(what) is leaf \(receipt.leafIndex) of block \(header.height) of \(header.region), signed by the region key")
            } catch {
                if output.json {
                    try output.printJSON(["verified": false, "problem": "\(error)"])
                } else {
                    print("RECEIPT INVALID: \(error)")
                }
                throw ExitCode(2)
            }
        }
    }
}
