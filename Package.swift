// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "courier",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Courier", targets: ["Courier"]),
        .library(name: "CourierSQLite", targets: ["CourierSQLite"]),
        .library(name: "CourierRedis", targets: ["CourierRedis"]),
        .library(name: "CourierConformance", targets: ["CourierConformance"]),
        .library(name: "CourierHTTP", targets: ["CourierHTTP"]),
        .library(name: "CourierRuntime", targets: ["CourierRuntime"]),
        .executable(name: "courier", targets: ["CourierCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Core contract, memory adapter and worker runner. No C, no servers.
        .target(
            name: "Courier",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),

        // Operations tooling outside the core: the Prometheus exporter and its /metrics route (on Hummingbird).
        .target(
            name: "CourierOperations",
            dependencies: [
                "Courier",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // SQLite adapter over the system libsqlite3.
        .systemLibrary(
            name: "CSQLite",
            path: "Adapters/SQLite/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "CourierSQLite",
            dependencies: ["Courier", "CSQLite"],
            path: "Adapters/SQLite/CourierSQLite",
            swiftSettings: swiftSettings
        ),

        // Redis adapters over the system hiredis.
        .systemLibrary(
            name: "CHiredis",
            path: "Adapters/Redis/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "CourierRedis",
            dependencies: [
                "Courier", "CHiredis",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Adapters/Redis/CourierRedis",
            swiftSettings: swiftSettings
        ),

        // The HTTP gateway: Courier's routes for a Hummingbird application, over the contract alone.
        .target(
            name: "CourierHTTP",
            dependencies: [
                "Courier",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // QUEUE_TYPE in the library: the adapter registry, backends and limits from the environment, and the
        // worker entry point `courier worker` is built on.
        .target(
            name: "CourierRuntime",
            dependencies: [
                "Courier", "CourierSQLite", "CourierRedis", "CourierOperations",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The conformance kit every adapter (ours or a third party's) runs.
        .target(
            name: "CourierConformance",
            dependencies: ["Courier", "CCourierConformanceSupport"],
            path: "conformance/CourierConformance",
            swiftSettings: swiftSettings
        ),
        // The allocator count the kit's probe-free leak cases read (glibc's mallinfo2 is not imported by Swift).
        .target(name: "CCourierConformanceSupport", path: "conformance/CCourierConformanceSupport"),

        // The one call Swift cannot make (prctl is variadic): an exec handler's parent-death signal.
        .target(name: "CCourierProcess"),

        // The `courier` command-line tool.
        .executableTarget(
            name: "CourierCLI",
            dependencies: [
                "Courier", "CourierSQLite", "CourierRedis", "CourierOperations", "CCourierProcess", "CourierHTTP",
                "CourierRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "CourierTests",
            dependencies: [
                "Courier", "CourierTestSupport",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierOperationsTests",
            dependencies: [
                "Courier", "CourierOperations",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierConformanceTests",
            dependencies: ["Courier", "CourierConformance"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierSQLiteTests",
            dependencies: ["Courier", "CourierSQLite", "CourierConformance", "CourierTestSupport", "CSQLite"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CourierTestSupport",
            dependencies: ["Courier", .product(name: "Subprocess", package: "swift-subprocess")],
            path: "Tests/CourierTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierRedisTests",
            dependencies: ["Courier", "CourierRedis", "CourierConformance", "CourierTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierRuntimeTests",
            dependencies: ["Courier", "CourierRuntime", "CourierTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierHTTPTests",
            dependencies: [
                "Courier", "CourierHTTP", "CourierSQLite", "CourierRedis", "CourierTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CourierCLITests",
            dependencies: [
                "Courier", "CourierCLI", "CourierSQLite", "CourierTestSupport", "CSQLite",
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
