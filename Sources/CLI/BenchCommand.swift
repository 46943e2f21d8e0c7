import ArgumentParser
import BenchCompare
import BenchFormat
import Foundation
import OutputFile

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run benchmarks written with ProfBench and compare results in Go's benchmark format.",
    subcommands: [Compare.self, Run.self]
  )
}

extension Bench {
  struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compare two benchmark files; exit 2 on a regression.",
      discussion: """
        Reads Go's benchmark format (ProfBench output, `go test -bench` output) or \
        ProfBench's --json files. For each benchmark and metric prints the medians \
        with 95% confidence intervals, the change, and a two-sided Mann-Whitney U \
        p-value adjusted with Holm-Bonferroni across benchmarks ("~": not significant).

        A regression is significant (p <= --alpha) AND worse than --threshold AND \
        larger than --floor. allocs/op and units declared `assume=exact` are \
        compared without a test: a regression is an increase of the median above \
        --alloc-tolerance.

        Exit status: 0 no regression, 2 regression, 1 unreadable or malformed input.
        """
    )

    @Argument(help: "The baseline file.")
    var old: String

    @Argument(help: "The file to check against the baseline.")
    var new: String

    @Option(parsing: .unconditional, help: "Smallest relative slowdown that counts, in percent (5 or 5%).")
    var threshold = Percentage(0.05)

    @Option(parsing: .unconditional, help: "Smallest absolute change that counts, in the metric's unit (e.g. ns/op).")
    var floor = 0.0

    @Option(parsing: .unconditional, help: "Allowed increase of allocs/op and other exact metrics per op.")
    var allocTolerance = 0.0

    @Option(parsing: .unconditional, help: "Significance level for the Holm-adjusted p-values.")
    var alpha = 0.05

    @Option(help: "Output format: text, markdown (for a pull-request comment) or json.")
    var format = ReportFormat.text

    func validate() throws {
      guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1)") }
      for (name, value) in [("--floor", floor), ("--alloc-tolerance", allocTolerance)] {
        guard value.isFinite else { throw ValidationError("\(name) must be a finite number, not \(value)") }
        guard value >= 0 else { throw ValidationError("\(name) must not be negative") }
      }
    }

    func run() throws {
      let before = try load(old)
      let after = try load(new)
      var options = CompareOptions()
      options.alpha = alpha
      options.threshold = threshold.fraction
      options.floor = floor
      options.exactTolerance = allocTolerance
      let comparison = compare(
        old: before, oldLabel: old, new: after, newLabel: new, options: options)
      guard !comparison.tables.isEmpty else {
        throw fail("no benchmark and metric appear in both \(old) and \(new)")
      }
      comparison.warnings.forEach { printError("warning: \($0)") }
      try StandardStream.output.write(render(comparison, format: format, options: options))
      if !comparison.regressions.isEmpty { throw ExitCode(2) }
    }

    private func load(_ path: String) throws -> BenchmarkFile {
      let file: BenchmarkFile
      do {
        file = try GoFormatParser.load(path: path)
      } catch {
        throw fail("\(error)")
      }
      guard !file.results.isEmpty else { throw fail("\(path): no benchmark results") }
      return file
    }
  }

  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build a benchmark executable in release mode, run it and save its output.",
      discussion: """
        Equivalent to:
          swift build -c release --product PRODUCT
          $(swift build -c release --show-bin-path)/PRODUCT ARGS... | tee OUTPUT
        Example: prof bench run MyBenchmarks -o main.txt -- --count 10
        """
    )

    @Argument(help: "The benchmark executable product of the package.")
    var product: String

    @Option(name: [.short, .long], help: "Where to save the results.")
    var output = "bench.txt"

    @Option(help: "The package directory.")
    var packagePath = "."

    @Argument(parsing: .postTerminator, help: "Arguments for the benchmark executable.")
    var arguments: [String] = []

    func run() throws {
      let outputFile = try AtomicOutputFile(path: output)
      let swiftBuild = ["swift", "build", "-c", "release", "--package-path", packagePath]
      // Build output goes to stderr so that stdout carries only results.
      try run(swiftBuild + ["--product", product], output: .standardError)
      let binPath = String(decoding: try run(swiftBuild + ["--show-bin-path"], output: .capture), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      let executable = URL(fileURLWithPath: binPath).appendingPathComponent(product).path
      let results = try run([executable] + arguments, output: .tee)
      do {
        _ = try GoFormatParser.parse(String(decoding: results, as: UTF8.self), file: output)
      } catch {
        throw fail("\(product) printed malformed results: \(error)")
      }
      try outputFile.commit([UInt8](results))
      printError("saved \(output)")
    }

    /// Runs a command that must succeed; returns its output.
    @discardableResult
    private func run(_ command: [String], output: ChildOutput) throws -> Data {
      let (status, data) = try launch(command, output: output)
      guard status == 0 else {
        throw fail("\(command.joined(separator: " ")) exited with status \(status)")
      }
      return data
    }
  }
}

/// A fraction given on the command line in percent: "5" or "5%" is 0.05.
struct Percentage: ExpressibleByArgument {
  var fraction: Double

  init(_ fraction: Double) {
    self.fraction = fraction
  }

  init?(argument: String) {
    let digits = argument.hasSuffix("%") ? String(argument.dropLast()) : argument
    guard let percent = Double(digits), percent >= 0 else { return nil }
    fraction = percent / 100
  }

  var defaultValueDescription: String { "\(fraction * 100)%" }
}

extension ReportFormat: ExpressibleByArgument {}

/// Where a child's standard output goes.
private enum ChildOutput {
  /// Our stderr, so that our stdout carries only results.
  case standardError
  /// Returned to the caller only.
  case capture
  /// Returned and copied to our stdout as it arrives.
  case tee
}

/// Runs a command found on PATH; returns its exit status and, unless sent to
/// stderr, its standard output.
private func launch(_ command: [String], output: ChildOutput) throws -> (status: Int32, output: Data) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = command
  let pipe = Pipe()
  process.standardOutput = output == .standardError ? FileHandle.standardError : pipe
  // prof ignores SIGPIPE and Process passes that on: the child gets the default back.
  let previous = signal(SIGPIPE, SIG_DFL)
  let started = Result { try process.run() }
  signal(SIGPIPE, previous)
  do {
    try started.get()
  } catch {
    throw fail("cannot run \(command[0]): \(error)")
  }
  var collected = Data()
  if output != .standardError {
    while let chunk = try pipe.fileHandleForReading.read(upToCount: 4096), !chunk.isEmpty {
      if output == .tee { try StandardStream.output.write(chunk) }
      collected.append(chunk)
    }
  }
  process.waitUntilExit()
  return (process.terminationStatus, collected)
}

/// Prints "prof bench: error: ..." and returns the exit code for bad input.
private func fail(_ message: String) -> ExitCode {
  printError("prof bench: error: \(message)")
  return ExitCode(1)
}

private func printError(_ message: String) {
  StandardStream.say(message)
}
