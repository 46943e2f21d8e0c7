import ArgumentParser
import Foundation
import Pprof
import ProfileReports

/// Reads a pprof file (gzip or raw); any failure is one line naming the file.
enum ProfileInput {
  static func load(_ path: String) throws -> Profile {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ProfError("cannot read \(path): \(readFailure(path))")
    }
    do {
      return try Profile(fileBytes: [UInt8](data))
    } catch {
      throw ProfError("\(path): \(error)")
    }
  }

  private static func readFailure(_ path: String) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "No such file or directory" }
    return isDirectory.boolValue ? "Is a directory" : "Permission denied"
  }
}

/// The value a report shows and the samples it counts, shared by the report commands.
struct SampleOptions: ParsableArguments {
  @Option(name: .customLong("sample-index"),
          help: ArgumentHelp("The sample type to report, by name or position (default: the profile's default, else the last type).",
                             valueName: "name"))
  var sampleIndex: String?

  @Option(help: ArgumentHelp("Only samples with a function or file name matching this regular expression.", valueName: "regex"))
  var focus: String?

  @Option(help: ArgumentHelp("Leave out samples with a function or file name matching this regular expression.", valueName: "regex"))
  var ignore: String?

  /// The chosen value index and filter for a profile.
  func select(_ profile: Profile, _ stacks: CallStacks) throws -> (valueIndex: Int, filter: SampleFilter) {
    (try SampleTypeChoice.index(in: profile, named: sampleIndex), try SampleFilter(stacks, focus: focus, ignore: ignore))
  }
}
