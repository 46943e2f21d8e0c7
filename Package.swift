// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "prof",
  products: [
    .executable(name: "prof", targets: ["prof"]),
    // Libraries a user's own package depends on.
    .library(name: "ProfTrace", targets: ["ProfTrace"]),
    .library(name: "ProfBench", targets: ["ProfBench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    // The agent and its stream format (a package of its own so that SwiftPM builds the .so).
    .package(path: "Sources/ProfAgent"),
  ],
  targets: [
    // The command line: one file per subcommand. It must never link CAllocCounter.
    .executableTarget(
      name: "prof",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "ProfAgent", package: "ProfAgent"),
        "AgentStream", "TargetLaunch", "OutputFile",
        "Pprof", "Symbolization", "CPUProfiling", "HeapProfiling", "ChromeTrace",
        "ProfileReports", "FlameGraph", "ProfileConversion",
        "BenchFormat", "BenchCompare",
        "RaceReport", "RaceRunner",
      ]
    ),

    // Running a target with the agent and reading what it sends.
    .target(name: "AgentStream", dependencies: [.product(name: "ProfStreamFormat", package: "ProfAgent")]),
    .target(name: "TargetLaunch", dependencies: ["CLaunch"]),
    .target(name: "OutputFile"),

    // From raw stacks to pprof profiles.
    .target(name: "Pprof", dependencies: ["CZlib"]),
    .target(name: "Symbolization", dependencies: ["CDemangle"]),
    .target(name: "ProfileBuilder", dependencies: ["AgentStream", "Pprof", "Symbolization"]),
    .target(name: "CPUProfiling", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .target(name: "HeapProfiling", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),

    // Timelines.
    .target(name: "ChromeTrace", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .target(name: "ProfTrace"),

    // Reports on any pprof file.
    .target(name: "ProfileReports", dependencies: ["Pprof", "Symbolization"]),
    .target(name: "FlameGraph", dependencies: ["ProfileReports"]),
    .target(name: "ProfileConversion", dependencies: ["ProfileReports", "Pprof"]),

    // Benchmarks: ProfBench and CAllocCounter (which interposes malloc) are linked into
    // the user's benchmark executable; `prof bench compare` needs only the format and statistics.
    .target(
      name: "ProfBench",
      dependencies: ["BenchFormat", "CAllocCounter", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .target(name: "CAllocCounter"),
    .target(name: "BenchFormat"),
    .target(name: "BenchStats"),
    .target(name: "BenchCompare", dependencies: ["BenchFormat", "BenchStats"]),

    // ThreadSanitizer front end.
    .target(name: "RaceReport", dependencies: ["Symbolization"]),
    .target(name: "RaceRunner", dependencies: ["RaceReport"]),

    // C APIs Swift's Glibc module does not expose.
    .systemLibrary(name: "CZlib"),
    .systemLibrary(name: "CDemangle"),
    .systemLibrary(name: "CLaunch"),

    // Tests. End-to-end targets depend on "prof" so that the binary (and the agent) is built.
    .target(name: "ProfTestSupport", dependencies: ["Pprof"], path: "Tests/ProfTestSupport"),
    .testTarget(name: "PprofTests", dependencies: ["Pprof"]),
    .testTarget(name: "AgentStreamTests", dependencies: ["AgentStream", .product(name: "ProfStreamFormat", package: "ProfAgent")]),
    .testTarget(name: "SymbolizationTests", dependencies: ["Symbolization"]),
    .testTarget(name: "ProfileBuilderTests", dependencies: ["ProfileBuilder", "AgentStream", "Pprof", "Symbolization"]),
    .testTarget(name: "HeapProfilingTests", dependencies: ["HeapProfiling", "AgentStream", "Pprof"]),
    .testTarget(name: "ProfCPUTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "ProfTraceTests", dependencies: ["prof", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfileReportsTests", dependencies: ["ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "FlameGraphTests", dependencies: ["FlameGraph", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfileConversionTests", dependencies: ["ProfileConversion", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfReportsTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "BenchFormatTests", dependencies: ["BenchFormat"]),
    .testTarget(name: "BenchStatsTests", dependencies: ["BenchStats"]),
    .testTarget(name: "BenchCompareTests", dependencies: ["BenchCompare", "BenchFormat"]),
    .testTarget(name: "ProfBenchTests", dependencies: ["ProfBench", "BenchFormat"]),
    .testTarget(name: "BenchEndToEndTests", dependencies: ["BenchFormat"]),
    // Race tests read their resources from the source tree so that goldens can be updated.
    .target(name: "RaceTestSupport", path: "Tests/RaceTestSupport", exclude: ["sarif-schema-2.1.0.json"]),
    .testTarget(name: "RaceReportTests", dependencies: ["RaceReport", "RaceTestSupport"], exclude: ["Resources"]),
    .testTarget(name: "RaceRunnerTests", dependencies: ["RaceRunner"]),
    .testTarget(name: "RaceCommandTests", dependencies: ["RaceTestSupport"]),
  ]
)
