// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sdt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sdt", targets: ["sdt"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libzmq's pkg-config file adds an -isystem flag SwiftPM refuses; the module map links it directly.
        .systemLibrary(name: "CZMQ", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CGMP", pkgConfig: "gmp", providers: [.apt(["libgmp-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),

        .target(name: "SDTCore"),
        .target(name: "SDTCrypto", dependencies: ["SDTCore", "CSodium", "COpenSSL", "CGMP"]),
        .target(
            name: "SDTRules",
            dependencies: ["SDTCore", "SDTCrypto", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(name: "SDTEngine", dependencies: ["SDTCore", "SDTRules"]),
        .target(name: "SDTLedger", dependencies: ["SDTCore", "SDTCrypto", "SDTRules", "SDTEngine", "CSQLite"]),
        .target(name: "SDTQueue", dependencies: ["CZMQ"]),
        .target(
            name: "SDTBank",
            dependencies: ["SDTCore", "SDTCrypto", "SDTLedger", "CXML2"],
            exclude: ["Resources/README.md"],
            resources: [
                .embedInCode("Resources/camt.054.001.08.xsd"), .embedInCode("Resources/pacs.008.001.09.xsd"),
                .embedInCode("Resources/pacs.002.001.11.xsd"), .embedInCode("Resources/pacs.009.001.09.xsd"),
            ]
        ),
        .target(
            name: "SDTCustody",
            dependencies: ["SDTCore", "SDTCrypto", "SDTQueue", .product(name: "Metrics", package: "swift-metrics")]
        ),
        .target(
            name: "SDTAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "SDTGlobalAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "SDTNode",
            dependencies: [
                "SDTCore", "SDTCrypto", "SDTLedger", "SDTQueue", "SDTAPI", "SDTCustody", "SDTRules", "SDTClient",
                "SDTBank", "SDTGlobal", "SDTGlobalAPI",
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [
                .embedInCode("Resources/openapi.yaml"), .embedInCode("Resources/global.yaml"),
                .embedInCode("Resources/transparency.mustache"), .embedInCode("Resources/kdollar.mustache"),
            ]
        ),
        .target(
            name: "SDTClient",
            dependencies: [
                "SDTCore", "SDTCrypto", "SDTAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ]
        ),
        .executableTarget(
            name: "sdt",
            dependencies: [
                "SDTCore", "SDTCrypto", "SDTLedger", "SDTNode", "SDTClient", "SDTCustody", "SDTRules", "SDTTesting",
                "SDTAPI", "SDTBank", "SDTSimulation", "SDTGlobal", "SDTGlobalAPI",
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SDTTesting", dependencies: ["SDTCore", "SDTCrypto"]),
        .target(name: "SDTGlobal", dependencies: ["SDTCore", "SDTCrypto", "SDTLedger"]),
        .target(
            name: "SDTSimulation",
            dependencies: [
                "SDTCore", "SDTCrypto", "SDTEngine", "SDTLedger", "SDTCustody", "SDTRules", "SDTNode", "SDTTesting",
            ]
        ),

        .testTarget(name: "SDTCoreTests", dependencies: ["SDTCore"]),
        .testTarget(name: "SDTCryptoTests", dependencies: ["SDTCrypto", "SDTTesting"], resources: [.copy("Vectors")]),
        .testTarget(name: "SDTRulesTests", dependencies: ["SDTRules", "SDTCore"]),
        .testTarget(name: "SDTEngineTests", dependencies: ["SDTEngine", "SDTRules", "SDTCore"]),
        .testTarget(
            name: "SDTSimulationTests",
            dependencies: ["SDTSimulation", "SDTEngine", "SDTLedger", "SDTRules", "SDTCore", "SDTTesting"]
        ),
        .testTarget(
            name: "SDTLedgerTests",
            dependencies: ["SDTLedger", "SDTEngine", "SDTRules", "SDTCrypto", "SDTCore", "SDTTesting"]),
        .testTarget(
            name: "SDTBankTests", dependencies: ["SDTBank", "SDTLedger", "SDTCore", "SDTCrypto", "SDTTesting"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "SDTGlobalTests", dependencies: ["SDTGlobal", "SDTCore", "SDTCrypto", "SDTLedger", "SDTTesting"]),
        .testTarget(name: "SDTQueueTests", dependencies: ["SDTQueue", "SDTTesting"]),
        .testTarget(
            name: "SDTCustodyTests",
            dependencies: ["SDTCustody", "SDTCrypto", "SDTCore", "SDTLedger", "SDTQueue", "SDTTesting"]),
        .testTarget(name: "SDTClientTests", dependencies: ["SDTClient", "SDTCore", "SDTCrypto", "SDTAPI"]),
        .testTarget(
            name: "SDTNodeTests",
            dependencies: [
                "SDTNode", "SDTLedger", "SDTCore", "SDTCrypto", "SDTCustody", "SDTQueue", "SDTBank", "SDTGlobal",
                "SDTTesting", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SDTEndToEndTests",
            dependencies: [
                "SDTClient", "SDTCrypto", "SDTCore", "SDTLedger", "SDTNode", "SDTTesting", "SDTAPI", "SDTCustody",
                "SDTBank",
                "SDTQueue",
            ]
        ),
    ]
)
