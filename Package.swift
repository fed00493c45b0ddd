// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "swift-nmt",
    products: [
        .library(name: "NMT", targets: ["NMT"]),
        .executable(name: "translate", targets: ["translate"]),
        .executable(name: "nmt-inspect", targets: ["nmt-inspect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "CSentencePiece",
            path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece")]
        ),
        .target(
            name: "CKernels",
            path: "Sources/CKernels"
        ),
        .target(
            name: "NMT",
            dependencies: [
                "CSentencePiece",
                "CKernels",
            ],
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
        .testTarget(
            name: "NMTTests",
            dependencies: ["NMT", "translate"],
            path: "Tests/NMTTests",
            resources: [.copy("Fixtures")]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
