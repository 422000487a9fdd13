import Foundation
import SDTCore
import SDTCrypto
import TOMLKit

/// The K$ node's configuration (`regions/kdollar.toml`; every field in `regions/README.md`, "The K$
/// node"): where it listens, the signed registry of regions it checks checkpoints against, how far a
/// region's block time may run ahead of its clock, and how often it settles.
public struct GlobalConfig: Sendable, Equatable {
    public var name: String
    public var httpAddress: String
    /// `[endpoints] metrics`: where `GET /metrics` is served, apart from the API; none without it.
    public var metricsAddress: String?
    /// The registry file (absolute once loaded) and the hex key of the authority that signs it.
    public var registryPath: String
    public var registryAuthorityKey: String
    public var allowedSkewMilliseconds: Int64
    /// Seconds between settlement cycles; 0 settles only when told (`sdt global settle`).
    public var settlementPeriodSeconds: Int64
    /// Request bodies above this are refused (413) before they are read.
    public var requestBodyBytesMax: Int
    /// `[tls]`: the K$ node's certificate and key (PEM, TLS 1.3 only), and optionally the CA whose client
    /// certificates it requires; without it the node serves plain HTTP, on loopback only.
    public var tls: RegionConfig.TLS?

    public init(
        name: String, httpAddress: String, registryPath: String, registryAuthorityKey: String,
        allowedSkewMilliseconds: Int64 = 60_000, settlementPeriodSeconds: Int64 = 0,
        requestBodyBytesMax: Int = 1_048_576
    ) {
        self.name = name
        self.httpAddress = httpAddress
        self.registryPath = registryPath
        self.registryAuthorityKey = registryAuthorityKey
        self.allowedSkewMilliseconds = allowedSkewMilliseconds
        self.settlementPeriodSeconds = settlementPeriodSeconds
        self.requestBodyBytesMax = requestBodyBytesMax
    }

    public static func load(path: String) throws -> GlobalConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("cannot read the K$ node config \(path)")
        }
        do {
            var config = try parse(text)
            let file =
                path.hasPrefix("/")
                ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
            let folder = (file as NSString).deletingLastPathComponent as NSString
            func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : folder.appendingPathComponent(path) }
            config.registryPath = absolute(config.registryPath)
            if var tls = config.tls {
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

    public static func parse(_ text: String) throws -> GlobalConfig {
        let table = try TOMLTable(string: text)
        try RegionConfig.refuseUnknown(
            table, allowed: ["name", "endpoints", "registry", "checkpoints", "settlement", "limits", "tls"],
            in: "top level")
        let endpoints = try RegionConfig.subtable(table, "endpoints", allowed: ["http", "metrics"])
        guard table.contains(key: "registry") else {
            throw ConfigError(
                "[registry] is missing: the K$ node checks every checkpoint against the signed registry of regions; "
                    + "give its file and authority_key (regions/README.md, \"The registry of regions\")")
        }
        let registry = try RegionConfig.subtable(table, "registry", allowed: ["file", "authority_key"])
        let key = try RegionConfig.string(registry, "authority_key", in: "registry")
        guard Identifier.isValidHex(key[...], byteCount: 32), Ed25519Group.isValidElement(Hex.decode(key) ?? []) else {
            throw ConfigError(
                "registry.authority_key: \(Echo.quoted(key)) is not an Ed25519 public key (64 lowercase hex)")
        }
        let http = try RegionConfig.string(endpoints, "http", in: "endpoints")
        do {
            _ = try HostAndPort(http)
        } catch {
            throw ConfigError("endpoints.http: \(error)")
        }
        var config = GlobalConfig(
            name: try RegionConfig.string(table, "name"), httpAddress: http,
            registryPath: try RegionConfig.string(registry, "file", in: "registry"), registryAuthorityKey: key,
            allowedSkewMilliseconds: 60_000, settlementPeriodSeconds: 0, requestBodyBytesMax: 1_048_576)
        if endpoints.contains(key: "metrics") {
            let metrics = try RegionConfig.string(endpoints, "metrics", in: "endpoints")
            do {
                _ = try HostAndPort(metrics)
            } catch {
                throw ConfigError("endpoints.metrics: \(error)")
            }
            config.metricsAddress = metrics
        }
        if table.contains(key: "checkpoints") {
            let checkpoints = try RegionConfig.subtable(table, "checkpoints", allowed: ["allowed_skew_milliseconds"])
            guard let skew = checkpoints["allowed_skew_milliseconds"]?.int, (0...86_400_000).contains(skew) else {
                throw ConfigError("checkpoints.allowed_skew_milliseconds: an integer 0...86400000 is required")
            }
            config.allowedSkewMilliseconds = Int64(skew)
        }
        if table.contains(key: "settlement") {
            let settlement = try RegionConfig.subtable(table, "settlement", allowed: ["period_seconds"])
            guard let period = settlement["period_seconds"]?.int, (0...31_622_400).contains(period) else {
                throw ConfigError(
                    "settlement.period_seconds: an integer 0...31622400 is required (0: settle only when told)")
            }
            config.settlementPeriodSeconds = Int64(period)
        }
        if table.contains(key: "limits") {
            let limits = try RegionConfig.subtable(table, "limits", allowed: ["request_body_bytes_max"])
            guard let bytes = limits["request_body_bytes_max"]?.int, (1_024...67_108_864).contains(bytes) else {
                throw ConfigError("limits.request_body_bytes_max: an integer 1024...67108864 is required")
            }
            config.requestBodyBytesMax = bytes
        }
        if table.contains(key: "tls") {
            let tls = try RegionConfig.subtable(table, "tls", allowed: ["certificate", "private_key", "client_ca"])
            config.tls = RegionConfig.TLS(
                certificatePath: try RegionConfig.string(tls, "certificate", in: "tls"),
                privateKeyPath: try RegionConfig.string(tls, "private_key", in: "tls"),
                clientCAPath: tls.contains(key: "client_ca")
                    ? try RegionConfig.string(tls, "client_ca", in: "tls") : nil)
        }
        try config.checkHTTPSecurity()
        return config
    }

    /// Refuses plain HTTP on an address other than loopback, for the API and for the metrics listener
    /// (checked again after `--http` overrides the config).
    public func checkHTTPSecurity() throws {
        guard tls == nil else { return }
        for (field, address) in [("http", httpAddress), ("metrics", metricsAddress)] {
            guard let address, !(try HostAndPort(address).isLoopback) else { continue }
            throw ConfigError(
                "endpoints.\(field) \(Echo.quoted(address)) is not a loopback address, and plain HTTP is served on "
                    + "loopback only: add a [tls] table with certificate and private_key (PEM files)")
        }
    }

    /// The config as TOML, for tests and the demo that write one.
    public var tomlText: String {
        """
        name = "\(name)"

        [endpoints]
        http = "\(httpAddress)"
        \(metricsAddress.map { "metrics = \"\($0)\"" } ?? "")

        [registry]
        file = "\(registryPath)"
        authority_key = "\(registryAuthorityKey)"

        [checkpoints]
        allowed_skew_milliseconds = \(allowedSkewMilliseconds)

        [settlement]
        period_seconds = \(settlementPeriodSeconds)

        [limits]
        request_body_bytes_max = \(requestBodyBytesMax)

        """
            + (tls.map { tls in
                "\n[tls]\ncertificate = \"\(tls.certificatePath)\"\nprivate_key = \"\(tls.privateKeyPath)\"\n"
                    + (tls.clientCAPath.map { "client_ca = \"\($0)\"\n" } ?? "")
            } ?? "")
    }
}
