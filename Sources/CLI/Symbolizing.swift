import AgentStream
import ArgumentParser
import Recording
import Symbolization
import TargetLaunch

/// How recorded addresses become names: llvm-symbolizer behind the persistent
/// symbol cache, and an in-memory cache so checkpoints ask only about new addresses,
/// filled while the program runs (`record(into:checkpoints:symbolizingEarly:)`).
struct SymbolizerOptions: ParsableArguments {
  @Flag(help: "Symbolize from scratch: neither read nor write the symbol cache ($XDG_CACHE_HOME/prof/symbols or ~/.cache/prof/symbols).")
  var noSymbolCache = false

  /// nil, with a warning, when llvm-symbolizer cannot be found.
  func symbolizer() -> EarlySymbolizer? {
    guard let llvm = LLVMSymbolizer.locate() else {
      warn("llvm-symbolizer not found (it ships with the Swift toolchain): the profile keeps raw addresses")
      return nil
    }
    guard !noSymbolCache, let directory = SymbolCache.defaultDirectory() else { return EarlySymbolizer(llvm) }
    return EarlySymbolizer(PersistentSymbolizer(llvm, cache: SymbolCache(directory: directory, producer: llvm.identity)))
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

extension RecordingSession {
  /// Records while `symbolizer` resolves the addresses it meets in the background,
  /// so that the profile build after exit finds most of them answered.
  func record<Sink: RecordSink>(into sink: inout Sink, checkpoints: [Checkpoints<Sink>] = [],
                                symbolizingEarly symbolizer: EarlySymbolizer?) {
    record(into: &sink, checkpoints: checkpoints) { symbolizer?.observe($0) }
    symbolizer?.stop()
  }
}
