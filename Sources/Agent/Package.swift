// swift-tools-version:6.0
// The in-process agent lives in its own package: SwiftPM builds a dynamic library
// product of a path dependency when `swift run prof` runs, but not of the root package.
import PackageDescription

// The agent is C, but SwiftPM links every product with swiftc, which adds the Swift
// runtime: swiftrt.o (whose constructor registers the image with libswiftCore) and
// -lswiftCore, before any flag of ours, so --as-needed cannot drop it. Loaded into
// every target, that runtime costs MBs of RSS and installs its crash backtracer. So:
// -nostartfiles leaves out swiftrt.o; -static-stdlib turns -lswiftCore into the static
// archive, from which nothing is pulled since nothing refers to it; its companions
// -lstdc++ and -lm find empty linker scripts in link/ first; -no-toolchain-stdlib-rpath
// drops the toolchain's RUNPATH. The result needs only glibc (libunwind is dlopen'd,
// see unwind.c); AgentTests checks it with readelf.
let pureCLinking: [String] = [
  "-nostartfiles", "-static-stdlib", "-no-toolchain-stdlib-rpath", "-L", Context.packageDirectory + "/link",
]

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
      linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread"), .unsafeFlags(pureCLinking)]
    ),
  ]
)
