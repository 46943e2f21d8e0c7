// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "prof",
  products: [
    .executable(name: "prof", targets: ["prof"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
  ],
  targets: [
    .executableTarget(
      name: "prof",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        "RaceReport",
        "RaceRunner",
      ]
    ),
    // prof race (issue 7): TSan report parsing and rendering, running, and their tests.
    .target(name: "CSwiftDemangle"),
    .target(name: "RaceReport", dependencies: ["CSwiftDemangle"]),
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
  ]
)
