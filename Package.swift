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
    // prof race: TSan report parsing and rendering (issue 7).
    .target(name: "CSwiftDemangle"),
    .target(name: "RaceReport", dependencies: ["CSwiftDemangle"]),
    .testTarget(
      name: "RaceReportTests",
      dependencies: ["RaceReport"],
      resources: [.copy("Resources")]
    ),
  ]
)
