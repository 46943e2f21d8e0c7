import ArgumentParser

/// --unwind: how the agent captures stacks (prof cpu, prof heap).
enum Unwinder: String, ExpressibleByArgument, CaseIterable {
  /// DWARF call frame information: always sound.
  case libunwind
  /// Saved frame pointers: much faster, sound only for code built with them
  /// (SwiftPM builds and the Swift runtime are; Debian's C libraries are not).
  case fp
  /// Frame pointers through functions whose unwind tables show they keep them
  /// (Swift code, the Swift runtime), libunwind for the rest: sound, and cheaper
  /// than libunwind on Swift stacks.
  case hybrid
}
