import ArgumentParser
import Foundation
import OutputFile
import Pprof
import ProfileConversion
import ProfileReports

/// Reads a pprof file (gzip or raw) for a report: samples of the same stack and labels
/// are summed as they are decoded. Any failure is one line naming the file.
enum ProfileInput {
  static func load(_ path: String) throws -> Profile {
    var pprof = ProfilePrefixCheck()
    let bytes = try read(path) { pprof.problem($0)?.description }
    do {
      return try Profile(fileBytes: bytes, samples: .aggregated)
    } catch {
      throw ProfError("\(path): \(error)")
    }
  }

  /// A pprof profile, or else folded stacks: text that is not a profile.
  static func loadPprofOrFolded(_ path: String) throws -> Profile {
    var pprof = ProfilePrefixCheck(), folded = FoldedStacks.PrefixCheck()
    var notPprof = false
    let bytes = try read(path) { bytesSoFar in
      notPprof = notPprof || pprof.problem(bytesSoFar) != nil
      guard notPprof, let problem = folded.problem(bytesSoFar) else { return nil }
      return "neither a pprof profile nor folded stacks (\(problem))"
    }
    do {
      return try Profile(fileBytes: bytes, samples: .aggregated)
    } catch .notAProfile where !Gzip.isCompressed(bytes) {
      do {
        return try FoldedStacks.read(String(decoding: bytes, as: UTF8.self))
      } catch {
        throw ProfError("\(path): neither a pprof profile nor folded stacks (\(error))")
      }
    } catch {
      throw ProfError("\(path): \(error)")
    }
  }

  /// At most what the decoder may hold; reading stops early when `check` finds the
  /// first bytes cannot be what the command reads.
  private static func read(_ path: String, check: ([UInt8]) -> String?) throws -> [UInt8] {
    let bytes = try FileContents.read(path, limit: ProfileDecoder.memoryBudget, check: check)
    if bytes.isEmpty { throw ProfError("\(path): the file is empty, not a profile") }
    return bytes
  }
}

/// The value a report shows and the samples it counts, shared by the report commands.
struct SampleOptions: ParsableArguments {
  @Option(name: .customLong("sample-index"), parsing: .unconditional,
          help: ArgumentHelp("The sample type to report, by name or position (default: the profile's default, else the last type).",
                             valueName: "name"))
  var sampleIndex: String?

  func validate() throws {
    if let sampleIndex, let position = Int(sampleIndex), position < 0 {
      throw ValidationError("--sample-index must be a sample type's name or position (0, 1, ...), not \(position)")
    }
  }

  @Option(help: ArgumentHelp("Only samples with a function or file name matching this regular expression (RE2 syntax).", valueName: "regex"))
  var focus: String?

  @Option(help: ArgumentHelp("Leave out samples with a function or file name matching this regular expression (RE2 syntax).", valueName: "regex"))
  var ignore: String?

  /// An empty pattern is no filter, as in go tool pprof.
  private var focusPattern: String? { focus.flatMap { $0.isEmpty ? nil : $0 } }
  private var ignorePattern: String? { ignore.flatMap { $0.isEmpty ? nil : $0 } }

  /// The filters as pprof lists them above a report.
  var activeFilters: [String] {
    let filters = [focusPattern.map { "focus=" + $0 }, ignorePattern.map { "ignore=" + $0 }].compactMap { $0 }
    return filters.isEmpty ? [] : ["Active filters:"] + filters.map { "   " + $0 }
  }

  /// The filter for a profile's stacks.
  func filter(_ stacks: CallStacks) throws -> SampleFilter {
    try SampleFilter(stacks, focus: focusPattern, ignore: ignorePattern)
  }

  /// The chosen value index and filter for a profile; says when a filter matches
  /// nothing unless the command reads a second profile (then see warnUnmatched).
  func select(_ profile: Profile, _ stacks: CallStacks,
              warningUnmatched: Bool = true) throws -> (valueIndex: Int, filter: SampleFilter) {
    let selection = (valueIndex: try SampleTypeChoice.index(in: profile, named: sampleIndex), filter: try filter(stacks))
    if warningUnmatched { Self.warnUnmatched([selection.filter]) }
    return selection
  }

  /// go tool pprof's warning for a filter that matched nothing, on stderr, once for
  /// the filters of all the profiles a report reads (its -diff_base merges them first).
  static func warnUnmatched(_ filters: [SampleFilter]) {
    for option in ["Focus", "Ignore"] where filters.allSatisfy({ $0.unmatched.contains(option) }) {
      StandardStream.say(option + " expression matched no samples")
    }
  }
}

/// How many functions a ranked report (top, diff) shows, and by which column.
struct RankingOptions: ParsableArguments {
  @Option(name: .short, parsing: .unconditional, help: "Show at most this many functions.")
  var n: Int?

  @Flag(help: "Sort by the cumulative column instead of flat.")
  var cum = false

  func validate() throws {
    if let n, n < 1 { throw ValidationError("-n must be at least 1") }
  }
}
