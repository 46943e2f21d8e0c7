// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "prof",
  products: [
    .executable(name: "prof", targets: ["prof"]),
    .library(name: "ProfTrace", targets: ["ProfTrace"]),
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
        "HeapProfiling",
        "ChromeTrace",
        "TargetLaunch",
        "OutputFile",
        "RaceReport",
        "RaceRunner",
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
    .testTarget(name: "ProfTraceTests", dependencies: ["prof", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfCPUTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "ProfileBuilderTests", dependencies: ["ProfileBuilder", "AgentStream", "Pprof", "Symbolization"]),
    .target(name: "Symbolization", dependencies: ["CDemangle"]),
    .target(name: "ProfileBuilder", dependencies: ["AgentStream", "Pprof", "Symbolization"]),
    .target(name: "CPUProfiling", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .target(name: "HeapProfiling", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .testTarget(name: "HeapProfilingTests", dependencies: ["HeapProfiling", "AgentStream", "Pprof"]),
    .target(name: "ProfTrace"),
    .target(name: "ChromeTrace", dependencies: ["AgentStream", "Pprof", "ProfileBuilder", "Symbolization"]),
    .target(
      name: "AgentStream",
      dependencies: [.product(name: "ProfStreamFormat", package: "ProfAgent")]
    ),
    .target(name: "Pprof", dependencies: ["CZlib"]),
    // prof race (issue 7): TSan report parsing and rendering, running, and their tests.
    .target(name: "RaceReport", dependencies: ["Symbolization"]),
    .target(name: "RaceRunner", dependencies: ["RaceReport"]),
    // Tests read their resources from the source tree so that goldens can be updated.
    .testTarget(
      name: "RaceReportTests", dependencies: ["RaceReport", "RaceTestSupport"],
      exclude: ["Resources"]),
    .testTarget(name: "RaceRunnerTests", dependencies: ["RaceRunner"]),
    // Runs the built `prof race` on the fixture packages in fixtures/race.
    .testTarget(name: "RaceCommandTests", dependencies: ["RaceTestSupport"]),
    .target(
      name: "RaceTestSupport", path: "Tests/RaceTestSupport",
      exclude: ["sarif-schema-2.1.0.json"]),
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

// Benchmarks (issue 4): the ProfBench harness is linked into the user's
// benchmark executable together with CAllocCounter, which interposes malloc.
// `prof bench compare` uses BenchFormat/BenchStats/BenchCompare only: the
// prof executable must never link CAllocCounter.
package.products += [
  .library(name: "ProfBench", targets: ["ProfBench"]),
]
package.targets += [
  .target(name: "CAllocCounter"),
  .target(name: "BenchFormat"),
  .target(name: "BenchStats"),
  .target(name: "BenchCompare", dependencies: ["BenchFormat", "BenchStats"]),
  .target(
    name: "ProfBench",
    dependencies: [
      "BenchFormat",
      "CAllocCounter",
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]
  ),
  .testTarget(name: "BenchFormatTests", dependencies: ["BenchFormat"]),
  .testTarget(name: "BenchStatsTests", dependencies: ["BenchStats"]),
  .testTarget(name: "BenchCompareTests", dependencies: ["BenchCompare", "BenchFormat"]),
  .testTarget(name: "ProfBenchTests", dependencies: ["ProfBench", "BenchFormat"]),
  .testTarget(name: "BenchEndToEndTests", dependencies: ["BenchFormat"]),
]
if let cli = package.targets.first(where: { $0.name == "prof" }) {
  cli.dependencies += ["BenchFormat", "BenchCompare"]
}
