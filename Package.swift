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
      ]
    ),
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
