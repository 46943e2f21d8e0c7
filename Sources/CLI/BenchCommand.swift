import ArgumentParser
import BenchCompare
import OutputFile

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run benchmarks written with ProfBench and compare results in Go's benchmark format.",
    subcommands: [Compare.self, Run.self]
  )
}

/// A fraction given on the command line in percent: "5" or "5%" is 0.05.
struct Percentage: ExpressibleByArgument {
  var fraction: Double

  init(_ fraction: Double) {
    self.fraction = fraction
  }

  init?(argument: String) {
    let digits = argument.hasSuffix("%") ? String(argument.dropLast()) : argument
    // Any number: Compare.validate says the rule for a negative or infinite one.
    guard let percent = Double(digits) else { return nil }
    fraction = percent / 100
  }

  var defaultValueDescription: String { "\(fraction * 100)%" }
}

extension ReportFormat: ExpressibleByArgument {}

/// Says "prof bench: error: ..." and returns the exit code for bad input.
func benchFailure(_ message: String) -> ExitCode {
  StandardStream.say("prof bench: error: \(message)")
  return ExitCode(1)
}
