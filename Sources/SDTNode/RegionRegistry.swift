import Foundation
import SDTCore
import SDTCrypto
import TOMLKit

/// The regions that know each other: for each, its code, name, the key its blocks are signed with
/// (the custodian quorum's), the X25519 key messages to it are sealed to, and its inter-region
/// endpoint. The file is signed by the registry authority (the K$ Authority; later, governance), and a
/// node uses it only if the signature verifies with the authority key its own config names.
public struct RegionRegistry: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let code: String
        public let name: String
        public let blockPublicKey: [UInt8]
        public let sealingPublicKey: [UInt8]
        public let endpoint: String
        /// Where the region's USD reserves are held, for the K$ node's pacs.009 settlement instructions;
        /// nil when the authority has not listed them (then no USD instruction to or from it can be written).
        public let settlement: SettlementAccount?
    }

    /// A region's USD reserve account at its custodian bank, as the authority attests it.
    public struct SettlementAccount: Sendable, Equatable {
        /// The bank's BIC (ISO 9362).
        public let bic: String
        /// The reserve account's identifier at that bank.
        public let account: String

        public init(bic: String, account: String) {
            self.bic = bic
            self.account = account
        }
    }

    public let version: Int64
    public let entries: [Entry]

    /// What the authority signs: this line, then the file's exact bytes.
    public static let signingDomain = "SDT-REGISTRY-V1\n"
    /// The signature sits beside the file, as `<file>.sig`.
    public static func signaturePath(of path: String) -> String { path + ".sig" }

    public static func signingBytes(_ file: [UInt8]) -> [UInt8] { Array(signingDomain.utf8) + file }

    public func entry(_ code: String) -> Entry? { entries.first { $0.code == code } }

    /// Reads the registry at `path` and its signature, and returns it only if the signature verifies
    /// with `authorityKey`.
    public static func load(path: String, authorityKey: [UInt8]) throws -> RegionRegistry {
        guard let file = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read the registry \(path)")
        }
        let signaturePath = signaturePath(of: path)
        guard let signatureFile = FileManager.default.contents(atPath: signaturePath) else {
            throw ConfigError("the registry \(path) is not signed: \(signaturePath) is missing (sdt registry sign)")
        }
        let signature = try RegistrySignature.parse(Array(signatureFile), path: signaturePath)
        guard signature.authorityKey == authorityKey else {
            throw ConfigError(
                "the registry \(path) is signed by \(Hex.encode(signature.authorityKey)), not by the registry authority "
                    + "this config trusts (registry.authority_key \(Hex.encode(authorityKey)))")
        }
        guard
            Ed25519.verify(signature: signature.signature, message: signingBytes(Array(file)), publicKey: authorityKey)
        else {
            throw ConfigError(
                "the registry \(path) does not match its signature: changed after it was signed, or signed wrongly")
        }
        do {
            return try parse(String(decoding: file, as: UTF8.self))
        } catch let error as ConfigError {
            throw ConfigError("the registry \(path): \(error)")
        }
    }

    public static func parse(_ text: String) throws -> RegionRegistry {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch {
            throw ConfigError("not valid TOML: \(error)")
        }
        for key in table.keys where !["version", "regions"].contains(key) {
            throw ConfigError("unknown key \(Echo.quoted(key)); allowed: regions, version")
        }
        guard let version = table["version"]?.int, version >= 1 else {
            throw ConfigError("version: a positive integer is required")
        }
        guard let regions = table["regions"]?.array else {
            throw ConfigError("[[regions]]: at least one region is required")
        }
        var entries: [Entry] = []
        for (index, element) in regions.enumerated() {
            let place = "regions[\(index)]"
            guard let region = element.table else { throw ConfigError("\(place): a table is required") }
            let allowed: Set<String> = [
                "code", "name", "block_public_key", "sealing_public_key", "endpoint", "settlement_bic",
                "settlement_account",
            ]
            for key in region.keys where !allowed.contains(key) {
                throw ConfigError(
                    "\(place): unknown key \(Echo.quoted(key)); allowed: \(allowed.sorted().joined(separator: ", "))")
            }
            func text(_ key: String) throws -> String {
                guard let value = region[key]?.string else {
                    throw ConfigError("\(place).\(key): a string is required")
                }
                return value
            }
            func key(_ name: String) throws -> [UInt8] {
                let value = try text(name)
                guard Identifier.isValidHex(value[...], byteCount: 32), let bytes = Hex.decode(value) else {
                    throw ConfigError(
                        "\(place).\(name): \(Echo.quoted(value)) is not a 32-byte key in 64 lowercase hex")
                }
                return bytes
            }
            let code = try text("code")
            guard Identifier.isValidRegionCode(code[...]) else {
                throw ConfigError("\(place).code: \(Echo.quoted(code)) is not a code like us-tx")
            }
            guard !entries.contains(where: { $0.code == code }) else {
                throw ConfigError("\(place).code: \(code) is listed twice")
            }
            let blockKey = try key("block_public_key")
            guard Ed25519Group.isValidElement(blockKey) else {
                throw ConfigError("\(place).block_public_key: not an Ed25519 public key of the prime-order subgroup")
            }
            var settlement: SettlementAccount?
            switch (region["settlement_bic"], region["settlement_account"]) {
            case (nil, nil): settlement = nil
            case (.some, .some):
                let bic = try text("settlement_bic")
                guard Self.isBIC(bic) else {
                    throw ConfigError(
                        "\(place).settlement_bic: \(Echo.quoted(bic)) is not a BIC (8 or 11 characters, "
                            + "e.g. CUSTUS33XXX)")
                }
                let account = try text("settlement_account")
                guard Self.isAccountID(account) else {
                    throw ConfigError(
                        "\(place).settlement_account: 1-34 letters, digits or '-', as the bank writes the account id")
                }
                settlement = SettlementAccount(bic: bic, account: account)
            default:
                throw ConfigError(
                    "\(place): settlement_bic and settlement_account go together (the region's USD reserve account)")
            }
            let name = try text("name")
            guard Identifier.isValidText(name[...], lengthMax: 140) else {
                throw ConfigError("\(place).name: 1-140 printable ASCII characters are required")
            }
            entries.append(
                Entry(
                    code: code, name: name, blockPublicKey: blockKey,
                    sealingPublicKey: try key("sealing_public_key"), endpoint: try text("endpoint"),
                    settlement: settlement))
        }
        guard !entries.isEmpty else { throw ConfigError("[[regions]]: at least one region is required") }
        return RegionRegistry(version: Int64(version), entries: entries)
    }

    /// `[[regions]]` lines for one region, as `sdt registry entry` prints them for the authority.
    public static func entryText(
        code: String, name: String, blockPublicKey: [UInt8], sealingPublicKey: [UInt8], endpoint: String,
        settlement: SettlementAccount? = nil
    ) -> String {
        var text = """
            [[regions]]
            code = "\(code)"
            name = "\(name)"
            block_public_key = "\(Hex.encode(blockPublicKey))"
            sealing_public_key = "\(Hex.encode(sealingPublicKey))"
            endpoint = "\(endpoint)"
            """
        if let settlement {
            text += "\nsettlement_bic = \"\(settlement.bic)\"\nsettlement_account = \"\(settlement.account)\""
        }
        return text + "\n"
    }

    /// An ISO 9362 BIC: 8 or 11 characters.
    public static func isBIC(_ text: String) -> Bool {
        text.wholeMatch(of: #/[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?/#) != nil
    }

    /// An account identifier as the banks here write it: 1-34 letters, digits or '-'.
    public static func isAccountID(_ text: String) -> Bool {
        (1...34).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}

/// `<registry>.sig`: the authority's key and its signature over the registry's signing bytes.
public struct RegistrySignature: Sendable, Equatable {
    public let authorityKey: [UInt8]
    public let signature: [UInt8]

    public init(authorityKey: [UInt8], signature: [UInt8]) {
        self.authorityKey = authorityKey
        self.signature = signature
    }

    /// Signs the registry file's bytes with the authority's key.
    public static func sign(_ file: [UInt8], with key: SigningKey) -> RegistrySignature {
        RegistrySignature(authorityKey: key.publicKey, signature: key.sign(RegionRegistry.signingBytes(file)))
    }

    public var text: String {
        "format = \"SDT-REGISTRY-SIGNATURE-V1\"\nauthority_key = \"\(Hex.encode(authorityKey))\"\nsignature = \"\(Hex.encode(signature))\"\n"
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> RegistrySignature {
        guard let table = try? TOMLTable(string: String(decoding: bytes, as: UTF8.self)),
            table["format"]?.string == "SDT-REGISTRY-SIGNATURE-V1",
            let key = table["authority_key"]?.string.flatMap(Hex.decode), key.count == 32,
            let signature = table["signature"]?.string.flatMap(Hex.decode), signature.count == 64
        else {
            throw ConfigError("\(path) is not a registry signature (format, authority_key: 64 hex, signature: 128 hex)")
        }
        return RegistrySignature(authorityKey: key, signature: signature)
    }
}
