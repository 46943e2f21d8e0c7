import ArgumentParser
import OutputFile
import Foundation
import RaceReport
import RaceRunner

struct Race: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Find data races with ThreadSanitizer and turn its reports into a CI verdict.",
    discussion: """
      Without a command, builds and runs the package's tests with `swift test \
      --sanitize=thread`, in a scratch path of their own (.build/prof-race) so that the \
      normal build is left alone. Words after `--` go to `swift test`, unless no package \
      option was given and the first word is not an option: then they are a command, \
      already built with -sanitize=thread, to run as it is.

      The program's own output passes through; TSan's reports are collected separately, \
      merged (one entry per pair of racing frames, with a count) and shown on stderr.

      Exit status: 0 when clean, 66 when ThreadSanitizer reported anything (even if the \
      tests passed), 1 when a clean run never started ThreadSanitizer (a build without \
      it) or ThreadSanitizer itself failed, otherwise the command's own status.

      Examples:
        prof race --filter CacheTests --sarif race.sarif
        prof race -- .build/debug/myserver --selftest
      """)

  @Option(
    help: ArgumentHelp(
      "The package whose tests to run (default: the current directory).", valueName: "dir"))
  var packagePath: String?

  @Option(
    help: ArgumentHelp(
      "Run only the tests matching this `swift test --filter` pattern.", valueName: "pattern"))
  var filter: String?

  @Option(
    help: ArgumentHelp(
      "Where to build the TSan-instrumented package (default: PACKAGE/.build/prof-race).",
      valueName: "dir"))
  var scratchPath: String?

  @Option(
    help: ArgumentHelp(
      "A TSan suppressions file, passed through to TSAN_OPTIONS.", valueName: "file"))
  var suppressions: String?

  @Option(help: ArgumentHelp("Write the findings as JSON to this file.", valueName: "file"))
  var json: String?

  @Option(
    help: ArgumentHelp(
      "Write the findings as SARIF 2.1.0 (for code scanning) to this file.", valueName: "file"))
  var sarif: String?

  @Argument(
    parsing: .postTerminator,
    help: ArgumentHelp("A command to run, or extra `swift test` arguments.", valueName: "word"))
  var words: [String] = []

  func validate() throws {
    try validateDistinct([("--json", json), ("--sarif", sarif)])
  }

  func run() throws {
    // Outputs are created first: an unwritable path is one line before the run, not after it.
    let jsonFile = try json.map { try AtomicOutputFile(path: $0) }
    let sarifFile = try sarif.map { try AtomicOutputFile(path: $0) }
    let currentDirectory = FileManager.default.currentDirectoryPath
    let target = RaceTarget.choose(
      packagePath: packagePath, filter: filter, scratchPath: scratchPath, words: words,
      currentDirectory: currentDirectory)
    let session = RaceSession(launcher: SpawnLauncher(), demangler: SwiftRuntimeDemangler())
    let outcome = try session.run(
      target, suppressions: suppressions.map { absolutePath($0, in: currentDirectory) },
      environment: ProcessInfo.processInfo.environment)
    let paths = SourcePaths(root: target.sourceRoot(currentDirectory: currentDirectory))
    try jsonFile?.commit([UInt8](JSONRenderer.render(outcome.analysis)))
    let renderer = SARIFRenderer(paths: paths, toolVersion: Prof.configuration.version)
    try sarifFile?.commit([UInt8](renderer.render(outcome.analysis)))
    try? StandardStream.error.write(outcome.summary(TextRenderer(paths: paths)))
    if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
  }
}
