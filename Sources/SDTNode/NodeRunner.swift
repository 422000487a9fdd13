import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import OpenAPIHummingbird
import SDTCrypto
import SDTBank
import SDTCustody
import SDTCore
import SDTLedger
import SDTQueue
import SDTRules
import ServiceLifecycle
import Synchronization

/// How `sdt node` runs: front and applier in one process (connected in memory), or either alone,
/// connected over ZeroMQ tcp at the endpoints of the region config.
public enum NodeRole: String, Sendable, CaseIterable {
    case all
    case applier
    case front
}

public struct NodeOptions: Sendable {
    public var config: RegionConfig
    public var data: NodeData
    public var role: NodeRole
    public var clock: any WallClock
    /// Draws transaction ids' nonces.
    public var random: any RandomSource
    public var logger: Logger
    /// This process's CURVE key file for the tcp queue; nil: `queue-<role>.key` in the data directory.
    public var queueKeyPath: String?

    public init(
        config: RegionConfig, data: NodeData, role: NodeRole, clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom(), logger: Logger, queueKeyPath: String? = nil
    ) {
        self.queueKeyPath = queueKeyPath
        self.config = config
        self.data = data
        self.role = role
        self.clock = clock
        self.random = random
        self.logger = logger
    }
}

public enum NodeRunner {
    /// In-process endpoint on which the applier's work socket also listens, for wake-ups.
    static let wakeEndpoint = "inproc://sdt-applier-wake"

    /// Milliseconds a front waits after connecting for the applier's first heartbeat before it serves
    /// (then its outcome subscription is surely in place); without one it serves anyway, and says
    /// in `/health` and its log that the applier is not heard.
    static let applierWaitMilliseconds: Int64 = 1_500
    /// In one process, how long the front waits for its in-process subscription to settle.
    static let localSubscriptionSettleMilliseconds = 200

