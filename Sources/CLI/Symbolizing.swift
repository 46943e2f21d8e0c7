import Symbolization
import TargetLaunch

/// The toolchain's llvm-symbolizer behind a cache, or nil (said once) without one.
func locateSymbolizer() -> CachingSymbolizer? {
  if let symbolizer = LLVMSymbolizer.locate() { return CachingSymbolizer(symbolizer) }
  warn("llvm-symbolizer not found (it ships with the Swift toolchain): the profile keeps raw addresses")
  return nil
}

/// Says "cannot symbolize" once per module and run, however many profiles (one
/// per child process) meet the same module.
struct SymbolizationWarnings {
  private var said = Set<String>()

  mutating func say(_ warnings: [String]) {
    for warning in warnings where said.insert(warning).inserted { warn("cannot symbolize \(warning)") }
  }
}
