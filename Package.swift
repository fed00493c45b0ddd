// swift-tools-version: 6.0
import PackageDescription

// The targets follow the pipeline, and each imports only those before it, so the compiler keeps
// the dependencies one way:
//   NMTText (sentences, over ICU)  →  NMTFormat (model file)  →  NMTTokenizer (over SentencePiece)
//   →  NMTModel (layers, attention, cache, Transformer; C kernels)  →  NMTDecoding (searches)
//   →  NMT (translator)  →  translate (CLI)
//                         →  NMTServer (HTTP API over Hummingbird)  →  translate-server
// Only NMTServer and translate-server depend on Hummingbird and SwiftNIO: the NMT library product and the
// translate command do not.
let package = Package(
    name: "swift-nmt",
    products: [
        .library(name: "NMT", targets: ["NMT"]),
        .executable(name: "translate", targets: ["translate"]),
        .executable(name: "nmt-inspect", targets: ["nmt-inspect"]),
        .executable(name: "nmt-quantize", targets: ["nmt-quantize"]),
        .executable(name: "translate-server", targets: ["translate-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "CSentencePiece",
            path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece")]
        ),
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "CSentenceBreak", path: "Sources/CSentenceBreak", linkerSettings: [.linkedLibrary("icuuc")]),
        .target(name: "NMTText", dependencies: ["CSentenceBreak"], path: "Sources/NMTText"),
        .target(name: "NMTFormat", path: "Sources/NMTFormat"),
        .target(name: "NMTTokenizer", dependencies: ["NMTFormat", "CSentencePiece"], path: "Sources/NMTTokenizer"),
        .target(name: "NMTModel", dependencies: ["NMTFormat", "CKernels"], path: "Sources/NMTModel"),
        .target(name: "NMTDecoding", dependencies: ["NMTModel", "CKernels"], path: "Sources/NMTDecoding"),
        .target(
            name: "NMT",
            dependencies: ["NMTText", "NMTFormat", "NMTTokenizer", "NMTModel", "NMTDecoding"],
            path: "Sources/NMT"
        ),
        .executableTarget(
            name: "translate",
            dependencies: [
                "NMT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/translate"
        ),
        .executableTarget(
            name: "nmt-inspect",
            dependencies: [
                "NMT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/nmt-inspect"
        ),
        .executableTarget(
            name: "nmt-quantize",
            dependencies: [
                "NMTFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/nmt-quantize"
        ),
        .target(
            name: "NMTServer",
            dependencies: [
                "NMT",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/NMTServer",
            // The page's source; tools/embed_assets.py writes it into EmbeddedAssets.swift.
            exclude: ["Assets"]
        ),
        .executableTarget(
            name: "translate-server",
            dependencies: [
                "NMTServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/translate-server"
        ),
        .testTarget(
            name: "NMTServerTests",
            dependencies: [
                "NMTServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/NMTServerTests"
        ),
        .testTarget(name: "NMTTextTests", dependencies: ["NMTText"], path: "Tests/NMTTextTests"),
        .testTarget(
            name: "NMTTests",
            dependencies: ["NMT", "CKernels", "translate", "nmt-quantize"],
            path: "Tests/NMTTests",
            resources: [.copy("Fixtures")]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
