// swift-tools-version:6.1
import PackageDescription

// A worker that answers chat requests by calling an OpenAI-compatible chat-completions endpoint, streaming its
// tokens back through Courier. The tutorial is README.md.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "ChatWorker",
    platforms: [.macOS(.v15)],
    dependencies: [
        // In your own package: .package(url: "https://github.com/<you>/courier.git", from: "0.1.0")
        .package(name: "courier", path: "../.."),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "ChatWorkerCore",
            dependencies: [
                .product(name: "Courier", package: "courier"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ChatWorker",
            dependencies: [
                "ChatWorkerCore",
                .product(name: "CourierRuntime", package: "courier"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatWorkerTests",
            dependencies: [
                "ChatWorkerCore",
                .product(name: "Courier", package: "courier"),
                .product(name: "CourierRuntime", package: "courier"),
                .product(name: "CourierSQLite", package: "courier"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
