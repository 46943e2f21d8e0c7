// swift-tools-version:6.0
// The in-process agent lives in its own package: SwiftPM builds a dynamic library
// product of a path dependency when `swift run prof` runs, but not of the root package.
import PackageDescription

let package = Package(
  name: "ProfAgent",
  products: [
    .library(name: "ProfAgent", type: .dynamic, targets: ["ProfAgent"]),
    .library(name: "ProfStreamFormat", targets: ["ProfStreamFormat"]),
  ],
  targets: [
    // The record layout shared by the C writer (agent) and the Swift reader (prof).
    .target(name: "ProfStreamFormat", path: "format"),
    .target(
      name: "ProfAgent",
      dependencies: ["ProfStreamFormat"],
      path: "agent",
      cSettings: [.unsafeFlags(["-fvisibility=hidden", "-O2", "-fno-omit-frame-pointer", "-momit-leaf-frame-pointer", "-fno-plt"])],
      linkerSettings: [.linkedLibrary("unwind"), .linkedLibrary("dl"), .linkedLibrary("pthread"), .linkedLibrary("m")]
    ),
  ]
)