    /// Runs until SIGINT or SIGTERM, then stops every part in order.
    public static func run(_ options: NodeOptions) async throws {
        let context = QueueContext()
        let endpoints = options.role == .all
            ? (work: "inproc://sdt-work", outcomes: "inproc://sdt-outcomes")
            : (work: options.config.queueEndpoint, outcomes: options.config.outcomesEndpoint)
        let parties = try checkRegistry(options).map {
            InterRegionParties(region: options.config.region, registry: $0, sealingKey: try options.data.sealingKey())
        }
        let security = try queueSecurity(options, context: context)
        defer { security?.authenticator?.stop() }
        // Metrics are recorded only where they are served (else swift-metrics' handlers do nothing).
        if options.config.metricsAddress != nil { _ = ProcessMetrics.registry() }
        var services: [any Service] = []
        // One process: the applier tells the front it is alive directly, as well as over the channel.
        let local = options.role == .all ? ApplierWatch() : nil
        let custody = CustodyWatch()
        if options.role != .front {
            services += try applierServices(
                options, context: context, endpoints: endpoints, localFront: local, curve: security?.keys,
                counterparts: parties?.counterparts ?? [], custody: custody
            )
        }
        let heard = local ?? ApplierWatch()
        var front: QueueFront?
        if options.role != .applier {
            let made = try await frontServices(
                options, context: context, endpoints: endpoints, applier: heard, inProcess: local != nil,
                curve: security.map { ($0.keys, $0.serverKey) }, parties: parties
            )
            services += made.services
            front = made.front
        }
        if let address = options.config.metricsAddress {
            // A front alone knows the custodians from the applier's heartbeat; the applier probes them.
            let custodians: @Sendable () -> SDTCustody.Custody?
            if options.role == .front {
                custodians = { heard.heard?.custody }
            } else {
                custodians = { custody.custody }
            }
            var waiting: (@Sendable () -> Int)?
            if let board = front?.board { waiting = { board.waitingCount } }
            let gauges = ScrapeGauges(
                reader: try LedgerReader(path: options.data.ledgerPath), custody: custodians, waiting: waiting)
            services.append(
                try MetricsListener.application(
                    address: address, tls: try options.config.tls.map(tlsConfiguration), gauges: gauges,
                    logger: options.logger,
                    announce: "sdt node \(options.config.region) \(options.role.rawValue) metrics at"))
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: options.logger
        ))
        try await group.run()
        context.shutdown()
        if SQLiteProfile.isEnabled { FileHandle.standardError.write(Data((SQLiteProfile.report() + "\n").utf8)) }
    }

    static func applierServices(
        _ options: NodeOptions, context: QueueContext, endpoints: (work: String, outcomes: String), localFront: ApplierWatch?,
        curve: CurveKeyPair?, counterparts: Set<String>, custody: CustodyWatch
    ) throws -> [any Service] {
        let config = options.config
        let issuer = try TransactionIDIssuer(secret: options.data.nodeSecret(), region: config.region, random: options.random)
        let policy = LedgerPolicy(
            region: config.region, tokensOffered: Set(config.tokens), operatorKeys: Set(config.operatorKeys), transactionIDs: issuer,
            treasuryAccount: config.treasuryAccount, counterparts: counterparts
        )
        let writer = try LedgerWriter(path: options.data.ledgerPath, policy: policy)
        if let notice = try writer.installRules(fromFile: try loadRules(config), nowMilliseconds: options.clock.nowMilliseconds()) {
            options.logger.notice("\(notice)")
        }
        let work = try QueueSocket(context, .pull)
        if let curve { try work.makeCurveServer(curve) }
        try work.bind(endpoints.work)
        // The signing service wakes the applier through this when a signature waits to be stored.
        try work.bind(Self.wakeEndpoint)
        let wake = try QueueSocket(context, .push)
        try wake.connect(Self.wakeEndpoint)
        let wakeLock = Mutex(wake)
        let outcomes = try QueueSocket(context, .publish)
        if let curve { try outcomes.makeCurveServer(curve) }
        try outcomes.bind(endpoints.outcomes)
        let sealed = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let signer = try blockSigner(options, context: context)
        try options.data.recordBlockPublicKey(signer.publicKey)
        let inbox = SignatureInbox(wake: { wakeLock.withLock { try? $0.send([]) } })
        let applier = Applier(
            writer: writer, work: work, outcomes: outcomes, clock: options.clock, limits: config.limits, signatures: inbox,
            blockPublicKey: signer.publicKey, custody: custody, localFront: localFront, logger: options.logger,
            onSealed: { sealed.continuation.yield() }
        )
        let signing = BlockSigningService(
            store: try BlockSignatureStore(path: options.data.ledgerPath), signer: signer, sealed: sealed.stream, inbox: inbox,
            custody: custody, logger: options.logger
        )
        let ready = "sdt applier \(config.region) taking work at \(endpoints.work), ledger \(options.data.ledgerPath)\n"
        FileHandle.standardOutput.write(Data(ready.utf8))
        guard let endpoint = config.kdollarEndpoint else { return [applier, signing] }
        // One sender of checkpoints per region: the applier's process (there may be many fronts).
        let relay = try CheckpointRelay(
            region: config.region, reader: try LedgerReader(path: options.data.ledgerPath), endpoint: endpoint,
            logger: options.logger)
        return [applier, signing, relay]
    }

    /// The HTTP front's services, and its queue front (whose waiting submissions the metrics count).
    /// `applier` is what the front hears of the applier; `inProcess`, the applier runs in this process.
    static func frontServices(
        _ options: NodeOptions, context: QueueContext, endpoints: (work: String, outcomes: String),
        applier: ApplierWatch, inProcess: Bool, curve: (keys: CurveKeyPair, serverKey: [UInt8])?,
        parties: InterRegionParties?
    ) async throws -> (services: [any Service], front: QueueFront) {
        let config = options.config
        let work = try QueueSocket(context, .push)
        try work.setSendTimeout(milliseconds: 2_000)
        if let curve { try work.makeCurveClient(curve.keys, serverPublicKey: curve.serverKey) }
        try work.connect(endpoints.work)
        let outcomes = try QueueSocket(context, .subscribe)
        if let curve { try outcomes.makeCurveClient(curve.keys, serverPublicKey: curve.serverKey) }
        try outcomes.connect(endpoints.outcomes)
        let reader = try LedgerReader(path: options.data.ledgerPath)
        let front = QueueFront(
            work: work, outcomes: outcomes, ledger: reader, applier: applier, clock: options.clock,
            logger: options.logger
        )
        let api = NodeAPI(
            config: config, front: front, reader: reader,
            issuer: try TransactionIDIssuer(secret: options.data.nodeSecret(), region: config.region, random: options.random),
            blockPublicKey: try blockPublicKey(options), clock: options.clock, contract: try contract(),
            logger: options.logger, dataKey: try options.data.dataKey(), parties: parties,
            bank: try config.bank.map { bank in
                try BankDesk(
                    path: options.data.bankPath,
                    settings: BankDesk.Settings(
                        bankName: bank.name, bankBIC: bank.bic, reserveAccount: bank.reserveAccount,
                        accountHolder: config.name, outbox: bank.outbox),
                    region: config.region, ledger: reader, clock: options.clock, random: options.random)
            },
            roster: try config.custody.map {
                CustodianRoster(transcript: try CeremonyTranscript.read(from: $0.transcriptPath))
            }
        )
        let router = Router()
        let contract = try contract()
        // Outermost, so it counts every answer by route and status, problems included (only where
        // metrics are served: otherwise it would take its locks for nothing).
        if config.metricsAddress != nil { router.middlewares.add(MetricsMiddleware()) }
        router.middlewares.add(RequestIDMiddleware(random: options.random, logger: options.logger))
        router.middlewares.add(BrowserSafetyMiddleware())
        router.middlewares.add(ProblemMiddleware(
            bodyBytesMax: config.limits.requestBodyBytesMax, routes: ContractRoutes(contract: contract),
            parameters: try ContractParameters(contract: contract), logger: options.logger
        ))
        router.middlewares.add(RequestAuthentication(config: config, ledger: api.reader, clock: options.clock))
        try api.registerHandlers(on: router)
        let address = try HostAndPort(config.httpAddress)
        if inProcess {
            // The applier's loop starts with the service group; give the subscription a moment.
            try await Task.sleep(for: .milliseconds(localSubscriptionSettleMilliseconds))
        } else if !front.waitForApplier(milliseconds: applierWaitMilliseconds) {
            options.logger.warning("no heartbeat from the applier at \(endpoints.outcomes) yet; serving, and /health says so")
        }
        let region = config.region
        let limits = config.limits
        let logger = options.logger
        try config.checkHTTPSecurity()
        let server = try guardedServer(limits: limits, tls: config.tls, logger: logger)
        let scheme = config.tls == nil ? "http" : "https"
        let app = Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: "sdt",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.httpConnectionsMax, logger: logger)
            ),
            onServerRunning: { channel in
                let line = "sdt node \(region) listening on \(scheme)://\(address.host):\(channel.localAddress?.port ?? address.port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: options.logger
        )
        guard let parties else { return ([front, app], front) }
        let relay = try InterRegionRelay(parties: parties, reader: reader, front: front, logger: options.logger)
        return ([front, app, relay], front)
    }

    /// The registry the config names, verified with its authority key, and checked against this node:
    /// its region must be listed with the key this node's blocks are signed with and the node's
    /// sealing key. Nil without `[registry]`.
    public static func checkRegistry(_ options: NodeOptions) throws -> RegionRegistry? {
        guard let configured = options.config.registry, let authority = Hex.decode(configured.authorityKey) else { return nil }
        let registry = try RegionRegistry.load(path: configured.path, authorityKey: authority)
        let region = options.config.region
        guard let mine = registry.entry(region) else {
            throw ConfigError("the registry \(configured.path) (version \(registry.version)) does not list \(region)")
        }
        let blockKey = try blockPublicKey(options)
        guard mine.blockPublicKey == blockKey else {
            throw ConfigError("the registry lists block key \(Hex.encode(mine.blockPublicKey)) for \(region), but this node's blocks are "
                              + "signed with \(Hex.encode(blockKey)): the registry must be re-signed with this region's key")
        }
        let sealing = try options.data.sealingKey().publicKey
        guard mine.sealingPublicKey == sealing else {
            throw ConfigError("the registry lists sealing key \(Hex.encode(mine.sealingPublicKey)) for \(region), but this node's is "
                              + "\(Hex.encode(sealing)) (sealing-key in its data directory)")
        }
        return registry
    }

    /// For separate processes with CURVE keys in the config: this process's keys, checked against the
    /// config, the applier's public key, and (in the applier) the authenticator admitting only the
    /// listed fronts. Nil in one process, or on a plain loopback queue.
    static func queueSecurity(
        _ options: NodeOptions, context: QueueContext
    ) throws -> (keys: CurveKeyPair, serverKey: [UInt8], authenticator: CurveAuthenticator?)? {
        let config = options.config
        guard options.role != .all, let server = config.queuePublicKey, let serverKey = Hex.decode(server) else { return nil }
        let keys = try options.data.queueKeys(role: options.role, path: options.queueKeyPath)
        let mine = Hex.encode(keys.publicKey)
        switch options.role {
        case .applier:
            guard mine == server else {
                throw ConfigError("this applier's queue key has public key \(mine), but endpoints.queue_public_key is \(server): "
                                  + "put \(mine) there, or start with --queue-key naming the key whose public key is listed")
            }
            let logger = options.logger
            let authenticator = try CurveAuthenticator(
                context: context, allowedClientKeys: Set(config.frontPublicKeys.compactMap { Hex.decode($0) }),
                refused: { key in logger.warning("refused a queue connection with CURVE key \(Hex.encode(key)): not in endpoints.front_public_keys") }
            )
            return (keys, serverKey, authenticator)
        case .front:
            guard config.frontPublicKeys.contains(mine) else {
                throw ConfigError("this front's queue key has public key \(mine), which is not in endpoints.front_public_keys: "
                                  + "add it there (and restart the applier), or start with --queue-key naming a listed key")
            }
            return (keys, serverKey, nil)
        case .all:
            return nil
        }
    }

    /// TLS 1.3 only, with the config's certificate chain and key; with `client_ca`, every client must
    /// present a certificate that CA signed (mutual TLS).
    /// HTTP/1.1 with the guards against slow and greedy clients (request and idle timeouts, header size),
    /// over TLS when `tls` is given: the region front's server, and the K$ node's.
    static func guardedServer(
        limits: RegionConfig.Limits, tls: RegionConfig.TLS?, logger: Logger
    ) throws -> HTTPServerBuilder {
        let plain = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [
                    ConnectionGuard(requestSecondsMax: limits.httpRequestSecondsMax, logger: logger)
                ],
                idleTimeout: .seconds(Int64(limits.httpIdleTimeoutSeconds)),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: limits.httpHeaderBytesMax, maxHeaderListSize: limits.httpHeaderBytesMax)))
        return try tls.map { try HTTPServerBuilder.tls(plain, tlsConfiguration: try tlsConfiguration($0)) } ?? plain
    }

    static func tlsConfiguration(_ tls: RegionConfig.TLS) throws -> TLSConfiguration {
        func read<T>(_ what: String, _ path: String, _ load: () throws -> T) throws -> T {
            do {
                return try load()
            } catch {
                throw ConfigError("tls.\(what): cannot read a PEM \(what.replacingOccurrences(of: "_", with: " ")) from \(path): \(error)")
            }
        }
        let chain = try read("certificate", tls.certificatePath) { try NIOSSLCertificate.fromPEMFile(tls.certificatePath) }
        guard !chain.isEmpty else { throw ConfigError("tls.certificate: \(tls.certificatePath) holds no certificate") }
        let key = try read("private_key", tls.privateKeyPath) { try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem) }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv13
        if let ca = tls.clientCAPath {
            let roots = try read("client_ca", ca) { try NIOSSLCertificate.fromPEMFile(ca) }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }

    /// The region's rule-set file, read and checked; nil when the config names none.
    public static func loadRules(_ config: RegionConfig) throws -> RuleSet? {
        guard let path = config.rulesPath else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigError("cannot read rules file \(path)") }
        do {
            return try RuleSet(text: text)
        } catch {
            throw ConfigError("rules file \(path): \(error.description)")
        }
    }

    /// The custodian quorum when the config names one (its transcript must be signed by all three
    /// custodians and be for this region), else the node's single block key.
    static func blockSigner(_ options: NodeOptions, context: QueueContext) throws -> any BlockSigner {
        guard let custody = options.config.custody else { return SingleKeyBlockSigner(key: try options.data.blockKey()) }
        let transcript = try CeremonyTranscript.read(from: custody.transcriptPath)
        guard transcript.region == options.config.region else {
            throw ConfigError("the custody transcript is for region \(transcript.region), not \(options.config.region)")
        }
        return try QuorumBlockSigner(
            transcript: transcript, endpoints: custody.endpoints, context: context, timeoutMilliseconds: Int32(custody.timeoutMilliseconds)
        )
    }

    /// The key this node's blocks are signed with: the custody quorum's (from its transcript) or the single key's.
    public static func blockPublicKey(_ options: NodeOptions) throws -> [UInt8] {
        guard let custody = options.config.custody else { return try options.data.blockKey().publicKey }
        let transcript = try CeremonyTranscript.read(from: custody.transcriptPath)
        try transcript.verify(requireAllSignatures: true)
        return transcript.groupPublicKeyBytes
    }

    /// The contract the node serves at `GET /openapi.yaml`, embedded at build time from `openapi/`.
    static func contract() throws -> String {
        String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
    }
}
