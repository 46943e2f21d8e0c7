/// Which frames are the user's. Everything else (TSan's interceptors, the Swift and C
/// runtimes, Dispatch, Foundation, test harnesses, compiler-generated thunks) is folded
/// when shown and never chosen as the frame that identifies a race.
extension Frame {
  private static let runtimeModulePrefixes = [
    "libswift", "libdispatch", "libFoundation", "libXCTest", "libTesting", "lib_Testing",
    "libBlocksRuntime", "libc.so", "libm.so", "libstdc++", "libgcc_s", "ld-linux",
  ]
  private static let runtimeSymbolPrefixes = ["__tsan", "__interceptor", "_____interceptor"]

  public var isUserCode: Bool {
    // SwiftPM's generated test runner lives in "*.derived" folders of the build.
    guard let file, file != "/<compiler-generated>", !file.contains("compiler-rt/lib/"),
      !file.contains(".derived/")
    else { return false }
    if let module, Self.runtimeModulePrefixes.contains(where: module.hasPrefix) { return false }
    if let symbol, Self.runtimeSymbolPrefixes.contains(where: symbol.hasPrefix) { return false }
    return true
  }
}

extension Array where Element == Frame {
  /// The first user frame, or the first frame when none is the user's.
  var topUserFrame: Frame? {
    first(where: \.isUserCode) ?? first
  }
}
