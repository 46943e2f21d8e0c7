// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "prof",
  products: [
    .executable(name: "prof", targets: ["prof"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    .package(path: "Sources/ProfAgent"),
  ],
  targets: [
    .executableTarget(
      name: "prof",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "ProfAgent", package: "ProfAgent"),
        "Pprof",
        "AgentStream",
        "Symbolization",
        "CPUProfiling",
        "TargetLaunch",
        "OutputFile",
        "ProfileReports",
        "FlameGraph",
        "ProfileConversion",
      ]
    ),
    .systemLibrary(name: "CZlib"),
    .systemLibrary(name: "CDemangle"),
    .systemLibrary(name: "CLaunch"),
    .target(name: "TargetLaunch", dependencies: ["CLaunch"]),
    .target(name: "OutputFile"),
    .testTarget(name: "PprofTests", dependencies: ["Pprof"]),
    .testTarget(
      name: "AgentStreamTests",
      dependencies: ["AgentStream", .product(name: "ProfStreamFormat", package: "ProfAgent")]
    ),
    .testTarget(name: "SymbolizationTests", dependencies: ["Symbolization"]),
    .testTarget(name: "ProfCPUTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "ProfileBuilderTests", dependencies: ["ProfileBuilder", "AgentStream", "Pprof", "Symbolization"]),
    .target(name: "Symbolization", dependencies: ["CDemangle"]),
    .target(name: "ProfileBuilder", dependencies: ["AgentStream", "Pprof", "Symbolization"]),
    .target(name: "CPUProfiling", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .target(
      name: "AgentStream",
      dependencies: [.product(name: "ProfStreamFormat", package: "ProfAgent")]
    ),
    .target(name: "Pprof", dependencies: ["CZlib"]),
    .target(name: "ProfileReports", dependencies: ["Pprof", "Symbolization"]),
    .testTarget(name: "ProfileReportsTests", dependencies: ["ProfileReports", "Pprof", "ProfTestSupport"]),
    .target(name: "FlameGraph", dependencies: ["ProfileReports"]),
    .testTarget(name: "FlameGraphTests", dependencies: ["FlameGraph", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .target(name: "ProfileConversion", dependencies: ["ProfileReports", "Pprof"]),
    .testTarget(name: "ProfileConversionTests", dependencies: ["ProfileConversion", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfReportsTests", dependencies: ["prof", "ProfTestSupport"]),
    // Helpers shared by test targets: the prof/go tool pprof harness and profiles built in code.
    .target(name: "ProfTestSupport", dependencies: ["Pprof"], path: "Tests/ProfTestSupport"),
  ]
)
