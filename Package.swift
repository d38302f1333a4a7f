// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

/// A service (under Services/) or tool (under Tools/) = a library holding its logic (tested) +
/// a thin executable that only wires it.
func service(
    _ exe: String, lib: String, folder: String, under root: String = "Services", deps: [Target.Dependency]
) -> [Target] {
    [
        .target(name: lib, dependencies: deps, path: "\(root)/\(folder)/\(lib)", swiftSettings: swiftSettings),
        .executableTarget(
            name: exe, dependencies: [.byName(name: lib), "ServiceKit"], path: "\(root)/\(folder)/main",
            swiftSettings: swiftSettings),
    ]
}

let package = Package(
    name: "whatsapp-crm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
        .executable(name: "normalizer", targets: ["normalizer"]),
        .executable(name: "crm-matcher", targets: ["crm-matcher"]),
        .executable(name: "sender", targets: ["sender"]),
        .executable(name: "reporter", targets: ["reporter"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "wa-simulator", targets: ["wa-simulator"]),
        .executable(name: "crm-bench", targets: ["crm-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Traces over OTLP/HTTP only: the gRPC exporter's dependencies are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
    ],
    targets: [
        // MARK: Shared
        .systemLibrary(
            name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .target(
            name: "WireModels",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/WireModels", swiftSettings: swiftSettings),
        // Pure domain: rules, routing, policy, retry, status order and template decisions; no I/O.
        .target(name: "CRMCore", dependencies: ["WireModels"], path: "Shared/CRMCore", swiftSettings: swiftSettings),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Kafka", swiftSettings: swiftSettings),
        .target(
            name: "Storage",
            dependencies: [
                "WireModels", "CRMCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/Storage", swiftSettings: swiftSettings),
        .target(
            name: "ServiceKit",
            dependencies: [
                "WireModels", "CRMCore", "Kafka", "Storage",
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Shared/ServiceKit", swiftSettings: swiftSettings),
        // The CRM configuration file (accounts, numbers, users, routing rules): parse, check, apply.
        .target(
            name: "CRMSetup",
            dependencies: [
                "CRMCore", "ServiceKit", "Storage", "WireModels",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Shared/CRMSetup", swiftSettings: swiftSettings),
        .target(
            name: "Outbound",
            dependencies: [
                "CRMCore", "Storage", "WireModels", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Outbound", swiftSettings: swiftSettings),
    ]
        // MARK: Services (the five) and Tools (crmctl, the Cloud API simulator, the load generator)
        + service(
            "gateway", lib: "GatewayService", folder: "gateway",
            deps: [
                "ServiceKit", "CRMCore", "CRMSetup", "Outbound", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ])
        + service("normalizer", lib: "NormalizerService", folder: "normalizer", deps: ["ServiceKit", "CRMCore"])
        + service(
            "crm-matcher", lib: "MatcherService", folder: "crm-matcher",
            deps: [
                "ServiceKit", "CRMCore", "Outbound", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ])
        + service(
            "sender", lib: "SenderService", folder: "sender",
            deps: [
                "ServiceKit", "CRMCore", "Outbound", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ])
        + service("reporter", lib: "ReporterService", folder: "reporter", deps: ["ServiceKit", "CRMCore", "Outbound"])
        + service(
            "crmctl", lib: "CrmCtlCommands", folder: "crmctl", under: "Tools",
            deps: [
                "ServiceKit", "CRMSetup", "Outbound",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ])
        + service(
            "wa-simulator", lib: "SimulatorService", folder: "simulator", under: "Tools",
            deps: [
                "ServiceKit", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ])
        + service(
            "crm-bench", lib: "IngestBench", folder: "bench", under: "Tools",
            deps: [
                "ServiceKit", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ])
        + [
            // Fuzzing (`make fuzz`, Tests/Fuzz/README.md): libFuzzer entry with -DFUZZING, a
            // replay tool for saved inputs otherwise.
            .executableTarget(
                name: "crm-fuzz", dependencies: ["WireModels", "NormalizerService"], path: "Tests/Fuzz/CrmFuzz",
                swiftSettings: swiftSettings),
            // MARK: Tests
            .testTarget(
                name: "UnitTests",
                dependencies: [
                    "WireModels", "CRMCore", "CRMSetup", "Kafka", "Storage", "ServiceKit", "GatewayService",
                    "NormalizerService",
                    "MatcherService", "ReporterService", "SenderService", "SimulatorService", "Outbound", "IngestBench",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOPosix", package: "swift-nio"),
                    .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                ],
                path: "Tests/UnitTests", swiftSettings: swiftSettings),
            .testTarget(
                name: "IntegrationTests",
                dependencies: [
                    "WireModels", "CRMCore", "CRMSetup", "Kafka", "Storage", "ServiceKit", "MatcherService",
                    "GatewayService",
                    "Outbound",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "PostgresNIO", package: "postgres-nio"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOHTTP1", package: "swift-nio"),
                ],
                path: "Tests/IntegrationTests", swiftSettings: swiftSettings),
            .testTarget(
                name: "KafkaTests", dependencies: ["Kafka"], path: "Tests/KafkaTests", swiftSettings: swiftSettings),
        ]
)
