// swift-tools-version: 6.0
import PackageDescription

// The targets follow the pipeline, and each imports only those before it, so the compiler keeps
// the dependencies one way:
//   NMTText (sentences, over ICU)  →  NMTFormat (model file)  →  NMTTokenizer (over SentencePiece)
//   →  NMTModel (layers, attention, cache, Transformer; C kernels)  →  NMTDecoding (searches)
//   →  NMT (translator)  →  translate (CLI)
let package = Package(
    name: "swift-nmt",
    products: [
        .library(name: "NMT", targets: ["NMT"]),
        .executable(name: "translate", targets: ["translate"]),
        .executable(name: "nmt-inspect", targets: ["nmt-inspect"]),
        .executable(name: "nmt-quantize", targets: ["nmt-quantize"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
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
