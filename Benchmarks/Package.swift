// swift-tools-version:6.1
// Courier's hot-path benchmarks (ordo-one/benchmark), kept in their own package so that the benchmark
// framework and its dependencies never slow down the main package's builds and CI.
// Run from this directory: `swift package benchmark` (see docs/performance.md).
import PackageDescription

let package = Package(
    name: "courier-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "courier", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CourierBenchmarks",
            dependencies: [
                .product(name: "Courier", package: "courier"),
                .product(name: "CourierSQLite", package: "courier"),
                .product(name: "CourierRedis", package: "courier"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/CourierBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
