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
    // Stage 1, what runs in the target: the C agent and its stream format, a package of
    // its own so that SwiftPM builds the .so.
    .package(path: "Sources/Agent"),
    // Stage 7's HTTP server (`prof run --http`): NIO's HTTP/1 codec, no framework.
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
  ],
  // Targets in the order of the data's path; each stage's folder under Sources says it.
  targets: [
    // Stage 2, capture: start the program with the agent, read and decode its stream.
    .systemLibrary(name: "CLaunch", path: "Sources/Capture/CLaunch"),
    .target(name: "TargetLaunch", dependencies: ["CLaunch", "OutputFile"], path: "Sources/Capture/TargetLaunch"),
    .target(
      name: "AgentStream", dependencies: [.product(name: "ProfStreamFormat", package: "Agent")],
      path: "Sources/Capture/AgentStream"
    ),
    // One recording session: launch, decode once into sinks, checkpoint, follow children.
    .target(
      name: "Recording", dependencies: ["AgentStream", "TargetLaunch", "OutputFile"],
      path: "Sources/Capture/Recording"
    ),

    // Stage 3, symbols: addresses to functions, files and lines; demangling.
    .systemLibrary(name: "CDemangle", path: "Sources/Symbols/CDemangle"),
    .target(name: "Demangle", dependencies: ["CDemangle"], path: "Sources/Symbols/Demangle"),
    .target(
      name: "Symbolization", dependencies: ["AgentStream", "Demangle"], path: "Sources/Symbols/Symbolization"
    ),

    // Stage 4, profiles: the pprof model and the builders that turn raw stacks into it.
    .systemLibrary(name: "CZlib", path: "Sources/Profiles/CZlib"),
    .target(name: "Pprof", dependencies: ["CZlib"], path: "Sources/Profiles/Pprof"),
    .target(
      name: "ProfileBuilder", dependencies: ["AgentStream", "Recording", "Pprof", "Symbolization"],
      path: "Sources/Profiles/ProfileBuilder"
    ),
    .target(
      name: "CPUProfiling", dependencies: ["AgentStream", "Recording", "Pprof", "ProfileBuilder", "Symbolization"],
      path: "Sources/Profiles/CPUProfiling"
    ),
    .target(
      name: "HeapProfiling", dependencies: ["AgentStream", "Recording", "Pprof", "ProfileBuilder", "Symbolization"],
      path: "Sources/Profiles/HeapProfiling"
    ),
    .target(
      name: "ContentionProfiling", dependencies: ["AgentStream", "Recording", "Pprof", "ProfileBuilder", "Symbolization"],
      path: "Sources/Profiles/ContentionProfiling"
    ),

    // Stage 5, formats: timelines, other profile formats, and writing files safely.
    .target(
      name: "ChromeTrace", dependencies: ["AgentStream", "Recording", "Symbolization"],
      path: "Sources/Formats/ChromeTrace"
    ),
    .target(name: "OutputFile", dependencies: ["CLaunch"], path: "Sources/Formats/OutputFile"),

    // Stage 6, reports on any pprof file.
    .target(name: "ProfileReports", dependencies: ["Pprof", "Demangle"], path: "Sources/Reports/ProfileReports"),
    .target(name: "FlameGraph", dependencies: ["Pprof", "ProfileReports"], path: "Sources/Reports/FlameGraph"),
    .target(
      name: "ProfileConversion", dependencies: ["ProfileReports", "Pprof"],
      path: "Sources/Formats/ProfileConversion"
    ),

    // Stage 7, serving: Go's /debug/pprof endpoints over HTTP for `prof run --http`,
    // each a window of the running program's dormant agent.
    .target(
      name: "DebugPprof",
      dependencies: [
        "AgentStream", "Recording", "TargetLaunch", "Pprof", "Symbolization", "CPUProfiling", "HeapProfiling",
        "ContentionProfiling", "ChromeTrace", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      path: "Sources/Serve/DebugPprof"
    ),

    // Benchmarks: ProfBench and CAllocCounter (which interposes malloc) are linked into
    // the user's benchmark executable; `prof bench compare` needs only the format and statistics.
    .target(
      name: "ProfBench",
      dependencies: ["BenchFormat", "CAllocCounter", "OutputFile", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      path: "Sources/Bench/ProfBench"
    ),
    .target(name: "CAllocCounter", path: "Sources/Bench/CAllocCounter"),
    .target(name: "BenchFormat", dependencies: ["OutputFile"], path: "Sources/Bench/BenchFormat"),
    .target(name: "BenchStats", path: "Sources/Bench/BenchStats"),
    .target(name: "BenchCompare", dependencies: ["BenchFormat", "BenchStats"], path: "Sources/Bench/BenchCompare"),

    // ThreadSanitizer front end.
    .target(name: "RaceReport", dependencies: ["Demangle"], path: "Sources/Race/RaceReport"),
    .target(name: "RaceRunner", dependencies: ["RaceReport", "TargetLaunch"], path: "Sources/Race/RaceRunner"),

    // Linked into the user's program: spans and counters for `prof trace`.
    .target(name: "ProfTrace", path: "Sources/Instrumentation/ProfTrace"),

    // The edge: the command line, one file per subcommand. It must never link CAllocCounter.
    .executableTarget(
      name: "prof",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "ProfAgent", package: "Agent"),
        "AgentStream", "TargetLaunch", "Recording", "OutputFile",
        "Pprof", "Symbolization", "CPUProfiling", "HeapProfiling", "ContentionProfiling", "ChromeTrace",
        "ProfileReports", "FlameGraph", "ProfileConversion",
        "BenchFormat", "BenchCompare",
        "RaceReport", "RaceRunner", "DebugPprof",
      ],
      path: "Sources/CLI"
    ),

    // Tests. End-to-end targets depend on "prof" so that the binary (and the agent) is built.
    .target(name: "ProfTestSupport", dependencies: ["Pprof"], path: "Tests/ProfTestSupport"),
    .testTarget(name: "PprofTests", dependencies: ["Pprof"]),
    .testTarget(name: "OutputFileTests", dependencies: ["OutputFile"]),
    .testTarget(name: "AgentStreamTests", dependencies: ["AgentStream", .product(name: "ProfStreamFormat", package: "Agent")]),
    .testTarget(name: "DemangleTests", dependencies: ["Demangle"]),
    .testTarget(name: "SymbolizationTests", dependencies: ["Symbolization", "AgentStream"]),
    .testTarget(name: "ProfileBuilderTests", dependencies: ["ProfileBuilder", "AgentStream", "Pprof", "Symbolization"]),
    .testTarget(
      name: "RecordingTests",
      dependencies: ["Recording", "AgentStream", "CPUProfiling", "HeapProfiling", "ChromeTrace", "Pprof", "Symbolization", "ProfTestSupport"],
      exclude: ["golden"]
    ),
    .testTarget(name: "HeapProfilingTests", dependencies: ["HeapProfiling", "AgentStream", "Pprof"]),
    .testTarget(name: "DebugPprofTests", dependencies: ["DebugPprof", "Pprof"]),
    .testTarget(name: "ProfContentionTests", dependencies: ["prof", "ProfTestSupport", "Pprof", "ContentionProfiling"]),
    .testTarget(name: "CPUProfilingTests", dependencies: ["CPUProfiling", "AgentStream", "Pprof"]),
    .testTarget(name: "ChromeTraceTests", dependencies: ["ChromeTrace", "AgentStream"]),
    .testTarget(name: "ProfCPUTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "AgentTests", dependencies: ["prof", "ProfTestSupport", "TargetLaunch"]),
    .testTarget(name: "ProfTraceTests", dependencies: ["prof", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfileReportsTests", dependencies: ["ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "FlameGraphTests", dependencies: ["FlameGraph", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfileConversionTests", dependencies: ["ProfileConversion", "ProfileReports", "Pprof", "ProfTestSupport"]),
    .testTarget(name: "ProfReportsTests", dependencies: ["prof", "ProfTestSupport"]),
    .testTarget(name: "BenchFormatTests", dependencies: ["BenchFormat"]),
    .testTarget(name: "BenchStatsTests", dependencies: ["BenchStats"]),
    .testTarget(name: "BenchCompareTests", dependencies: ["BenchCompare", "BenchFormat"]),
    .testTarget(name: "ProfBenchTests", dependencies: ["ProfBench", "BenchFormat"]),
    .testTarget(name: "BenchEndToEndTests", dependencies: ["BenchFormat", "ProfTestSupport"]),
    // Race tests read their resources from the source tree so that goldens can be updated.
    .target(name: "RaceTestSupport", path: "Tests/RaceTestSupport", exclude: ["sarif-schema-2.1.0.json"]),
    .testTarget(name: "RaceReportTests", dependencies: ["RaceReport", "RaceTestSupport", "ProfTestSupport"], exclude: ["Resources"]),
    .testTarget(name: "RaceRunnerTests", dependencies: ["RaceRunner", "TargetLaunch"]),
    .testTarget(name: "RaceCommandTests", dependencies: ["RaceTestSupport", "ProfTestSupport"]),
  ]
)
