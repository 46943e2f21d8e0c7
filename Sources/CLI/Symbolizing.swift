import ArgumentParser
import Symbolization
import TargetLaunch

/// How recorded addresses become names: llvm-symbolizer behind the persistent
/// symbol cache, and an in-memory cache so checkpoints ask only about new addresses.
struct SymbolizerOptions: ParsableArguments {
  @Flag(help: "Symbolize from scratch: neither read nor write the symbol cache ($XDG_CACHE_HOME/prof/symbols or ~/.cache/prof/symbols).")
  var noSymbolCache = false

  /// nil, with a warning, when llvm-symbolizer cannot be found.
  func symbolizer() -> CachingSymbolizer? {
    guard let llvm = LLVMSymbolizer.locate() else {
      warn("llvm-symbolizer not found (it ships with the Swift toolchain): the profile keeps raw addresses")
      return nil
    }
    guard !noSymbolCache, let directory = SymbolCache.defaultDirectory() else { return CachingSymbolizer(llvm) }
    return CachingSymbolizer(PersistentSymbolizer(llvm, cache: SymbolCache(directory: directory, producer: llvm.identity)))
  }
}

/// Says "cannot symbolize" once per module and run, however many profiles (one
/// per child process) meet the same module.
struct SymbolizationWarnings {
  private var said = Set<String>()

  mutating func say(_ warnings: [String]) {
    for warning in warnings where said.insert(warning).inserted { warn("cannot symbolize \(warning)") }
  }
}
