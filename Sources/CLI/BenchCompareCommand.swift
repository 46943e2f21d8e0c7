import ArgumentParser
import BenchCompare
import BenchFormat
import OutputFile

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
      for (name, value) in [("--threshold", threshold.fraction * 100), ("--floor", floor), ("--alloc-tolerance", allocTolerance)] {
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
        throw benchFailure("no benchmark and metric appear in both \(old) and \(new)")
      }
      comparison.warnings.forEach { StandardStream.say("warning: \($0)") }
      try StandardStream.output.write(render(comparison, format: format, options: options))
      if !comparison.regressions.isEmpty { throw ExitCode(2) }
    }

    private func load(_ path: String) throws -> BenchmarkFile {
      let file: BenchmarkFile
      do {
        file = try GoFormatParser.load(path: path)
      } catch {
        throw benchFailure("\(error)")
      }
      guard !file.results.isEmpty else { throw benchFailure("\(path): no benchmark results") }
      return file
    }
  }
}
