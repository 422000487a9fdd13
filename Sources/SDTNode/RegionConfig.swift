import Foundation
import SDTCore
import SDTCrypto
import TOMLKit

/// A region's configuration file (`regions/<code>.toml`): who it is, what it offers, where it
/// listens, who may operate it, and its limits. See `regions/README.md` for every field.
public struct RegionConfig: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        public var transactionIDLifetimeSeconds = 600
        public var transactionIDsPerRequestMax = 1_000
        public var batchTransfersMax = 1_000
        public var requestBodyBytesMax = 1 << 20
        public var applyBatchMax = 2_048
        public var blockEntriesMax = 4_096
        public var syncWaitMilliseconds = 2_000
        /// A connection with no request in progress is closed after this.
        public var httpIdleTimeoutSeconds = 30
        /// A request's head and body must arrive within this of its first byte, or the connection is
        /// closed: a client that stalls mid-request holds a connection this long at most.
        public var httpRequestSecondsMax = 15
        /// Connections served at once; more wait in the listen backlog until one closes.
        public var httpConnectionsMax = 1_024
        /// Bytes of request line and headers; more gets 431.
        public var httpHeaderBytesMax = 16_384
    }

    public var region: String
    public var name: String
    public var jurisdiction: String
    public var tokens: [Token]
    public var httpAddress: String
    /// Where `GET /metrics` is served, apart from the public API; nil: no metrics listener.
    public var metricsAddress: String?
    public var queueEndpoint: String
    public var outcomesEndpoint: String
    /// CURVE keys of the tcp queue between separate fronts and applier: the applier's public key and
    /// the fronts allowed in. Without them the tcp queue is plain, which only a loopback host may use.
    public var queuePublicKey: String?
    public var frontPublicKeys: [String] = []
    /// Keys that may sign operator actions.
    public var operatorKeys: [String]
    /// What each operator key is for; a key in `operatorKeys` without an entry has every role, and a
    /// key only here may read per its roles but sign nothing.
    public var operatorRoles: [String: Set<OperatorRole>] = [:]
    public var limits: Limits
    /// The custodian quorum that signs blocks; without it one region key held by the node signs.
    public var custody: Custody?
    /// The rule-set file (relative paths: from the config's folder); without it, no transfer rules.
    public var rulesPath: String?
    /// The account clawbacks move tokens to.
    public var treasuryAccount: String?
    /// TLS for the HTTP front; without it plain HTTP, which only a loopback address may serve.
    public var tls: TLS?
    /// The signed registry of the regions this one knows, and the key of the authority that signs it.
    public var registry: Registry?
    /// The custodian bank's desk: where USD reserves are held and ISO 20022 messages come from and go to.
    public var bank: Bank?
    /// `[kdollar] endpoint`: the K$ node this region sends its signed block headers to (its checkpoints).
    public var kdollarEndpoint: String?

    /// `[bank]`: the custodian bank holding the region's USD reserves.
    public struct Bank: Sendable, Equatable {
        /// The bank's name as `mint_usd` and `redeem_usd` record it (their `bank` field).
        public var name: String
        /// The bank's BIC (ISO 9362), e.g. `CUSTUS33XXX`.
        public var bic: String
        /// The region's reserve account at the bank, as camt.054 names it (`Acct/Id/Othr/Id` or IBAN).
        public var reserveAccount: String
        /// A folder each pacs.008 is written to, or nil to hand them out through the admin API only.
        public var outbox: String?

        public init(name: String, bic: String, reserveAccount: String, outbox: String?) {
            self.name = name
            self.bic = bic
            self.reserveAccount = reserveAccount
            self.outbox = outbox
        }
    }

    public struct Registry: Sendable, Equatable {
        public var path: String
        public var authorityKey: String

        public init(path: String, authorityKey: String) {
            self.path = path
            self.authorityKey = authorityKey
        }
    }

    /// The front's certificate and key (PEM files), and optionally the CA whose certificates clients
    /// must present (mutual TLS, for institutional clients). TLS 1.3 only.
    public struct TLS: Sendable, Equatable {
        public var certificatePath: String
        public var privateKeyPath: String
        public var clientCAPath: String?

        public init(certificatePath: String, privateKeyPath: String, clientCAPath: String? = nil) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
            self.clientCAPath = clientCAPath
        }
    }

    public struct Custody: Sendable, Equatable {
        /// The ceremony transcript, signed by all custodians (relative paths: from the config's folder).
        public var transcriptPath: String
        /// Custodian i+1's ZeroMQ endpoint at index i.
        public var endpoints: [String]
        public var timeoutMilliseconds: Int

        public init(transcriptPath: String, endpoints: [String], timeoutMilliseconds: Int) {
            self.transcriptPath = transcriptPath
            self.endpoints = endpoints
            self.timeoutMilliseconds = timeoutMilliseconds
        }
    }

    public static func load(path: String) throws -> RegionConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("cannot read region config \(path)")
        }
        do {
            var config = try parse(text)
            // Paths in the file are relative to its folder, made absolute so the config can be copied elsewhere.
            let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
            let folder = (absolute as NSString).deletingLastPathComponent as NSString
            if let transcript = config.custody?.transcriptPath, !transcript.hasPrefix("/") {
                config.custody?.transcriptPath = folder.appendingPathComponent(transcript)
            }
            if let rules = config.rulesPath, !rules.hasPrefix("/") {
                config.rulesPath = folder.appendingPathComponent(rules)
            }
            if let outbox = config.bank?.outbox, !outbox.hasPrefix("/") {
                config.bank?.outbox = folder.appendingPathComponent(outbox)
            }
            if let registry = config.registry?.path, !registry.hasPrefix("/") {
                config.registry?.path = folder.appendingPathComponent(registry)
            }
            if var tls = config.tls {
                func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : folder.appendingPathComponent(path) }
                tls.certificatePath = absolute(tls.certificatePath)
                tls.privateKeyPath = absolute(tls.privateKeyPath)
                tls.clientCAPath = tls.clientCAPath.map(absolute)
                config.tls = tls
            }
            return config
        } catch let error as ConfigError {
            throw ConfigError("\(path): \(error.description)")
        } catch {
            throw ConfigError("\(path) is not valid TOML: \(error)")
        }
    }

    public static func parse(_ text: String) throws -> RegionConfig {
        let table = try TOMLTable(string: text)
        try refuseUnknown(table, allowed: [
            "region", "name", "jurisdiction", "tokens", "rules", "treasury_account", "endpoints", "operators", "limits", "custody", "tls",
            "registry", "bank", "kdollar",
        ], in: "top level")
        let endpoints = try subtable(
            table, "endpoints",
            allowed: ["http", "metrics", "queue", "outcomes", "queue_public_key", "front_public_keys"])
        let operators = try subtable(table, "operators", allowed: ["keys", "roles"])
        var config = RegionConfig(
            region: try string(table, "region"), name: try string(table, "name"),
            jurisdiction: try string(table, "jurisdiction"), tokens: [],
            httpAddress: try string(endpoints, "http", in: "endpoints"),
            queueEndpoint: try string(endpoints, "queue", in: "endpoints"),
            outcomesEndpoint: try string(endpoints, "outcomes", in: "endpoints"),
            operatorKeys: try strings(operators, "keys", in: "operators"), limits: Limits(), custody: nil
        )
        config.tokens = try strings(table, "tokens").map { name in
            guard let token = Token(rawValue: name) else { throw ConfigError("tokens: \(Echo.quoted(name)) is not USD or GOLD") }
            return token
        }
        if endpoints.contains(key: "queue_public_key") || endpoints.contains(key: "front_public_keys") {
            config.queuePublicKey = try string(endpoints, "queue_public_key", in: "endpoints")
            config.frontPublicKeys = try strings(endpoints, "front_public_keys", in: "endpoints")
        }
        if endpoints.contains(key: "metrics") {
            let metrics = try string(endpoints, "metrics", in: "endpoints")
            do {
                _ = try HostAndPort(metrics)
            } catch {
                throw ConfigError("endpoints.metrics: \(error)")
            }
            config.metricsAddress = metrics
        }
        if operators.contains(key: "roles") { config.operatorRoles = try roles(subtable(operators, "roles", allowed: nil)) }
        if table.contains(key: "rules") { config.rulesPath = try string(table, "rules") }
        if table.contains(key: "treasury_account") {
            let treasury = try string(table, "treasury_account")
            guard Identifier.isValidAccountID(treasury[...]) else { throw ConfigError("treasury_account: \(Echo.quoted(treasury)) is not an account id") }
            config.treasuryAccount = treasury
        }
        if table.contains(key: "limits") { config.limits = try limits(subtable(table, "limits", allowed: nil)) }
        if table.contains(key: "custody") {
            let custody = try subtable(table, "custody", allowed: ["transcript", "custodians", "timeout_milliseconds"])
            let timeout = custody.contains(key: "timeout_milliseconds") ? custody["timeout_milliseconds"]?.int : 2_000
            guard let timeout, (50...60_000).contains(timeout) else { throw ConfigError("custody.timeout_milliseconds: must be 50...60000") }
            config.custody = Custody(
                transcriptPath: try string(custody, "transcript", in: "custody"), endpoints: try strings(custody, "custodians", in: "custody"),
                timeoutMilliseconds: timeout
            )
            // The transcript says how many there are; the quorum signer checks the count against it.
            guard let count = config.custody?.endpoints.count, (2...15).contains(count) else {
                throw ConfigError("custody.custodians: list every custodian's endpoint (2 to 15), in identifier order")
            }
        }
        if table.contains(key: "registry") {
            let registry = try subtable(table, "registry", allowed: ["file", "authority_key"])
            let key = try string(registry, "authority_key", in: "registry")
            guard Identifier.isValidHex(key[...], byteCount: 32), Ed25519Group.isValidElement(Hex.decode(key) ?? []) else {
                throw ConfigError("registry.authority_key: \(Echo.quoted(key.prefix(64))) is not an Ed25519 public key (64 lowercase hex)")
            }
            config.registry = Registry(path: try string(registry, "file", in: "registry"), authorityKey: key)
        }
        if table.contains(key: "kdollar") {
            let kdollar = try subtable(table, "kdollar", allowed: ["endpoint"])
            let endpoint = try string(kdollar, "endpoint", in: "kdollar")
            guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme), url.host != nil else {
                throw ConfigError(
                    "kdollar.endpoint: \(Echo.quoted(endpoint)) is not an http(s) URL such as http://127.0.0.1:8700")
            }
            config.kdollarEndpoint = endpoint
        }
        if table.contains(key: "bank") {
            config.bank = try bank(try subtable(table, "bank", allowed: ["name", "bic", "reserve_account", "outbox"]))
        }
        if table.contains(key: "tls") {
            let tls = try subtable(table, "tls", allowed: ["certificate", "private_key", "client_ca"])
            config.tls = TLS(
                certificatePath: try string(tls, "certificate", in: "tls"), privateKeyPath: try string(tls, "private_key", in: "tls"),
                clientCAPath: tls.contains(key: "client_ca") ? try string(tls, "client_ca", in: "tls") : nil
            )
        }
        try config.validate()
        return config
    }

    /// Refuses plain HTTP on an address other than loopback (checked again after `--http` overrides).
    public func checkHTTPSecurity() throws {
        guard tls == nil, !(try HostAndPort(httpAddress).isLoopback) else { return }
        throw ConfigError("http \(Echo.quoted(httpAddress)) is not a loopback address, and plain HTTP is served on loopback only: "
                          + "add a [tls] table with certificate and private_key (PEM files)")
    }

    private static func bank(_ table: TOMLTable) throws -> Bank {
        let name = try string(table, "name", in: "bank")
        guard Identifier.isValidText(name[...]) else {
            throw ConfigError("bank.name: must be 1-200 printable ASCII characters, as mint_usd's bank field takes")
        }
        let bic = try string(table, "bic", in: "bank")
        guard RegionRegistry.isBIC(bic) else {
            throw ConfigError("bank.bic: \(Echo.quoted(bic)) is not a BIC (8 or 11 characters, e.g. CUSTUS33XXX)")
        }
        let account = try string(table, "reserve_account", in: "bank")
        guard RegionRegistry.isAccountID(account) else {
            throw ConfigError("bank.reserve_account: 1-34 letters, digits or '-', as the bank writes the account id")
        }
        let outbox = table.contains(key: "outbox") ? try string(table, "outbox", in: "bank") : nil
        return Bank(name: name, bic: bic, reserveAccount: account, outbox: outbox)
    }

    /// `"<key hex>" = ["auditor", ...]` lines of `[operators.roles]`.
    private static func roles(_ table: TOMLTable) throws -> [String: Set<OperatorRole>] {
        var roles: [String: Set<OperatorRole>] = [:]
        for key in table.keys {
            guard let names = table[key]?.array?.compactMap({ $0.string }), !names.isEmpty, names.count == table[key]?.array?.count else {
                throw ConfigError("operators.roles.\(Echo.quoted(key)): give a list of roles: \(OperatorRole.allCases.map(\.rawValue))")
            }
            roles[key] = Set(try names.map { name in
                guard let role = OperatorRole(rawValue: name) else {
                    throw ConfigError("operators.roles.\(Echo.quoted(key)): \(Echo.quoted(name)) is not one of \(OperatorRole.allCases.map(\.rawValue))")
                }
                return role
            })
        }
        return roles
    }

    /// The roles of an operator key, or nil when the config does not name it.
    public func roles(of key: String) -> Set<OperatorRole>? {
        if let roles = operatorRoles[key] { return roles }
        return operatorKeys.contains(key) ? Set(OperatorRole.allCases) : nil
    }

    private func validate() throws {
        guard Identifier.isValidRegionCode(region[...]) else { throw ConfigError("region: \(Echo.quoted(region)) is not a code like us-tx") }
        guard Identifier.isValidJurisdiction(jurisdiction[...]) else { throw ConfigError("jurisdiction: \(Echo.quoted(jurisdiction)) is not like US-TX") }
        guard !tokens.isEmpty, Set(tokens).count == tokens.count else { throw ConfigError("tokens: list each of USD, GOLD at most once, at least one") }
        guard !operatorKeys.isEmpty else { throw ConfigError("operators.keys: at least one operator public key is needed") }
        for key in operatorKeys + operatorRoles.keys.sorted()
        where !Identifier.isValidHex(key[...], byteCount: 32) || !Ed25519Group.isValidElement(Hex.decode(key) ?? []) {
            throw ConfigError("operators.keys: \(Echo.quoted(key.prefix(64))) is not an Ed25519 public key (64 lowercase hex of a point of the "
                              + "prime-order subgroup)")
        }
        try checkHTTPSecurity()
        for key in [queuePublicKey].compactMap({ $0 }) + frontPublicKeys where !Identifier.isValidHex(key[...], byteCount: 32) {
            throw ConfigError("endpoints: \(Echo.quoted(key.prefix(64))) is not a CURVE public key (64 lowercase hex)")
        }
        if queuePublicKey != nil, frontPublicKeys.isEmpty {
            throw ConfigError("endpoints.front_public_keys: list the CURVE public key of each front allowed to reach the applier")
        }
        for endpoint in [queueEndpoint, outcomesEndpoint] where queuePublicKey == nil && !Self.isLoopback(endpoint) {
            throw ConfigError("endpoints: \(Echo.quoted(endpoint)) is not on loopback, and the queue is plain: set "
                              + "endpoints.queue_public_key and front_public_keys so that it is encrypted and authenticated (CURVE)")
        }
    }

    /// Whether a ZeroMQ endpoint stays on this machine: inproc, ipc, or tcp to a loopback address.
    static func isLoopback(_ endpoint: String) -> Bool {
        guard endpoint.hasPrefix("tcp://") else { return true }
        let host = endpoint.dropFirst(6).split(separator: ":").dropLast().joined(separator: ":")
        return host.hasPrefix("127.") || host == "localhost" || host == "[::1]"
    }

    private static func limits(_ table: TOMLTable) throws -> Limits {
        var limits = Limits()
        let fields: [(String, WritableKeyPath<Limits, Int>, ClosedRange<Int>)] = [
            ("transaction_id_lifetime_seconds", \.transactionIDLifetimeSeconds, 10...86_400),
            ("transaction_ids_per_request_max", \.transactionIDsPerRequestMax, 1...10_000),
            ("batch_transfers_max", \.batchTransfersMax, 1...10_000),
            ("request_body_bytes_max", \.requestBodyBytesMax, 1_024...(16 << 20)),
            ("apply_batch_max", \.applyBatchMax, 1...65_536),
            ("block_entries_max", \.blockEntriesMax, 1...65_536),
            ("sync_wait_milliseconds", \.syncWaitMilliseconds, 0...60_000),
            ("http_idle_timeout_seconds", \.httpIdleTimeoutSeconds, 1...3_600),
            ("http_request_seconds_max", \.httpRequestSecondsMax, 1...600),
            ("http_connections_max", \.httpConnectionsMax, 1...100_000),
            ("http_header_bytes_max", \.httpHeaderBytesMax, 1_024...(1 << 20)),
        ]
        try refuseUnknown(table, allowed: Set(fields.map(\.0)), in: "limits")
        for (name, keyPath, range) in fields where table.contains(key: name) {
            guard let value = table[name]?.int, range.contains(value) else {
                throw ConfigError("limits.\(name): must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            limits[keyPath: keyPath] = value
        }
        return limits
    }

    static func refuseUnknown(_ table: TOMLTable, allowed: Set<String>, in place: String) throws {
        for key in table.keys where !allowed.contains(key) {
            throw ConfigError("unknown key \(Echo.quoted(key)) in \(place); allowed: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    static func subtable(_ table: TOMLTable, _ key: String, allowed: Set<String>?) throws -> TOMLTable {
        guard let sub = table[key]?.table else { throw ConfigError("[\(key)] table is missing") }
        if let allowed { try refuseUnknown(sub, allowed: allowed, in: "[\(key)]") }
        return sub
    }

    static func string(_ table: TOMLTable, _ key: String, in place: String? = nil) throws -> String {
        guard let value = table[key]?.string else {
            throw ConfigError("\(place.map { "\($0)." } ?? "")\(key): a string is required")
        }
        return value
    }

    static func strings(_ table: TOMLTable, _ key: String, in place: String? = nil) throws -> [String] {
        guard let array = table[key]?.array else { throw ConfigError("\(place.map { "\($0)." } ?? "")\(key): a list of strings is required") }
        return try array.map { element in
            guard let value = element.string else { throw ConfigError("\(key): every element must be a string") }
            return value
        }
    }
}

/// `127.0.0.1:8080` split into host and port.
public struct HostAndPort: Sendable, Equatable {
    public let host: String
    public let port: Int

    public init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
              colon != text.startIndex
        else { throw ConfigError("\(Echo.quoted(text)) is not HOST:PORT (for example 127.0.0.1:8080; port 0 picks a free port)") }
        host = String(text[..<colon])
        self.port = port
    }

    /// A loopback host (an IPv4 literal 127.x.x.x, `localhost`, or `::1`): only such an address may serve
    /// plain HTTP. A name that merely starts with `127.` is not one.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { octet in octet.count <= 3 && UInt8(octet) != nil }
    }
}

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
